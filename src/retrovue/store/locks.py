"""The per-library lock that keeps two syncs from interleaving, across processes and machines.

The lock is a row in `library_locks`: taking it is an INSERT that the primary key lets only one
writer win, so it works on every supported database and across machines sharing a catalog.

Three rules keep a live holder from ever losing its lock and a run that lost it from writing:

- **Time is the database's.** `heartbeat_at` is written and aged with the database server's clock,
  so machines with skewed clocks agree on how old a heartbeat is.
- **A lease, refreshed in the background.** `LockLease` beats every `HEARTBEAT_EVERY` seconds from its
  own thread, whatever phase the run is in (listing, detail, confirmation, local checks). A lock is
  abandoned only when its heartbeat is older than `STALE_AFTER`, or when its holder is a dead process
  *in the same process table* (same boot and pid namespace): a pid is never judged from another
  container, sandbox or machine that happens to share the host name.
- **Every write is fenced.** Each of a run's write transactions first refreshes the lock row *by
  owner* (`fence`); if the row is no longer ours the transaction raises `LockLostError` and rolls
  back, so a run that lost its lock writes nothing more. On PostgreSQL and MariaDB that UPDATE also
  holds the lock row until commit, so a takeover waits for the holder's page to finish.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from retrovue.errors import LockHeldError, LockLostError
from retrovue.store import schema as t

__all__ = [
    "HEARTBEAT_EVERY",
    "STALE_AFTER",
    "LockInfo",
    "LockLease",
    "acquire_lock",
    "db_epoch",
    "fence",
    "heartbeat",
    "instance_id",
    "lock_holder",
    "release_lock",
]

STALE_AFTER = 120
"""Seconds without a heartbeat (database clock) after which a lock counts as abandoned."""
HEARTBEAT_EVERY = 10.0
"""Seconds between a holder's heartbeats: a dozen may be missed before the lock goes stale."""

log = logging.getLogger(__name__)


class db_epoch(FunctionElement[int]):  # noqa: N801 - named like the SQL functions it stands for
    """The database server's current time in epoch seconds, as an integer expression."""

    type = sa.BigInteger()
    inherit_cache = True


@compiles(db_epoch, "sqlite")
def _epoch_sqlite(_element: db_epoch, _compiler: Any, **_kw: Any) -> str:
    return "CAST(strftime('%s', 'now') AS INTEGER)"


@compiles(db_epoch, "postgresql")
def _epoch_postgresql(_element: db_epoch, _compiler: Any, **_kw: Any) -> str:
    return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT)"


@compiles(db_epoch, "mysql")
@compiles(db_epoch, "mariadb")
def _epoch_mysql(_element: db_epoch, _compiler: Any, **_kw: Any) -> str:
    return "UNIX_TIMESTAMP()"


@dataclass(frozen=True)
class LockInfo:
    owner: str
    host: str
    pid: int
    instance: str | None
    acquired_at: int
    heartbeat_at: int
    age: int  # seconds since the last heartbeat, by the database's clock


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip() or None
    except OSError:
        return None


def instance_id() -> str | None:
    """This process table's identity: boot id and pid namespace (Linux); None where unknown.

    Two processes can compare pids only when their instance ids are equal.
    """
    boot = _read("/proc/sys/kernel/random/boot_id")
    try:
        pidns = os.readlink("/proc/self/ns/pid")
    except OSError:
        pidns = None
    if boot is None or pidns is None:
        return None
    return f"{boot}/{pidns}"[:128]


def _host() -> str:
    return socket.gethostname()[:256]


def _holder(conn: Connection, library_id: int) -> LockInfo | None:
    c = t.library_locks.c
    age = (db_epoch() - c.heartbeat_at).label("age")
    row = conn.execute(sa.select(t.library_locks, age).where(c.library_id == library_id)).first()
    if row is None:
        return None
    m = row._mapping
    return LockInfo(
        m["owner"], m["host"], m["pid"], m["instance"], m["acquired_at"], m["heartbeat_at"], int(m["age"])
    )


def lock_holder(conn: Connection, library_id: int) -> LockInfo | None:
    return _holder(conn, library_id)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def is_abandoned(lock: LockInfo, *, host: str | None = None, instance: str | None = None) -> bool:
    """True when the holder can no longer be running: a stale heartbeat, or a dead pid that this
    process can see (same host *and* same boot and pid namespace)."""
    if lock.age > STALE_AFTER:
        return True
    here = instance if instance is not None else instance_id()
    same_table = lock.host == (host or _host()) and lock.instance is not None and lock.instance == here
    return same_table and not _pid_alive(lock.pid)


