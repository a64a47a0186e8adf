"""Run one blocking call (a connection test, a save) off the GUI thread and get its result back.

A `Task` is a `QRunnable` that talks only through its `TaskSignals`: `succeeded(result)` or
`failed(message)`, delivered on the main thread. Errors become the same one-line messages the CLI
prints (`retrovue.failures.describe`: a `RetrovueError`'s text, a database failure naming the catalog,
anything else "unexpected error (…)" with its traceback in the log file) — a bug, but never a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from retrovue import failures

__all__ = ["Task", "TaskSignals", "error_text", "run_task"]


log = logging.getLogger(__name__)


def error_text(exc: BaseException, catalog: str | None = None) -> str:
    """The one line a user sees for an exception (an unforeseen one is logged with its traceback)."""
    failure = failures.describe(exc, catalog=catalog)
    if not failure.expected:
        log.error("unexpected error in the window", exc_info=exc)
        return f"{failure.message}; details in the log"
    return failure.message


class TaskSignals(QObject):
    succeeded = Signal(object)
    failed = Signal(str)


class Task(QRunnable):
    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.fn = fn
        self.signals = TaskSignals()

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as exc:  # reported in the window, never raised into Qt
            self.signals.failed.emit(error_text(exc))
        else:
            self.signals.succeeded.emit(result)


def run_task(
    pool: QThreadPool,
    fn: Callable[[], Any],
    on_success: Callable[[Any], None],
    on_failure: Callable[[str], None],
) -> Task:
    """Start `fn` on `pool`; the callbacks run on the main thread. Returns the task (keep it alive)."""
    task = Task(fn)
    task.setAutoDelete(False)
    task.signals.succeeded.connect(on_success)
    task.signals.failed.connect(on_failure)
    pool.start(task)
    return task
