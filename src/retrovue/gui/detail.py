"""`DetailPane`: everything the catalog knows about one item — parts, streams, state history, errors.

Layout only: the pane shows an `ItemDetail` from the read API (`Catalog.detail`: the item, its parts
with their local paths on this machine, its history); its buttons are the window's actions (open,
reveal, copy).
"""

from __future__ import annotations

import dataclasses
import json
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

from retrovue.catalog import ItemDetail
from retrovue.gui import fmt

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
        self.show_detail(None)

    def show_detail(self, detail: ItemDetail | None) -> None:
        self.detail = detail
        if detail is None:
            self.heading.setText("No item selected")
            for label in (self.state, self.seen, self.rating_key, self.guid, self.error):
                label.setText("")
            self.parts.setRowCount(0)
            self.history.setRowCount(0)
            self.streams.setPlainText("")
            return
        item = detail.item
        where = " ".join(
            x for x in (item.show_title, fmt.episode(item.season_index, item.episode_index)) if x
        )
        year = f" ({item.year})" if item.year else ""
        self.heading.setText(f"{where} — {item.title}{year}" if where else f"{item.title}{year}")
        missing = f", missing since {fmt.when(item.missing_since)}" if item.missing_since else ""
        self.state.setText(f"{item.state}{missing}")
        self.seen.setText(f"first {fmt.when(item.first_seen_at)}, last {fmt.when(item.last_seen_at)}")
        self.rating_key.setText(f"{item.rating_key} ({item.kind})")
        self.guid.setText(item.guid or "")
        if item.last_error:
            self.error.setText(f"{item.last_error} ({item.error_count}×, {fmt.when(item.last_error_at)})")
        else:
            self.error.setStyleSheet("")
            self.error.setText("none")

        self.parts.setRowCount(len(detail.parts))
        streams: list[str] = []
        for r, part in enumerate(detail.parts):
            local = part.local_path
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
                json.dumps([dataclasses.asdict(s) for s in part.streams], indent=2, ensure_ascii=False)
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
