"""Pure logic of the watch mode: what a notification means, where to listen, how long to wait.

Plain functions and a small class over plain data, so they are tested without a server:

* `changed_sections(message)`: the library section keys a Plex notification says changed;
* `notifications_url(base_url, token)`: the websocket address of a server (carries the token, so it
  must never be printed or logged; `redact()` it);
* `Backoff`: exponential, jittered, capped reconnect delays;
* `SyncSchedule`: per-library debounce and coalescing, driven by an explicit clock.

The message shapes are those of plex-api.md "Notifications" (`timeline` entries and `activity`
notifications inside a `NotificationContainer`). JSON of a shape we do not know means "nothing
changed"; a message that is not a JSON document at all (malformed, not UTF-8, nested too deeply for
the parser) raises `NotificationError`, which the listener counts and drops with a notice. Neither
may ever cost the connection: a server that sends such messages would otherwise make the watcher
reconnect, and catch up, over and over.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

__all__ = [
    "LIBRARY_ACTIVITIES",
    "LIBRARY_IDENTIFIER",
    "TIMELINE_STATES",
    "Backoff",
    "NotificationError",
    "SyncSchedule",
    "changed_sections",
    "notifications_url",
]

NOTIFICATIONS_PATH = "/:/websockets/notifications"
LIBRARY_IDENTIFIER = "com.plexapp.plugins.library"
TIMELINE_STATES = frozenset({0, 5, 9})
"""Timeline states that mean the catalog may differ: 0 created, 5 processed, 9 deleted (1–4 are
intermediate processing steps of an item that will reach 5)."""
LIBRARY_ACTIVITIES = frozenset({"library.update.section", "library.refresh.items"})
"""Activities whose `ended` event means a section's content may have changed."""


class NotificationError(ValueError):
    """A notification that cannot be read at all; `str()` says why, in a few words."""


def notifications_url(base_url: str, token: str) -> str:
    """`ws(s)://host:port[/prefix]/:/websockets/notifications?X-Plex-Token=…` for a server URL."""
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    path = parts.path.rstrip("/") + NOTIFICATIONS_PATH
    return urlunsplit((scheme, parts.netloc, path, f"X-Plex-Token={quote(token, safe='')}", ""))


def _section_key(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | str):
        key = str(value).strip()
        # Plex uses "-1" (or nothing) for items outside any library section
        return key if key and not key.startswith("-") else None
    return None


def _items(container: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = container.get(name)
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, dict)]


