"""The catalog keeps its own planner statistics: a first sync leaves them, a quiet run costs nothing,
growth past a tenth of what they describe brings them up to date (on every backend, with the
database's own autovacuum left out of it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from retrovue import servers
from retrovue.ingest import sync
from retrovue.sim import Simulator
from retrovue.store import maintenance
from retrovue.store.db import open_catalog
from tests.conftest import StatementCounter


@pytest.fixture
def fresh_catalog(fresh_db_url: str) -> Iterator[Engine]:
    """A brand-new database: no statistics left behind by an earlier test."""
    engine = open_catalog(fresh_db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _disable_autovacuum(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in maintenance.ITEM_TABLES:
                conn.execute(sa.text(f"ALTER TABLE {table} SET (autovacuum_enabled = false)"))


def test_first_sync_leaves_statistics(fresh_catalog: Engine, plex_sim: Simulator) -> None:
    _disable_autovacuum(fresh_catalog)  # what the app cannot count on is not what makes this pass
    servers.add_server(fresh_catalog, "home", plex_sim.url, plex_sim.token)
    summaries = sync(fresh_catalog)
    assert [s.status for s in summaries] == ["ok", "ok"]
    with fresh_catalog.connect() as conn:
        assert maintenance.stale_tables(conn, maintenance.ITEM_TABLES) == []
        items = conn.execute(sa.select(sa.func.count()).select_from(sa.table("media_items"))).scalar_one()
        if conn.dialect.name == "postgresql":
            reltuples, analyzed = conn.execute(
                sa.text(
                    "SELECT c.reltuples, s.last_analyze FROM pg_class c "
                    "JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.relname = 'media_items'"
                )
            ).one()
            assert 0 < reltuples <= items  # the first library's writes were analyzed
            assert analyzed is not None
        elif conn.dialect.name == "sqlite":
            stat = conn.execute(sa.text("SELECT stat FROM sqlite_stat1 WHERE tbl = 'media_items'")).scalars()
            assert all(0 < int(s.split()[0]) <= items for s in stat)


def test_a_quiet_run_neither_counts_nor_analyzes(catalog: Engine, plex_sim: Simulator) -> None:
    servers.add_server(catalog, "home", plex_sim.url, plex_sim.token)
    sync(catalog)
    counter = StatementCounter(catalog)
    try:
        summaries = sync(catalog)
    finally:
        counter.close()
    assert all(s.gated and s.written == 0 for s in summaries)
    assert not [s for s in counter.statements if "ANALYZE" in s.upper() or "count(*)" in s]


def test_growth_past_a_tenth_is_analyzed_again(fresh_catalog: Engine) -> None:
    now = 1_700_000_000
    with fresh_catalog.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO servers (name, base_url, token, verify_tls, check_local_files, created_at, "
                "updated_at) VALUES ('s', 'http://127.0.0.1:9', 't', true, true, :now, :now)"
            ),
            {"now": now},
        )
        conn.execute(
            sa.text(
                "INSERT INTO libraries (server_id, section_key, title, kind, enabled, retention_days, "
                "missing_threshold_pct, listings, verify_hours, pending_detail, created_at, updated_at) "
                "SELECT id, '1', 'TV', 'show', true, 30, 50, 0, 24, 0, :now, :now FROM servers"
            ),
            {"now": now},
        )

    def add(first: int, n: int) -> None:
        rows = [{"key": str(i), "now": now} for i in range(first, first + n)]
        with fresh_catalog.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO seasons (library_id, rating_key, show_rating_key, first_seen_at, "
                    "last_seen_at, state) SELECT id, :key, 'show', :now, :now, 'ACTIVE' FROM libraries"
                ),
                rows,
            )

    # MariaDB recalculates a table's statistics itself after a tenth of it changed, maybe before
    # we look: there, growth may find nothing left to do.
    server_keeps_up = fresh_catalog.dialect.name in ("mysql", "mariadb")
    grown = ([], ["seasons"]) if server_keeps_up else (["seasons"],)
    add(0, 1000)
    assert maintenance.analyze_if_grown(fresh_catalog, ("seasons",)) in grown
    assert maintenance.analyze_if_grown(fresh_catalog, ("seasons",)) == []
    add(1000, 50)  # 5 %: the statistics still describe the table well enough
    assert maintenance.analyze_if_grown(fresh_catalog, ("seasons",)) == []
    add(1050, 600)
    assert maintenance.analyze_if_grown(fresh_catalog, ("seasons",)) in grown
    maintenance.note_written(fresh_catalog, "seasons", 900)  # rewritten in place: same count
    assert maintenance.analyze_if_grown(fresh_catalog, ("seasons",)) == ["seasons"]
    assert maintenance.analyze_if_grown(fresh_catalog, ("seasons",)) == []
