"""Sync history: one row per run, and a run closed by a takeover is never rewritten."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from retrovue.store import registry, runs


def _library(engine: Engine) -> int:
    with engine.begin() as conn:
        server = registry.add_server(conn, name="home", base_url="http://x", token="t", now=1)
        registry.sync_sections(conn, server.id, [registry.SectionInfo("1", None, "TV", "show", None)], now=1)
        return registry.list_libraries(conn)[0].id


def test_runs_are_recorded(catalog: Engine) -> None:
    lib_id = _library(catalog)
    with catalog.begin() as conn:
        run_id = runs.start_run(conn, lib_id, mode="incremental", now=10)
        runs.finish_run(
            conn, run_id, status="partial", counts=runs.RunCounts(5, 1, 4), now=12, error_text="x"
        )
        (row,) = runs.list_runs(conn)
    assert (row.status, row.counts.processed, row.counts.changed, row.error_text) == ("partial", 5, 1, "x")
    assert (row.library_title, row.server_name, row.finished_at) == ("TV", "home", 12)


def test_a_closed_run_is_not_rewritten(catalog: Engine) -> None:
    """A run whose lock was taken over was recorded interrupted by the taker; when it finishes
    later it must not turn that record back into ok."""
    lib_id = _library(catalog)
    with catalog.begin() as conn:
        run_id = runs.start_run(conn, lib_id, mode="incremental", now=10)
        assert runs.finish_run(conn, run_id, status="failed", counts=runs.RunCounts(), now=11, error_text="x")
        assert not runs.finish_run(conn, run_id, status="ok", counts=runs.RunCounts(9), now=12)
        (row,) = runs.list_runs(conn)
    assert (row.status, row.counts.processed, row.error_text) == ("failed", 0, "x")
