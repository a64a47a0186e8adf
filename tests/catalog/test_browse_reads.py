"""The read API's calls behind the window's browser: counts by show and season, and sync runs."""

from __future__ import annotations

import sqlalchemy as sa

from retrovue.catalog import Catalog, ItemQuery
from retrovue.store import runs
from retrovue.store import schema as t
from tests.catalog.test_catalog import NOW, Lib, lib  # noqa: F401 (the fixture)


def test_counts_by_show_and_season_in_one_query(lib: Lib) -> None:  # noqa: F811
    lib.episodes("Alpha", "a", (1, 1, "A1"), (1, 2, "A2"), (2, 1, "A3"))
    lib.episodes("Beta", "b", (1, 1, "B1"), state="MISSING")
    cat = Catalog(lib.engine)
    by_show = cat.counts_by(ItemQuery(library_id=lib.tv), by="show")
    assert set(by_show) == {"a", "b"}
    assert sum(by_show["a"].values()) == 3
    assert by_show["b"]["MISSING"] == 1
    alpha = next(s for s in cat.shows(library_id=lib.tv).rows if s.title == "Alpha")
    by_season = cat.counts_by(ItemQuery(show_id=alpha.id), by="season")
    assert {k: sum(v.values()) for k, v in by_season.items()} == {"a-1": 2, "a-2": 1}
    assert {season.rating_key for season in cat.seasons(alpha.id)} == set(by_season)


def test_runs_newest_first_and_each_librarys_last(lib: Lib) -> None:  # noqa: F811
    with lib.engine.begin() as conn:
        first = runs.start_run(conn, lib.tv, mode="incremental", now=NOW)
        runs.finish_run(conn, first, status="ok", counts=runs.RunCounts(changed=3), now=NOW + 5)
        second = runs.start_run(conn, lib.tv, mode="deep", now=NOW + 10)
        runs.finish_run(
            conn, second, status="cancelled", counts=runs.RunCounts(), now=NOW + 12, error_text="cancelled"
        )
        runs.start_run(conn, lib.movies, mode="incremental", now=NOW + 20)
        assert conn.execute(sa.select(sa.func.count()).select_from(t.sync_runs)).scalar() == 3
    cat = Catalog(lib.engine)
    assert [r.id for r in cat.runs(library_id=lib.tv)] == [second, first]
    last = cat.last_runs()
    assert last[lib.tv].status == "cancelled"
    assert last[lib.tv].error_text == "cancelled"
    assert last[lib.movies].status == "running"
    assert cat.runs(limit=1)[0].library_id == lib.movies
