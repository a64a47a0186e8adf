"""`Reader`: the window's catalog reads, off the GUI thread, one at a time, answers on the GUI thread.

A slow database (a busy PostgreSQL across the network, a SQLite file on a hung share) must never
freeze the window: every read of the items table, the tree and the item pane goes through a
`Reader`, which runs it on its own single background thread (so reads keep their order, and the
read API's `Catalog` is used from one thread at a time) and delivers the answer, or a one-line
error, to a callback on the GUI thread. A caller that has moved on (another library, another
search) passes a `still_wanted` check, and a stale answer is dropped.

`Reader(synchronous=True)` runs each read at once on the calling thread: for scripts and the
models' own unit tests, which then need no event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool

from retrovue.gui.tasks import Task, error_text, run_task

__all__ = ["Reader"]


class Reader(QObject):
    def __init__(self, parent: QObject | None = None, *, synchronous: bool = False) -> None:
        super().__init__(parent)
        self.synchronous = synchronous
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.pending: set[Task] = set()
        self.reads = 0  # reads started, for tests and measurements
        self.closed = False  # the window is going: answers still on their way are dropped

    def read(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[str], None] | None = None,
        *,
        still_wanted: Callable[[], bool] = lambda: True,
    ) -> None:
        """Run `fn` in the background; then `on_done(result)` (or `on_error(message)`) on the GUI
        thread, unless `still_wanted()` says by then that the answer is no longer needed."""
        self.reads += 1
        failed = on_error or (lambda _message: None)
        if self.synchronous:
            try:
                result = fn()
            except Exception as exc:  # a message, never a crash
                failed(error_text(exc))
                return
            on_done(result)
            return
        holder: list[Task] = []

        def done(result: Any) -> None:
            self._forget(holder)
            if not self.closed and still_wanted():
                on_done(result)

        def error(message: str) -> None:
            self._forget(holder)
            if not self.closed and still_wanted():
                failed(message)

        task = run_task(self.pool, fn, done, error)
        holder.append(task)
        self.pending.add(task)

    def _forget(self, holder: list[Task]) -> None:
        for task in holder:
            self.pending.discard(task)

    @property
    def busy(self) -> bool:
        return bool(self.pending)

    def close(self, timeout_ms: int = 30_000) -> None:
        """No more answers: wait for the read under way, and drop what arrives after."""
        self.closed = True
        self.pool.waitForDone(timeout_ms)

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Block until the reads started so far have run (their callbacks still need the event loop)."""
        return bool(self.pool.waitForDone(timeout_ms))
