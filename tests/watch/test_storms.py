"""A hostile notification socket cannot make the watcher storm: reconnects back off until a connection
has proven itself, catch-up syncs are spaced out, and a message that cannot be read is dropped with
one notice instead of costing the connection.

The simulator's websocket is replaced by a hostile one (an ASGI wrapper: HTTP is served as usual),
and what the watcher did in a few seconds is counted: connections opened, syncs started, notices.
The counts allow a wide margin; the storms they rule out are an order of magnitude larger (on
today's main: a connection every reconnect_initial and a catch-up sync per connection).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine

from retrovue.sim import Simulator
from retrovue.watch import Connected, Disconnected, MessagesDropped, changed_sections, describe
from retrovue.watch.notifications import NotificationError

from .conftest import SIM_SIZE, Harness, register, wait_for

Watch = Callable[..., Harness]
LIBRARY = "com.plexapp.plugins.library"
BAD_STATE = {
    "NotificationContainer": {
        "type": "timeline",
        "TimelineEntry": [{"identifier": LIBRARY, "sectionID": "1", "state": "²"}],
    }
}


class HostileSocket:
    """Wraps the simulator's ASGI app: every websocket is accepted, then `behave(send)` runs."""

    def __init__(self, app: Any, messages: list[str | bytes], *, close_after: bool) -> None:
        self.app = app
        self.messages = messages
        self.close_after = close_after
        self.connections = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        self.connections += 1
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        for message in self.messages:
            kind = "bytes" if isinstance(message, bytes) else "text"
            await send({"type": "websocket.send", kind: message})
        if self.close_after:
            await send({"type": "websocket.close", "code": 1000})
            return
        while (await receive())["type"] != "websocket.disconnect":
            await asyncio.sleep(0)


def _hostile(
    engine: Engine, messages: list[str | bytes], *, close_after: bool
) -> tuple[Simulator, HostileSocket]:
    sim = Simulator(seed=5, **SIM_SIZE)
    hostile = HostileSocket(sim.app, messages, close_after=close_after)
    sim.app = hostile  # type: ignore[assignment]
    sim.start()
    register(engine, sim)
    return sim, hostile


def _syncs_per_library(h: Harness) -> dict[str, int]:
    counts: dict[str, int] = {}
    for event in h.started():
        counts[event.library_title] = counts.get(event.library_title, 0) + 1
    return counts


WINDOW = 3.0
SETTINGS: dict[str, Any] = {
    "reconnect_initial": 0.05,
    "reconnect_max": 1.0,
    "debounce": 0.1,
    "catchup_interval": 60.0,  # the default (the harness shortens it for the other tests)
    "proven_after": 30.0,  # the default
}


@pytest.mark.parametrize(
    "messages",
    [[], [" " * (16 * 1024 * 1024 + 1)]],
    ids=["accept-and-close", "message-over-16-MiB"],
)
def test_a_socket_that_keeps_dropping_does_not_storm(
    engine: Engine, watch: Watch, messages: list[str]
) -> None:
    sim, hostile = _hostile(engine, messages, close_after=not messages)
    try:
        h = watch(**SETTINGS)
        time.sleep(WINDOW)
        h.halt()
    finally:
        sim.stop()
    # held backoff: 0.05, 0.1, 0.2, 0.4, 0.8, 1, 1 … (each drawn from [d/2, d]) is at most 9 in 3 s;
    # a backoff reset by every successful open reconnects every 0.025–0.05 s: 60 or more
    assert 2 <= hostile.connections <= 10, hostile.connections
    syncs = _syncs_per_library(h)
    assert syncs, "no catch-up sync at all"
    assert max(syncs.values()) <= 2, syncs  # one catch-up; not one per reconnect
    downs = h.of(Disconnected)
    if messages:
        assert "16 MiB" in downs[0].reason, downs[0].reason
    assert all(sim.token not in str(e) for e in h.events)


@pytest.mark.parametrize(
    ("bad", "unreadable"),
    [
        ("[" * 200_000 + "]" * 200_000, True),  # a RecursionError in json
        (b"\xff\xfe not UTF-8", True),
        ("{not json", True),
        (json.dumps(BAD_STATE), False),  # "²".isdigit() is True, int("²") raises: read as no change
    ],
    ids=["deeply-nested", "lone-surrogate", "malformed", "superscript-state"],
)
def test_an_unreadable_message_is_dropped_with_one_notice(
    engine: Engine, watch: Watch, bad: str | bytes, unreadable: bool
) -> None:
    sim, hostile = _hostile(engine, [bad, bad, bad], close_after=False)
    try:
        h = watch(**SETTINGS)
        wait_for(lambda: h.of(Connected), what="the connection")
        if unreadable:
            wait_for(lambda: h.of(MessagesDropped), what="the notice of a dropped message")
        time.sleep(1.0)
        h.halt()
    finally:
        sim.stop()
    assert hostile.connections == 1  # the connection survived the messages
    assert len(h.of(Connected)) == 1
    assert not h.of(Disconnected)
    notices = h.of(MessagesDropped)
    assert len(notices) == int(unreadable)  # three bad messages, one notice
    for notice in notices:
        line = describe(notice)
        assert line is not None
        assert "could not be read" in line
        assert "\n" not in line


def test_dropped_message_notices_are_rate_limited_and_counted() -> None:
    from retrovue.watch.listener import DropCounter

    now = [100.0]
    counter = DropCounter(every=60.0, clock=lambda: now[0])
    assert counter.dropped("bad JSON") == (1, "bad JSON")  # the first is told at once
    assert counter.dropped("bad JSON") is None
    now[0] += 30
    assert counter.dropped("too deep") is None
    now[0] += 31
    assert counter.dropped("bad JSON") == (3, "bad JSON")  # then at most one a minute, counted


@pytest.mark.parametrize(
    "message",
    ["[" * 200_000 + "]" * 200_000, json.dumps(BAD_STATE).encode()[:-3], b"\xff\xfe", "\udcff"],
)
def test_changed_sections_raises_one_error_kind_for_anything_unreadable(message: str | bytes) -> None:
    with pytest.raises(NotificationError):
        changed_sections(message)


def test_a_superscript_state_is_read_as_no_change() -> None:
    assert changed_sections(json.dumps(BAD_STATE)) == set()
    assert changed_sections(BAD_STATE) == set()
