"""SIGKILL a sync at random moments of first and incremental runs; the catalog must stay sound.

See crash_harness.py for the procedure; this runs enough trials for CI (40 on SQLite, 4 on each
server database, and two kills of the real `retrovue` console script) and fails on any violation.
Some killed runs are lied to by their listings or meet a second sync while they hold the lock; some
recoveries run on a skewed clock; every recovery (gate on) must converge and owe no file check.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from retrovue.sim import Simulator
from tests.reliability.crash_harness import make_sim, run_trials


@pytest.fixture
def crash_sim() -> Iterator[Simulator]:
    sim = make_sim()
    yield sim
    sim.stop()


def test_sigkill_at_random_points_leaves_a_sound_catalog_that_converges(
    catalog: Engine, db_url: str, db_backend: str, crash_sim: Simulator
) -> None:
    trials, cli_trials = (40, 2) if db_backend == "sqlite" else (4, 0)
    # Lies, probes and skew on SQLite only: the 4 trials of a server database are kept for kills.
    faults = db_backend == "sqlite"
    figures = run_trials(catalog, db_url, crash_sim, trials, seed=1234, cli_trials=cli_trials, faults=faults)
    print(f"crash figures ({db_backend}): {figures.as_dict()}")
    assert not figures.violations, "\n".join(figures.violations[:20])
    assert figures.falsely_missing == 0
    # The trials must really have killed syncs, at many different points, in both kinds of run.
    assert figures.killed >= trials * 0.6
    assert figures.first_sync_kills
    assert figures.incremental_kills
    assert len(figures.kill_points) >= min(10, trials // 2)
    assert figures.interrupted_runs_closed >= figures.killed * 0.6
    assert figures.locks_taken_over  # stale leases of dead holders, taken over by the recovery
    if faults:  # the seeded draws reach every kind of fault in 40 trials
        assert figures.lies_told  # listings lied to runs that were then killed
        assert figures.refused_beside_holder  # a second sync while the child held the lease
        assert figures.skewed_recoveries  # recoveries on a clock far ahead or behind
