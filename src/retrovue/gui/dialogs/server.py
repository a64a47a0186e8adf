"""`ServerDialog`: add or edit a Plex server; nothing is saved before a connection test passes.

The test is `servers.check_server` (GET /identity, then /library/sections with the token) on a pool
thread; Save stays disabled until a test of exactly the current inputs succeeded, and saving calls
`servers.add_server` / `servers.edit_server`, which record the server and its libraries. The token
field is masked (a toggle shows it while typing); when editing, an empty token keeps the stored one.
When adding, "Sign in with Plex…" hands over to `SignInDialog` (the account's servers, no typing).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QThreadPool, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import Engine

from retrovue import servers
from retrovue.catalog import Catalog
from retrovue.gui.tasks import Task, run_task
from retrovue.store.registry import ServerRow

__all__ = ["ServerDialog"]

Inputs = tuple[str, str, bool, str]  # url, token, verify_tls, ca_bundle


class ServerDialog(QDialog):
    edit_instead = Signal(int)  # the catalog id of the server this one already is
    sign_in_requested = Signal()  # "Sign in with Plex" instead of typing a URL and a token

    def __init__(
        self,
        engine: Engine,
        pool: QThreadPool,
        *,
        server: ServerRow | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.engine = engine
        self.pool = pool
        self.server = server
        self.result_value: Any = None  # AddedServer (add) or ServerRow (edit) once saved
        self._tested: Inputs | None = None
        self._task: Task | None = None
        self.setWindowTitle("Edit server" if server else "Add server")

        self.name = QLineEdit(server.name if server else "")
        self.name.setPlaceholderText("a short name, e.g. home")
        self.url = QLineEdit(server.base_url if server else "")
        self.url.setPlaceholderText("http://192.168.1.10:32400")
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText(f"unchanged ({server.masked_token})" if server else "X-Plex-Token")
        self.show_token = QCheckBox("Show")
        self.show_token.toggled.connect(self._toggle_token)
        token_row = QHBoxLayout()
        token_row.addWidget(self.token, 1)
        token_row.addWidget(self.show_token)
        self.verify_tls = QCheckBox("Verify the TLS certificate")
        self.verify_tls.setChecked(server.verify_tls if server else True)
        self.ca_bundle = QLineEdit((server.ca_bundle or "") if server else "")
        self.ca_bundle.setPlaceholderText("optional: a CA file to trust instead of the system store")

        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("URL", self.url)
        form.addRow("Token", token_row)
        form.addRow("", self.verify_tls)
        form.addRow("CA bundle", self.ca_bundle)

        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.status = QLabel("Test the connection before saving.")
        self.status.setWordWrap(True)
        self.existing: int | None = None  # adding a server the catalog already holds: its id
        self.edit_button = QPushButton("Edit it instead…")
        self.edit_button.setVisible(False)
        self.edit_button.clicked.connect(self._edit_instead)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setEnabled(False)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        self.sign_in_button: QPushButton | None = None
        if server is None:
            self.sign_in_button = QPushButton("Sign in with Plex…")
            self.sign_in_button.setToolTip(
                "Sign in to your Plex account and pick its servers (owned and shared): "
                "no URL or token to type"
            )
            self.sign_in_button.clicked.connect(self._sign_in)
            row = QHBoxLayout()
            row.addWidget(self.sign_in_button)
            row.addWidget(QLabel("or enter a server by hand:"), 1)
            layout.addLayout(row)
        layout.addLayout(form)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.status, 1)
        test_row.addWidget(self.edit_button)
        layout.addLayout(test_row)
        layout.addWidget(self.buttons)
        for edit in (self.name, self.url, self.token, self.ca_bundle):
            edit.textChanged.connect(self._inputs_changed)
        self.verify_tls.toggled.connect(self._inputs_changed)
        self.resize(520, self.sizeHint().height())

    def _sign_in(self) -> None:
        self.sign_in_requested.emit()
        self.reject()

    def _toggle_token(self, shown: bool) -> None:
        self.token.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)

    def inputs(self) -> Inputs:
        token = self.token.text().strip()
        if not token and self.server is not None:
            token = self.server.token
        return (self.url.text().strip(), token, self.verify_tls.isChecked(), self.ca_bundle.text().strip())

    def _inputs_changed(self) -> None:
        self.edit_button.setVisible(False)
        self.save_button.setEnabled(
            self._tested is not None and self._tested == self.inputs() and self._name_ok()
        )

    def _name_ok(self) -> bool:
        return bool(self.name.text().strip())

    def _busy(self, busy: bool, message: str) -> None:
        self.test_button.setEnabled(not busy)
        self.status.setText(message)
        if busy:
            self.save_button.setEnabled(False)

    # -- test -----------------------------------------------------------------------------------
    def test_connection(self) -> None:
        url, token, verify, ca = inputs = self.inputs()
        self._tested = None
        self._busy(True, "Testing…")

        engine, adding = self.engine, self.server is None

        def check() -> tuple[Inputs, servers.ServerCheck, tuple[int, str] | None]:
            found = servers.check_server(url, token, verify_tls=verify, ca_bundle=ca or None)
            same = None
            if adding:  # the same Plex server under another name or address?
                for known in Catalog(engine).servers():
                    if known.machine_identifier and known.machine_identifier == found.machine_identifier:
                        same = (known.id, known.name)
            return inputs, found, same

        self._task = run_task(self.pool, check, self._test_passed, self._failed)

    def _test_passed(self, result: tuple[Inputs, servers.ServerCheck, tuple[int, str] | None]) -> None:
        inputs, check, same = result
        kinds = [s for s in check.sections if s.type in ("movie", "show")]
        if same is not None:  # saving would refuse it: offer what the user wants instead
            self.existing = same[0]
            self._busy(False, f"This Plex server is already in the catalog as {same[1]!r}.")
            self.edit_button.setText(f"Edit {same[1]!r} instead…")
            self.edit_button.setVisible(True)
            return
        self._busy(False, f"✔ Plex {check.version} answered: {len(kinds)} movie/show libraries.")
        self._tested = inputs
        self._inputs_changed()

    def _edit_instead(self) -> None:
        if self.existing is not None:
            self.edit_instead.emit(self.existing)
            self.reject()

    def _failed(self, message: str) -> None:
        self._busy(False, f"✘ {message}")
        self._inputs_changed()

    # -- save -----------------------------------------------------------------------------------
    def save(self) -> None:
        if not self.save_button.isEnabled():
            return
        url, token, verify, ca = self.inputs()
        name = self.name.text().strip()
        engine, current = self.engine, self.server
        self._busy(True, "Saving…")

        def do_save() -> object:
            if current is None:
                return servers.add_server(engine, name, url, token, verify_tls=verify, ca_bundle=ca or None)
            changes: dict[str, Any] = {}
            if name != current.name:
                changes["new_name"] = name
            if url != current.base_url:
                changes["base_url"] = url
            if token != current.token:
                changes["token"] = token
            if verify != current.verify_tls:
                changes["verify_tls"] = verify
            if (ca or None) != current.ca_bundle:
                changes["ca_bundle"] = ca
            return servers.edit_server(engine, current.name, **changes)

        self._task = run_task(self.pool, do_save, self._saved, self._failed)

    def _saved(self, result: object) -> None:
        self.result_value = result
        self.status.setText("Saved.")
        self.accept()
