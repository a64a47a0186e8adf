"""`SignInDialog`: "Sign in with Plex", then a checklist of the account's servers to add.

A thin shell over `retrovue.account` and `retrovue.servers`, the same calls `retrovue login`,
`retrovue server discover` and `retrovue server add --from-account` make:

1. Without a signed-in account: a PIN is created (`start_sign_in`), the app.plex.tv link opens in
   the browser and the code is shown with the link (to open again, or elsewhere); the dialog waits
   for approval (`wait_for_approval`) with a Cancel button that ends the wait at once. An expired
   code says so and offers a new one. The approved token is checked and stored privately
   (`finish_sign_in`, a 0600 file outside the catalog) and never shown.
2. The account's servers (`servers.discover_servers`, every address probed): owned and shared, which
   address answers, which are in the catalog already. Servers that answer and are not added yet are
   ticked; "Add selected" registers each with its own access token and every address
   (`servers.add_from_account`), then lists what was added and what was not, in one line each.

All plex.tv and server traffic runs on the dialog's own thread pool, never the GUI thread.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QThreadPool, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import Engine

from retrovue import account, servers
from retrovue.errors import AccountError
from retrovue.gui.tasks import Task, error_text, run_task

__all__ = ["SignInDialog"]

MACHINE_ROLE = Qt.ItemDataRole.UserRole + 1


def _open_in_browser(url: str) -> bool:
    return bool(QDesktopServices.openUrl(QUrl(url)))


class SignInDialog(QDialog):
    """Sign in to a Plex account (unless one is signed in already) and add its servers."""

    def __init__(
        self,
        engine: Engine,
        *,
        open_url: Callable[[str], bool] = _open_in_browser,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.engine = engine
        self.open_url = open_url
        self.pool = QThreadPool(self)  # a wait for approval may take minutes: never the window's pool
        self.pool.setMaxThreadCount(2)
        self.cancel = threading.Event()
        self.pending: account.PendingSignIn | None = None
        self.found: list[servers.DiscoveredServer] = []
        self.added: list[str] = []  # catalog names of the servers added here
        self._tasks: list[Task] = []
        self.setWindowTitle("Sign in with Plex")

        # page 1: the code and the link, while waiting for approval
        self.code = QLabel("…")
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.code.font()
        font.setPointSize(font.pointSize() + 4)
        font.setBold(True)
        self.code.setFont(font)
        self.link = QLabel("")
        self.link.setOpenExternalLinks(True)
        self.link.setWordWrap(True)
        self.link.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.open_button = QPushButton("Open the sign-in page again")
        self.open_button.clicked.connect(self._open_again)
        self.open_button.setEnabled(False)
        self.retry_button = QPushButton("New code")
        self.retry_button.clicked.connect(self.start)
        self.retry_button.hide()
        wait_page = QWidget()
        wait_layout = QVBoxLayout(wait_page)
        wait_layout.addWidget(QLabel("Approve this code at plex.tv in your browser:"))
        wait_layout.addWidget(self.code)
        wait_layout.addWidget(self.link)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.retry_button)
        buttons.addStretch(1)
        wait_layout.addLayout(buttons)
        wait_layout.addStretch(1)

        # page 2: the account's servers
        self.server_list = QListWidget()
        self.add_button = QPushButton("Add selected")
        self.add_button.clicked.connect(self.add_selected)
        self.add_button.setEnabled(False)
        self.account_label = QLabel("")
        pick_page = QWidget()
        pick_layout = QVBoxLayout(pick_page)
        pick_layout.addWidget(self.account_label)
        pick_layout.addWidget(self.server_list, 1)
        self.sign_out_button = QPushButton("Sign out")
        self.sign_out_button.setToolTip(
            "Forget the Plex account on this machine (servers already added keep their own tokens)"
        )
        self.sign_out_button.clicked.connect(self.sign_out)
        pick_buttons = QHBoxLayout()
        pick_buttons.addWidget(self.sign_out_button)
        pick_buttons.addStretch(1)
        pick_buttons.addWidget(self.add_button)
        pick_layout.addLayout(pick_buttons)

        self.pages = QStackedWidget()
        self.pages.addWidget(wait_page)
        self.pages.addWidget(pick_page)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.close_button = QPushButton("Cancel")
        self.close_button.clicked.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages, 1)
        layout.addLayout(bottom)
        self.resize(560, 380)

    # -- flow ------------------------------------------------------------------------------------
    def start(self) -> None:
        """Discover at once when an account is signed in; otherwise create a code and wait."""
        self.retry_button.hide()
        self.cancel.clear()
        try:
            signed_in = account.load_account()
        except AccountError as exc:  # a damaged sign-in file: say so, sign in afresh
            self.status.setText(f"✘ {exc}")
            signed_in = None
        if signed_in is not None:
            self._signed_in(signed_in)
            return
        self.status.setText("Asking plex.tv for a sign-in code…")
        self._run(_create_code, self._code_ready)

    def _code_ready(self, pending: account.PendingSignIn) -> None:
        self.pending = pending
        self.code.setText(pending.code)
        self.link.setText(f'<a href="{pending.url}">Open the Plex sign-in page</a> (or copy the code).')
        self.open_button.setEnabled(True)
        opened = self.open_url(pending.url)
        self.status.setText(
            "Waiting for you to approve the code in the browser…"
            if opened
            else "Open the link above in a browser and approve the code; waiting…"
        )
        cancel = self.cancel
        self._run(lambda: _wait_and_store(pending, cancel), self._approved)

    def _open_again(self) -> None:
        if self.pending is not None:
            self.open_url(self.pending.url)

    def _approved(self, result: account.SignInResult | account.SavedAccount) -> None:
        if isinstance(result, account.SavedAccount):
            self._signed_in(result)
            return
        if result.status == account.EXPIRED:
            self.status.setText("✘ The code expired before it was approved. Ask for a new one.")
            self.retry_button.setText("New code")
            self.retry_button.show()
            self.open_button.setEnabled(False)
        # cancelled: the dialog is closing; nothing was stored

    def _signed_in(self, saved: account.SavedAccount) -> None:
        self.pages.setCurrentIndex(1)
        self.account_label.setText(f"Signed in to Plex as {saved.username}. Its servers:")
        self.status.setText("Asking plex.tv for the account's servers…")
        engine = self.engine
        self._run(lambda: servers.discover_servers(engine), self._discovered)

    def _discovered(self, found: list[servers.DiscoveredServer]) -> None:
        self.found = found
        self.server_list.clear()
        for d in found:
            srv = d.server
            whose = "yours" if srv.owned else f"shared by {srv.owner}"
            answer = d.answering
            if d.in_catalog:
                where = f"in the catalog as {d.in_catalog}"
            elif answer is not None:
                where = f"answers at its {answer.kind} address"
            else:
                where = "offline" if not srv.online else "no address answers"
            version = ".".join((srv.version or "?").split("-")[0].split(".")[:3])  # 1.41.3, not the build
            item = QListWidgetItem(f"{srv.name} — {whose}, Plex {version}; {where}")
            item.setData(MACHINE_ROLE, srv.machine_identifier)
            addable = d.in_catalog is None
            flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable if addable else Qt.ItemFlag(0)
            item.setFlags(flags)
            checked = addable and answer is not None
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            self.server_list.addItem(item)
        self.add_button.setEnabled(any(d.in_catalog is None for d in found))
        self.close_button.setText("Close")
        self.status.setText(
            "Tick the servers to add." if found else "The account has no servers (plex.tv lists none)."
        )

    def sign_out(self) -> None:
        """Forget the account (`retrovue logout`), then offer a new sign-in code."""
        account.forget_account()
        self.found = []
        self.server_list.clear()
        self.add_button.setEnabled(False)
        self.pages.setCurrentIndex(0)
        self.code.setText("…")
        self.link.setText("")
        self.open_button.setEnabled(False)
        self.status.setText("Signed out: the account token is deleted from this machine.")
        self.retry_button.setText("Sign in again")
        self.retry_button.show()

    def checked_servers(self) -> list[str]:
        """Machine identifiers of the ticked servers."""
        out = []
        for row in range(self.server_list.count()):
            item = self.server_list.item(row)
            if item.checkState() == Qt.CheckState.Checked and item.flags() & Qt.ItemFlag.ItemIsEnabled:
                out.append(str(item.data(MACHINE_ROLE)))
        return out

    def add_selected(self) -> None:
        wanted = self.checked_servers()
        if not wanted:
            self.status.setText("Tick at least one server.")
            return
        self.add_button.setEnabled(False)
        self.status.setText("Adding…")
        engine, found = self.engine, [d.server for d in self.found]
        self._run(lambda: _add_all(engine, wanted, found), self._added)

    def _added(self, outcome: tuple[list[tuple[str, str]], list[str]]) -> None:
        added, failed = outcome
        names = dict(added)
        self.added.extend(names.values())
        self._discovered(
            [
                dataclasses.replace(d, in_catalog=names[d.server.machine_identifier])
                if d.server.machine_identifier in names
                else d
                for d in self.found
            ]
        )
        lines = [f"✔ Added {name}." for name in names.values()] + [f"✘ {line}" for line in failed]
        self.status.setText("\n".join(lines))

    # -- plumbing --------------------------------------------------------------------------------
    def _run(self, fn: Callable[[], Any], done: Callable[[Any], None]) -> None:
        self._tasks.append(run_task(self.pool, fn, done, self._failed))

    def _failed(self, message: str) -> None:
        self.status.setText(f"✘ {message}")
        if self.pages.currentIndex() == 0:
            self.retry_button.setText("Try again")
            self.retry_button.show()

    def done(self, result: int) -> None:  # accept / reject / close: end any wait at once
        self.cancel.set()
        super().done(result)


def _create_code() -> account.PendingSignIn:
    with account.open_plex_tv() as tv:
        return account.start_sign_in(tv)


def _wait_and_store(
    pending: account.PendingSignIn, cancel: threading.Event
) -> account.SignInResult | account.SavedAccount:
    with account.open_plex_tv() as tv:
        result = account.wait_for_approval(tv, pending, cancel=cancel)
        if result.status != account.APPROVED or not result.token:
            return result
        return account.finish_sign_in(tv, result.token)


def _add_all(
    engine: Engine, machine_ids: list[str], found: list[account.AccountServer]
) -> tuple[list[tuple[str, str]], list[str]]:
    """Add each server; ((machine identifier, catalog name) added, one line per failure)."""
    added, failed = [], []
    for machine_id in machine_ids:
        name = next((s.name for s in found if s.machine_identifier == machine_id), machine_id)
        try:
            result = servers.add_from_account(engine, machine_id, found=found)
        except Exception as exc:  # one line each, as the CLI prints them
            failed.append(f"{name}: {error_text(exc)}")
        else:
            added.append((machine_id, result.server.name))
    return added, failed