def acquire_lock(engine: Engine, library_id: int, *, what: str = "this library") -> str:
    """Take the library's lock (its own transaction); returns the owner token to release it with.

    Raises LockHeldError naming the holder (host, pid, since when) if a live sync holds it. An
    abandoned lock is taken over, and the run it left `running` is recorded as interrupted.

    A held lock is found by a plain read before anything is written: an INSERT that collides with
    the holder's row would lock index records (and, on MariaDB, the library row its foreign key
    points at) in an order that can deadlock with the holder's own fenced page.
    """
    owner = secrets.token_hex(16)
    values: dict[str, Any] = {
        "owner": owner,
        "host": _host(),
        "pid": os.getpid(),
        "instance": instance_id(),
        "acquired_at": db_epoch(),
        "heartbeat_at": db_epoch(),
    }
    for _attempt in range(3):
        with engine.connect() as conn:
            holder = _holder(conn, library_id)
        if holder is not None and not is_abandoned(holder):
            raise LockHeldError(
                f"{what} is being synced by pid {holder.pid} on {holder.host} (since epoch "
                f"{holder.acquired_at}, last heartbeat {holder.age} s ago); wait for it to finish"
            )
        try:
            with engine.begin() as conn:
                if holder is None:
                    conn.execute(t.library_locks.insert().values(library_id=library_id, **values))
                    # A run left `running` without a lock (its record failed, then its lock was
                    # released) is over: only the lock's holder can have a run going.
                    _close_interrupted_runs(conn, library_id)
                    return owner
                # Only if nothing changed since it was judged abandoned: a holder that beat meanwhile
                # (the UPDATE waits for its page to commit, then re-reads the row) keeps its lock.
                c = t.library_locks.c
                taken = conn.execute(
                    t.library_locks.update()
                    .where(
                        c.library_id == library_id,
                        c.owner == holder.owner,
                        c.heartbeat_at == holder.heartbeat_at,
                    )
                    .values(**values)
                ).rowcount
                if taken == 1:
                    _close_interrupted_runs(conn, library_id)
                    return owner
        except (IntegrityError, OperationalError) as exc:  # another sync got there first, or a deadlock
            if isinstance(exc, OperationalError) and not _is_contention(exc):
                raise
    raise LockHeldError(f"{what} was just locked by another sync; try again")


def _is_contention(exc: OperationalError) -> bool:
    """A deadlock or lock wait the database broke (MariaDB 1205/1213, PostgreSQL 40P01/55P03): two
    syncs raced for the same lock row. SQLite's "database is locked" is not that — SQLite queues
    writers, so it means another program held the whole catalog past the busy timeout — and is
    left to the caller to report."""
    code = getattr(exc.orig, "args", (None,))[0]
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return code in (1205, 1213) or sqlstate in ("40P01", "55P03")


def _close_interrupted_runs(conn: Connection, library_id: int) -> int:
    """Runs left `running` by a holder that is gone are recorded as failed (interrupted)."""
    return conn.execute(
        t.sync_runs.update()
        .where(t.sync_runs.c.library_id == library_id, t.sync_runs.c.status == "running")
        .values(
            status="failed",
            finished_at=db_epoch(),
            error_text="interrupted: the syncing process stopped or lost its lock",
        )
    ).rowcount


def heartbeat(conn: Connection, library_id: int, owner: str) -> bool:
    """Refresh the lock; False means it is no longer ours (taken over, or released)."""
    c = t.library_locks.c
    return (
        conn.execute(
            t.library_locks.update()
            .where(c.library_id == library_id, c.owner == owner)
            .values(heartbeat_at=db_epoch())
        ).rowcount
        == 1
    )


def fence(conn: Connection, library_id: int, owner: str) -> None:
    """First statement of every write transaction of a run: proves the lock is still ours."""
    if not heartbeat(conn, library_id, owner):
        raise LockLostError(
            "this sync lost the library's lock to another sync (its heartbeat was seen as stale); "
            "it stopped and wrote nothing more"
        )


def release_lock(engine: Engine, library_id: int, owner: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            t.library_locks.delete().where(
                t.library_locks.c.library_id == library_id, t.library_locks.c.owner == owner
            )
        )


class LockLease:
    """Holds a library's lock for the length of a `with` block, heartbeating from a thread.

    `lost` is set as soon as a heartbeat finds the lock taken; writes go through `fence`, which
    raises `LockLostError` in the writing transaction itself, so nothing is written after a loss
    even between two heartbeats.
    """

    def __init__(self, engine: Engine, library_id: int, *, what: str, every: float | None = None) -> None:
        self.engine = engine
        self.library_id = library_id
        self.what = what
        self.every = HEARTBEAT_EVERY if every is None else every
        self.owner = ""
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> LockLease:
        self.owner = acquire_lock(self.engine, self.library_id, what=self.what)
        self._thread = threading.Thread(target=self._beat, name=f"lock-{self.library_id}", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            release_lock(self.engine, self.library_id, self.owner)
        except SQLAlchemyError as error:  # a full disk, a lost database: the next run takes it over
            log.warning("could not release the lock of %s: %s", self.what, str(error).splitlines()[0])

    def fence(self, conn: Connection) -> None:
        fence(conn, self.library_id, self.owner)

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            try:
                with self.engine.begin() as conn:
                    if not heartbeat(conn, self.library_id, self.owner):
                        self.lost.set()
                        return
            except SQLAlchemyError as exc:  # the database is away: fences will tell the run
                log.warning("heartbeat for %s failed: %s", self.what, str(exc).splitlines()[0])
