"""Entry point of the desktop window: `retrovue gui` calls `run(engine)`."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication
from sqlalchemy import Engine

from retrovue import logs
from retrovue.gui.main_window import MainWindow

__all__ = ["run"]


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
    return int(app.exec())
