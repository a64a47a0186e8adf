"""Fixtures of the reliability suite: a small simulator and a catalog with it registered as 'home'."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from retrovue import servers
from retrovue.sim import Simulator


@pytest.fixture
def small_sim() -> Iterator[Simulator]:
    with Simulator(seed=3, shows=3, movies=8, seasons_per_show=2, episodes_per_season=3) as sim:
        yield sim


@pytest.fixture
def home(catalog: Engine, small_sim: Simulator) -> Engine:
    servers.add_server(catalog, "home", small_sim.url, small_sim.token)
    small_sim.reset_requests()
    return catalog
