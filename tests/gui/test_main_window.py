"""The main window over a catalog filled through the store: tree, items, detail pane, actions, settings."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QSettings
from PySide6.QtGui import QGuiApplication
from sqlalchemy import Engine

from retrovue import machine
from retrovue.gui.main_window import MainWindow
from retrovue.gui.models.tree import COL_ITEMS, COL_KIND, COL_RUN, COL_STATES
from retrovue.store import items, registry
from retrovue.store.items import ItemRecord, PartRecord
from tests.gui.conftest import Recorder, fake_library, fill_items, settle


def _select_first_item(qtbot: Any, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window.items_model.rowCount() > 0)
    window.table.setCurrentIndex(window.items_model.index(0, 0))
    settle(qtbot, window)


def test_tree_shows_servers_libraries_and_counts(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine
) -> None:
    server_id, library_id = fake_library(engine)
    fill_items(engine, server_id, library_id, 500)
    window = make_window()
    settle(qtbot, window)
    cells = window.tree_model.library_cells(library_id)
    assert cells[0].text() == "TV Shows"
    assert cells[COL_KIND].text() == "show"
    assert cells[COL_ITEMS].text() == "500"
    assert cells[COL_STATES].text() == "300 active, 100 remote-only, 100 missing"
    assert window.selected_library_id() == library_id  # the first library is selected on start
    assert window.items_model.total == 500
    assert window.act_sync.isEnabled()


def test_window_scrolls_a_library_incrementally(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine
) -> None:
    server_id, library_id = fake_library(engine)
    fill_items(engine, server_id, library_id, 3000)
    window = make_window()
    window.show()
    qtbot.waitUntil(lambda: window.items_model.rowCount() > 0)
    first = window.items_model.rowCount()
    assert first < 3000
    window.table.scrollToBottom()
    qtbot.waitUntil(lambda: window.items_model.rowCount() > first)
    assert "items (" in window.count_label.text()


def test_search_is_debounced(qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine) -> None:
    server_id, library_id = fake_library(engine)
    fill_items(engine, server_id, library_id, 300)
    window = make_window()
    settle(qtbot, window)
    window.search.setText("Episode 00000")
    assert window.items_model.total == 300  # not yet: the timer is running
    qtbot.waitUntil(lambda: window.items_model.total == 10, timeout=2000)
    window.state_filter.setCurrentIndex(window.state_filter.findData("MISSING"))
    settle(qtbot, window)
    assert window.items_model.total == 2  # 000000 and 000005


def test_detail_pane_shows_parts_streams_history_and_error(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine
) -> None:
    server_id, library_id = fake_library(engine)
    fill_items(engine, server_id, library_id, 1)
    now = int(time.time())
    with engine.begin() as conn:  # a state change (history) and an error against the item
        items.upsert_items(
            conn,
            server_id,
            library_id,
            [
                ItemRecord(
                    "10000", "episode", "Episode 000000", "d2", state="UNAVAILABLE", show_title="Show 000"
                )
            ],
            now=now,
        )
        items.record_item_errors(conn, library_id, {"10000": "detail request failed: 500"}, now=now)
    fill_items(engine, server_id, library_id, 1)  # parts back
    window = make_window()
    _select_first_item(qtbot, window)
    pane = window.detail
    assert "Episode 000000" in pane.heading.text()
    assert pane.parts.rowCount() == 1
    assert pane.parts.item(0, 1).text().startswith("/data/tv/Show 000/")
    assert pane.parts.item(0, 2).text() == "(no path mapping)"
    assert pane.parts.item(0, 0).text() == "File"  # one file: no "0.0", no numbering at all
    assert "Video · H.264" in pane.streams.toPlainText()  # words, not JSON
    history = [
        (pane.history.item(r, 2).text(), pane.history.item(r, 3).text())
        for r in range(pane.history.rowCount())
    ]
    assert ("ACTIVE", "UNAVAILABLE") in history
    assert ("UNAVAILABLE", "ACTIVE") in history
    assert "detail request failed: 500" in pane.error.text()


def test_item_actions_use_the_resolved_local_path(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine, runner: Recorder, tmp_path: Path
) -> None:
    server_id, library_id = fake_library(engine)
    fill_items(engine, server_id, library_id, 1)
    local_root = tmp_path / "nas" / "tv"
    with engine.begin() as conn:
        registry.add_mapping(
            conn, server_id, "/data/tv", str(local_root), machine=machine.current(), now=int(time.time())
        )
    window = make_window()
    _select_first_item(qtbot, window)
    row = window.current_item()
    assert row is not None
    assert row.file is not None
    local = Path(str(local_root) + row.file.removeprefix("/data/tv"))
    local.parent.mkdir(parents=True)
    local.write_bytes(b"")

    menu = window.item_menu()
    texts = [a.text() for a in menu.actions() if a.text()]
    assert texts == ["Open file", "Reveal in file manager", "Copy Plex path", "Copy local path"]
    window.act_open.trigger()  # done off the GUI thread: wait for its report
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == f"Opened {local}")
    window.act_reveal.trigger()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == f"Revealed {local}")
    assert runner.calls == [["xdg-open", str(local)], ["xdg-open", str(local.parent)]]
    window.act_copy_plex.trigger()
    assert QGuiApplication.clipboard().text() == row.file
    window.act_copy_local.trigger()
    assert QGuiApplication.clipboard().text() == str(local)
    assert window.detail.parts.item(0, 2).text() == str(local)


def test_open_and_reveal_never_touch_the_disk_on_the_gui_thread(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine, runner: Recorder, tmp_path: Path
) -> None:
    """A share that does not answer blocks `stat` for minutes: the window must stay responsive."""
    server_id, library_id = fake_library(engine)
    fill_items(engine, server_id, library_id, 1)
    with engine.begin() as conn:
        registry.add_mapping(
            conn,
            server_id,
            "/data/tv",
            str(tmp_path / "hung"),
            machine=machine.current(),
            now=int(time.time()),
        )
    asked_from: list[threading.Thread] = []
    release = threading.Event()

    def hung_share(path: str) -> bool | None:
        asked_from.append(threading.current_thread())
        release.wait(10)
        return None  # it never answered in time

    window = make_window(file_exists=hung_share)
    _select_first_item(qtbot, window)
    window.act_open.trigger()  # returns at once: the check runs on the pool
    qtbot.waitUntil(lambda: bool(asked_from))
    assert asked_from[0] is not threading.main_thread()
    assert window.desktop_task is not None
    release.set()
    qtbot.waitUntil(lambda: "not answering" in window.statusBar().currentMessage())
    assert runner.calls == []


def test_open_without_mapping_says_why_and_offers_the_dialog(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine, runner: Recorder
) -> None:
    server_id, library_id = fake_library(engine)
    fill_items(engine, server_id, library_id, 1)
    window = make_window()
    _select_first_item(qtbot, window)
    window.act_open.trigger()
    assert runner.calls == []
    pane = window.detail
    assert pane.message.text().startswith("Cannot open: no local path for this item on this machine")
    assert pane.message_row.isVisibleTo(window)
    assert pane.fix.defaultAction() is window.act_mappings  # a button, not a command-line hint
    window.statusBar().showMessage("something else")  # the status bar moves on; the pane does not
    assert pane.message.text().startswith("Cannot open")
    assert window.activity.texts()[0].startswith("Cannot open")
    pane.fix.click()
    assert window.dialog is not None
    assert window.dialog.windowTitle().startswith("Path mappings")
    window.dialog.reject()


def test_unavailable_item_says_why(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine
) -> None:
    server_id, library_id = fake_library(engine)
    now = int(time.time())
    with engine.begin() as conn:
        items.upsert_items(
            conn,
            server_id,
            library_id,
            [
                ItemRecord(
                    "1",
                    "episode",
                    "Gone File",
                    "d1",
                    state="UNAVAILABLE",
                    show_title="Show",
                    part_count=1,
                    parts=(
                        PartRecord(0, 0, file="/data/tv/Show/gone.mkv", file_exists=False, accessible=False),
                    ),
                )
            ],
            now=now,
        )
    window = make_window()
    _select_first_item(qtbot, window)
    state = window.detail.state.text()
    assert state.startswith("UNAVAILABLE — Plex cannot play it")
    assert "/data/tv/Show/gone.mkv" in state
    assert window.detail.parts.item(0, 7).text() == "missing on the Plex server"


def test_unreachable_server_is_marked(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine
) -> None:
    server_id, _library_id = fake_library(engine)  # http://127.0.0.1:9: nothing listens there
    window = make_window(check_servers_on_start=True)
    with qtbot.waitSignal(window.bus.server_checked, timeout=20_000) as blocker:
        pass
    assert blocker.args[0] == server_id
    assert blocker.args[1] == "unreachable"  # not "token rejected": nothing answered at all
    item = window.tree_model.server_item(server_id)
    assert item is not None
    assert "unreachable" in item.toolTip()
    assert window.tree_model.item(item.row(), COL_RUN).text() == "unreachable"
    assert window.activity.texts()[0].startswith("unreachable: ")


def test_selection_columns_and_geometry_persist(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine, settings: QSettings
) -> None:
    server_id, _first = fake_library(engine)
    now = int(time.time())
    with engine.begin() as conn:
        registry.sync_sections(
            conn, server_id, [registry.SectionInfo("2", None, "Movies", "movie", None)], now=now
        )
        movies = registry.get_library(conn, "Movies").id
    window = make_window()
    assert window.select_library(movies)
    window.table.setColumnWidth(0, 333)
    window.resize(1111, 777)
    window.save_settings()
    window.close()

    again = make_window()
    assert again.selected_library_id() == movies
    assert again.table.columnWidth(0) == 333
    assert again.items_model.library_id == movies
    assert settings.value("selection/library_id") is not None


def test_remove_server_after_confirmation(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine
) -> None:
    server_id, library_id = fake_library(engine)
    fill_items(engine, server_id, library_id, 5)
    window = make_window()
    window.confirm = lambda _q: True  # type: ignore[method-assign]
    window.remove_server()
    settle(qtbot, window)
    assert window.tree_model.rowCount() == 0
    assert window.items_model.library_id is None
    with engine.connect() as conn:
        assert registry.list_servers(conn) == []


def test_toggle_library_enabled(qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine) -> None:
    _server_id, library_id = fake_library(engine)
    window = make_window()
    window.toggle_library_enabled()
    settle(qtbot, window)
    assert window.tree_model.library_cells(library_id)[0].text() == "TV Shows (disabled)"
    with engine.connect() as conn:
        assert not registry.get_library_by_id(conn, library_id).enabled
    assert window.items_model.index(0, 0) == window.items_model.index(0, 0)
    assert not QModelIndex().isValid()
