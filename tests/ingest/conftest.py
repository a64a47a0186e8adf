from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from sqlalchemy.engine import Engine

from retrovue import servers
from retrovue.ingest import Event
from retrovue.sim import Simulator


@dataclass
class Home:
    """A catalog with the simulator registered as server 'home'."""

    engine: Engine
    sim: Simulator
    events: list[Event] = field(default_factory=list)

    def record(self, event: Event) -> None:
        self.events.append(event)


@pytest.fixture
def home(catalog: Engine, plex_sim: Simulator) -> Home:
    servers.add_server(catalog, "home", plex_sim.url, plex_sim.token)
    plex_sim.reset_requests()
    return Home(catalog, plex_sim)
