"""The library lock: a live holder never loses it, an abandoned one is taken over, and a run that
lost it cannot write (issue 14, case 1)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from retrovue.errors import LockHeldError, LockLostError
from retrovue.store import locks, registry, runs
from retrovue.store import schema as t
from retrovue.store.db import open_catalog


def _library(engine: Engine) -> int:
    with engine.begin() as conn:
        server = registry.add_server(conn, name="home", base_url="http://x", token="t", now=1)
        registry.sync_sections(conn, server.id, [registry.SectionInfo("1", None, "TV", "show", None)], now=1)
        return registry.list_libraries(conn)[0].id


def _age_heartbeat(engine: Engine, lib_id: int, seconds: int) -> None:
    """Make the holder's last heartbeat `seconds` old by the database's clock."""
    with engine.begin() as conn:
        now = conn.execute(sa.select(locks.db_epoch())).scalar_one()
        conn.execute(t.library_locks.update().values(heartbeat_at=now - seconds))


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(done.stdout)


def _foreign_lock(engine: Engine, lib_id: int, *, pid: int, instance: str | None, age: int = 0) -> None:
    with engine.begin() as conn:
        runs.start_run(conn, lib_id, mode="incremental", now=100)
        now = conn.execute(sa.select(locks.db_epoch())).scalar_one()
        conn.execute(
            t.library_locks.insert().values(
                library_id=lib_id,
                owner="old",
                host=locks.socket.gethostname(),
                pid=pid,
                instance=instance,
                acquired_at=now - age,
                heartbeat_at=now - age,
            )
        )


def test_database_clock_is_epoch_seconds(catalog: Engine) -> None:
    with catalog.connect() as conn:
        now = conn.execute(sa.select(locks.db_epoch())).scalar_one()
    assert abs(int(now) - time.time()) < 5


def test_second_holder_is_told_who_holds_the_lock(catalog: Engine, db_url: str) -> None:
    lib_id = _library(catalog)
    owner = locks.acquire_lock(catalog, lib_id)
    other = open_catalog(db_url)  # a second pool, as another process would have
    try:
        with pytest.raises(LockHeldError, match=r"being synced by pid \d+ on .*last heartbeat \d+ s ago"):
            locks.acquire_lock(other, lib_id)
        locks.release_lock(catalog, lib_id, owner)
        locks.release_lock(other, lib_id, locks.acquire_lock(other, lib_id))
    finally:
        other.dispose()


def test_lock_of_a_dead_process_in_this_process_table_is_taken_over(catalog: Engine) -> None:
    lib_id = _library(catalog)
    _foreign_lock(catalog, lib_id, pid=_dead_pid(), instance=locks.instance_id())
    owner = locks.acquire_lock(catalog, lib_id)
    with catalog.connect() as conn:
        assert locks.lock_holder(conn, lib_id).owner == owner  # type: ignore[union-attr]
        status = conn.execute(sa.select(t.sync_runs.c.status, t.sync_runs.c.error_text)).one()
    assert status[0] == "failed"
    assert "interrupted" in status[1]


@pytest.mark.parametrize("instance", [None, "another-boot/pid:[4026531836]"])
def test_a_pid_from_another_process_table_is_never_judged(catalog: Engine, instance: str | None) -> None:
    """Same host name, but a container, sandbox or other machine: its pid means nothing here. A
    fresh heartbeat keeps the lock, whatever `kill(pid, 0)` says in this namespace."""
    lib_id = _library(catalog)
    _foreign_lock(catalog, lib_id, pid=_dead_pid(), instance=instance)
    with pytest.raises(LockHeldError):
        locks.acquire_lock(catalog, lib_id)
    _age_heartbeat(catalog, lib_id, locks.STALE_AFTER + 1)  # silent for too long: abandoned
    locks.release_lock(catalog, lib_id, locks.acquire_lock(catalog, lib_id))


def test_live_process_here_keeps_its_lock_however_old_its_heartbeat(catalog: Engine) -> None:
    """A stale heartbeat alone takes a lock over; a live pid in this process table does not hold it
    against that (the heartbeat thread is what proves life)."""
    lib_id = _library(catalog)
    owner = locks.acquire_lock(catalog, lib_id)
    with pytest.raises(LockHeldError):
        locks.acquire_lock(catalog, lib_id)
    _age_heartbeat(catalog, lib_id, locks.STALE_AFTER + 1)
    new_owner = locks.acquire_lock(catalog, lib_id)
    with catalog.begin() as conn:
        assert not locks.heartbeat(conn, lib_id, owner)  # the old holder learns it lost it
        assert locks.heartbeat(conn, lib_id, new_owner)


def test_a_lease_heartbeats_while_its_holder_works(catalog: Engine) -> None:
    lib_id = _library(catalog)
    with locks.LockLease(catalog, lib_id, what="TV", every=0.05) as lease:
        _age_heartbeat(catalog, lib_id, 1000)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with catalog.connect() as conn:
                holder = locks.lock_holder(conn, lib_id)
            assert holder is not None
            if holder.age < 5:
                break
            time.sleep(0.02)
        else:
            raise AssertionError("the lease never refreshed its heartbeat")
        assert not lease.lost.is_set()
    with catalog.connect() as conn:
        assert locks.lock_holder(conn, lib_id) is None


def test_a_run_that_lost_its_lock_cannot_write(catalog: Engine) -> None:
    lib_id = _library(catalog)
    with locks.LockLease(catalog, lib_id, what="TV", every=0.05) as lease:
        with catalog.begin() as conn:
            lease.fence(conn)  # ours: fine
        with catalog.begin() as conn:  # another sync takes it over
            conn.execute(t.library_locks.update().values(owner="thief"))
        with pytest.raises(LockLostError, match="lost the library's lock"):
            _fenced_write(catalog, lease)
        deadline = time.monotonic() + 10
        while not lease.lost.is_set() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert lease.lost.is_set()
    with catalog.connect() as conn:
        assert conn.execute(sa.select(t.libraries.c.retention_days)).scalar() == 30  # rolled back
        assert locks.lock_holder(conn, lib_id).owner == "thief"  # type: ignore[union-attr]


def test_a_takeover_waits_for_the_holders_page_to_commit(catalog: Engine, db_url: str) -> None:
    """The fence holds the lock row until the page commits: a taker cannot slip in mid-page."""
    if catalog.dialect.name == "sqlite":
        pytest.skip("SQLite serialises writers already: a second writer waits for the first")
    lib_id = _library(catalog)
    other = open_catalog(db_url)
    try:
        with locks.LockLease(catalog, lib_id, what="TV", every=60) as lease:
            _age_heartbeat(catalog, lib_id, locks.STALE_AFTER + 1)
            taken: list[str] = []
            with catalog.begin() as conn:
                lease.fence(conn)  # refreshes the heartbeat and holds the row
                thread = threading.Thread(target=lambda: taken.append(_try_take(other, lib_id)))
                thread.start()
                time.sleep(0.5)
                assert not taken  # the taker waits on the row
            thread.join(10)
            assert taken == ["held"]  # after the commit the heartbeat is fresh: not abandoned
    finally:
        other.dispose()


def _fenced_write(engine: Engine, lease: locks.LockLease) -> None:
    with engine.begin() as conn:
        lease.fence(conn)
        conn.execute(t.libraries.update().values(retention_days=99))


def _try_take(engine: Engine, lib_id: int) -> str:
    try:
        locks.release_lock(engine, lib_id, locks.acquire_lock(engine, lib_id))
    except LockHeldError:
        return "held"
    return "taken"
