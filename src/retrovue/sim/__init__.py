"""`retrovue.sim`: a Plex Media Server simulator that speaks the library API over real HTTP.

It powers the demo, every integration test and the benchmarks. It shares no code with
`retrovue.plex` (our client): if both were built from one model they would agree with each other
even where both disagree with Plex. See docs/simulator.md.

    from retrovue.sim import Simulator
    with Simulator(seed=1, shows=3, movies=5) as sim:
        ...  # sim.url, sim.token, sim.requests, sim.add_episode(...), sim.ground_truth()
"""

from __future__ import annotations

from retrovue.sim.catalog import Catalog
from retrovue.sim.faults import Decision, FaultRule, FaultSpec
from retrovue.sim.model import CatalogConfig, Change
from retrovue.sim.simulator import DEFAULT_TOKEN, Simulator

__all__ = [
    "DEFAULT_TOKEN",
    "Catalog",
    "CatalogConfig",
    "Change",
    "Decision",
    "FaultRule",
    "FaultSpec",
    "Simulator",
]
