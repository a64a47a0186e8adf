"""`SyncWorker`: runs `retrovue.ingest.sync` on a pool thread and forwards its events to the `UiBus`.

The worker talks to the window only through the bus's signals (queued to the main thread); the window
talks to the worker only through `cancel()`, which sets the engine's `threading.Event`. Whatever
happens inside the engine, the worker ends with exactly one `job_finished`, after any
`sync_completed` / `sync_failed`, so the window can always re-enable its actions.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QRunnable
from sqlalchemy import Engine

from retrovue.gui.bus import UiBus, forward_engine_event
from retrovue.gui.tasks import error_text
from retrovue.ingest.events import Event

__all__ = ["SyncFunction", "SyncRequest", "SyncWorker", "engine_sync"]

SyncFunction = Callable[..., Any]
"""`retrovue.ingest.sync`'s signature; injectable so tests can script an engine."""

_job_ids = itertools.count(1)


@dataclass(frozen=True)
class SyncRequest:
    library_id: int | None  # None: every enabled library
    deep: bool = False
    force: bool = False
    page_size: int = 200


def engine_sync(engine: Engine, **kwargs: Any) -> Any:
    """Call the real engine (imported late, so the GUI starts even on a partial install)."""
    from retrovue.ingest import sync  # type: ignore[attr-defined,unused-ignore]

    return sync(engine, **kwargs)


class SyncWorker(QRunnable):
    def __init__(
        self,
        engine: Engine,
        bus: UiBus,
        request: SyncRequest,
        *,
        sync_fn: SyncFunction = engine_sync,
    ) -> None:
        super().__init__()
        self.job_id = next(_job_ids)
        self.engine = engine
        self.bus = bus
        self.request = request
        self.sync_fn = sync_fn
        self.cancel_event = threading.Event()
        self.setAutoDelete(False)

    def cancel(self) -> None:
        self.cancel_event.set()

    def forward(self, event: Event) -> None:
        """The engine's progress events, onto the bus (see `forward_engine_event`)."""
        forward_engine_event(self.bus, event)

    def run(self) -> None:
        req = self.request
        try:
            self.sync_fn(
                self.engine,
                library_id=req.library_id,
                deep=req.deep,
                force=req.force,
                on_event=self.forward,
                cancel=self.cancel_event,
                page_size=req.page_size,
            )
        except Exception as exc:  # LockHeldError, config problems, bugs: a message, never a crash
            self.bus.sync_failed.emit(self.job_id, req.library_id or 0, error_text(exc))
        finally:
            self.bus.job_finished.emit(self.job_id)
