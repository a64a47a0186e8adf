"""A misbehaving Plex server: every sync ends ok and correct, or partial/failed with a clear message,
and never marks an existing item MISSING.

Each scenario syncs a clean catalog, then for a few rounds mutates the server, injects faults and
syncs again. A run that says `ok` must match the ground truth exactly; any other run must give a
one-line reason, and in every case nothing that exists may be MISSING. Finally faults are cleared and
the next sync must converge. The figures (faults injected, runs, items lost) are collected in
`FIGURES` and printed at the end of the module (`pytest -s`); docs/reliability.md quotes them.
"""

from __future__ import annotations

import random
import socket
from collections import Counter
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from retrovue import servers
from retrovue.ingest import SyncSummary, sync
from retrovue.sim import Simulator
from retrovue.store import schema as t
from retrovue.store.db import open_catalog
from tests.ingest.truth import assert_matches_truth, assert_no_file_check_owed, assert_nothing_falsely_missing
from tests.reliability.fault_storm import ENGINE_FAULTS, run_storm
from tests.reliability.integrity import assert_integrity

FAST: dict[str, object] = {"backoff": 0.005, "max_retries": 3, "timeout": 3.0, "connect_timeout": 1.0}
PAGE = 4
FIGURES: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    print(f"\nserver-fault figures: {dict(FIGURES)}")


@pytest.fixture
def lite(tmp_path: object) -> Iterator[Engine]:
    """Fault scenarios are about the HTTP side: one SQLite catalog is enough (the crash and
    concurrency tests cover the other databases)."""
    engine = open_catalog(f"sqlite:///{tmp_path}/faults.sqlite")
    yield engine
    engine.dispose()


def check_outcome(engine: Engine, sim: Simulator, summaries: list[SyncSummary]) -> None:
    """The contract of a run under faults."""
    FIGURES["runs"] += len(summaries)
    assert_integrity(engine)
    try:
        assert_nothing_falsely_missing(engine, sim)
    except AssertionError:
        FIGURES["runs_with_items_lost"] += 1
        raise
    for s in summaries:
        FIGURES[f"status_{s.status}"] += 1
        assert s.status in ("ok", "partial", "failed"), s
        if s.status != "ok":
            assert s.reason, s
            assert "\n" not in s.reason, s.reason
            assert sim.token not in s.reason
            assert "nothing was marked" in s.reason or "Nothing was marked" in s.reason, s.reason
            assert s.missing_promoted == 0
    if all(s.status == "ok" for s in summaries):
        assert_matches_truth(engine, sim)
    FIGURES["runs_survived"] += len(summaries)


SPECS = [
    "status=503:0.3",
    "status=500:0.15,status=502:0.15",
    "reset:0.2",
    "truncate:0.2",
    "malformed:0.2",
    "slow=150ms:0.2",
    "status=503:0.6@/library/metadata/*",
    "status=503:0.1,reset:0.05,truncate:0.05,malformed:0.05,latency=3ms:0.3",
    "status=429:0.2,status=404:0.05",
]


@pytest.mark.parametrize("spec", SPECS)
def test_faulty_server_never_loses_an_item(lite: Engine, spec: str) -> None:
    rng = random.Random(spec)
    with Simulator(seed=5, shows=3, movies=8, seasons_per_show=2, episodes_per_season=3) as sim:
        servers.add_server(lite, "home", sim.url, sim.token)
        sim.set_faults(spec)
        check_outcome(lite, sim, sync(lite, page_size=PAGE, client_options=FAST))  # first sync under faults
        for _round in range(3):
            sim.clear_faults()
            sim.random_mutations(rng.randint(1, 4), rng)
            sim.set_faults(spec)
            check_outcome(lite, sim, sync(lite, page_size=PAGE, client_options=FAST, use_gate=False))
        FIGURES["faults_injected"] += sim.faults_injected  # what the simulator really delivered
        sim.clear_faults()
        # Recovery the way users run it: a plain sync, change gate on.
        summaries = sync(lite, page_size=PAGE, client_options=FAST)
        assert [s.status for s in summaries] == ["ok", "ok"], [s.reason for s in summaries]
        assert_matches_truth(lite, sim)
        assert_no_file_check_owed(lite)


def test_token_revoked_mid_run_fails_clearly_and_recovers(lite: Engine) -> None:
    with Simulator(seed=5, shows=3, movies=8, seasons_per_show=2, episodes_per_season=3) as sim:
        servers.add_server(lite, "home", sim.url, sim.token)
        assert all(s.status == "ok" for s in sync(lite, page_size=PAGE))
        sim.random_mutations(3, 1)
        sim.set_faults("revoke-after=6")
        summaries = sync(lite, page_size=PAGE, client_options=FAST, use_gate=False)
        FIGURES["faults_injected"] += sim.faults_injected
        assert sim.injected.get("revoked")
        check_outcome(lite, sim, summaries)
        failed = [s for s in summaries if s.status == "failed"]
        assert failed
        assert all("token" in (s.reason or "").lower() or "401" in (s.reason or "") for s in failed)
        sim.clear_faults()
        sim.restore_token()
        summaries = sync(lite, page_size=PAGE)
        assert [s.status for s in summaries] == ["ok", "ok"]
        assert_matches_truth(lite, sim)
        assert_no_file_check_owed(lite)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("gone_after_requests", [2, 4, 7])
