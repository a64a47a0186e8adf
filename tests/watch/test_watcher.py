"""The watcher against the real simulator over a real websocket, with a SQLite catalog."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from retrovue.ingest import sync
from retrovue.sim import Simulator
from retrovue.store import locks, registry
from retrovue.watch import Connected, Disconnected, PollingFallback, SyncDeferred

from .conftest import SIM_SIZE, Harness, register, titles, wait_for

Watch = Callable[..., Harness]


def _ready(h: Harness, libraries: int = 2) -> None:
    """Connected, and the catch-up syncs of every library are done."""
    wait_for(lambda: h.of(Connected), what="the websocket to connect")
    wait_for(lambda: len(h.finished()) >= libraries and h.idle(), what="the catch-up syncs")


def test_a_mutation_reaches_the_catalog_within_seconds(engine: Engine, sim: Simulator, watch: Watch) -> None:
    register(engine, sim)
    h = watch()
    _ready(h)
    assert {s.library_title for s in h.summaries} == {"Movies", "TV Shows"}
    assert all(s.ok for s in h.summaries)
    assert all("connected" in e.causes for e in h.started())
    sim.add_movie(title="Seen Live")
    wait_for(lambda: "Seen Live" in titles(engine), timeout=5, what="the new movie in the catalog")
    newest = h.started("Movies")[-1]
    assert newest.causes == ("notification",), "\n".join(map(repr, h.events))
    assert not h.started("TV Shows")[1:], "a movie change must not sync the show library"
    show = sim.ground_truth()["sections"][0]["shows"][0]
    sim.remove(show["seasons"][0]["episodes"][0]["ratingKey"])
    wait_for(lambda: len(h.finished("TV Shows")) == 2 and h.idle(), what="the show library's sync")
    assert h.summaries[-1].library_title == "TV Shows"
    assert h.halt() < 1.0


def test_a_burst_of_events_is_one_sync(engine: Engine, sim: Simulator, watch: Watch) -> None:
    register(engine, sim)
    h = watch(debounce=0.5)
    _ready(h)
    before = len(h.started("Movies"))
    names = [f"Burst {i}" for i in range(12)]
    for name in names:
        sim.add_movie(title=name)
        time.sleep(0.02)
    wait_for(lambda: set(names) <= titles(engine), what="the burst in the catalog")
    time.sleep(1.0)  # anything still pending would have run by now
    assert len(h.started("Movies")) == before + 1
    assert len(h.started("TV Shows")) == 1
    assert h.halt() < 1.0


def test_events_during_a_sync_coalesce_and_syncs_never_overlap(
    engine: Engine, sim: Simulator, watch: Watch
) -> None:
    register(engine, sim)

    def slow_sync(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.6)
        return sync(*args, **kwargs)

    h = watch(debounce=0.1, max_parallel=2, sync_fn=slow_sync)
    _ready(h)
    base = len(h.started("Movies"))
    sim.add_movie(title="First")
    wait_for(lambda: len(h.started("Movies")) == base + 1, what="the first sync to start")
    for i in range(5):  # all during the running sync
        sim.add_movie(title=f"During {i}")
        time.sleep(0.05)
    wait_for(lambda: {"First", "During 4"} <= titles(engine), timeout=6, what="both syncs")
    wait_for(h.idle, what="quiet")
    assert len(h.started("Movies")) == base + 2  # the sync, then exactly one follow-up
    for title in ("Movies", "TV Shows"):
        spans = sorted((e.started_at, e.finished_at) for e in h.finished(title))
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert start >= end, f"two syncs of {title} overlapped"
    assert h.halt() < 1.0


def test_reconnects_after_a_server_restart(engine: Engine, watch: Watch) -> None:
    first = Simulator(seed=5, **SIM_SIZE).start()
    port = first.port
    try:
        register(engine, first)
        h = watch()
        _ready(h)
    finally:
        first.stop()
    wait_for(lambda: h.of(Disconnected), what="the drop to be noticed")
    assert "home" in h.of(Disconnected)[0].server_name
    second = Simulator(seed=5, port=port, **SIM_SIZE).start()
    try:
        wait_for(lambda: len(h.of(Connected)) >= 2, timeout=5, what="the reconnection")
        wait_for(h.idle, what="the catch-up after reconnecting")
        second.add_movie(title="After Restart")
        wait_for(lambda: "After Restart" in titles(engine), what="a change after the restart")
        assert all(second.token not in str(e) for e in h.events)
        assert h.halt() < 1.0
    finally:
        second.stop()


class _NoWebsocket:
    """Wraps the simulator's ASGI app: HTTP as usual, the websocket handshake refused (HTTP 403)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await self.app(scope, receive, send)


def test_falls_back_to_periodic_syncs_without_notifications(engine: Engine, watch: Watch) -> None:
    sim = Simulator(seed=5, **SIM_SIZE)
    sim.app = _NoWebsocket(sim.app)  # type: ignore[assignment]
    with sim:
        register(engine, sim)
        h = watch(fallback_interval=1.0)
        wait_for(lambda: h.of(PollingFallback), what="the fallback")
        down = h.of(Disconnected)[0]
        assert down.unavailable
        assert "403" in down.reason
        wait_for(lambda: len(h.finished()) >= 2, what="the first poll")
        assert all(e.causes == ("poll",) for e in h.started())
        sim.add_movie(title="Polled In")
        wait_for(lambda: "Polled In" in titles(engine), timeout=4, what="the next poll")
        assert not h.of(Connected)
        assert h.halt() < 1.0


def test_a_library_held_by_another_sync_is_retried(engine: Engine, sim: Simulator, watch: Watch) -> None:
    register(engine, sim)
    with engine.connect() as conn:
        movies = registry.get_library(conn, "Movies")
    owner = locks.acquire_lock(engine, movies.id, what="Movies")
    h = watch()
    wait_for(lambda: h.of(SyncDeferred), what="the deferral")
    assert h.of(SyncDeferred)[0].library_title == "Movies"
    locks.release_lock(engine, movies.id, owner)
    wait_for(lambda: h.finished("Movies"), what="the retried sync")
    assert h.finished("Movies")[0].summary is not None
    assert h.finished("Movies")[0].summary.ok  # type: ignore[union-attr]
    assert h.halt() < 1.0


def test_stops_within_a_second_while_reconnecting(engine: Engine, watch: Watch) -> None:
    sim = Simulator(seed=5, **SIM_SIZE).start()
    register(engine, sim)
    sim.stop()  # nothing listens on the port any more
    h = watch(reconnect_initial=5.0, reconnect_max=30.0, fallback_interval=60.0)
    wait_for(lambda: h.of(Disconnected), what="the refused connection")
    assert h.of(Disconnected)[0].reason == "connection refused"
    assert h.halt() < 1.0
    # the fallback poll's sync, still in the client's retries against the dead port, ends on its own
    wait_for(
        lambda: not any(t.name.startswith("retrovue-watch-sync") for t in threading.enumerate()),
        timeout=15,
        what="the abandoned sync to end",
    )
