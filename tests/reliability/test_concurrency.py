"""Several users of one catalog at once: two syncing processes, the GUI reading while the CLI writes."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from retrovue import servers
from retrovue.ingest import sync
from retrovue.sim import Simulator
from retrovue.store import schema as t
from retrovue.store.db import open_catalog
from tests.conftest import CliResult
from tests.ingest.truth import assert_matches_truth
from tests.reliability.crash_harness import Zygote
from tests.reliability.integrity import assert_integrity


@pytest.fixture
def slow_sim() -> Iterator[Simulator]:
    # Slow enough that the first sync still holds its library when the others start (about 3 s).
    with Simulator(
        seed=3, shows=3, movies=8, seasons_per_show=2, episodes_per_season=5, latency_ms=100
    ) as sim:
        yield sim


@pytest.fixture
def zygote() -> Iterator[Zygote]:
    z = Zygote()
    yield z
    z.close()


def _wait_for_lock(engine: Engine, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            pid = conn.execute(sa.select(t.library_locks.c.pid)).scalar()
        if pid is not None:
            return int(pid)
        time.sleep(0.01)
    raise AssertionError("the first sync never took its lock")


def test_second_process_is_told_who_holds_the_library(
    catalog: Engine, db_url: str, slow_sim: Simulator, zygote: Zygote, cli: Callable[..., CliResult]
) -> None:
    servers.add_server(catalog, "home", slow_sim.url, slow_sim.token)
    # The TV listing crawls (about 10 s for its pages), so the first sync surely still holds TV Shows
    # while the others run, however busy the machine; Movies answers at the fixture's pace.
    slow_sim.set_faults("latency=500ms", pattern="/library/sections/1/all*")
    first = zygote.start(["--db-url", db_url, "sync", "--library", "TV Shows", "--page-size", "2"])
    holder = _wait_for_lock(catalog)
    assert holder == first
    one = cli("sync", "--library", "TV Shows", db_url=db_url)
    assert one.code == 1
    (line,) = [x for x in one.err.splitlines() if x.strip()]
    assert f"pid {first}" in line, line
    assert socket.gethostname() in line, line
    every = cli("sync", "--json", db_url=db_url)  # all libraries: the held one fails, Movies syncs
    assert every.code == 1
    assert f"pid {first}" in every.out
    assert zygote.wait() == 0
    slow_sim.set_faults(None)
    assert [s.status for s in sync(catalog)] == ["ok", "ok"]
    assert_matches_truth(catalog, slow_sim)
    with catalog.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.library_locks)).scalar() == 0


@pytest.fixture
def wal_catalog(tmp_path: Path) -> Iterator[tuple[Engine, str]]:
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    engine = open_catalog(url)
    yield engine, url
    engine.dispose()


def test_long_reader_does_not_block_a_sync_on_sqlite_wal(
    wal_catalog: tuple[Engine, str], small_sim: Simulator
) -> None:
    engine, url = wal_catalog
    servers.add_server(engine, "home", small_sim.url, small_sim.token)
    gui = open_catalog(url)  # the GUI's own engine, as a separate process would have
    try:
        raw = gui.raw_connection()  # a read transaction held open, as a slow GUI query would
        cur = raw.cursor()
        cur.execute("BEGIN")
        before = cur.execute("SELECT count(*) FROM media_items").fetchone()[0]
        summaries = sync(engine, page_size=3)  # writes while the read transaction is open
        assert [s.status for s in summaries] == ["ok", "ok"], [s.reason for s in summaries]
        # The reader keeps its snapshot until it ends its transaction; then it sees the sync.
        assert cur.execute("SELECT count(*) FROM media_items").fetchone()[0] == before
        cur.execute("COMMIT")
        assert cur.execute("SELECT count(*) FROM media_items").fetchone()[0] > before
        cur.close()
        raw.close()
    finally:
        gui.dispose()
    assert_matches_truth(engine, small_sim)


def test_busy_readers_and_a_competing_writer_on_sqlite(
    wal_catalog: tuple[Engine, str], small_sim: Simulator
) -> None:
    """Four reader threads (a GUI scrolling) and a second writer holding the write lock for a while:
    the sync waits (busy_timeout) instead of failing with 'database is locked'."""
    engine, url = wal_catalog
    servers.add_server(engine, "home", small_sim.url, small_sim.token)
    other = open_catalog(url)
    stop = threading.Event()
    errors: list[BaseException] = []
    reads = [0]

    def reader() -> None:
        while not stop.is_set():
            try:
                with other.connect() as conn:
                    conn.execute(
                        sa.select(t.media_items.c.title).order_by(t.media_items.c.title).limit(50)
                    ).all()
                    conn.execute(sa.select(sa.func.count()).select_from(t.media_parts)).scalar()
                reads[0] += 1
            except BaseException as exc:
                errors.append(exc)
                return

    def writer() -> None:
        try:
            with other.connect() as conn:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                conn.execute(t.libraries.update().values(retention_days=31))
                time.sleep(1.0)
                conn.exec_driver_sql("COMMIT")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for th in threads:
        th.start()
    try:
        for _round in range(2):
            hold = threading.Thread(target=writer)
            hold.start()
            time.sleep(0.1)  # the writer holds the lock when the sync starts
            summaries = sync(engine, page_size=3, use_gate=False)
            hold.join()
            assert [s.status for s in summaries] == ["ok", "ok"], [s.reason for s in summaries]
            small_sim.random_mutations(3, _round)
    finally:
        stop.set()
        for th in threads:
            th.join()
        other.dispose()
    assert not errors, errors
    assert reads[0] > 10
    assert_integrity(engine)
