"""`UiBus`: the Qt signals through which background work reaches the window.

Workers run on pool threads and only ever *emit* these signals; the bus lives on the main thread, so
Qt queues every emission and the connected slots run on the main thread, in emission order. Payloads
are plain ints and strings, or the engine's frozen dataclasses (`SyncSummary`), never Qt objects.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from retrovue.ingest import Event, LibraryDone, LibraryStarted, PageProgress

__all__ = ["UNKNOWN_TOTAL", "UiBus", "forward_engine_event"]

UNKNOWN_TOTAL = -1
"""`page_progress`'s total when the engine does not know it yet."""


class UiBus(QObject):
    # server_id, library_id, mode ("incremental" | "deep")
    sync_started = Signal(int, int, str)
    # server_id, library_id, processed, total (UNKNOWN_TOTAL if unknown), changed, skipped, errors, phase
    page_progress = Signal(int, int, int, int, int, int, int, str)
    # server_id, library_id, summary (retrovue.ingest.events.SyncSummary)
    sync_completed = Signal(int, int, object)
    # job id, library id or 0 for "all", one-line message: the sync could not run at all
    sync_failed = Signal(int, int, str)
    # job id: the worker is done (after its last sync_completed / sync_failed)
    job_finished = Signal(int)
    # server_id, status ("online", or the problem: "token rejected", "unreachable"…), one-line detail
    server_checked = Signal(int, str, str)


def forward_engine_event(bus: UiBus, event: Event) -> None:
    """Emit one engine event on the bus. Called on worker threads; Qt queues the signals so the
    slots run on the main thread (the seed's UI contract)."""
    if isinstance(event, LibraryStarted):
        bus.sync_started.emit(event.server_id, event.library_id, event.mode)
    elif isinstance(event, PageProgress):
        total = UNKNOWN_TOTAL if event.total is None else event.total
        bus.page_progress.emit(
            event.server_id,
            event.library_id,
            event.processed,
            total,
            event.changed,
            event.skipped,
            event.errors,
            event.phase,
        )
    elif isinstance(event, LibraryDone):
        bus.sync_completed.emit(event.server_id, event.library_id, event.summary)
