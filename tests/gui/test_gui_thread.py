"""The GUI thread never waits for the catalog: every read and write of the window runs on its
reader's or pool's threads, the server dialogs included.

The proof is a SQLAlchemy listener that records each statement run on the main thread
(`gui_thread_statements`) while the window is used as a user would — sync, browse, search, sort,
the item pane, history, server checks, the edit-server and path-mapping dialogs, removing the
server — and a reader held busy, which the window must not wait for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from sqlalchemy import Engine

from retrovue import servers
from retrovue.gui.dialogs.mappings import MappingsDialog
from retrovue.gui.dialogs.server import ServerDialog
from retrovue.gui.main_window import TAB_ACTIVITY, TAB_HISTORY, TAB_ITEMS, MainWindow
from retrovue.sim import Simulator
from tests.gui.conftest import fake_library, fill_items, gui_thread_statements, settle


def _library_of_kind(window: MainWindow, kind: str) -> int:
    return next(lib for lib, k in window.tree_model.library_kinds.items() if k == kind)


def test_no_catalog_statement_runs_on_the_gui_thread_while_the_window_is_used(
    qtbot: Any,
    make_window: Callable[..., MainWindow],
    engine: Engine,
    plex_sim: Simulator,
    tmp_path: Path,
) -> None:
    servers.add_server(engine, "sim", plex_sim.url, plex_sim.token)
    with gui_thread_statements(engine) as on_gui_thread:
        window = make_window(page_size=20)
        window.show()
        with qtbot.waitSignal(window.bus.job_finished, timeout=60_000):
            window.sync_all()
        settle(qtbot, window)

        # browse: the TV library, a show, a season, an episode and its detail; scroll, sort, search
        tv = _library_of_kind(window, "show")
        assert window.select_library(tv)
        settle(qtbot, window)
        library = window.tree_model.library_item(tv)
        assert library is not None
        window.tree.expand(library.index())
        qtbot.waitUntil(lambda: window.tree_model.shows_loaded(tv))
        show = library.child(0, 0)
        window.tree.expand(show.index())
        qtbot.waitUntil(lambda: show.child(0, 0).data(Qt.ItemDataRole.DisplayRole) != "Loading…")
        window.tree.setCurrentIndex(show.child(0, 0).index())
        settle(qtbot, window)
        window.tree.setCurrentIndex(library.index())
        settle(qtbot, window)
        window.table.setCurrentIndex(window.items_model.index(0, 0))
        settle(qtbot, window)
        assert window.detail.detail is not None
        window.table.scrollToBottom()
        settle(qtbot, window)
        window.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        settle(qtbot, window)
        window.state_filter.setCurrentIndex(window.state_filter.findData("REMOTE_ONLY"))
        settle(qtbot, window)
        window.search.setText("e")
        window.apply_search()
        settle(qtbot, window)
        window.tabs.setCurrentIndex(TAB_HISTORY)
        settle(qtbot, window)
        window.tabs.setCurrentIndex(TAB_ACTIVITY)
        window.tabs.setCurrentIndex(TAB_ITEMS)
        window.check_servers()
        window.toggle_library_enabled()
        settle(qtbot, window)
        window.toggle_library_enabled()
        settle(qtbot, window)

        # the server's dialogs: edit (test, save a new name), path mappings (add one), remove
        window.edit_server()
        qtbot.waitUntil(lambda: isinstance(window.dialog, ServerDialog))
        edit = window.dialog
        assert isinstance(edit, ServerDialog)
        edit.name.setText("renamed")
        edit.test_button.click()
        qtbot.waitUntil(edit.save_button.isEnabled, timeout=10_000)
        with qtbot.waitSignal(edit.accepted, timeout=10_000):
            edit.save_button.click()
        settle(qtbot, window)
        assert window.tree_model.item(0, 0).text() == "renamed"

        mappings = window.edit_mappings()
        assert isinstance(mappings, MappingsDialog)
        qtbot.waitUntil(lambda: not mappings.busy)
        mappings.plex_prefix.setText("/data/media")
        mappings.local_prefix.setText(str(tmp_path / "nas"))
        mappings.add_button.click()
        qtbot.waitUntil(lambda: not mappings.busy and mappings.table.rowCount() == 1, timeout=10_000)
        mappings.reject()
        settle(qtbot, window)

        window.confirm = lambda _question: True  # type: ignore[method-assign]
        window.remove_server()
        settle(qtbot, window)
        assert window.tree_model.rowCount() == 0
    assert on_gui_thread == []


def _hold_the_reader(window: MainWindow) -> threading.Event:
    """A read that does not answer until released (a busy database): whatever the window asks of
    its reader waits behind it."""
    release = threading.Event()
    window.reader.read(lambda: release.wait(10), lambda _r: None)
    return release


def _event_loop_runs(qtbot: Any) -> None:
    """The GUI thread is free: a timer queued now fires."""
    fired: list[bool] = []
    QTimer.singleShot(0, lambda: fired.append(True))
    qtbot.waitUntil(lambda: fired == [True])


def test_edit_server_reads_the_server_off_the_gui_thread(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine
) -> None:
    fake_library(engine)
    window = make_window()
    release = _hold_the_reader(window)
    with gui_thread_statements(engine) as on_gui_thread:
        window.edit_server()  # returns at once: the row is read behind the busy reader
        _event_loop_runs(qtbot)
        assert window.dialog is None
        release.set()
        qtbot.waitUntil(lambda: isinstance(window.dialog, ServerDialog))
    assert on_gui_thread == []
    dialog = window.dialog
    assert isinstance(dialog, ServerDialog)
    assert dialog.name.text() == "offline"
    assert dialog.url.text() == "http://127.0.0.1:9"
    assert "t0" in dialog.token.placeholderText()  # the stored token, masked
    assert dialog.inputs()[1] == "t0ken-xyz"  # an empty field keeps it
    dialog.reject()


def test_edit_server_opens_one_dialog_for_the_last_request(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine
) -> None:
    fake_library(engine)
    window = make_window()
    release = _hold_the_reader(window)
    opened: list[ServerDialog] = []
    window.edit_server(then=opened.append)  # asked twice while the reader is busy
    window.edit_server(then=opened.append)
    release.set()
    qtbot.waitUntil(lambda: len(opened) >= 1)
    settle(qtbot, window)
    assert len(opened) == 1
    opened[0].reject()


def test_edit_server_that_is_gone_says_so(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine
) -> None:
    fake_library(engine)
    window = make_window()
    window.edit_server(server_id=999)
    settle(qtbot, window)
    assert window.dialog is None
    assert "Cannot edit the server: no server with id 999" in window.activity.texts()[0]


def test_path_mappings_and_remove_need_no_read_on_the_gui_thread(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine
) -> None:
    server_id, library_id = fake_library(engine)
    fill_items(engine, server_id, library_id, 5)
    window = make_window()
    release = _hold_the_reader(window)
    asked: list[str] = []

    def confirm(question: str) -> bool:
        asked.append(question)
        return True

    window.confirm = confirm  # type: ignore[method-assign]
    with gui_thread_statements(engine) as on_gui_thread:
        dialog = window.edit_mappings()  # at once, named from the tree; it reads on its own thread
        assert isinstance(dialog, MappingsDialog)
        assert dialog.windowTitle() == "Path mappings — offline"
        qtbot.waitUntil(lambda: not dialog.busy)
        dialog.reject()
        window.remove_server()  # the question at once, the removal behind the busy reader
        assert len(asked) == 1
        assert "'offline'" in asked[0]
        _event_loop_runs(qtbot)
        assert window.tree_model.rowCount() == 1
        release.set()
        settle(qtbot, window)
    assert on_gui_thread == []
    assert window.tree_model.rowCount() == 0
