"""`ServerActions`: the window's server commands — check, add (or sign in), edit, remove, path
mappings, a library in or out of *Sync all* — and the first-run prompt.

Dialogs are opened modeless through `MainWindow.open_dialog`; whatever they change is followed by a
reload that keeps the user's place. A destructive question defaults to No. Nothing here reads the
catalog on the GUI thread: removing a server and its path mappings need only what the tree shows
(its id and name); editing needs the stored token, so the row is read on the window's `Reader` and
the dialog opens when it is in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QMessageBox

from retrovue.gui.checks import ServerCheck
from retrovue.gui.dialogs.account import SignInDialog
from retrovue.gui.dialogs.mappings import MappingsDialog
from retrovue.gui.dialogs.server import ServerDialog
from retrovue.store import registry

if TYPE_CHECKING:
    from retrovue.gui.main_window import MainWindow

__all__ = ["ServerActions"]


class ServerActions:
    def __init__(self, window: MainWindow) -> None:
        self.w = window
        self.wanted_edit: int | None = None  # the server whose edit dialog is being read

    def check(self) -> None:
        """Test every server's connection on the pool; results arrive as `server_checked`."""
        w = self.w
        engine = w.engine

        def servers() -> list[registry.ServerRow]:
            with engine.connect() as conn:
                return registry.list_servers(conn)

        def start(rows: list[registry.ServerRow]) -> None:
            for server in rows:
                w.pool.start(ServerCheck(w.bus, server, engine))

        w.reader.read(servers, start)  # even the list is read off the GUI thread

    def offer_first_server(self) -> None:
        """No server yet: say so where the items would be, with the buttons that add one."""
        w = self.w
        if w.tree_model.rowCount() == 0:
            w.items.set_result(
                "No Plex server yet: sign in with Plex to add your servers, or add one by its address."
            )
            w.items.show_first_run(True)
        else:
            w.items.show_first_run(False)

    def add(self) -> ServerDialog:
        w = self.w
        dialog = ServerDialog(w.engine, w.pool, parent=w)
        dialog.accepted.connect(self.saved)
        dialog.edit_instead.connect(lambda server_id: self._edit_existing(dialog, server_id))
        dialog.sign_in_requested.connect(w.sign_in)
        w.open_dialog(dialog)
        return dialog

    def sign_in(self) -> SignInDialog:
        """Sign in with Plex (when nobody is) and add servers of the account."""
        w = self.w
        dialog = SignInDialog(w.engine, parent=w)
        dialog.finished.connect(lambda _r: self._signed_in_closed(dialog))
        w.open_dialog(dialog)
        dialog.start()
        return dialog

    def _signed_in_closed(self, dialog: SignInDialog) -> None:
        if dialog.added:
            self.saved()
            self.w.say("", f"Added from the Plex account: {', '.join(dialog.added)}.")

    def _edit_existing(self, added: ServerDialog, server_id: int) -> None:
        """The server being added is already in the catalog: edit that one, with the address and
        token just typed."""
        url, token = added.url.text(), added.token.text()
        self.w.library.select_server(server_id)

        def typed(dialog: ServerDialog) -> None:
            dialog.url.setText(url)
            dialog.token.setText(token)

        self.edit(server_id, typed)

    def edit(self, server_id: int | None = None, then: Callable[[ServerDialog], None] | None = None) -> None:
        """Read the server's row (its token, TLS settings) on the reader's thread, then open the
        dialog; `then(dialog)` once it is open. Only the last request opens a dialog."""
        w = self.w
        if server_id is None:
            server_id = w.library.selected_server_id()
        if server_id is None:
            return
        engine, wanted = w.engine, server_id
        self.wanted_edit = wanted

        def read() -> registry.ServerRow:
            with engine.connect() as conn:
                return registry.get_server_by_id(conn, wanted)

        def opened(server: registry.ServerRow) -> None:
            self.wanted_edit = None
            dialog = ServerDialog(w.engine, w.pool, server=server, parent=w)
            dialog.accepted.connect(self.saved)
            w.open_dialog(dialog)
            if then is not None:
                then(dialog)

        def failed(message: str) -> None:
            self.wanted_edit = None
            w.say("", f"Cannot edit the server: {message}", "error")

        w.reader.read(read, opened, failed, still_wanted=lambda: self.wanted_edit == wanted)

    def saved(self) -> None:
        self.w.reload()
        self.check()
        self.w.say("", "Server saved.")

    def remove(self) -> None:
        w = self.w
        server = w.selected_server()  # as the tree shows it: the question needs only its name
        if server is None:
            return
        if not w.confirm(
            f"Remove server {server.name!r} with all its libraries and items from the catalog?\n"
            "Nothing is removed from Plex."
        ):
            return
        engine, server_id, name = w.engine, server.id, server.name

        def remove() -> None:  # a server's items can be many: never on the GUI thread
            with engine.begin() as conn:
                registry.remove_server(conn, registry.get_server_by_id(conn, server_id).name)

        def removed(_result: object) -> None:
            w.tree_model.reachability.pop(server_id, None)
            w.items_model.set_library(None)
            w.reload()
            w.say(name, "removed from the catalog")

        w.say(name, "removing from the catalog…")
        # On the reader's thread: the reads that follow (the reload) see the removal.
        w.reader.read(
            remove,
            removed,
            lambda message: w.say(name, f"could not remove the server: {message}", "error"),
        )

    def confirm(self, question: str) -> bool:
        """A destructive question: No is the default (Enter does nothing harmful)."""
        box = QMessageBox(QMessageBox.Icon.Warning, "Retrovue Ingest", question, parent=self.w)
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setEscapeButton(QMessageBox.StandardButton.No)
        self.w.dialog_box = box
        return box.exec() == QMessageBox.StandardButton.Yes

    def mappings(self) -> MappingsDialog | None:
        w = self.w
        server = w.selected_server()  # the dialog reads and writes the mappings on its own thread
        if server is None:
            return None
        dialog = MappingsDialog(w.engine, server, parent=w)
        dialog.finished.connect(lambda _r: self._mappings_closed(dialog))
        w.open_dialog(dialog)
        return dialog

    def _mappings_closed(self, dialog: MappingsDialog) -> None:
        if dialog.changed:  # verdicts moved: counts, states and local paths all follow
            self.w.catalog.forget_mappings()
            self.w.reload()

    def toggle_library_enabled(self) -> None:
        w = self.w
        library_id = w.selected_library_id()
        if library_id is None:
            return
        engine = w.engine
        enabled = not w.tree_model.library_enabled.get(library_id, True)

        def write() -> None:
            with engine.begin() as conn:
                registry.set_library_enabled(conn, library_id, enabled)

        w.reader.read(write, lambda _r: w.library.reload())  # ordered before the reload's read

    def tree_menu(self, pos: QPoint) -> None:
        w = self.w
        library_id = w.selected_library_id()
        if library_id is not None:
            w.act_toggle_library.setChecked(w.tree_model.library_enabled.get(library_id, True))
        w.acts.tree_menu(library_id is not None).popup(w.tree.viewport().mapToGlobal(pos))
