"""The user's place, kept across restarts: window geometry, splitters, the items table's columns and
sort, the selected library and item, the scroll position, and whether Watch was on.

Stored with `QSettings` in an INI file, `gui.ini`, in the state directory (`RETROVUE_STATE_DIR`,
else the platform's; beside the log and the sign-in files), so a test or a second profile redirects
it with one variable; a window can also be given its own `QSettings`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings

from retrovue.account.storage import state_dir

if TYPE_CHECKING:
    from retrovue.gui.main_window import MainWindow

__all__ = ["HEADER_KEY", "default_settings", "restore", "save"]

HEADER_KEY = "items/header/v2"  # v2: State beside Title (an older layout is not restored)


def default_settings() -> QSettings:
    return QSettings(str(state_dir() / "gui.ini"), QSettings.Format.IniFormat)


def _int(value: object) -> int | None:
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


def restore_window(w: MainWindow) -> None:
    """The window's size, position, splitters and table columns (before anything is read)."""
    s = w.settings
    geometry = s.value("window/geometry")
    if isinstance(geometry, QByteArray):
        w.restoreGeometry(geometry)
    else:
        w.resize(1280, 800)
    for key, splitter in (("window/split", w.main_split), ("window/items_split", w.items_split)):
        value = s.value(key)
        if isinstance(value, QByteArray):
            splitter.restoreState(value)
    header = s.value(HEADER_KEY)
    if isinstance(header, QByteArray):
        hh = w.table.horizontalHeader()
        hh.restoreState(header)
        w.items_model.sort(hh.sortIndicatorSection(), hh.sortIndicatorOrder())  # the saved sort, applied


def restore(w: MainWindow) -> None:
    """The user's place in the catalog (called once the tree has been read): the library, the item,
    the scroll position, Watch."""
    s = w.settings
    library_id = _int(s.value("selection/library_id"))
    if library_id is None or not w.select_library(library_id):
        ids = w.tree_model.library_ids()
        if ids:
            w.select_library(ids[0])
    item_id = _int(s.value("selection/item_id"))
    scroll = _int(s.value("items/scroll"))
    if w.selected_library_id() == library_id:
        w.items.restore_place(item_id, scroll)
    if str(s.value("watch/on", "false")).lower() == "true":
        w.act_watch.setChecked(True)
        w.toggle_watch()


def save(w: MainWindow) -> None:
    s = w.settings
    s.setValue("window/geometry", w.saveGeometry())
    s.setValue("window/split", w.main_split.saveState())
    s.setValue("window/items_split", w.items_split.saveState())
    s.setValue(HEADER_KEY, w.table.horizontalHeader().saveState())
    library_id = w.selected_library_id()
    if library_id is not None:
        s.setValue("selection/library_id", library_id)
    item = w.current_item()
    if item is not None:
        s.setValue("selection/item_id", item.id)
    else:
        s.remove("selection/item_id")
    s.setValue("items/scroll", w.table.verticalScrollBar().value())
    s.setValue("watch/on", w.act_watch.isChecked())
    s.sync()
