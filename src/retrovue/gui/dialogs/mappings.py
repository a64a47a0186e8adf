"""`MappingsDialog`: a server's path mappings, with add/remove and a live "test a Plex path" preview.

Writes go through `retrovue.mapping` (add_mapping / remove_mapping), which validates and normalises
the mapping and re-decides ACTIVE vs REMOTE_ONLY for the server's items; the preview is
`paths.Resolver.explain` over the mappings as they stand, so it shows exactly what the catalog's
local-path column will show; the coverage lines are `mapping.coverage` (resolution only, no disk).
Listing, adding and removing run on the dialog's own thread, never the GUI's: a re-decision checks
files, and a share that does not answer must not freeze the window. The server is named by the
caller (the window passes the tree's `Server`, already read): opening the dialog reads nothing on
the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import Engine

from retrovue import mapping, paths
from retrovue.catalog import Server
from retrovue.errors import RetrovueError
from retrovue.gui.tasks import Task, run_task
from retrovue.store.registry import ServerRow

__all__ = ["MappingsDialog"]


class MappingsDialog(QDialog):
    def __init__(self, engine: Engine, server: Server | ServerRow, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.server = server
        self.mappings: list[mapping.MappingInfo] = []
        self.changed = False
        self.busy = False
        self.closing = False
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._task: Task | None = None
        self.setWindowTitle(f"Path mappings — {server.name}")

        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Plex prefix", "Local prefix"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.remove_button = QPushButton("Remove selected")
        self.remove_button.clicked.connect(self.remove_selected)

        self.plex_prefix = QLineEdit()
        self.plex_prefix.setPlaceholderText("as Plex reports it, e.g. /data/media")
        self.local_prefix = QLineEdit()
        self.local_prefix.setPlaceholderText("where it is mounted here, e.g. /mnt/nas/media")
        self.add_button = QPushButton("Add")
        self.add_button.clicked.connect(self.add)
        add_form = QFormLayout()
        add_form.addRow("Plex prefix", self.plex_prefix)
        add_form.addRow("Local prefix", self.local_prefix)
        add_box = QGroupBox("Add a mapping")
        add_layout = QVBoxLayout(add_box)
        add_layout.addLayout(add_form)
        add_layout.addWidget(self.add_button)

        self.test_path = QLineEdit()
        self.test_path.setPlaceholderText("paste a Plex path to see where it resolves")
        self.test_path.textChanged.connect(self.update_preview)
        self.preview = QLabel()
        self.preview.setWordWrap(True)
        test_box = QGroupBox("Test a Plex path")
        test_layout = QVBoxLayout(test_box)
        test_layout.addWidget(self.test_path)
        test_layout.addWidget(self.preview)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.coverage = QLabel()
        self.coverage.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)

        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        row.addWidget(self.remove_button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(add_box)
        layout.addWidget(test_box)
        layout.addWidget(self.coverage)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.resize(640, 520)
        self.reload()

    # Every read and write runs on the dialog's own thread: adding or removing a mapping re-decides
    # the server's items (checking files, which can wait on a share that does not answer) and the
    # coverage lines read every item of the server. `busy` is true until the answer is in.
    def _run(self, fn: Callable[[], Any], done: Callable[[Any], None]) -> None:
        self.busy = True
        for button in (self.add_button, self.remove_button):
            button.setEnabled(False)

        def finished(result: Any) -> None:
            if not self.closing:  # the dialog may be gone by the time the answer is delivered
                self._idle()
                done(result)

        def failed(message: str) -> None:
            if not self.closing:
                self._idle()
                self.message.setText(f"✘ {message}")

        self._task = run_task(self.pool, fn, finished, failed)

    def _idle(self) -> None:
        self.busy = False
        for button in (self.add_button, self.remove_button):
            button.setEnabled(True)

    def reload(self) -> None:
        engine, server = self.engine, self.server

        def read() -> tuple[list[mapping.MappingInfo], str]:
            return mapping.list_mappings(engine, server.name), _coverage_text(engine, server)

        self._run(read, self._reloaded)

    def _reloaded(self, answer: tuple[list[mapping.MappingInfo], str]) -> None:
        self.mappings, coverage = answer  # this machine's
        self.table.setRowCount(len(self.mappings))
        for r, m in enumerate(self.mappings):
            self.table.setItem(r, 0, QTableWidgetItem(m.plex_prefix))
            self.table.setItem(r, 1, QTableWidgetItem(m.local_prefix))
        self.update_preview()
        self.coverage.setVisible(bool(coverage))
        self.coverage.setText(coverage)

    def resolver(self) -> paths.Resolver:
        return paths.Resolver(paths.PathMapping(m.plex_prefix, m.local_prefix, m.id) for m in self.mappings)

    def update_preview(self) -> None:
        text = self.test_path.text().strip()
        if not text:
            self.preview.setText("")
            return
        self.preview.setText(self.resolver().explain(text).describe())

    def add(self) -> None:
        engine, name = self.engine, self.server.name
        plex, local = self.plex_prefix.text(), self.local_prefix.text()
        self.message.setText("Adding… (deciding which items play from here)")
        self.changed = True  # the window re-reads after the dialog closes, whatever the answer
        self._run(lambda: mapping.add_mapping(engine, name, plex, local), self._added)

    def _added(self, change: mapping.MappingChange) -> None:
        added = change.mapping
        note = f" — {change.reevaluation.describe()}" if change.reevaluation else ""
        self.message.setText(f"✔ added {added.plex_prefix} → {added.local_prefix}{note}")
        self.plex_prefix.clear()
        self.local_prefix.clear()
        self.changed = True
        self.reload()

    def remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        if not rows:
            self.message.setText("Select a mapping to remove.")
            return
        engine, name = self.engine, self.server.name
        prefixes = [self.mappings[r].plex_prefix for r in rows]

        def remove() -> int:
            for prefix in prefixes:
                mapping.remove_mapping(engine, name, prefix)
            return len(prefixes)

        self.changed = True
        self._run(remove, self._removed)

    def _removed(self, count: int) -> None:
        self.message.setText(f"removed {count} mapping(s)")
        self.reload()

    def done(self, result: int) -> None:
        """Closing waits for a change under way (its re-decision is bounded by the file-check
        timeouts), so the window's reload after it sees the result."""
        self.pool.waitForDone(30_000)
        self.closing = True
        super().done(result)


def _coverage_text(engine: Engine, server: Server | ServerRow) -> str:
    """One line per library: how much resolves locally, and the first folder still unmapped."""
    try:
        libraries = mapping.coverage(engine, server.name, check_files=False, top=1)
    except RetrovueError as exc:
        return f"coverage unavailable: {exc}"
    lines = []
    for lib in libraries:
        line = f"{lib.library}: {lib.resolved} of {lib.items} items resolve to a local path"
        line += f" (ACTIVE {lib.active}, REMOTE_ONLY {lib.remote_only})"
        if lib.unmapped:
            first = lib.unmapped[0]
            line += f"; unmapped: {first.prefix} ({first.parts} files, e.g. {first.example})"
        lines.append(line)
    return "\n".join(lines)
