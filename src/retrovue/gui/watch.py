"""`WatchController`: the window's "Watch" toggle — a `retrovue.watch.Watcher` on a background thread.

The watcher runs on a plain thread (it is long-lived and spawns its own listener and sync threads, so
it does not belong on the window's pool). It reaches the window only through signals: the engine's
progress events go to the existing `UiBus` (the same slots a manual sync uses, so progress bars,
the tree and the items view follow along), one-line notices go out as `notice`, and `stopped` fires
when the watcher has ended for any reason (so the action can be unchecked).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from sqlalchemy import Engine

from retrovue.gui.bus import UiBus, forward_engine_event
from retrovue.gui.tasks import error_text
from retrovue.ingest.events import Event
from retrovue.watch import Watcher, WatchEvent, describe

__all__ = ["WatchController"]


class WatchController(QObject):
    notice = Signal(str)
    stopped = Signal(str)  # why (empty when asked to stop)

    def __init__(
        self,
        engine: Engine,
        bus: UiBus,
        parent: QObject | None = None,
        *,
        factory: Callable[..., Watcher] = Watcher,
        **options: Any,
    ) -> None:
        super().__init__(parent)
        self.engine = engine
        self.bus = bus
        self.factory = factory
        self.options = options
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop = threading.Event()
        watcher = self.factory(
            self.engine, on_event=self._on_event, on_sync_event=self._forward, **self.options
        )
        self._thread = threading.Thread(
            target=self._run, args=(watcher, self._stop), name="retrovue-gui-watch", daemon=True
        )
        self._thread.start()
        self.notice.emit("Watching the servers for changes…")

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def _run(self, watcher: Watcher, stop: threading.Event) -> None:
        reason = ""
        try:
            watcher.run(stop)
        except Exception as exc:  # no servers, catalog trouble: a message, never a crash
            reason = error_text(exc)
        self.notice.emit(f"Watch stopped: {reason}" if reason else "Watch stopped.")
        self.stopped.emit(reason)

    def _on_event(self, event: WatchEvent) -> None:
        text = describe(event)
        if text:
            self.notice.emit(text)

    def _forward(self, event: Event) -> None:
        """The engine's progress events, onto the bus (see `forward_engine_event`)."""
        forward_engine_event(self.bus, event)
