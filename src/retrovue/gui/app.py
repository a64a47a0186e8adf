"""Entry point of the desktop window: `retrovue gui` calls `run(engine)`."""

from __future__ import annotations

import gc
import sys

from PySide6.QtWidgets import QApplication
from sqlalchemy import Engine

from retrovue import logs
from retrovue.gui.main_window import MainWindow

__all__ = ["freeze_startup_objects", "run"]


def run(engine: Engine, argv: list[str] | None = None) -> int:
    """Show the main window over an opened catalog and run the event loop; returns the exit code.

    Logging goes to the user's log file through the redaction filter, as for the CLI.
    """
    logs.setup()
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setOrganizationName("Retrovue")
    app.setApplicationName("Retrovue Ingest")
    window = MainWindow(engine)
    window.show()
    freeze_startup_objects()
    return int(app.exec())


def freeze_startup_objects() -> None:
    """Keep the cycle collector's full passes short: the objects made while starting — modules,
    classes, functions, the window's widgets, ~120,000 of them, all living as long as the process —
    move out of its sight (`gc.freeze`, after a collection so no garbage goes with them). A full
    pass walks every tracked object while holding the GIL, whichever thread set it off (mostly the
    reader's, which allocates the pages): with them it took 110-160 ms of the GUI thread on the
    development container, the longest stall of a 100,000-row scroll; without them, a few ms."""
    gc.collect()
    gc.freeze()
