"""`RunsModel`: the sync history (the read API's `Catalog.runs`, newest first) as a read-only table."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from retrovue.catalog import Catalog, Run
from retrovue.gui import fmt
from retrovue.gui.wording import RunResult, result_line

__all__ = ["RunsModel", "run_result"]

HEADERS = (
    "Started",
    "Server",
    "Library",
    "Mode",
    "Status",
    "Processed",
    "Changed",
    "Skipped",
    "Errors",
    "Missing↑",
    "Deleted↑",
    "Requests",
    "Took",
    "Result",
)
BAD = QColor("#c62828")
Index = QModelIndex | QPersistentModelIndex


class RunsModel(QAbstractTableModel):
    def __init__(self, catalog: Catalog, parent: Any = None, *, limit: int = 500) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.limit = limit
        self.library_id: int | None = None
        self.rows: list[Run] = []

    def reload(self, library_id: int | None = None) -> None:
        """Read at once, on the calling thread (the window reads through its reader: `set_rows`)."""
        self.library_id = library_id
        self.set_rows(self.catalog.runs(library_id=library_id, limit=self.limit))

    def set_rows(self, rows: list[Run]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return HEADERS[section] if 0 <= section < len(HEADERS) else None
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        run = self.rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self._text(run, index.column())
        if (
            role == Qt.ItemDataRole.ForegroundRole
            and index.column() == 4
            and run.status in ("failed", "partial", "cancelled")
        ):
            return QBrush(BAD)
        return None

    @staticmethod
    def _text(run: Run, col: int) -> str:
        took = "" if run.finished_at is None else f"{run.finished_at - run.started_at} s"
        values = (
            fmt.when(run.started_at),
            run.server_name,
            run.library_title,
            run.mode,
            run.status,
            run.processed,
            run.changed,
            run.skipped,
            run.errors,
            run.missing,
            run.deleted,
            run.requests,
            took,
            result_line(run_result(run)),
        )
        return str(values[col]) if 0 <= col < len(values) else ""


def run_result(run: Run) -> RunResult:
    """A stored run as the facts of its result line."""
    seconds = None if run.finished_at is None else float(run.finished_at - run.started_at)
    return RunResult(
        status=run.status,
        changed=run.changed,
        errors=run.errors,
        missing=run.missing,
        deleted=run.deleted,
        processed=run.processed,
        seconds=seconds,
        reason=run.error_text,
        mode=run.mode,
    )
