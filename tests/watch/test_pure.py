"""The watch mode's pure pieces: what a notification means, backoff delays, debounce and coalescing."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from retrovue.sim.notify import activity_message
from retrovue.watch import Backoff, SyncSchedule, changed_sections, notifications_url
from retrovue.watch.notifications import NotificationError


def _timeline(*entries: dict[str, Any]) -> dict[str, Any]:
    return {
        "NotificationContainer": {"type": "timeline", "size": len(entries), "TimelineEntry": list(entries)}
    }


def _entry(
    section: Any = "2", state: Any = 5, identifier: str = "com.plexapp.plugins.library"
) -> dict[str, Any]:
    return {"identifier": identifier, "sectionID": section, "itemID": "45", "type": 1, "state": state}


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (_timeline(_entry("2", 5)), {"2"}),
        (_timeline(_entry("1", 0), _entry("2", 9), _entry("3", 5)), {"1", "2", "3"}),
        (_timeline(_entry(2, "5")), {"2"}),  # numbers where strings are expected
        (_timeline(_entry("2", 3)), set()),  # processing step: a 5 follows
        (_timeline(_entry("-1", 5)), set()),  # not in a library section
        (_timeline(_entry(None, 5)), set()),
        (_timeline(_entry("2", 5, identifier="com.plexapp.system")), set()),
        (activity_message("ended", "u", 4, 100), {"4"}),
        (activity_message("started", "u", 4, 0), set()),
        ({"NotificationContainer": {"type": "status", "size": 1}}, set()),
        ({"NotificationContainer": {"type": "playing", "PlaySessionStateNotification": [{}]}}, set()),
        ({"unexpected": True}, set()),
        ([], set()),
    ],
)
def test_changed_sections(message: Any, expected: set[str]) -> None:
    assert changed_sections(message) == expected
    assert changed_sections(json.dumps(message)) == expected


def test_changed_sections_refresh_items_and_garbage() -> None:
    refresh = activity_message("ended", "u", 7, 100)
    refresh["NotificationContainer"]["ActivityNotification"][0]["Activity"]["type"] = "library.refresh.items"
    assert changed_sections(refresh) == {"7"}
    other = activity_message("ended", "u", 7, 100)
    other["NotificationContainer"]["ActivityNotification"][0]["Activity"]["type"] = "media.generate.bif"
    assert changed_sections(other) == set()
    with pytest.raises(NotificationError):  # unreadable: the listener drops it with a notice
        changed_sections(b"\x00not json")
    assert changed_sections('{"NotificationContainer": {"type": "timeline", "TimelineEntry": 5}}') == set()


def test_notifications_url() -> None:
    assert (
        notifications_url("http://h:32400", "a b&c")
        == "ws://h:32400/:/websockets/notifications?X-Plex-Token=a%20b%26c"
    )
    assert notifications_url("https://nas/plex/", "t").startswith(
        "wss://nas/plex/:/websockets/notifications?"
    )


def test_backoff_is_exponential_jittered_capped_and_resets() -> None:
    b = Backoff(1.0, 10.0, rng=random.Random(3))
    delays = [b.next() for _ in range(8)]
    nominal = [1, 2, 4, 8, 10, 10, 10, 10]
    assert all(n / 2 <= d <= n for d, n in zip(delays, nominal, strict=True))
    assert len(set(delays)) == len(delays)  # jittered
    b.reset()
    assert 0.5 <= b.next() <= 1.0
    assert 5.0 <= b.next(at_cap=True) <= 10.0
    with pytest.raises(ValueError, match="backoff"):
        Backoff(0, 1)


def test_schedule_debounces_a_burst_into_one_sync() -> None:
    s = SyncSchedule(debounce=2.0, max_delay=10.0)
    for t in (0.0, 0.5, 1.0, 1.5):
        s.request(1, t, "notification")
    assert s.due(3.4) == []
    assert s.due(3.5) == [1]
    assert s.started(1) == ("notification",)
    assert s.due(100) == []


def test_schedule_caps_the_wait_of_a_steady_stream() -> None:
    s = SyncSchedule(debounce=2.0, max_delay=5.0)
    t = 0.0
    while not s.due(t):
        s.request(1, t, "notification")
        t += 0.5
    assert 5.0 <= t <= 5.5


def test_schedule_coalesces_events_during_a_run_into_one_follow_up() -> None:
    s = SyncSchedule(debounce=1.0)
    s.request(1, 0.0, "notification")
    s.started(1)
    for t in (1.0, 1.2, 1.4):
        s.request(1, t, "notification")
    assert s.due(10.0) == []  # still running: never twice at once
    assert s.next_deadline() is None
    s.finished(1)
    assert s.due(10.0) == [1]
    s.started(1)
    s.finished(1)
    assert s.idle


def test_schedule_immediate_requests_and_order() -> None:
    s = SyncSchedule(debounce=5.0)
    s.request(2, 0.0, "notification")
    s.request(1, 1.0, "connected", delay=0.0)
    assert s.due(1.0) == [1]
    assert s.next_deadline() == 1.0
    s.forget(1)
    assert s.next_deadline() == 5.0


def test_the_listener_reconnects_to_the_address_and_token_a_sync_moved_the_server_to() -> None:
    """A server added from the Plex account may change address (fallback) or token (renewed) under a
    running watch: each reconnect re-reads the server's row, so the listener follows."""
    import dataclasses
    import threading

    from retrovue.store.registry import ServerRow
    from retrovue.watch.listener import ServerListener

    first = ServerRow(1, "barn", "http://127.0.0.1:1", "tok-one-1234", "m", "1", None, True, None, True, 0, 0)
    moved = dataclasses.replace(first, base_url="http://127.0.0.1:2", token="tok-two-5678")
    rows = iter([first, moved, moved])
    stop = threading.Event()
    urls: list[str] = []

    def connect(url: str, **_options: Any) -> Any:
        urls.append(url)
        if len(urls) >= 2:
            stop.set()
        raise ConnectionRefusedError

    listener = ServerListener(
        first,
        stop,
        on_up=lambda: None,
        on_sections=lambda _keys: None,
        on_down=lambda _reason, _unavailable, _delay: None,
        backoff=Backoff(0.001, 0.001),
        connect=connect,
        reread=lambda: next(rows),
    )
    listener.run()
    assert urls == [
        notifications_url("http://127.0.0.1:1", "tok-one-1234"),
        notifications_url("http://127.0.0.1:2", "tok-two-5678"),
    ]
