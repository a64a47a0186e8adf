"""The window's actions (one `QAction` per command, with its shortcut and tip), menus and toolbar.

Building them is all this module does; what each action does lives in the window's slots, and
whether it is enabled in `MainWindow.update_actions` (nothing to act on: disabled).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QToolBar

if TYPE_CHECKING:
    from retrovue.gui.main_window import MainWindow

__all__ = ["Actions"]


class Actions:
    def __init__(self, w: MainWindow) -> None:
        self.window = w
        a = self._action
        self.sync = a("Sync", w.sync_selected, "F5", "Sync the selected library")
        self.sync_all = a("Sync all", w.sync_all, "Shift+F5", "Sync every enabled library")
        self.deep = a("Deep sync", w.deep_sync_selected, "Ctrl+F5", "Deep sync the selected library")
        self.cancel = a("Cancel", w.cancel_syncs, "Ctrl+.", "Cancel the running syncs")
        self.watch = a("Watch", w.toggle_watch, None, "Sync libraries as their servers report changes")
        self.watch.setCheckable(True)
        self.check = a("Check servers", w.check_servers, "Ctrl+K", "Test every server's connection")
        self.reload = a("Reload", lambda: w.reload(), "Ctrl+R", "Re-read the catalog")
        self.add_server = a("Add server…", w.add_server, "Ctrl+N", "Add a Plex server")
        self.sign_in = a(
            "Sign in with Plex…", w.sign_in, None, "Add servers of your Plex account (owned and shared)"
        )
        self.edit_server = a("Edit server…", lambda: w.edit_server(), "Ctrl+E", "Edit the selected server")
        self.remove_server = a("Remove server…", w.remove_server, None, "Remove the selected server")
        self.mappings = a(
            "Path mappings…", w.edit_mappings, "Ctrl+M", "Map the server's paths to this machine"
        )
        self.toggle_library = a("Enabled for Sync all", w.toggle_library_enabled)
        self.toggle_library.setCheckable(True)
        self.open = a("Open file", w.open_item, "Ctrl+O", "Open the item's file in its player")
        self.reveal = a("Reveal in file manager", w.reveal_item, "Ctrl+Shift+O")
        self.copy_plex = a("Copy Plex path", w.copy_plex_path, "Ctrl+Shift+P")
        self.copy_local = a("Copy local path", w.copy_local_path, "Ctrl+Shift+L")
        self.find = a("Find", w.focus_search, "Ctrl+F", "Search titles")
        self.history = a("Sync history", w.show_history, "Ctrl+H")
        self.activity = a("Activity", w.show_activity, "Ctrl+L", "Every run and error of this session")
        self.quit = a("Quit", w.close, "Ctrl+Q")

    def _action(
        self, text: str, slot: Callable[[], Any], shortcut: str | None = None, tip: str = ""
    ) -> QAction:
        action = QAction(text, self.window)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        # No status tip: hovering a button would erase the status bar's message.
        action.setToolTip(f"{tip or text} ({shortcut})" if shortcut else tip or text)
        action.triggered.connect(lambda _checked=False: slot())  # never pass `checked` on
        self.window.addAction(action)
        return action

    @property
    def item_actions(self) -> list[QAction]:
        return [self.open, self.reveal, self.copy_plex, self.copy_local]

    def build_menus(self) -> QToolBar:
        w = self.window
        menu = w.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addActions([self.reload, self.check])
        file_menu.addSeparator()
        file_menu.addAction(self.quit)
        sync_menu = menu.addMenu("&Sync")
        sync_menu.addActions([self.sync, self.deep, self.sync_all, self.cancel])
        sync_menu.addSeparator()
        sync_menu.addAction(self.watch)
        server_menu = menu.addMenu("Se&rver")
        server_menu.addActions(
            [self.add_server, self.sign_in, self.edit_server, self.remove_server, self.mappings, self.check]
        )
        item_menu = menu.addMenu("&Item")
        item_menu.addActions(self.item_actions)
        view_menu = menu.addMenu("&View")
        view_menu.addActions([self.find, self.activity, self.history, self.reload])

        toolbar = QToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.addActions([self.sync, self.deep, self.sync_all, self.cancel])
        toolbar.addAction(self.watch)
        toolbar.addSeparator()
        toolbar.addActions([self.add_server, self.edit_server, self.mappings, self.check])
        w.addToolBar(toolbar)
        return toolbar

    def item_menu(self) -> QMenu:
        menu = QMenu(self.window)
        menu.addActions([self.open, self.reveal])
        menu.addSeparator()
        menu.addActions([self.copy_plex, self.copy_local])
        return menu

    def tree_menu(self, library_selected: bool) -> QMenu:
        menu = QMenu(self.window)
        if library_selected:
            menu.addActions([self.sync, self.deep, self.toggle_library])
            menu.addSeparator()
        menu.addActions([self.edit_server, self.mappings, self.check, self.remove_server])
        menu.addSeparator()
        menu.addAction(self.add_server)
        return menu
