"""Fixtures for the GUI tests: offscreen Qt, a real SQLite catalog, a temp QSettings, a window factory."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from PySide6.QtCore import QSettings
from sqlalchemy import Engine

from retrovue import machine, servers
from retrovue.gui.main_window import MainWindow
from retrovue.sim import Simulator
from retrovue.store import items, local, registry
from retrovue.store.db import open_catalog
from retrovue.store.items import ItemRecord, PartRecord
from retrovue.store.registry import SectionInfo


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A real, migrated SQLite catalog per test."""
    eng = open_catalog(f"sqlite:///{tmp_path / 'gui.sqlite'}")
    yield eng
    eng.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    """A throw-away settings file, so tests never read or write the user's settings."""
    return QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)


class Recorder:
    """A desktop runner that records argv lists instead of starting programs."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> None:
        self.calls.append(list(argv))


@pytest.fixture
def runner() -> Recorder:
    return Recorder()


@pytest.fixture
def make_window(
    qtbot: Any, engine: Engine, settings: QSettings, runner: Recorder
) -> Iterator[Callable[..., MainWindow]]:
    made: list[MainWindow] = []

    def make(**kwargs: Any) -> MainWindow:
        kwargs.setdefault("settings", settings)
        kwargs.setdefault("runner", runner)
        kwargs.setdefault("check_servers_on_start", False)
        wait = kwargs.pop("settle", True)
        window = MainWindow(engine, **kwargs)
        qtbot.addWidget(window)
        made.append(window)
        if wait:  # the tree, the items and the place are read in the background: let them arrive
            settle(qtbot, window)
        return window

    yield make
    for window in made:
        window.shutdown()


@pytest.fixture
def registered(plex_sim: Simulator, engine: Engine) -> servers.AddedServer:
    """The simulator registered as server 'sim', with its two libraries (not yet synced)."""
    return servers.add_server(engine, "sim", plex_sim.url, plex_sim.token)


def fake_library(engine: Engine, *, kind: str = "show", title: str = "TV Shows") -> tuple[int, int]:
    """A server and library written through the store alone (no Plex); returns (server id, library id)."""
    now = int(time.time())
    with engine.begin() as conn:
        server = registry.add_server(
            conn, name="offline", base_url="http://127.0.0.1:9", token="t0ken-xyz", now=now
        )
        registry.sync_sections(
            conn, server.id, [SectionInfo("1", None, title, kind, None, ("/data/tv",))], now=now
        )
        lib = registry.list_libraries(conn, server="offline")[0]
    return server.id, lib.id


def fill_items(engine: Engine, server_id: int, library_id: int, n: int, *, page: int = 1000) -> None:
    """`n` episodes across 100 shows, each with one part under /data/tv, via store.items.upsert_items;
    the ACTIVE and REMOTE_ONLY ones are Plex-playable items with this machine's verdict saying so."""
    now = int(time.time())
    states = ("ACTIVE", "ACTIVE", "ACTIVE", "REMOTE_ONLY", "MISSING")
    with engine.begin() as conn:
        for start in range(0, n, page):
            batch = []
            for i in range(start, min(n, start + page)):
                show = f"Show {i % 100:03d}"
                season, ep = divmod(i // 100, 20)
                path = f"/data/tv/{show}/Season {season + 1:02d}/{show} - s{season + 1:02d}e{ep + 1:02d}.mkv"
                batch.append(
                    ItemRecord(
                        rating_key=str(10_000 + i),
                        kind="episode",
                        title=f"Episode {i:06d}",
                        digest=f"d{i}",
                        state="ACTIVE"
                        if states[i % len(states)] == "REMOTE_ONLY"
                        else states[i % len(states)],
                        show_rating_key=f"s{i % 100}",
                        show_title=show,
                        season_index=season + 1,
                        episode_index=ep + 1,
                        year=1980 + i % 30,
                        duration_ms=1_320_000 + i,
                        file_size=700_000_000 + i,
                        part_count=1,
                        parts=(
                            PartRecord(
                                0,
                                0,
                                file=path,
                                size=700_000_000 + i,
                                container="mkv",
                                video_codec="h264",
                                audio_codec="aac",
                                audio_channels=2,
                                video_resolution="720",
                                streams='[{"streamType": 1, "codec": "h264"}]',
                            ),
                        ),
                    )
                )
            ids = items.upsert_items(conn, server_id, library_id, batch, now=now)
            verdicts = [
                local.Decision(
                    ids[r.rating_key], states[int(r.rating_key) % len(states)] == "ACTIVE", r.digest
                )
                for r in batch
                if r.state == "ACTIVE"
            ]
            local.write_verdicts(conn, machine.current(), verdicts, now=now)


def settle(qtbot: Any, window: MainWindow, timeout: int = 10_000) -> None:
    """Wait until the window's background reads (tree, items, detail) have all answered and the
    saved place is restored."""
    qtbot.waitUntil(
        lambda: (
            not window.reader.busy and not window.items_model.loading and window.items.pending_place is None
        ),
        timeout=timeout,
    )


@contextmanager
def gui_thread_statements(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement `engine` runs on the GUI (main) thread while the block runs, in order.
    The window reads and writes the catalog on its reader's and pool's threads only, so a test
    using the window should find none (the test must not query the catalog itself meanwhile)."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if threading.current_thread() is threading.main_thread():
            seen.append(" ".join(statement.split())[:120])

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
