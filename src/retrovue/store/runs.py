"""Sync history (`sync_runs`) and the per-library lock that keeps two syncs from interleaving.

The lock is a row in `library_locks`, so it works across processes and machines on every supported
database: taking it is an INSERT that the primary key lets only one writer win. A holder refreshes its
heartbeat as it goes; a lock whose holder is a dead process on this host, or whose heartbeat is older
than `STALE_AFTER` seconds, is taken over (a crashed sync must not block the library for ever).
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from retrovue.errors import LockHeldError
from retrovue.store import schema as t

__all__ = [
    "LockInfo",
    "RunCounts",
    "RunRow",
    "acquire_lock",
    "finish_run",
    "heartbeat",
    "list_runs",
    "release_lock",
    "start_run",
]

STALE_AFTER = 300
RUN_STATUSES = ("running", "ok", "partial", "failed", "cancelled")


@dataclass(frozen=True)
class RunCounts:
    processed: int = 0
    changed: int = 0
    skipped: int = 0
    errors: int = 0
    missing: int = 0
    deleted: int = 0
    requests: int = 0


@dataclass(frozen=True)
class RunRow:
    id: int
    library_id: int
    library_title: str
    server_name: str
    mode: str
    status: str
    started_at: int
    finished_at: int | None
    counts: RunCounts
    error_text: str | None


@dataclass(frozen=True)
class LockInfo:
    owner: str
    host: str
    pid: int
    acquired_at: int
    heartbeat_at: int


def start_run(conn: Connection, library_id: int, *, mode: str, now: int) -> int:
    result = conn.execute(
        t.sync_runs.insert().values(
            library_id=library_id,
            mode=mode,
            status="running",
            started_at=now,
            host=socket.gethostname()[:256],
            pid=os.getpid(),
            processed=0,
            changed=0,
            skipped=0,
            errors=0,
            missing=0,
            deleted=0,
            requests=0,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def finish_run(
    conn: Connection, run_id: int, *, status: str, counts: RunCounts, now: int, error_text: str | None = None
) -> None:
    if status not in RUN_STATUSES:
        raise ValueError(f"unknown run status {status!r}")
    conn.execute(
        t.sync_runs.update()
        .where(t.sync_runs.c.id == run_id)
        .values(
            status=status,
            finished_at=now,
            error_text=error_text,
            processed=counts.processed,
            changed=counts.changed,
            skipped=counts.skipped,
            errors=counts.errors,
            missing=counts.missing,
            deleted=counts.deleted,
            requests=counts.requests,
        )
    )


def list_runs(conn: Connection, *, library_id: int | None = None, limit: int = 50) -> list[RunRow]:
    r, lib, srv = t.sync_runs.c, t.libraries.c, t.servers.c
    query = (
        sa.select(t.sync_runs, lib.title.label("library_title"), srv.name.label("server_name"))
        .join(t.libraries, lib.id == r.library_id)
        .join(t.servers, srv.id == lib.server_id)
        .order_by(r.started_at.desc(), r.id.desc())
        .limit(limit)
    )
    if library_id is not None:
        query = query.where(r.library_id == library_id)
    out = []
    for row in conn.execute(query):
        m = row._mapping
        out.append(
            RunRow(
                id=m["id"],
                library_id=m["library_id"],
                library_title=m["library_title"],
                server_name=m["server_name"],
                mode=m["mode"],
                status=m["status"],
                started_at=m["started_at"],
                finished_at=m["finished_at"],
                counts=RunCounts(
                    m["processed"],
                    m["changed"],
                    m["skipped"],
                    m["errors"],
                    m["missing"],
                    m["deleted"],
                    m["requests"],
                ),
                error_text=m["error_text"],
            )
        )
    return out


def close_interrupted_runs(conn: Connection, library_id: int, *, now: int) -> int:
    """Runs left `running` by a holder that died are recorded as failed (interrupted)."""
    return conn.execute(
        t.sync_runs.update()
        .where(t.sync_runs.c.library_id == library_id, t.sync_runs.c.status == "running")
        .values(status="failed", finished_at=now, error_text="interrupted: the syncing process stopped")
    ).rowcount


def _holder(conn: Connection, library_id: int) -> LockInfo | None:
    row = conn.execute(sa.select(t.library_locks).where(t.library_locks.c.library_id == library_id)).first()
    if row is None:
        return None
    m = row._mapping
    return LockInfo(m["owner"], m["host"], m["pid"], m["acquired_at"], m["heartbeat_at"])


def _is_dead(lock: LockInfo, now: int) -> bool:
    if now - lock.heartbeat_at > STALE_AFTER:
        return True
    if lock.host == socket.gethostname()[:256]:
        try:
            os.kill(lock.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
    return False


def acquire_lock(engine: Engine, library_id: int, *, now: int, what: str = "this library") -> str:
    """Take the library's lock (its own transaction); returns the owner token to release it with.

    Raises LockHeldError naming the holder (host, pid, since when) if a live sync holds it. A dead
    holder's lock is taken over, and the run it left `running` is recorded as interrupted.
    """
    owner = secrets.token_hex(16)
    values = {
        "library_id": library_id,
        "owner": owner,
        "host": socket.gethostname()[:256],
        "pid": os.getpid(),
        "acquired_at": now,
        "heartbeat_at": now,
    }
    try:
        with engine.begin() as conn:
            conn.execute(t.library_locks.insert().values(**values))
        return owner
    except IntegrityError:
        pass
    with engine.begin() as conn:
        holder = _holder(conn, library_id)
        if holder is None:  # released in between: try once more, plainly
            conn.execute(t.library_locks.insert().values(**values))
            return owner
        if not _is_dead(holder, now):
            raise LockHeldError(
                f"{what} is being synced by pid {holder.pid} on {holder.host} (since epoch "
                f"{holder.acquired_at}); wait for it to finish"
            )
        taken = conn.execute(
            t.library_locks.update()
            .where(t.library_locks.c.library_id == library_id, t.library_locks.c.owner == holder.owner)
            .values(**values)
        ).rowcount
        if taken != 1:
            raise LockHeldError(f"{what} was just locked by another sync; try again")
        close_interrupted_runs(conn, library_id, now=now)
    return owner


def heartbeat(conn: Connection, library_id: int, owner: str, *, now: int) -> bool:
    """Refresh the lock; False means it was taken over (the caller should stop)."""
    return (
        conn.execute(
            t.library_locks.update()
            .where(t.library_locks.c.library_id == library_id, t.library_locks.c.owner == owner)
            .values(heartbeat_at=now)
        ).rowcount
        == 1
    )


def release_lock(engine: Engine, library_id: int, owner: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            t.library_locks.delete().where(
                t.library_locks.c.library_id == library_id, t.library_locks.c.owner == owner
            )
        )


def lock_holder(conn: Connection, library_id: int) -> LockInfo | None:
    return _holder(conn, library_id)
