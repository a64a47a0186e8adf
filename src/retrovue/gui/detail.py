"""`DetailPane`: everything the catalog knows about one item — why it is in its state, its files and
streams in words, its history, and the last action's error.

Layout only: the pane shows an `ItemDetail` from the read API (`Catalog.detail`: the item, its parts
with their local paths on this machine, its history); its buttons are the window's actions (open,
reveal, copy). Streams read as Plex Web shows them ("1080p H.264 · AAC 5.1 English"); files are
numbered from 1 and only where an item has several; an action that failed (a file that cannot be
opened) stays written in the pane until the next action or item.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QPixmap
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from retrovue.catalog import ItemDetail, Stream
from retrovue.gui import fmt
from retrovue.gui.posters import POSTER_SIZE
from retrovue.gui.wording import part_line, state_reason, stream_line, version_label

__all__ = ["DetailPane"]

PART_HEADERS = ("File", "Plex path", "Local path", "Size", "Duration", "Container", "Streams", "On Plex")
HISTORY_HEADERS = ("When", "Event", "From", "To", "Detail")


def _table(headers: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _on_plex(exists: bool | None, accessible: bool | None) -> str:
    """Plex's own file check, in words."""
    if exists is False:
        return "missing on the Plex server"
    if accessible is False:
        return "not readable by Plex"
    if exists is None and accessible is None:
        return "not checked"
    return "present"


