"""`ActivityLog`: every run and every failed action of this session, newest first, in plain words.

The status bar forgets (hovering a toolbar button erases it, a second sync overwrites the first);
this panel does not: each finished sync (ok, partial, cancelled or failed, with its reason), each
sync that could not start, each action that failed (open, reveal, remove) and each watch notice is
one row, kept for the session. Runs of earlier sessions are in the Sync history tab.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from retrovue.gui import fmt

__all__ = ["ActivityLog", "Entry"]

HEADERS = ("When", "Where", "What")
LEVEL_COLOURS = {"error": QColor("#c62828"), "warning": QColor("#ef6c00")}
LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Entry:
    at: float
    level: str  # info | warning | error
    where: str
    text: str


class ActivityLog(QWidget):
    added = Signal(object)  # the Entry

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.entries: list[Entry] = []  # oldest first
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(list(HEADERS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.setColumnWidth(1, 200)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)

    def add(self, where: str, text: str, level: str = "info") -> Entry:
        entry = Entry(time.time(), level, where, text)
        self.entries.append(entry)
        if len(self.entries) > LIMIT:
            del self.entries[0]
            self.table.removeRow(self.table.rowCount() - 1)
        self.table.insertRow(0)
        colour = LEVEL_COLOURS.get(level)
        for col, value in enumerate((fmt.when_seconds(entry.at), where, text)):
            cell = QTableWidgetItem(value)
            cell.setToolTip(value)
            if colour is not None:
                cell.setForeground(QBrush(colour))
            self.table.setItem(0, col, cell)
        self.added.emit(entry)
        return entry

    def texts(self) -> list[str]:
        """Every entry's text, newest first (what the table shows)."""
        return [e.text for e in reversed(self.entries)]

    def text_at(self, row: int) -> str:
        cell = self.table.item(row, 2)
        return cell.text() if cell is not None else ""

    def clear(self) -> None:
        self.entries.clear()
        self.table.setRowCount(0)

    def minimumSizeHint(self) -> Any:  # noqa: N802
        hint = super().minimumSizeHint()
        hint.setHeight(min(hint.height(), 80))
        return hint
