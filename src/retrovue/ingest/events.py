"""What the sync engine tells the world while it works: typed, plain-data events.

The engine calls one callback, `on_event(event)`, from the thread that runs the sync. It knows nothing
of Qt or the terminal: the CLI turns events into rich progress bars, the GUI forwards them to its
`UiBus` signals on the main thread, tests collect them in a list.

Order for each library: `LibraryStarted`, then `PageProgress` after each page's transaction has
committed (so a UI that re-reads the catalog sees that page), then exactly one `LibraryDone` after
finalize — also when the run failed or was cancelled, so a UI can always close its progress bar.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "Event",
    "EventCallback",
    "LibraryDone",
    "LibraryStarted",
    "PageProgress",
    "SyncSummary",
]

RUN_OK, RUN_PARTIAL, RUN_FAILED, RUN_CANCELLED = "ok", "partial", "failed", "cancelled"


@dataclass(frozen=True)
class SyncSummary:
    """The result of one library's run (the design note's summary plus status and cost)."""

    server_id: int
    library_id: int
    server_name: str
    library_title: str
    run_id: int | None
    mode: str  # incremental | deep
    status: str  # ok | partial | failed | cancelled
    processed: int = 0
    changed: int = 0  # added, or digest changed
    skipped: int = 0  # seen and unchanged
    errors: int = 0
    missing_promoted: int = 0
    deleted_promoted: int = 0
    last_synced_at: int | None = None
    requests: int = 0
    reason: str | None = None  # why the run is not ok, one line
    gated: bool = False  # the section's contentChangedAt had not moved: nothing was listed
    rekeyed: int = 0  # items whose Plex rating key changed and whose catalog row was kept
    ambiguous: tuple[str, ...] = ()  # re-key candidates not merged because they were ambiguous
    written: int = 0  # item rows written (added, changed, restored, re-checked): 0 when nothing changed
    elapsed_s: float = 0.0
    verification: bool = False  # listed although the gate held: the library's verification was due
    pages: int = 0  # listing pages read
    bytes: int = 0  # response bytes received from Plex
    connection: str | None = None  # how the server was reached: local | remote | relay
    address: str | None = None  # the server address the run used (never carries a token)

    @property
    def ok(self) -> bool:
        return self.status == RUN_OK


@dataclass(frozen=True)
class LibraryStarted:
    server_id: int
    library_id: int
    server_name: str
    library_title: str
    mode: str


@dataclass(frozen=True)
class PageProgress:
    server_id: int
    library_id: int
    processed: int  # items (episodes or movies) handled so far
    total: int | None  # items in the library's listing, when known
    changed: int
    skipped: int
    errors: int
    phase: str = "items"  # shows | items | details | finalize


@dataclass(frozen=True)
class LibraryDone:
    server_id: int
    library_id: int
    summary: SyncSummary = field()


Event = LibraryStarted | PageProgress | LibraryDone
EventCallback = Callable[[Event], None]