class DetailPane(QWidget):
    def __init__(self, actions: list[QAction], parent: Any = None) -> None:
        super().__init__(parent)
        self.detail: ItemDetail | None = None
        self.heading = QLabel("No item selected")
        self.heading.setStyleSheet("font-weight: bold; font-size: 13pt")
        self.heading.setWordWrap(True)
        self.summary = QLabel()  # Plex's summary, under the title as Plex Web shows it
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.setVisible(False)
        buttons = QHBoxLayout()
        for action in actions:
            button = QToolButton()
            button.setDefaultAction(action)
            buttons.addWidget(button)
        buttons.addStretch(1)

        self.message = QLabel()  # the last action's problem, until the next action or item
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c62828")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fix = QToolButton()  # the dialog that fixes the problem, when there is one
        self.fix.setVisible(False)
        self.message_row = QWidget()
        row = QHBoxLayout(self.message_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.message, 1)
        row.addWidget(self.fix)
        self.message_row.setVisible(False)

        self.fields = QFormLayout()
        self.state = QLabel()
        self.state.setWordWrap(True)
        self.streams_line = QLabel()
        self.streams_line.setWordWrap(True)
        self.seen = QLabel()
        self.rating_key = QLabel()
        self.guid = QLabel()
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.about = QLabel()  # genres, rating, air date, network…: fmt.metadata_fields
        self.about.setWordWrap(True)
        self.about.setTextFormat(Qt.TextFormat.PlainText)
        for label, widget in (
            ("State", self.state),
            ("Streams", self.streams_line),
            ("Seen", self.seen),
            ("Rating key", self.rating_key),
            ("GUID", self.guid),
            ("Last error", self.error),
            ("About", self.about),
        ):
            self.fields.addRow(label, widget)

        self.parts = _table(PART_HEADERS)
        self.streams = QPlainTextEdit()
        self.streams.setReadOnly(True)
        self.history = _table(HISTORY_HEADERS)
        self.poster = QLabel()  # the show's (or movie's) poster, when the server has one
        self.poster.setFixedSize(*POSTER_SIZE)
        self.poster.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.poster.setStyleSheet("background: #e0e0e0; color: #757575")
        self.poster.setText("no poster")
        inner = QWidget()
        row = QHBoxLayout(inner)
        row.addWidget(self.poster, 0, Qt.AlignmentFlag.AlignTop)
        row.addLayout(self.fields, 1)
        self.overview = QScrollArea()  # a long reason wraps and scrolls, never clipped
        self.overview.setWidget(inner)
        self.overview.setWidgetResizable(True)
        self.overview.setFrameShape(QScrollArea.Shape.NoFrame)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.overview, "Overview")
        self.tabs.addTab(self.parts, "Files")
        self.tabs.addTab(self.streams, "Streams")
        self.tabs.addTab(self.history, "History")

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.summary)
        layout.addLayout(buttons)
        layout.addWidget(self.message_row)
        layout.addWidget(self.tabs, 1)

    def clear(self) -> None:
        self.show_detail(None)

    def show_poster(self, pixmap: QPixmap | None) -> None:
        if pixmap is None:
            self.poster.clear()
            self.poster.setText("no poster")
            return
        self.poster.setPixmap(
            pixmap.scaled(
                self.poster.size(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )

    def say(self, text: str, fix: QAction | None = None) -> None:
        """Show an action's problem in the pane, with the action that fixes it (empty: hide it)."""
        self.message.setText(text)
        self.message_row.setVisible(bool(text))
        if fix is not None:
            self.fix.setDefaultAction(fix)
        self.fix.setVisible(bool(text) and fix is not None)

    def show_detail(self, detail: ItemDetail | None) -> None:
        if detail is None or self.detail is None or detail.item.id != self.detail.item.id:
            self.say("")
        if detail is None or self.detail is None or detail.item.id != self.detail.item.id:
            self.show_poster(None)
        self.detail = detail
        if detail is None:
            self.heading.setText("No item selected")
            self.summary.setVisible(False)
            for label in (
                self.state,
                self.streams_line,
                self.seen,
                self.rating_key,
                self.guid,
                self.error,
                self.about,
            ):
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
        reason = state_reason(item, detail.parts)
        self.state.setText(f"{item.state}{missing} — {reason}" if reason else f"{item.state}{missing}")
        first = detail.parts[0] if detail.parts else None
        self.streams_line.setText(part_line(first) if first is not None else "no file")
        self.seen.setText(f"first {fmt.when(item.first_seen_at)}, last {fmt.when(item.last_seen_at)}")
        self.rating_key.setText(f"{item.rating_key} ({item.kind})")
        self.guid.setText(item.guid or "")
        if item.last_error:
            self.error.setText(f"{item.last_error} ({item.error_count}×, {fmt.when(item.last_error_at)})")
        else:
            self.error.setText("none while reading it from Plex")
        self.summary.setText(item.summary or "")
        self.summary.setVisible(bool(item.summary))
        about = [(label, text) for label, text in fmt.metadata_fields(item) if label != "Summary"]
        self.about.setText("\n".join(f"{label}: {text}" for label, text in about) or "nothing from Plex")

        self.parts.setRowCount(len(detail.parts))
        streams: list[str] = []
        for r, part in enumerate(detail.parts):
            name = version_label(part, detail.parts) or "File"
            cells: tuple[str, ...] = (
                name,
                part.file or "",
                part.local_path or "(no path mapping)",
                fmt.size(part.size),
                fmt.duration(part.duration_ms),
                part.container or "",
                part_line(part),
                _on_plex(part.file_exists, part.accessible),
            )
            for c, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                cell.setToolTip(text)
                self.parts.setItem(r, c, cell)
            if part.streams is None:
                body = "  streams not read yet (a deep sync reads them)"
            else:
                body = "\n".join(f"  {_stream_row(s)}" for s in part.streams) or "  no streams"
            streams.append(f"{name}: {part.file or ''}\n{body}")
        self.streams.setPlainText("\n\n".join(streams) or "no files")

        self.history.setRowCount(len(detail.history))
        for r, ev in enumerate(detail.history):
            row = (fmt.when(ev.at), ev.event, ev.old_value or "", ev.new_value or "", ev.detail or "")
            for c, value in enumerate(row):
                self.history.setItem(r, c, QTableWidgetItem(value))


def _stream_row(s: Stream) -> str:
    """One stream on a line: `Video · 1080p H.264`, `Audio · AAC 5.1 English (default)`."""
    kind = {1: "Video", 2: "Audio", 3: "Subtitles"}.get(s.type or 0, "Other")
    text = stream_line([s]).removeprefix("Subtitles: ") or (s.codec or "")
    flags = [f for f, on in (("default", s.default), ("forced", s.forced)) if on]
    title = f" “{s.title}”" if s.title else ""
    return f"{kind} · {text}{title}" + (f" ({', '.join(flags)})" if flags else "")