def test_server_gone_mid_listing(lite: Engine, gone_after_requests: int) -> None:
    """The server goes away after N requests of a run (every later connection is reset), wherever
    that falls: sections, a listing page read ahead, a detail batch."""
    sim = Simulator(seed=5, shows=3, movies=8, seasons_per_show=2, episodes_per_season=3, port=_free_port())
    sim.start()
    try:
        servers.add_server(lite, "home", sim.url, sim.token)
        assert all(s.status == "ok" for s in sync(lite, page_size=PAGE))
        sim.random_mutations(3, 2)
        sim.set_faults(f"down-after={gone_after_requests}")
        summaries = sync(lite, page_size=PAGE, client_options=FAST, use_gate=False)
        FIGURES["faults_injected"] += sim.faults_injected
        assert sim.injected.get("down")
        check_outcome(lite, sim, summaries)
        assert any(s.status == "failed" for s in summaries)
        assert any("nothing was marked missing" in (s.reason or "") for s in summaries)
        sim.clear_faults()  # back
        summaries = sync(lite, page_size=PAGE)
        assert [s.status for s in summaries] == ["ok", "ok"], [s.reason for s in summaries]
        assert_matches_truth(lite, sim)
        assert_no_file_check_owed(lite)
    finally:
        sim.stop()


def test_section_taken_offline_marks_nothing_missing(home: Engine, small_sim: Simulator) -> None:
    """On every backend: an unmounted drive behind Plex empties a section's listing."""
    assert all(s.status == "ok" for s in sync(home, page_size=PAGE))
    for key in ("1", "2"):
        small_sim.set_section_offline(key)
    summaries = sync(home, page_size=PAGE)
    FIGURES["faults_injected"] += small_sim.faults_injected
    assert set(small_sim.injected) == {"offline"}  # each listing page of an offline section
    check_outcome(home, small_sim, summaries)
    assert [s.status for s in summaries] == ["partial", "partial"]
    assert all("threshold" in (s.reason or "") for s in summaries)
    with home.connect() as conn:
        gone = conn.execute(
            sa.select(sa.func.count()).where(t.media_items.c.state.in_(("MISSING", "DELETED")))
        ).scalar_one()
    assert gone == 0
    for key in ("1", "2"):
        small_sim.set_section_offline(key, offline=False)
    summaries = sync(home, page_size=PAGE)
    assert [s.status for s in summaries] == ["ok", "ok"]
    assert_matches_truth(home, small_sim)
    assert_no_file_check_owed(home)


def test_server_answering_only_errors_fails_every_library_with_one_line(lite: Engine) -> None:
    with Simulator(seed=5, shows=2, movies=3) as sim:
        servers.add_server(lite, "home", sim.url, sim.token)
        sync(lite)
        sim.set_faults("status=503")
        before = sim.request_count
        summaries = sync(lite, client_options=FAST, use_gate=False)
        FIGURES["faults_injected"] += sim.faults_injected
        assert sim.injected == {"status=503": sim.request_count - before}  # every request since
        check_outcome(lite, sim, summaries)
        assert [s.status for s in summaries] == ["failed", "failed"]
        assert all("503" in (s.reason or "") for s in summaries)


# --- the fault storm (tests/reliability/fault_storm.py) ------------------------------------------

STORM = {"sqlite": (14, 6), "postgresql": (15, 1), "mariadb": (16, 1)}  # seed, episodes of 20 rounds
SERVED = {  # the kinds of fault the simulator delivered, as it names them
    "http": ("status=503", "status=500", "status=502", "status=429", "reset", "truncate", "malformed",
             "slow", "down", "revoked"),
    "lies": ("listing:total", "listing:nototal", "listing:cap", "listing:shift", "listing:dup",
             "listing:empty", "offline"),
}  # fmt: skip


def test_fault_storm_marks_nothing_that_exists_missing(catalog: Engine, db_backend: str) -> None:
    """Over a thousand faults on SQLite, a slice on PostgreSQL and MariaDB: HTTP faults, lying
    listings, another server at the stored address, every kind of lock takeover and a skewed clock,
    each run checked (`fault_storm.Storm.check`), recovery syncs with the gate on. A failure names
    its seed, episode and round; the counts are what the simulator and the harness saw happen."""
    seed, episodes = STORM[db_backend]
    figures = run_storm(catalog, seed=seed, episodes=episodes, rounds=20)
    print(f"\nfault storm ({db_backend}, seed {seed}): {figures.as_dict()}")
    FIGURES[f"storm_{db_backend}_faults"] += figures.faults
    FIGURES[f"storm_{db_backend}_runs"] += figures.runs + figures.recoveries
    assert figures.falsely_missing == 0
    assert figures.deleted_early == 0
    assert figures.rounds == 20 * episodes
    assert figures.recoveries >= 2 * 4 * episodes  # every 5th round, both libraries
    assert {"ok", "partial", "failed"} <= set(figures.statuses)
    if db_backend == "sqlite":
        assert figures.faults >= 1000
        seen = set(figures.injected)
        assert not set(ENGINE_FAULTS) - seen, set(ENGINE_FAULTS) - seen
        for group in SERVED.values():
            assert not set(group) - seen, set(group) - seen
    else:
        assert figures.faults >= 80
