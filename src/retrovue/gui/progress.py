"""`ProgressPanel`: one progress bar per library being synced, fed by `UiBus.page_progress`.

Each bar says what the engine is doing in words (reading shows, reading items, reading item
details), how far it is, how long it has run and, once the total is known, about how long is left;
the elapsed time ticks every second even while a long phase sends no event.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget

from retrovue.gui.bus import UNKNOWN_TOTAL
from retrovue.gui.wording import progress_line

__all__ = ["LibraryProgress", "ProgressPanel"]


class LibraryProgress(QWidget):
    def __init__(
        self, title: str, parent: Any = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(parent)
        self.title = title
        self.clock = clock
        self.started = clock()
        self.state: tuple[str, int, int | None, int, int] = ("starting", 0, None, 0, 0)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # busy until the total is known
        self.bar.setTextVisible(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        self._render()

    def elapsed(self) -> float:
        return self.clock() - self.started

    def update_progress(
        self, processed: int, total: int, changed: int, skipped: int, errors: int, phase: str
    ) -> None:
        known = None if total == UNKNOWN_TOTAL or total <= 0 else total
        if known is None:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, known)
            self.bar.setValue(min(processed, known))
        self.state = (phase, processed, known, changed, errors)
        self._render()

    def _render(self) -> None:
        phase, processed, total, changed, errors = self.state
        if phase == "starting":
            text = f"starting · {int(self.elapsed())} s elapsed"
        else:
            text = progress_line(phase, processed, total, changed, errors, self.elapsed())
        self.label.setText(f"{self.title}: {text}")


class ProgressPanel(QWidget):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.bars: dict[int, LibraryProgress] = {}
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(4, 0, 4, 0)
        self.ticker = QTimer(self)
        self.ticker.setInterval(1000)
        self.ticker.timeout.connect(self._tick)
        self.setVisible(False)

    def start(self, library_id: int, title: str) -> LibraryProgress:
        self.finish(library_id)
        widget = LibraryProgress(title, self)
        self.bars[library_id] = widget
        self._layout.addWidget(widget)
        self.setVisible(True)
        self.ticker.start()
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
        if not self.bars:
            self.ticker.stop()

    def _tick(self) -> None:
        for widget in self.bars.values():
            widget._render()
