"""What the watcher tells the world: typed, plain-data events (never a token, never a URL with one).

The watcher calls `on_event(event)` from its own threads (a server's listener or a sync thread), so a
handler must be thread-safe and quick: print a line, put it on a queue, emit a Qt signal. Each sync's
`SyncSummary` goes to `on_summary` as well, and the engine's own progress events to `on_sync_event`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from retrovue.ingest.events import SyncSummary

__all__ = [
    "Connected",
    "Disconnected",
    "MessagesDropped",
    "PollingFallback",
    "SyncDeferred",
    "SyncFinished",
    "SyncStarting",
    "WatchEvent",
    "WatchEventCallback",
    "describe",
]


@dataclass(frozen=True)
class Connected:
    """The server's notification websocket is open; a catch-up sync of its libraries is queued."""

    server_name: str


@dataclass(frozen=True)
class Disconnected:
    """No websocket to this server (it dropped, or connecting failed); the next try is in `retry_in`s.

    `unavailable` means the server answered but refused notifications (HTTP 4xx on the handshake):
    retries then happen at the capped interval.
    """

    server_name: str
    reason: str
    retry_in: float
    unavailable: bool = False


@dataclass(frozen=True)
class MessagesDropped:
    """Notifications that could not be read were dropped (`count` since the last notice, the first
    told at once, then at most one notice a minute); the connection stays open."""

    server_name: str
    count: int
    reason: str


@dataclass(frozen=True)
class PollingFallback:
    """Until the websocket is back, the server's libraries get an incremental sync every `interval`s."""

    server_name: str
    reason: str
    interval: float


@dataclass(frozen=True)
class SyncStarting:
    server_name: str
    library_id: int
    library_title: str
    causes: tuple[str, ...]  # notification | connected | poll | retry
    at: float  # time.monotonic()


@dataclass(frozen=True)
class SyncFinished:
    """A sync ended (`summary`), or could not run at all (`error`, one line)."""

    server_name: str
    library_id: int
    library_title: str
    started_at: float  # time.monotonic()
    finished_at: float
    summary: SyncSummary | None
    error: str | None = None


@dataclass(frozen=True)
class SyncDeferred:
    """Another sync (another process, the GUI) holds the library: try again in `retry_in`s."""

    server_name: str
    library_id: int
    library_title: str
    reason: str
    retry_in: float


WatchEvent = (
    Connected | Disconnected | MessagesDropped | PollingFallback | SyncStarting | SyncFinished | SyncDeferred
)
WatchEventCallback = Callable[[WatchEvent], None]


def _span(seconds: float) -> str:
    if seconds >= 120 and seconds % 60 == 0:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"


def describe(event: WatchEvent) -> str | None:
    """The one line a user sees for an event (None: nothing worth a line). Never contains a token."""
    if isinstance(event, Connected):
        return f"{event.server_name}: listening for changes"
    if isinstance(event, Disconnected):
        retry = _span(event.retry_in)
        return f"{event.server_name}: notifications unavailable ({event.reason}); retrying in {retry}"
    if isinstance(event, MessagesDropped):
        what = "a notification" if event.count == 1 else f"{event.count} notifications"
        return f"{event.server_name}: dropped {what} that could not be read ({event.reason}); still listening"
    if isinstance(event, PollingFallback):
        return f"{event.server_name}: syncing every {_span(event.interval)} until notifications return"
    if isinstance(event, SyncDeferred):
        retry = _span(event.retry_in)
        return f"{event.server_name}/{event.library_title}: {event.reason}; retrying in {retry}"
    if isinstance(event, SyncFinished) and event.error:
        return f"{event.server_name}/{event.library_title}: sync could not run: {event.error}"
    return None
