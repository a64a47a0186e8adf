"""Where Retrovue's log goes: one file under the user's state directory, scrubbed of every secret.

The terminal gets one line per failure; the details (a traceback, the SQL that failed) go here, so a
bug report can quote them. The CLI and GUI entry points call `setup()`; it puts a rotating file
handler on the root logger and the redaction filter (`retrovue.redact.RedactingFilter`) on every
root handler, so no record reaches a file or a terminal unscrubbed. With a handler on the root
logger, Python's last-resort handler (which prints tracebacks to stderr) is never used.

The state directory is `RETROVUE_STATE_DIR` when set, else platformdirs' (`~/.local/state/retrovue`
on Linux, honouring `XDG_STATE_HOME`; `~/Library/Application Support/retrovue` on macOS;
`%LOCALAPPDATA%\\retrovue` on Windows). A directory that cannot be written costs the log, never the
command.
"""

from __future__ import annotations

import logging
import os
from logging.handlers import RotatingFileHandler
from pathlib import Path

from retrovue.account.storage import state_dir
from retrovue.redact import install_filter

__all__ = ["log_path", "setup"]

MAX_BYTES = 1_000_000
BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)s %(name)s [pid %(process)d %(threadName)s] %(message)s"


def log_path() -> Path:
    """The log file: `retrovue.log` in this install's state directory (`RETROVUE_STATE_DIR`, else
    the platform's), beside the sign-in files."""
    return state_dir() / "retrovue.log"


class _LogFile(RotatingFileHandler):
    """A rotating file handler that never prints "--- Logging error ---" with a traceback."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        pass


_handler: _LogFile | None = None


def _writable(path: Path) -> bool:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.close(fd)
    except OSError:
        return False
    return True


def setup(path: Path | None = None) -> Path | None:
    """Log to `path` (default `log_path()`); returns the file, or None when it cannot be written.

    Safe to call more than once (tests run the CLI many times in one process): the handler is
    replaced only when the file changes.
    """
    global _handler
    target = path or log_path()
    root = logging.getLogger()
    if _handler is not None and Path(_handler.baseFilename) != target.absolute():
        root.removeHandler(_handler)
        _handler.close()
        _handler = None
    if _handler is None and _writable(target):
        _handler = _LogFile(target, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True)
        _handler.setLevel(logging.INFO)
        _handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(_handler)
    for handler in root.handlers:
        install_filter(handler)
    package = logging.getLogger("retrovue")
    if package.level == logging.NOTSET:
        package.setLevel(logging.INFO)
    return target if _handler is not None else None
