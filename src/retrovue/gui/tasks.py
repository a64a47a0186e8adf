"""Run one blocking call (a connection test, a save) off the GUI thread and get its result back.

A `Task` is a `QRunnable` that talks only through its `TaskSignals`: `succeeded(result)` or
`failed(message)`, delivered on the main thread. Errors become one-line messages; a `RetrovueError`'s
text is shown as is, anything else is reported with its type (it is a bug, but never a crash).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from retrovue.errors import RetrovueError

__all__ = ["Task", "TaskSignals", "error_text", "run_task"]


def error_text(exc: BaseException) -> str:
    """The one line a user sees for an exception."""
    if isinstance(exc, RetrovueError):
        return str(exc)
    return f"unexpected error ({type(exc).__name__}): {exc}"


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
