"""Scenario 6: open a big library in the main window and scroll to its end, offscreen, as a user would.

Runs in its own process (QT_QPA_PLATFORM=offscreen), so the peak RSS is the window's: the whole
`MainWindow` (tree, items table, item pane, history, activity log), with its own settings file and
thumbnail cache in a temporary folder. A 2 ms QTimer records when the event loop gets round to it;
the longest gap between two ticks is the worst stall the user would feel. The library is selected
in the tree from inside the event loop, so opening it counts as a stall too; then, like a user
dragging the scroll bar down, a driver moves the table to its bottom every `DRIVE_MS` (30 ms) —
not continuously, which would measure the driver's own load as much as the window's — so the view
asks for the next batch (`fetchMore`) until every row is loaded. The window reads through its
`Reader`: pages are read on its background thread and the event loop only inserts them.
"""

from __future__ import annotations

import os
import tempfile
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

__all__ = ["DRIVE_MS", "TICK_MS", "measure_scroll"]

TICK_MS = 2
DRIVE_MS = 30  # a scroll-bar move every 30 ms: what a user's drag sends, not a busy loop


def measure_scroll(
    db_url: str, *, library_title: str | None = None, limit_s: float = 240.0
) -> dict[str, Any]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix="retrovue-bench-gui-") as tmp:
        state = os.environ.get("RETROVUE_STATE_DIR")
        os.environ["RETROVUE_STATE_DIR"] = tmp  # the thumbnail cache: never the user's
        try:
            return _measure(db_url, Path(tmp), library_title, limit_s)
        finally:
            if state is None:
                os.environ.pop("RETROVUE_STATE_DIR", None)
            else:
                os.environ["RETROVUE_STATE_DIR"] = state


def _measure(db_url: str, tmp: Path, library_title: str | None, limit_s: float) -> dict[str, Any]:
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from bench.measure import peak_rss_mb, rss_mb
    from retrovue.gui.app import freeze_startup_objects
    from retrovue.gui.main_window import MainWindow
    from retrovue.store import registry
    from retrovue.store.db import open_catalog

    app = QApplication.instance() or QApplication([])
    engine = open_catalog(db_url)
    with engine.connect() as conn:
        libs = registry.list_libraries(conn)
    biggest = next(
        lib for lib in libs if (lib.title == library_title if library_title else lib.kind == "show")
    )
    settings = QSettings(str(tmp / "gui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(engine, settings=settings, check_servers_on_start=False)
    window.resize(1280, 800)
    window.show()
    model, table = window.items_model, window.table
    settle(app, window)  # the tree is read at start, and the first library opened: close it again
    window.library.select_server(biggest.server_id)  # (a server node shows no items)
    settle(app, window)
    freeze_startup_objects()  # as `retrovue gui` does once its window is up
    base, queries = rss_mb(), model.queries

    ticks: list[float] = []
    state: dict[str, Any] = {"t0": 0.0, "asked": None, "opened_s": None, "done_s": None, "moves": 0}

    def tick() -> None:
        ticks.append(time.perf_counter())

    def open_library() -> None:
        state["asked"] = time.perf_counter()
        window.select_library(biggest.id)

    def loaded() -> None:  # the first page is on screen: the library is open
        if state["opened_s"] is None and state["asked"] is not None and model.rowCount():
            state["opened_s"] = time.perf_counter() - state["asked"]

    def drive() -> None:
        if state["opened_s"] is None:
            return
        elapsed = time.perf_counter() - state["t0"]
        if (not model.canFetchMore() and model.rowCount() >= model.total) or elapsed > limit_s:
            state["done_s"] = elapsed
            app.quit()
            return
        table.scrollToBottom()  # the next batch is asked for when the last one is in
        state["moves"] += 1

    model.loaded.connect(loaded)
    ticker = QTimer()
    ticker.setInterval(TICK_MS)
    ticker.timeout.connect(tick)
    driver = QTimer()
    driver.setInterval(DRIVE_MS)
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
        "batches": model.queries - queries,
        "open_s": state["opened_s"],
        "drive_ms": DRIVE_MS,
        "scroll_moves": state["moves"],
        "max_stall_ms": round(gaps[-1], 1) if gaps else None,
        "p99_gap_ms": round(gaps[int(len(gaps) * 0.99)], 1) if gaps else None,
        "ticks": len(ticks),
        "reached_end": model.rowCount() >= model.total,
        "rss_base_mb": round(base, 1),
        "rss_end_mb": round(rss_mb(), 1),
        "rss_peak_mb": round(peak_rss_mb(), 1),
        "client_requests": 0,
        "rows": {},
        "rows_total": 0,
    }
    window.shutdown()
    window.close()
    window.deleteLater()
    engine.dispose()
    return result


def settle(app: Any, window: Any) -> None:
    """Until the window's reads so far have answered."""
    while window.reader.busy or window.items_model.loading:
        window.reader.wait(100)
        app.processEvents()
    app.processEvents()
