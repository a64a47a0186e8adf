"""Live watch mode: keep the catalog current from Plex's notification websocket. See docs/watch.md.

Public API: `Watcher(engine, …).run(stop_event)`, the `WatchEvent` types it reports, and the pure
pieces it is built from (`changed_sections`, `Backoff`, `SyncSchedule`, `notifications_url`).
"""

from retrovue.watch.events import (
    Connected,
    Disconnected,
    MessagesDropped,
    PollingFallback,
    SyncDeferred,
    SyncFinished,
    SyncStarting,
    WatchEvent,
    WatchEventCallback,
    describe,
)
from retrovue.watch.notifications import Backoff, SyncSchedule, changed_sections, notifications_url
from retrovue.watch.watcher import SyncFunction, Watcher

__all__ = [
    "Backoff",
    "Connected",
    "Disconnected",
    "MessagesDropped",
    "PollingFallback",
    "SyncDeferred",
    "SyncFinished",
    "SyncFunction",
    "SyncSchedule",
    "SyncStarting",
    "WatchEvent",
    "WatchEventCallback",
    "Watcher",
    "changed_sections",
    "describe",
    "notifications_url",
]
