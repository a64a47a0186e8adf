"""Keep the user's place: refreshes keep the selection, scroll and detail; restarts restore the saved
sort, the selected item, the scroll position and Watch; counts follow a mapping change."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QMessageBox, QStyleOptionViewItem
from sqlalchemy import Engine

from retrovue import servers
from retrovue.gui import place
from retrovue.gui.main_window import MainWindow
from retrovue.gui.models.items import COL_PLEX, COL_TITLE
from retrovue.gui.models.tree import COL_STATES, COL_SYNCED
from retrovue.sim import Simulator
from tests.gui.conftest import fake_library, fill_items, settle


def _select_row(qtbot: Any, window: MainWindow, row: int) -> None:
    settle(qtbot, window)
    while window.items_model.rowCount() <= row and window.items_model.canFetchMore():
        window.items_model.fetchMore()
        settle(qtbot, window)
    window.table.setCurrentIndex(window.items_model.index(row, COL_TITLE))
    settle(qtbot, window)


def test_a_refresh_keeps_selection_scroll_and_detail(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine
) -> None:
    server_id, library_id = fake_library(engine)
    fill_items(engine, server_id, library_id, 1500)
    window = make_window()
    window.show()
    _select_row(qtbot, window, 700)
    chosen = window.current_item()
    assert chosen is not None
    window.table.scrollTo(window.items_model.index(700, 0))
    scroll = window.table.verticalScrollBar().value()
    assert scroll > 0
    heading = window.detail.heading.text()
    window.search.setText("Episode 000")  # a search that stays through the refresh
    window.apply_search()
    settle(qtbot, window)
    _select_row(qtbot, window, 700)
    chosen = window.current_item()
    assert chosen is not None
    scroll = window.table.verticalScrollBar().value()
    heading = window.detail.heading.text()

    fill_items(engine, server_id, library_id, 1600)  # a sync wrote 100 more items meanwhile
    window.reload()  # what a finished sync, Watch's or the user's, does
    settle(qtbot, window)
    assert window.search.text() == "Episode 000"
    assert window.items_model.filter is not None
    assert window.items_model.filter.search == "Episode 000"
    assert window.current_item() is not None
    assert window.current_item().id == chosen.id  # type: ignore[union-attr]
    assert window.table.verticalScrollBar().value() == scroll
    assert window.detail.heading.text() == heading
    assert window.items_model.total == 1000  # "Episode 000xxx": 1,000 of the 1,600


def test_saved_sort_item_scroll_and_watch_come_back(
    qtbot: Any,
    make_window: Callable[..., MainWindow],
    engine: Engine,
    settings: QSettings,
    plex_sim: Simulator,
) -> None:
    servers.add_server(engine, "sim", plex_sim.url, plex_sim.token)
    _server_id, library_id = fake_library(engine)
    fill_items(engine, _server_id, library_id, 800)
    window = make_window()
    window.show()
    assert window.select_library(library_id)
    window.table.sortByColumn(COL_TITLE, Qt.SortOrder.DescendingOrder)
    settle(qtbot, window)
    _select_row(qtbot, window, 400)
    chosen = window.current_item()
    assert chosen is not None
    window.table.scrollTo(window.items_model.index(400, 0))
    window.act_watch.setChecked(True)
    window.toggle_watch()
    window.close()
    assert settings.value("watch/on") in (True, "true")
    scroll = int(str(settings.value("items/scroll")))
    assert scroll > 300

    again = make_window()
    again.show()
    settle(qtbot, again)
    qtbot.waitUntil(lambda: again.items.pending_place is None)
    f = again.items_model.filter
    assert f is not None
    assert (f.sort, f.descending) == ("title", True)  # the saved sort is applied, not only drawn
    assert again.items_model.rows[0].title == "Episode 000799"
    assert again.current_item() is not None
    assert again.current_item().id == chosen.id  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: again.table.verticalScrollBar().value() == scroll)
    assert again.act_watch.isChecked()
    assert again.watch.running


def test_settings_live_in_the_state_directory(
    monkeypatch: Any, tmp_path: Path, qtbot: Any, engine: Engine
) -> None:
    monkeypatch.setenv("RETROVUE_STATE_DIR", str(tmp_path / "state"))
    s = place.default_settings()
    assert Path(s.fileName()) == tmp_path / "state" / "gui.ini"


def test_counts_follow_a_mapping_change(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine, tmp_path: Path
) -> None:
    server_id, library_id = fake_library(engine)
    fill_items(engine, server_id, library_id, 10)
    window = make_window()
    cells = window.tree_model.library_cells(library_id)
    assert cells[COL_STATES].text() == "6 active, 2 remote-only, 2 missing"
    _select_row(qtbot, window, 0)
    dialog = window.edit_mappings()
    assert dialog is not None
    root = tmp_path / "nas"
    for item in window.items_model.rows:  # every file is here: all Plex can play, plays here
        assert item.file is not None
        local = root / item.file.removeprefix("/data/tv/")
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(b"")
    chosen = window.current_item()
    qtbot.waitUntil(lambda: not dialog.busy)
    dialog.plex_prefix.setText("/data/tv")
    dialog.local_prefix.setText(str(root))
    dialog.add_button.click()
    dialog.reject()  # waits for the change under way
    settle(qtbot, window)
    cells = window.tree_model.library_cells(library_id)
    assert cells[COL_STATES].text() == "8 active, 2 missing"  # the tree follows, not only the table
    assert window.current_item() == chosen or window.current_item().id == chosen.id  # type: ignore[union-attr]
    assert {r.state for r in window.items_model.rows} == {"ACTIVE", "MISSING"}


def test_remove_server_defaults_to_no(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine
) -> None:
    fake_library(engine)
    window = make_window()
    seen: list[Any] = []

    def answer() -> None:
        box = window.dialog_box
        seen.append(box.defaultButton() is box.button(QMessageBox.StandardButton.No))
        box.defaultButton().click()  # what Enter does

    QTimer.singleShot(0, answer)
    window.remove_server()
    assert seen == [True]
    assert window.tree_model.rowCount() == 1  # still there


def test_item_actions_need_an_item_and_counts_read_well(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine
) -> None:
    server_id, library_id = fake_library(engine)
    fill_items(engine, server_id, library_id, 1)
    window = make_window()
    settle(qtbot, window)
    assert window.current_item() is None
    for action in (window.act_open, window.act_reveal, window.act_copy_plex, window.act_copy_local):
        assert not action.isEnabled()
    assert window.count_label.text() == "1 item"
    _select_row(qtbot, window, 0)
    assert all(a.isEnabled() for a in (window.act_open, window.act_reveal, window.act_copy_plex))
    window.table.clearSelection()
    assert not window.act_open.isEnabled()


def test_no_server_offers_the_dialog_and_sync_all_does_not_pretend(
    qtbot: Any, make_window: Callable[..., MainWindow]
) -> None:
    window = make_window()
    qtbot.waitUntil(lambda: window.items.first_run.isVisibleTo(window))
    assert window.items.first_sign_in.isVisibleTo(window)  # the account way in, too
    assert "No Plex server yet" in window.items.result.text()
    assert not window.act_sync_all.isEnabled()
    assert window.sync_all() is None
    assert window.statusBar().currentMessage() != "Sync started…"
    window.items.first_run.click()
    assert window.dialog is not None
    assert window.dialog.windowTitle().startswith("Add")
    window.dialog.reject()


def test_fits_1024_by_700(qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine) -> None:
    server_id, library_id = fake_library(engine)
    fill_items(engine, server_id, library_id, 200)
    window = make_window()
    window.resize(1024, 700)
    window.show()
    qtbot.waitExposed(window)
    assert window.items.state_column_visible()  # State sits beside Title
    tree = window.tree
    synced = tree.columnViewportPosition(COL_SYNCED) + tree.columnWidth(COL_SYNCED)
    assert synced <= tree.viewport().width()  # the tree shows when each library was last synced
    rows = window.table.viewport().height() // window.table.verticalHeader().defaultSectionSize()
    assert rows >= 12
    index = window.items_model.index(0, COL_PLEX)
    option = QStyleOptionViewItem()
    window.table.itemDelegateForColumn(COL_PLEX).initStyleOption(option, index)
    assert option.textElideMode == Qt.TextElideMode.ElideMiddle  # the file name stays in view
    assert index.data(Qt.ItemDataRole.ToolTipRole) == index.data()  # the full path as a tooltip