def _state(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdecimal():  # not "²", which isdigit()
        return int(value)
    return None


def changed_sections(message: str | bytes | dict[str, Any]) -> set[str]:
    """The section keys (as strings) whose content a notification says changed; empty if none.

    `timeline` entries count when their identifier is the library plugin, they carry a section id
    and their state is created, processed or deleted. `activity` notifications count when a library
    scan or item refresh `ended` for a section. Everything else (`status`, `progress`, `playing`,
    shapes we do not know) yields nothing. A message that is not JSON at all raises
    `NotificationError`.
    """
    if isinstance(message, str | bytes):
        try:
            data = json.loads(message)
        except RecursionError:
            raise NotificationError("nested too deeply") from None
        except UnicodeError:
            raise NotificationError("not UTF-8 text") from None
        except ValueError as exc:
            raise NotificationError(f"not JSON: {str(exc)[:80]}") from None
    else:
        data = message
    try:
        return _sections(data)
    except Exception as exc:  # a shape no rule foresaw: never let it cost the connection
        raise NotificationError(f"unreadable ({type(exc).__name__})") from None


def _sections(data: Any) -> set[str]:
    container = data.get("NotificationContainer") if isinstance(data, dict) else None
    if not isinstance(container, dict):
        return set()
    kind = container.get("type")
    found: set[str] = set()
    if kind == "timeline":
        for entry in _items(container, "TimelineEntry"):
            if entry.get("identifier") != LIBRARY_IDENTIFIER:
                continue
            state = _state(entry.get("state"))
            key = _section_key(entry.get("sectionID"))
            if key is not None and state in TIMELINE_STATES:
                found.add(key)
    elif kind == "activity":
        for note in _items(container, "ActivityNotification"):
            activity = note.get("Activity")
            if note.get("event") != "ended" or not isinstance(activity, dict):
                continue
            if activity.get("type") not in LIBRARY_ACTIVITIES:
                continue
            context = activity.get("Context")
            key = _section_key(context.get("librarySectionID")) if isinstance(context, dict) else None
            if key is not None:
                found.add(key)
    return found


class Backoff:
    """Reconnect delays: `initial · factor^n`, capped at `cap`, with "equal jitter".

    Each delay is drawn uniformly from [d/2, d] for the nominal delay d, so servers restarted together
    are not hammered in lockstep and a delay is never zero. `reset()` after a successful connection.
    """

    def __init__(
        self, initial: float = 1.0, cap: float = 60.0, factor: float = 2.0, rng: random.Random | None = None
    ) -> None:
        if initial <= 0 or cap < initial or factor < 1:
            raise ValueError("backoff needs 0 < initial <= cap and factor >= 1")
        self.initial = initial
        self.cap = cap
        self.factor = factor
        self.attempts = 0
        self._rng = rng or random.Random()

    def nominal(self) -> float:
        return float(min(self.cap, self.initial * self.factor ** min(self.attempts, 64)))

    def next(self, *, at_cap: bool = False) -> float:
        """The next delay; `at_cap` jumps straight to the cap (a server that refuses notifications)."""
        if at_cap:
            self.attempts = max(self.attempts, 64)
        d = self.nominal()
        self.attempts += 1
        return d / 2 + self._rng.uniform(0, d / 2)

    def reset(self) -> None:
        self.attempts = 0


@dataclass
class _Pending:
    first_at: float
    due_at: float
    causes: set[str] = field(default_factory=set)


class SyncSchedule:
    """Which library to sync when: trailing debounce, a cap on the wait, one run at a time.

    `request()` records that a library needs a sync (`delay` after `now`, pushed back by further
    requests but never later than `max_delay` after the first). A request for a library that is
    running is kept for after the run, so any number of events during a sync become exactly one
    follow-up sync. `due()` lists pending libraries whose time has come and that are not running;
    the caller then calls `started()` and, when the run ends, `finished()`.
    """

    def __init__(self, debounce: float = 2.0, max_delay: float = 30.0) -> None:
        self.debounce = debounce
        self.max_delay = max(max_delay, debounce)
        self.pending: dict[int, _Pending] = {}
        self.running: set[int] = set()

    def request(self, library_id: int, now: float, cause: str, *, delay: float | None = None) -> None:
        wait = self.debounce if delay is None else delay
        pending = self.pending.get(library_id)
        if pending is None:
            self.pending[library_id] = _Pending(now, now + wait, {cause})
            return
        pending.causes.add(cause)
        pending.due_at = min(max(pending.due_at, now + wait), pending.first_at + max(self.max_delay, wait))

    def due(self, now: float) -> list[int]:
        ready = [
            (p.due_at, lib) for lib, p in self.pending.items() if p.due_at <= now and lib not in self.running
        ]
        return [lib for _, lib in sorted(ready)]

    def started(self, library_id: int) -> tuple[str, ...]:
        """Move a pending library to running; returns why it is being synced."""
        pending = self.pending.pop(library_id, None)
        self.running.add(library_id)
        return tuple(sorted(pending.causes)) if pending else ()

    def finished(self, library_id: int) -> None:
        self.running.discard(library_id)

    def forget(self, library_id: int) -> None:
        self.pending.pop(library_id, None)

    def next_deadline(self) -> float | None:
        dues = [p.due_at for lib, p in self.pending.items() if lib not in self.running]
        return min(dues) if dues else None

    @property
    def idle(self) -> bool:
        return not self.pending and not self.running
