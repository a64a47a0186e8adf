"""Scenario 6: open a big library in the GUI's items model and scroll to its end, offscreen.

Runs in its own process (QT_QPA_PLATFORM=offscreen). A 2 ms QTimer records when the event loop
gets round to it; the longest gap between two ticks is the worst stall the user would feel. The
library is opened (`ItemsModel.set_library`) from inside the event loop, so opening counts as a
stall too, and a driver timer keeps calling `scrollToBottom()` so the view asks for the next batch
(`fetchMore`) until the model has loaded every row. As in the window, the model reads through a
`Reader`: the pages are read on its background thread and the event loop only inserts them.
"""

from __future__ import annotations

import os
import time
from itertools import pairwise
from typing import Any

__all__ = ["measure_scroll"]

TICK_MS = 2


def measure_scroll(
    db_url: str, *, library_title: str | None = None, limit_s: float = 240.0
) -> dict[str, Any]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QTableView

    from bench.measure import peak_rss_mb, rss_mb
    from retrovue.gui.models.items import ItemsModel
    from retrovue.gui.reader import Reader
    from retrovue.store import registry
    from retrovue.store.db import open_catalog

    app = QApplication.instance() or QApplication([])
    engine = open_catalog(db_url)
    with engine.connect() as conn:
        libs = registry.list_libraries(conn)
    biggest = next(
        lib for lib in libs if (lib.title == library_title if library_title else lib.kind == "show")
    )
    reader = Reader()  # as in the window: every page is read off the GUI thread
    model = ItemsModel(engine, reader=reader)
    view = QTableView()
    view.resize(1200, 800)
    view.setModel(model)
    view.show()
    base = rss_mb()

    ticks: list[float] = []
    state: dict[str, Any] = {"opened_s": None, "t0": 0.0, "done_s": None}

    def tick() -> None:
        ticks.append(time.perf_counter())

    def open_library() -> None:
        t = time.perf_counter()
        model.set_library(biggest.id)
        state["opened_s"] = time.perf_counter() - t

    def drive() -> None:
        if state["opened_s"] is None or model.loading:  # a page is being read
            return
        view.scrollToBottom()
        elapsed = time.perf_counter() - state["t0"]
        if (not model.canFetchMore() and model.rowCount() >= model.total) or elapsed > limit_s:
            state["done_s"] = elapsed
            app.quit()

    ticker = QTimer()
    ticker.setInterval(TICK_MS)
    ticker.timeout.connect(tick)
    driver = QTimer()
    driver.setInterval(0)
    driver.timeout.connect(drive)
    state["t0"] = time.perf_counter()
    ticker.start()
    QTimer.singleShot(10, open_library)
    driver.start()
    app.exec()
    ticker.stop()
    driver.stop()
    gaps = sorted((b - a) * 1000 for a, b in pairwise(ticks))
    result = {
        "seconds": state["done_s"],
        "rows_loaded": model.rowCount(),
        "total": model.total,
        "batches": model.queries,
        "open_s": state["opened_s"],
        "max_stall_ms": round(gaps[-1], 1) if gaps else None,
        "p99_gap_ms": round(gaps[int(len(gaps) * 0.99)], 1) if gaps else None,
        "ticks": len(ticks),
        "reached_end": model.rowCount() >= model.total,
        "rss_base_mb": round(base, 1),
        "rss_peak_mb": round(peak_rss_mb(), 1),
        "client_requests": 0,
        "rows": {},
        "rows_total": 0,
    }
    view.close()
    reader.close()
    engine.dispose()
    return result
