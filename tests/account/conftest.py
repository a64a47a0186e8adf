"""Fixtures for the account tests: the plex.tv stand-in, a client for it, a whole household."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from retrovue.account import PlexTv, client_identifier
from retrovue.sim import Simulator
from retrovue.sim.plextv import PlexTvSim, build_household


@pytest.fixture
def plextv(monkeypatch: pytest.MonkeyPatch) -> Iterator[PlexTvSim]:
    """A plex.tv stand-in with no servers, approving nothing on its own; RETROVUE_PLEX_TV_URL points at it."""
    with PlexTvSim() as tv:
        monkeypatch.setenv("RETROVUE_PLEX_TV_URL", tv.url)
        yield tv


@pytest.fixture
def tv_client(plextv: PlexTvSim) -> Iterator[PlexTv]:
    with PlexTv(client_identifier(), base_url=plextv.url) as client:
        yield client


@dataclass
class Household:
    tv: PlexTvSim
    home: Simulator  # "Living Room", owned, local
    grandpa: Simulator  # "Grandpa's Plex", shared, remote only
    cabin: Simulator  # "Cabin", owned, local dead, remote and relay


@pytest.fixture
def household(plextv: PlexTvSim) -> Iterator[Household]:
    with Simulator(seed=7, shows=3, movies=4, seasons_per_show=1, episodes_per_season=3) as home:
        grandpa, cabin = build_household(plextv, home)
        try:
            yield Household(plextv, home, grandpa, cabin)
        finally:
            grandpa.stop()
            cabin.stop()
