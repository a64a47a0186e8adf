"""`ItemActions`: what the window does with the selected item — open, reveal, copy its paths.

Open and reveal run off the GUI thread (checking the file, or starting the opener, can block on a
share that does not answer); a failure stays written in the item pane with the button that fixes
it, and goes to the activity log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint
from PySide6.QtGui import QAction, QGuiApplication

from retrovue import desktop
from retrovue.gui.models.items import ItemRow
from retrovue.gui.tasks import Task, run_task

if TYPE_CHECKING:
    from retrovue.gui.main_window import MainWindow

__all__ = ["NO_LOCAL_PATH", "ItemActions"]

NO_LOCAL_PATH = "no local path for this item on this machine; add a path mapping for its server"


class ItemActions:
    def __init__(self, window: MainWindow) -> None:
        self.w = window
        self.task: Task | None = None  # the last open/reveal, kept alive while it runs

    def context_menu(self, pos: QPoint) -> None:
        w = self.w
        index = w.table.indexAt(pos)
        if index.isValid():
            w.table.setCurrentIndex(index)
        if w.current_item() is not None:
            w.acts.item_menu().popup(w.table.viewport().mapToGlobal(pos))

    def _local_path(self) -> tuple[ItemRow, str | None] | None:
        item = self.w.current_item()
        if item is None:
            return None
        return item, self.w.items_model.local_path(item)

    def open(self) -> None:
        self._desktop(desktop.open_file, "Opened", "open")

    def reveal(self) -> None:
        self._desktop(desktop.reveal_file, "Revealed", "reveal")

    def failed(self, item: ItemRow, message: str, fix: QAction | None = None) -> None:
        """An item action that failed: in the item pane until the next action (with the button that
        fixes it, when there is one), and in the activity log."""
        self.w.detail.say(message, fix)
        self.w.say(item.title, message, "error")

    def _desktop(self, action: Callable[..., list[str]], verb: str, what: str) -> None:
        w = self.w
        found = self._local_path()
        if found is None:
            return
        item, local = found
        w.detail.say("")
        runner, exists = w.runner, w.file_exists
        if local is None:  # nothing to look at on disk: say so at once, with the dialog that fixes it
            self.failed(item, f"Cannot {what}: {NO_LOCAL_PATH}", w.act_mappings)
            return
        self.task = run_task(
            w.pool,
            lambda: action(local, runner, exists=exists),
            lambda _argv: w.statusBar().showMessage(f"{verb} {local}"),
            lambda message: self.failed(item, message),
        )

    def copy_plex_path(self) -> None:
        item = self.w.current_item()
        if item is not None and item.file:
            QGuiApplication.clipboard().setText(item.file)
            self.w.statusBar().showMessage(f"Copied {item.file}")

    def copy_local_path(self) -> None:
        found = self._local_path()
        if found is None:
            return
        item, local = found
        if local is None:
            self.failed(item, f"Cannot copy: {NO_LOCAL_PATH}", self.w.act_mappings)
            return
        QGuiApplication.clipboard().setText(local)
        self.w.statusBar().showMessage(f"Copied {local}")
