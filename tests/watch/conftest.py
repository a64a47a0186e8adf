"""Fixtures for the watch tests: a SQLite catalog with a simulator registered, and a watcher harness.

SQLite only, for time: the watcher adds nothing backend-specific on top of the engine, whose syncs
are tested on every backend in tests/ingest.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from retrovue import servers
from retrovue.ingest import SyncSummary
from retrovue.sim import Simulator
from retrovue.store import schema as t
from retrovue.store.db import open_catalog
from retrovue.watch import SyncFinished, SyncStarting, Watcher, WatchEvent

SIM_SIZE: dict[str, Any] = {"shows": 2, "movies": 4, "seasons_per_show": 1, "episodes_per_season": 2}


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'watch.sqlite'}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = open_catalog(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(seed=5, **SIM_SIZE) as s:
        yield s


def register(engine: Engine, sim: Simulator, name: str = "home") -> None:
    servers.add_server(engine, name, sim.url, sim.token)


def titles(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.media_items.c.title).where(t.media_items.c.state.notin_(["DELETED", "MISSING"]))
        )
        return {r.title for r in rows}


def wait_for(check: Callable[[], object], timeout: float = 5.0, what: str = "condition") -> float:
    """Poll `check` until true; returns the seconds it took, fails the test after `timeout`."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)
    return time.monotonic() - start


@dataclass
class Harness:
    """A watcher running in a thread, with everything it reported, timestamped."""

    watcher: Watcher
    stop: threading.Event
    thread: threading.Thread
    events: list[WatchEvent] = field(default_factory=list)
    summaries: list[SyncSummary] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    stopped_in: float | None = None

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in list(self.events) if isinstance(e, kind)]

    def finished(self, title: str | None = None) -> list[SyncFinished]:
        return [e for e in self.of(SyncFinished) if title is None or e.library_title == title]

    def started(self, title: str | None = None) -> list[SyncStarting]:
        return [e for e in self.of(SyncStarting) if title is None or e.library_title == title]

    def idle(self) -> bool:
        return len(self.started()) == len(self.finished()) and self.watcher.schedule.idle

    def halt(self) -> float:
        """Set the stop event; returns how long `run()` took to return."""
        begin = time.monotonic()
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive(), "watcher did not stop"
        self.stopped_in = time.monotonic() - begin
        if self.errors:
            raise self.errors[0]
        return self.stopped_in


@pytest.fixture
def watch(engine: Engine) -> Iterator[Callable[..., Harness]]:
    """Start a watcher on the catalog (fast settings for tests); stopped at teardown."""
    made: list[Harness] = []

    def start(**options: Any) -> Harness:
        settings: dict[str, Any] = {
            "debounce": 0.3,
            "reconnect_initial": 0.1,
            "reconnect_max": 0.5,
            "lock_retry": 0.3,
            "open_timeout": 2.0,
            "catchup_interval": 0.3,
            **options,
        }
        stop = threading.Event()
        holder: dict[str, Harness] = {}
        watcher = Watcher(
            engine,
            on_event=lambda e: holder["h"].events.append(e),
            on_summary=lambda s: holder["h"].summaries.append(s),
            **settings,
        )

        def body() -> None:
            try:
                watcher.run(stop)
            except BaseException as exc:
                holder["h"].errors.append(exc)

        harness = Harness(watcher, stop, threading.Thread(target=body, name="test-watcher", daemon=True))
        holder["h"] = harness
        made.append(harness)
        harness.thread.start()
        return harness

    yield start
    for harness in made:
        if harness.thread.is_alive():
            harness.stop.set()
            harness.thread.join(10)
