"""Shared fixtures for the simulator tests: running simulators and HTTP clients bound to them."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from retrovue.sim import Simulator


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    """A small read-only simulator shared by a module (tests must not mutate it)."""
    with Simulator(seed=7, shows=6, movies=12, seasons_per_show=2, episodes_per_season=3) as s:
        yield s


@pytest.fixture
def fresh_sim() -> Iterator[Simulator]:
    """A small simulator of the test's own, free to mutate."""
    with Simulator(seed=11, shows=4, movies=6, seasons_per_show=2, episodes_per_season=3) as s:
        yield s


def make_client(s: Simulator, *, json: bool = False) -> httpx.Client:
    """An httpx client for `s` that sends the token (and asks for JSON if `json`)."""
    headers = {"X-Plex-Token": s.token}
    if json:
        headers["Accept"] = "application/json"
    return httpx.Client(base_url=s.url, headers=headers, timeout=10)


@pytest.fixture
def client_for() -> Iterator[Callable[..., httpx.Client]]:
    """Factory of clients for any simulator; closes them at teardown."""
    made: list[httpx.Client] = []

    def factory(s: Simulator, *, json: bool = True) -> httpx.Client:
        c = make_client(s, json=json)
        made.append(c)
        return c

    yield factory
    for c in made:
        c.close()


@pytest.fixture
def client(sim: Simulator) -> Iterator[httpx.Client]:
    with make_client(sim, json=True) as c:
        yield c


@pytest.fixture
def xml_client(sim: Simulator) -> Iterator[httpx.Client]:
    with make_client(sim) as c:
        yield c
