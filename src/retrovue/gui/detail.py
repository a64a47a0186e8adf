"""`DetailPane`: everything the catalog knows about one item — parts, streams, state history, errors.

Layout only: the pane shows an `ItemDetail` (read by `gui.queries.item_detail`) and the local path of
each part as resolved by the window; its buttons are the window's actions (open, reveal, copy).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from retrovue.gui import fmt
from retrovue.gui.queries import ItemDetail

__all__ = ["DetailPane"]

PART_HEADERS = ("#", "Plex path", "Local path", "Size", "Duration", "Container", "Video", "Audio", "Exists")
HISTORY_HEADERS = ("When", "Event", "From", "To", "Detail")


def _table(headers: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _flag(value: bool | None) -> str:
    return "?" if value is None else ("yes" if value else "no")


class DetailPane(QWidget):
    def __init__(self, actions: list[QAction], parent: Any = None) -> None:
        super().__init__(parent)
        self.detail: ItemDetail | None = None
        self.heading = QLabel("No item selected")
        self.heading.setStyleSheet("font-weight: bold; font-size: 13pt")
        self.heading.setWordWrap(True)
        buttons = QHBoxLayout()
        for action in actions:
            button = QToolButton()
            button.setDefaultAction(action)
            buttons.addWidget(button)
        buttons.addStretch(1)

        self.fields = QFormLayout()
        self.state = QLabel()
        self.seen = QLabel()
        self.rating_key = QLabel()
        self.guid = QLabel()
        self.error = QLabel()
        self.error.setWordWrap(True)
        for label, widget in (
            ("State", self.state),
            ("Seen", self.seen),
            ("Rating key", self.rating_key),
            ("GUID", self.guid),
            ("Last error", self.error),
        ):
            self.fields.addRow(label, widget)

        self.parts = _table(PART_HEADERS)
        self.streams = QPlainTextEdit()
        self.streams.setReadOnly(True)
        self.history = _table(HISTORY_HEADERS)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.parts, "Parts")
        self.tabs.addTab(self.streams, "Streams")
        self.tabs.addTab(self.history, "History")

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(buttons)
        layout.addLayout(self.fields)
        layout.addWidget(self.tabs, 1)

    def clear(self) -> None:
        self.show_detail(None, lambda _p: None)

    def show_detail(self, detail: ItemDetail | None, resolve: Callable[[str], str | None]) -> None:
        self.detail = detail
        if detail is None:
            self.heading.setText("No item selected")
            for label in (self.state, self.seen, self.rating_key, self.guid, self.error):
                label.setText("")
            self.parts.setRowCount(0)
            self.history.setRowCount(0)
            self.streams.setPlainText("")
            return
        where = " ".join(
            x for x in (detail.show_title, fmt.episode(detail.season_index, detail.episode_index)) if x
        )
        year = f" ({detail.year})" if detail.year else ""
        self.heading.setText(f"{where} — {detail.title}{year}" if where else f"{detail.title}{year}")
        missing = f", missing since {fmt.when(detail.missing_since)}" if detail.missing_since else ""
        self.state.setText(f"{detail.state}{missing}")
        self.seen.setText(f"first {fmt.when(detail.first_seen_at)}, last {fmt.when(detail.last_seen_at)}")
        self.rating_key.setText(f"{detail.rating_key} ({detail.kind})")
        self.guid.setText(detail.guid_primary or "")
        if detail.last_error:
            self.error.setText(
                f"{detail.last_error} ({detail.error_count}×, {fmt.when(detail.last_error_at)})"
            )
        else:
            self.error.setStyleSheet("")
            self.error.setText("none")

        self.parts.setRowCount(len(detail.parts))
        streams: list[str] = []
        for r, part in enumerate(detail.parts):
            local = resolve(part.file) if part.file else None
            video = " ".join(x for x in (part.video_codec, part.video_resolution) if x)
            audio = " ".join(
                x
                for x in (part.audio_codec, f"{part.audio_channels}ch" if part.audio_channels else None)
                if x
            )
            values = (
                f"{part.media_index}.{part.part_index}",
                part.file or "",
                local or "(no mapping)",
                fmt.size(part.size),
                fmt.duration(part.duration_ms),
                part.container or "",
                video,
                audio,
                _flag(part.file_exists),
            )
            for c, value in enumerate(values):
                self.parts.setItem(r, c, QTableWidgetItem(value))
            body = (
                json.dumps(part.streams, indent=2, ensure_ascii=False)
                if part.streams is not None
                else "not read"
            )
            streams.append(f"# part {part.media_index}.{part.part_index}: {part.file or ''}\n{body}")
        self.streams.setPlainText("\n\n".join(streams) or "no parts")

        self.history.setRowCount(len(detail.history))
        for r, ev in enumerate(detail.history):
            row = (fmt.when(ev.at), ev.event, ev.old_value or "", ev.new_value or "", ev.detail or "")
            for c, value in enumerate(row):
                self.history.setItem(r, c, QTableWidgetItem(value))
