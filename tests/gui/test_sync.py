"""Syncing from the window: the worker, the UiBus signals and what the window does with them.

The first tests script the engine (a fake `sync_fn`) to pin the contract; the rest run the real
engine against the simulator.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from retrovue import servers
from retrovue.errors import LockHeldError
from retrovue.gui.bus import UiBus
from retrovue.gui.main_window import MainWindow, completion_message
from retrovue.gui.models.tree import COL_ITEMS, COL_RUN
from retrovue.gui.worker import SyncRequest, SyncWorker
from retrovue.ingest.events import LibraryDone, LibraryStarted, PageProgress, SyncSummary
from retrovue.sim import Simulator
from retrovue.store import registry, runs, schema
from tests.gui.conftest import fake_library, settle


def _summary(library_id: int, **kw: Any) -> SyncSummary:
    values: dict[str, Any] = {"status": "ok", "changed": 3, "skipped": 7, "errors": 1}
    values.update(kw)
    return SyncSummary(1, library_id, "offline", "TV Shows", 1, "incremental", **values)


def scripted(library_id: int, gate: threading.Event | None = None) -> Callable[..., list[SyncSummary]]:
    def fake_sync(
        engine: Engine, *, on_event: Callable[[Any], None], cancel: threading.Event, **kw: Any
    ) -> Any:
        on_event(LibraryStarted(1, library_id, "offline", "TV Shows", "incremental"))
        for n in (4, 8, 11):
            on_event(PageProgress(1, library_id, n, 11, n // 2, n - n // 2, 0))
            if gate is not None:
                gate.wait(5)
            if cancel.is_set():
                summary = _summary(library_id, status="cancelled", reason="cancelled by the user")
                on_event(LibraryDone(1, library_id, summary))
                return [summary]
        summary = _summary(library_id, missing_promoted=2)
        on_event(LibraryDone(1, library_id, summary))
        return [summary]

    return fake_sync


def test_worker_forwards_events_in_order(qtbot: Any, engine: Engine) -> None:
    bus = UiBus()
    seen: list[tuple[Any, ...]] = []
    bus.sync_started.connect(lambda *a: seen.append(("started", *a)))
    bus.page_progress.connect(lambda *a: seen.append(("page", a[2], a[3])))
    bus.sync_completed.connect(lambda *a: seen.append(("done", a[2].status)))
    bus.job_finished.connect(lambda *a: seen.append(("finished",)))
    worker = SyncWorker(engine, bus, SyncRequest(5), sync_fn=scripted(5))
    with qtbot.waitSignal(bus.job_finished, timeout=5000):
        threading.Thread(target=worker.run).start()
    assert seen == [
        ("started", 1, 5, "incremental"),
        ("page", 4, 11),
        ("page", 8, 11),
        ("page", 11, 11),
        ("done", "ok"),
        ("finished",),
    ]


def test_window_progress_status_and_double_start(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine
) -> None:
    _server_id, library_id = fake_library(engine)
    gate = threading.Event()
    window = make_window(sync_fn=scripted(library_id, gate))
    worker = window.sync_selected()
    assert worker is not None
    assert not window.act_sync.isEnabled()
    assert not window.act_sync_all.isEnabled()
    assert window.act_cancel.isEnabled()
    assert window.sync_selected() is None  # a second sync of the same library is refused
    qtbot.waitUntil(lambda: library_id in window.progress.bars)
    bar = window.progress.bars[library_id]
    qtbot.waitUntil(lambda: bar.bar.value() == 4)
    assert bar.bar.maximum() == 11
    assert "reading items 4 of 11 · 2 added or changed · 0 s elapsed" in bar.label.text()
    gate.set()
    qtbot.waitUntil(lambda: not window.jobs)
    line = "3 added or changed, 2 removed from Plex, 1 error — 0 s"
    assert window.activity.texts() == [line, "that library is already being synced"]
    assert window.items.result.text() == f"Last sync: {line}"
    assert window.progress.bars == {}
    assert window.act_sync.isEnabled()


def test_lock_held_is_reported_not_raised(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine
) -> None:
    _server_id, _library_id = fake_library(engine)

    def locked(*_a: Any, **_k: Any) -> Any:
        raise LockHeldError(
            "TV Shows is being synced by pid 42 on elsewhere (since epoch 1); wait for it to finish"
        )

    window = make_window(sync_fn=locked)
    window.sync_selected()
    qtbot.waitUntil(lambda: not window.jobs)
    assert window.activity.texts()[0].startswith("sync could not run: TV Shows is being synced by pid 42")
    assert window.items.result.text().startswith("Last sync: Could not run: TV Shows is being synced")
    assert window.act_sync.isEnabled()


def test_unexpected_engine_error_is_a_message(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine
) -> None:
    fake_library(engine)

    def broken(*_a: Any, **_k: Any) -> Any:
        raise ValueError("boom")

    window = make_window(sync_fn=broken)
    window.sync_all()
    qtbot.waitUntil(lambda: not window.jobs)
    assert window.activity.texts() == [
        "sync could not run: unexpected error (ValueError: boom); details in the log"
    ]


def test_completion_message_names_a_failure() -> None:
    text = completion_message(_summary(1, status="partial", reason="3 shows failed", elapsed_s=12.4))
    assert text == "offline / TV Shows: 3 added or changed, 1 error — 12 s — incomplete: 3 shows failed"
    cancelled = _summary(1, status="cancelled", reason="cancelled by the user", processed=120, elapsed_s=4)
    assert (
        completion_message(cancelled)
        == "offline / TV Shows: Cancelled after 120 items: cancelled by the user — 4 s"
    )
    failed = _summary(1, status="failed", reason="Plex answered 500")
    assert completion_message(failed) == "offline / TV Shows: Failed: Plex answered 500 — 0 s"


# ------------------------------------------------------------------------------------- real engine


@pytest.fixture
def sim_window(
    make_window: Callable[..., MainWindow], engine: Engine, plex_sim: Simulator
) -> Iterator[MainWindow]:
    servers.add_server(engine, "sim", plex_sim.url, plex_sim.token)
    window = make_window(page_size=10)
    with engine.connect() as conn:
        tv = registry.get_library(conn, "TV Shows")
    window.select_library(tv.id)
    return window


def test_real_sync_updates_tree_table_history_and_status(
    qtbot: Any, sim_window: MainWindow, engine: Engine
) -> None:
    window = sim_window
    library_id = window.selected_library_id()
    assert library_id is not None
    events: list[str] = []
    window.bus.sync_started.connect(lambda *a: events.append("started"))
    window.bus.page_progress.connect(lambda *a: events.append("page"))
    window.bus.sync_completed.connect(lambda *a: events.append("completed"))
    with qtbot.waitSignal(window.bus.job_finished, timeout=30_000):
        window.sync_selected()
    settle(qtbot, window)
    assert events[0] == "started"
    assert events[-1] == "completed"
    assert events.count("page") >= 2
    assert set(events[1:-1]) == {"page"}
    assert window.activity.texts()[0].startswith("40 added or changed, 0 errors — ")
    assert window.items.result.text().startswith("Last sync: 40 added or changed, 0 errors — ")
    cells = window.tree_model.library_cells(library_id)
    assert cells[COL_ITEMS].text() == "40"
    assert cells[COL_RUN].text() == ""  # an ok run needs no attention; a failed one is named
    assert window.items_model.total == 40
    assert window.runs_model.rowCount() == 1
    with engine.connect() as conn:
        assert runs.list_runs(conn)[0].status == "ok"


def test_resync_after_mutations_shows_changes(
    qtbot: Any, sim_window: MainWindow, engine: Engine, plex_sim: Simulator
) -> None:
    window = sim_window
    with qtbot.waitSignal(window.bus.job_finished, timeout=30_000):
        window.sync_selected()
    episode_keys = [row.rating_key for row in _episodes(engine)]
    plex_sim.remove(episode_keys[0])
    plex_sim.edit(episode_keys[1], title="A Brand New Title")
    with qtbot.waitSignal(window.bus.job_finished, timeout=30_000):
        window.sync_selected()
    message = window.activity.texts()[0]
    assert message.startswith("1 added or changed, 1 removed from Plex, 0 errors — "), message
    assert len(window.activity.texts()) == 2  # the first run's line stays
    window.search.setText("Brand New")
    window.apply_search()
    settle(qtbot, window)
    assert window.items_model.total == 1
    window.search.setText("")
    window.apply_search()
    window.state_filter.setCurrentIndex(window.state_filter.findData("MISSING"))
    settle(qtbot, window)
    assert window.items_model.total == 1


def _episodes(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(sa.select(schema.media_items.c.rating_key).order_by(schema.media_items.c.id))
        )


def test_cancel_mid_sync(qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine) -> None:
    with Simulator(seed=7, shows=10, latency_ms=40) as sim:
        servers.add_server(engine, "slow", sim.url, sim.token)
        window = make_window(page_size=5)
        with engine.connect() as conn:
            window.select_library(registry.get_library(conn, "TV Shows").id)
        completed: list[SyncSummary] = []
        window.bus.sync_completed.connect(lambda _s, _l, summary: completed.append(summary))
        window.sync_selected()
        with qtbot.waitSignal(window.bus.page_progress, timeout=30_000):
            pass
        window.act_cancel.trigger()
        qtbot.waitUntil(lambda: not window.jobs, timeout=30_000)
    assert [s.status for s in completed] == ["cancelled"]
    assert window.activity.texts()[0].startswith("Cancelled")
    assert window.activity.entries[-1].level == "warning"
    assert window.items.result.text().startswith("Last sync: Cancelled")
    assert window.act_sync.isEnabled()


def test_two_syncs_at_once_each_keep_their_result(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine
) -> None:
    server_id, tv = fake_library(engine)
    with engine.begin() as conn:
        registry.sync_sections(
            conn, server_id, [registry.SectionInfo("2", None, "Movies", "movie", None)], now=1
        )
        movies = registry.get_library(conn, "Movies").id

    def both(engine: Engine, *, on_event: Callable[[Any], None], **_kw: Any) -> Any:
        first = _summary(tv, changed=546, missing_promoted=0, elapsed_s=12)
        second = SyncSummary(1, movies, "offline", "Movies", 2, "incremental", "ok", deleted_promoted=1)
        for summary in (first, second):
            on_event(LibraryStarted(1, summary.library_id, "offline", summary.library_title, "incremental"))
            on_event(LibraryDone(1, summary.library_id, summary))
        return [first, second]

    window = make_window(sync_fn=both)
    window.sync_all()
    qtbot.waitUntil(lambda: not window.jobs)
    settle(qtbot, window)
    texts = window.activity.texts()
    assert texts[0] == "0 added or changed, 1 deleted, 0 errors — 0 s"  # the second never hides the first
    assert texts[1] == "546 added or changed, 1 error — 12 s"
    window.select_library(tv)
    settle(qtbot, window)
    assert window.items.result.text() == "Last sync: 546 added or changed, 1 error — 12 s"
    window.select_library(movies)
    settle(qtbot, window)
    assert window.items.result.text() == "Last sync: 0 added or changed, 1 deleted, 0 errors — 0 s"


def test_a_rejected_token_is_not_called_unreachable(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine, plex_sim: Simulator
) -> None:
    added = servers.add_server(engine, "sim", plex_sim.url, plex_sim.token)
    plex_sim.revoke_token()
    try:
        window = make_window()
        with qtbot.waitSignal(window.bus.server_checked, timeout=20_000) as blocker:
            window.check_servers()
    finally:
        plex_sim.restore_token()
    assert blocker.args[:2] == [added.server.id, "token rejected"]
    item = window.tree_model.server_item(added.server.id)
    assert item is not None
    assert window.tree_model.item(item.row(), COL_RUN).text() == "token rejected"
    assert window.activity.texts()[0].startswith("token rejected: ")
