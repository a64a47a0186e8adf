"""`ProgressPanel`: one progress bar per library being synced, fed by `UiBus.page_progress`."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget

from retrovue.gui.bus import UNKNOWN_TOTAL

__all__ = ["LibraryProgress", "ProgressPanel"]


class LibraryProgress(QWidget):
    def __init__(self, title: str, parent: Any = None) -> None:
        super().__init__(parent)
        self.title = title
        self.label = QLabel(f"{title}: starting…")
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # busy until the total is known
        self.bar.setTextVisible(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)

    def update_progress(
        self, processed: int, total: int, changed: int, skipped: int, errors: int, phase: str
    ) -> None:
        if total == UNKNOWN_TOTAL or total <= 0:
            self.bar.setRange(0, 0)
            of = f"{processed}"
        else:
            self.bar.setRange(0, total)
            self.bar.setValue(min(processed, total))
            of = f"{processed} of {total}"
        self.label.setText(f"{self.title}: {phase} {of} · +{changed} ~{skipped} !{errors}")


class ProgressPanel(QWidget):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.bars: dict[int, LibraryProgress] = {}
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(4, 0, 4, 0)
        self.setVisible(False)

    def start(self, library_id: int, title: str) -> LibraryProgress:
        self.finish(library_id)
        widget = LibraryProgress(title, self)
        self.bars[library_id] = widget
        self._layout.addWidget(widget)
        self.setVisible(True)
        return widget

    def update_progress(
        self, library_id: int, processed: int, total: int, changed: int, skipped: int, errors: int, phase: str
    ) -> None:
        widget = self.bars.get(library_id)
        if widget is not None:
            widget.update_progress(processed, total, changed, skipped, errors, phase)

    def finish(self, library_id: int) -> None:
        widget = self.bars.pop(library_id, None)
        if widget is not None:
            self._layout.removeWidget(widget)
            widget.deleteLater()
        self.setVisible(bool(self.bars))
