"""Sync history and the cross-process library lock."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from retrovue.errors import LockHeldError
from retrovue.store import registry, runs
from retrovue.store import schema as t
from retrovue.store.db import open_catalog


def _library(engine: Engine) -> int:
    with engine.begin() as conn:
        server = registry.add_server(conn, name="home", base_url="http://x", token="t", now=1)
        registry.sync_sections(conn, server.id, [registry.SectionInfo("1", None, "TV", "show", None)], now=1)
        return registry.list_libraries(conn)[0].id


def test_runs_are_recorded(catalog: Engine) -> None:
    lib_id = _library(catalog)
    with catalog.begin() as conn:
        run_id = runs.start_run(conn, lib_id, mode="incremental", now=10)
        runs.finish_run(
            conn, run_id, status="partial", counts=runs.RunCounts(5, 1, 4), now=12, error_text="x"
        )
        (row,) = runs.list_runs(conn)
    assert (row.status, row.counts.processed, row.counts.changed, row.error_text) == ("partial", 5, 1, "x")
    assert (row.library_title, row.server_name, row.finished_at) == ("TV", "home", 12)


def test_second_holder_is_told_who_holds_the_lock(catalog: Engine, db_url: str) -> None:
    lib_id = _library(catalog)
    owner = runs.acquire_lock(catalog, lib_id, now=100)
    other = open_catalog(db_url)  # a second pool, as another process would have
    try:
        with pytest.raises(LockHeldError, match=r"being synced by pid \d+ on "):
            runs.acquire_lock(other, lib_id, now=101)
        runs.release_lock(catalog, lib_id, owner)
        runs.release_lock(other, lib_id, runs.acquire_lock(other, lib_id, now=102))
    finally:
        other.dispose()


def test_lock_of_a_dead_process_is_taken_over_and_its_run_closed(catalog: Engine) -> None:
    lib_id = _library(catalog)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    with catalog.begin() as conn:
        runs.start_run(conn, lib_id, mode="incremental", now=100)
        conn.execute(
            t.library_locks.insert().values(
                library_id=lib_id,
                owner="old",
                host=runs.socket.gethostname(),
                pid=dead_pid,
                acquired_at=100,
                heartbeat_at=100,
            )
        )
    owner = runs.acquire_lock(catalog, lib_id, now=110)
    with catalog.connect() as conn:
        assert runs.lock_holder(conn, lib_id).owner == owner  # type: ignore[union-attr]
        status = conn.execute(sa.select(t.sync_runs.c.status, t.sync_runs.c.error_text)).one()
    assert status[0] == "failed"
    assert "interrupted" in status[1]


def test_stale_heartbeat_is_taken_over_live_one_is_not(catalog: Engine) -> None:
    lib_id = _library(catalog)
    owner = runs.acquire_lock(catalog, lib_id, now=1000)
    with catalog.begin() as conn:
        assert runs.heartbeat(conn, lib_id, owner, now=1100)
    with pytest.raises(LockHeldError):
        runs.acquire_lock(catalog, lib_id, now=1100 + runs.STALE_AFTER)
    new_owner = runs.acquire_lock(catalog, lib_id, now=1101 + runs.STALE_AFTER)
    with catalog.begin() as conn:
        assert not runs.heartbeat(conn, lib_id, owner, now=2000)  # the old holder learns it lost it
        assert runs.heartbeat(conn, lib_id, new_owner, now=2000)
