"""The sync engine: change detection, minimal-work ingest, soft deletes, progress events.

Public API: `sync()` (one call for every enabled library, a server, or a library), the event types it
reports through its callback, and `SyncSummary`. See docs/sync.md.
"""

from retrovue.ingest.engine import SyncOptions, select_libraries, sync
from retrovue.ingest.events import (
    Event,
    EventCallback,
    LibraryDone,
    LibraryStarted,
    PageProgress,
    SyncSummary,
)

__all__ = [
    "Event",
    "EventCallback",
    "LibraryDone",
    "LibraryStarted",
    "PageProgress",
    "SyncOptions",
    "SyncSummary",
    "select_libraries",
    "sync",
]
