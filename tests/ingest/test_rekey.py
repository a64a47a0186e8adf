"""Stable identity across rating-key changes: the catalog row survives a Plex re-match or rebuild."""

from __future__ import annotations

import sqlalchemy as sa

from retrovue.ingest import sync
from retrovue.ingest.rekey import Candidate, match_rekeys
from retrovue.store import schema as t
from tests.ingest.conftest import Home
from tests.ingest.truth import assert_matches_truth, library_ids, states


def _c(
    item_id: int, key: str, guid: str | None = None, file: str | None = None, size: int | None = None
) -> Candidate:
    return Candidate(item_id, key, "movie", guid, file, size)


def test_match_by_guid_then_by_file_and_size() -> None:
    vanished = [
        _c(1, "10", "plex://movie/a"),
        _c(2, "11", "local://11", "/m/b.mkv", 5),
        _c(3, "12", None, "/m/c.mkv", 7),
    ]
    appeared = [
        _c(4, "20", "plex://movie/a"),
        _c(5, "21", "local://21", "/m/b.mkv", 5),
        _c(6, "22", None, "/m/c.mkv", 8),
    ]
    plan = match_rekeys(vanished, appeared)
    assert [(o.item_id, n.item_id) for o, n in plan.pairs] == [(1, 4), (2, 5)]  # size differs for c
    assert plan.ambiguous == ()


def test_ambiguous_candidates_are_reported_not_merged() -> None:
    vanished = [_c(1, "10", "plex://movie/a"), _c(2, "11", "plex://movie/a")]
    appeared = [_c(3, "20", "plex://movie/a")]
    plan = match_rekeys(vanished, appeared)
    assert plan.pairs == ()
    assert plan.ambiguous == ("guid plex://movie/a: gone 10,11 / new 20",)


def test_kinds_never_match_each_other() -> None:
    plan = match_rekeys(
        [Candidate(1, "10", "episode", "imdb://tt1", None, None)],
        [Candidate(2, "20", "movie", "imdb://tt1", None, None)],
    )
    assert plan.pairs == ()


def _row(home: Home, rating_key: str) -> sa.RowMapping:
    with home.engine.connect() as conn:
        return (
            conn.execute(sa.select(t.media_items).where(t.media_items.c.rating_key == rating_key))
            .one()
            ._mapping
        )


def test_rematched_movie_keeps_its_row_and_history(home: Home) -> None:
    sync(home.engine, clock=lambda: 1_800_000_000)
    movie = next(m for m in home.sim.ground_truth()["sections"][1]["movies"] if m["parts"])
    before = _row(home, movie["ratingKey"])
    new_key = home.sim.rematch(movie["ratingKey"])  # same file, new rating key and new guid
    (movies, _tv) = sync(home.engine, clock=lambda: 1_800_000_100)
    assert (movies.status, movies.rekeyed, movies.changed, movies.missing_promoted) == ("ok", 1, 0, 0)
    after = _row(home, new_key)
    assert after["id"] == before["id"]
    assert after["first_seen_at"] == before["first_seen_at"]
    assert after["missing_since"] is None
    with home.engine.connect() as conn:
        assert (
            conn.execute(
                sa.select(sa.func.count())
                .select_from(t.media_items)
                .where(t.media_items.c.rating_key == movie["ratingKey"])
            ).scalar()
            == 0
        )
        events = conn.execute(
            sa.select(t.item_events.c.event, t.item_events.c.old_value, t.item_events.c.new_value).where(
                t.item_events.c.item_id == before["id"], t.item_events.c.event == "rekey"
            )
        ).all()
        parts = conn.execute(
            sa.select(sa.func.count())
            .select_from(t.media_parts)
            .where(t.media_parts.c.item_id == before["id"])
        ).scalar()
    assert events == [("rekey", movie["ratingKey"], new_key)]
    assert parts == len(movie["parts"])
    assert_matches_truth(home.engine, home.sim)


def test_whole_library_rebuild_leaves_nothing_missing(home: Home) -> None:
    sync(home.engine)
    lib = library_ids(home.engine, "home")["1"]
    with home.engine.connect() as conn:
        ids_before = set(
            conn.execute(sa.select(t.media_items.c.id).where(t.media_items.c.library_id == lib)).scalars()
        )
    truth = home.sim.ground_truth()["sections"][0]
    episodes = [e for s in truth["shows"] for se in s["seasons"] for e in se["episodes"]]
    for n, episode in enumerate(episodes):
        home.sim.rematch(
            episode["ratingKey"], new_guid=n % 2 == 0
        )  # half keep their guid, half only the file
    (_movies, tv) = sync(home.engine)
    assert tv.status == "ok"
    with_files = [e for e in episodes if e["parts"]]
    assert tv.rekeyed >= len(with_files)
    assert tv.missing_promoted == 0
    assert "MISSING" not in set(states(home.engine, lib).values())
    with home.engine.connect() as conn:
        ids_after = set(
            conn.execute(sa.select(t.media_items.c.id).where(t.media_items.c.library_id == lib)).scalars()
        )
    assert ids_after == ids_before
    assert_matches_truth(home.engine, home.sim)


def test_ambiguous_guid_is_reported_and_files_decide(home: Home) -> None:
    sync(home.engine)
    movies = [m for m in home.sim.ground_truth()["sections"][1]["movies"] if len(m["parts"]) == 1]
    a, b = movies[0], movies[1]
    with home.sim.state.lock:  # two movies wrongly matched to the same Plex guid
        home.sim.catalog.item(b["ratingKey"]).guid = a["guid"]
    sync(home.engine, use_gate=False)
    new_a = home.sim.rematch(a["ratingKey"], new_guid=False)
    new_b = home.sim.rematch(b["ratingKey"], new_guid=False)
    (summary, _tv) = sync(home.engine)
    assert summary.status == "ok"
    gone = ",".join(sorted([a["ratingKey"], b["ratingKey"]]))
    assert summary.ambiguous == (f"guid {a['guid']}: gone {gone} / new {new_a},{new_b}",)
    assert summary.rekeyed == 2  # the guid could not tell them apart; their files could
    assert summary.missing_promoted == 0
