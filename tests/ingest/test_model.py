"""Model-based test: random server mutations and syncs; the catalog must track the ground truth.

After every sync that completes (`ok`) its library equals what the simulator holds; after any sync,
whatever its outcome (faults, offline sections, partial listings), nothing that still exists is
MISSING or DELETED.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from retrovue import servers
from retrovue.ingest import sync
from retrovue.sim import Simulator
from retrovue.store import schema
from retrovue.store.db import open_catalog
from tests.ingest.truth import assert_matches_truth, assert_nothing_falsely_missing

EXAMPLES = {"sqlite": 12, "postgresql": 4, "mariadb": 4}


def make_machine(db_url: str) -> type[RuleBasedStateMachine]:
    class SyncMachine(RuleBasedStateMachine):
        @initialize(seed=st.integers(0, 10_000))
        def start(self, seed: int) -> None:
            self.sim = Simulator(
                seed=seed, shows=3, movies=4, seasons_per_show=2, episodes_per_season=2
            ).start()
            self.engine = open_catalog(db_url)
            with self.engine.begin() as conn:
                for table in reversed(schema.metadata.sorted_tables):
                    conn.execute(table.delete())
            servers.add_server(self.engine, "home", self.sim.url, self.sim.token)
            self.offline: set[str] = set()

        @rule(n=st.integers(1, 4), seed=st.integers(0, 2**16))
        def mutate(self, n: int, seed: int) -> None:
            self.sim.random_mutations(n, seed)

        @rule(key=st.sampled_from(["1", "2"]))
        def toggle_offline(self, key: str) -> None:
            offline = key not in self.offline
            self.sim.set_section_offline(key, offline=offline)
            (self.offline.add if offline else self.offline.discard)(key)

        @rule(page_size=st.integers(1, 12), deep=st.booleans())
        def sync_all(self, page_size: int, deep: bool) -> None:
            summaries = sync(self.engine, page_size=page_size, deep=deep)
            ok = {
                key
                for s in summaries
                if s.status == "ok"
                for key in [self._section_key(s.library_id)]
                if key not in self.offline
            }
            assert_matches_truth(self.engine, self.sim, sections=ok, check_files=deep)

        @rule(
            spec=st.sampled_from(["status=503:0.3", "reset:0.2", "truncate:0.2", "malformed:0.2"]),
            page_size=st.integers(1, 12),
        )
        def faulty_sync(self, spec: str, page_size: int) -> None:
            self.sim.set_faults(spec)
            try:
                sync(self.engine, page_size=page_size, client_options={"max_retries": 1, "backoff": 0})
            finally:
                self.sim.clear_faults()

        @invariant()
        def never_falsely_missing(self) -> None:
            if hasattr(self, "engine"):
                assert_nothing_falsely_missing(self.engine, self.sim)

        def _section_key(self, library_id: int) -> str:
            from retrovue.store import registry

            with self.engine.connect() as conn:
                return registry.get_library_by_id(conn, library_id).section_key

        def teardown(self) -> None:
            if hasattr(self, "sim"):
                self.sim.stop()
            if hasattr(self, "engine"):
                self.engine.dispose()

    return SyncMachine


def test_sync_tracks_ground_truth(db_backend: str, db_url: str) -> None:
    machine = make_machine(db_url)
    machine.TestCase.settings = settings(
        max_examples=EXAMPLES[db_backend],
        stateful_step_count=8,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    machine.TestCase().runTest()
