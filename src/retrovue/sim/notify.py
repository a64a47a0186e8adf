"""The notification hub behind `/:/websockets/notifications`.

Why it exists: mutations happen on the caller's thread, websockets live on the server's event loop.
The hub turns catalog `Change`s into the JSON messages real Plex sends (`timeline` entries and
`activity` start/end around a library update) and hands them to every connected socket through
`call_soon_threadsafe`, so publishing never blocks and never touches the loop from outside.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

from retrovue.sim.model import Change

__all__ = ["NotificationHub", "activity_message", "timeline_message"]

_IDENTIFIER = "com.plexapp.plugins.library"


def timeline_message(changes: list[Change]) -> dict[str, Any]:
    entries = [
        {
            "identifier": _IDENTIFIER,
            "sectionID": str(c.section_key),
            "itemID": str(c.rating_key),
            "type": c.type,
            "title": c.title,
            "state": c.state,
            "updatedAt": c.updated_at,
            **({"metadataState": "deleted"} if c.state == 9 else {}),
        }
        for c in changes
    ]
    return {"NotificationContainer": {"type": "timeline", "size": len(entries), "TimelineEntry": entries}}


def activity_message(event: str, activity_uuid: str, section_key: int, progress: int) -> dict[str, Any]:
    return {
        "NotificationContainer": {
            "type": "activity",
            "size": 1,
            "ActivityNotification": [
                {
                    "event": event,
                    "uuid": activity_uuid,
                    "Activity": {
                        "uuid": activity_uuid,
                        "type": "library.update.section",
                        "cancellable": False,
                        "userID": 1,
                        "title": "Scanning",
                        "subtitle": "",
                        "progress": progress,
                        "Context": {"librarySectionID": str(section_key)},
                    },
                }
            ],
        }
    }


class NotificationHub:
    """Fan-out of messages to every subscriber queue on the server loop."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queues: set[asyncio.Queue[dict[str, Any]]] = set()
        self._lock = threading.Lock()
        self.sent: list[dict[str, Any]] = []  # every message published, for tests

    def bind(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self._loop = loop

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        with self._lock:
            self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with self._lock:
            self._queues.discard(queue)

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._queues)

    def publish(self, message: dict[str, Any]) -> None:
        """Send one message to every subscriber; safe from any thread."""
        self.sent.append(message)
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed between the check and the call
            loop.call_soon_threadsafe(self._fanout, message)

    def _fanout(self, message: dict[str, Any]) -> None:
        with self._lock:
            queues = list(self._queues)
        for queue in queues:
            queue.put_nowait(message)
