"""Batch-shaped item access: fixed statement counts per page, history kept, soft deletes."""

from __future__ import annotations

import msgspec
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from retrovue.states import ItemState
from retrovue.store import items as dal
from retrovue.store import lifecycle, registry
from retrovue.store import schema as t
from tests.conftest import StatementCounter

DAY = 86_400


def _library(engine: Engine) -> tuple[int, int]:
    with engine.begin() as conn:
        server = registry.add_server(conn, name="home", base_url="http://127.0.0.1:1", token="tok", now=1)
        registry.sync_sections(
            conn, server.id, [registry.SectionInfo("1", "u1", "TV", "show", "tv.plex.agents.series")], now=1
        )
        lib = registry.list_libraries(conn)[0]
    return server.id, lib.id


def _episode(n: int, digest: str = "d", **kw: object) -> dal.ItemRecord:
    parts = (
        dal.PartRecord(media_index=0, part_index=0, plex_part_id=n, file=f"/tv/show/e{n}.mkv", size=1000 + n),
    )
    return dal.ItemRecord(
        rating_key=str(n),
        kind="episode",
        title=f"Episode {n}",
        digest=digest,
        show_rating_key="100",
        season_rating_key="101",
        part_count=1,
        parts=parts,
        **kw,  # type: ignore[arg-type]
    )


def test_page_upsert_is_a_fixed_number_of_statements(catalog: Engine, statements: StatementCounter) -> None:
    server_id, lib_id = _library(catalog)

    def page_writes(episodes: list[dal.ItemRecord]) -> list[str]:
        statements.reset()
        with catalog.begin() as conn:
            dal.upsert_items(conn, server_id, lib_id, episodes, now=10)
        # PostgreSQL empties its session staging tables before a COPY (store/upsert.py): not the
        # catalog's rows, one per table whatever the size.
        return [w for w in statements.writes() if "rv_stage_" not in w.split("\n", 1)[0][:40]]

    for size in (5, 200):
        new = page_writes([_episode(1000 * size + i) for i in range(size)])
        # the feed's clock, items upsert, parts insert, the feed's entries — whatever the page
        # size; new rows own no parts or tags, so nothing is deleted (no tags here: no tags insert)
        assert len(new) == 4, new
        assert not [w for w in new if w.lstrip().upper().startswith("DELETE")], new
        changed = [_episode(1000 * size + i, digest="d2") for i in range(size)]
        rewritten = page_writes(changed)
        # rewriting: the same, and a parts delete and a tags delete for the rows owned before
        assert len(rewritten) == 6, rewritten
    with catalog.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.media_items)).scalar() == 205
        assert conn.execute(sa.select(sa.func.count()).select_from(t.media_parts)).scalar() == 205


def test_change_keeps_first_seen_and_replaces_parts(catalog: Engine) -> None:
    server_id, lib_id = _library(catalog)
    with catalog.begin() as conn:
        dal.upsert_items(conn, server_id, lib_id, [_episode(1)], now=10)
    changed = msgspec.structs.replace(
        _episode(1), digest="d2", parts=(dal.PartRecord(0, 0, plex_part_id=9, file="/tv/new.mkv", size=5),)
    )
    with catalog.begin() as conn:
        dal.upsert_items(conn, server_id, lib_id, [changed], now=20)
    with catalog.connect() as conn:
        row = conn.execute(sa.select(t.media_items)).one()._mapping
        assert (row["first_seen_at"], row["last_seen_at"], row["digest"]) == (10, 20, "d2")
        parts = conn.execute(sa.select(t.media_parts.c.file, t.media_parts.c.size)).all()
        assert parts == [("/tv/new.mkv", 5)]


def test_present_not_in_streams_only_the_unseen(catalog: Engine) -> None:
    server_id, lib_id = _library(catalog)
    with catalog.begin() as conn:
        ids = dal.upsert_items(conn, server_id, lib_id, [_episode(i) for i in range(5)], now=10)
        lifecycle.mark_missing(conn, lib_id, [ids["4"]], now=20, listing=1, confirmed_at=15)
        held, unseen = dal.present_not_in(conn, lib_id, {ids["0"], ids["1"]})
    assert held == 4
    assert sorted(unseen) == sorted([ids["2"], ids["3"]])


def test_mark_missing_records_when_plex_last_listed_the_item(catalog: Engine) -> None:
    """`last_seen_at` of a MISSING row is the library's last confirmation, never earlier than the
    row's own write; present rows are not touched by runs that merely saw them."""
    server_id, lib_id = _library(catalog)
    with catalog.begin() as conn:
        ids = dal.upsert_items(conn, server_id, lib_id, [_episode(1), _episode(2)], now=100)
        dal.upsert_items(conn, server_id, lib_id, [_episode(2, digest="d2")], now=400)
        assert (
            lifecycle.mark_missing(conn, lib_id, [ids["1"], ids["2"]], now=500, listing=3, confirmed_at=300)
            == 2
        )
        rows = dict(
            conn.execute(
                sa.select(t.media_items.c.rating_key, t.media_items.c.last_seen_at).order_by(
                    t.media_items.c.id
                )
            ).all()
        )
        listing = conn.execute(sa.select(t.media_items.c.missing_listing)).scalars().all()
    assert rows == {"1": 300, "2": 400}
    assert listing == [3, 3]


def _promote(conn: sa.Connection, lib_id: int, *, now: int, listings: int) -> int:
    return lifecycle.promote_deleted_past_retention(
        conn, lib_id, now=now, retention_days=30, listings=listings
    )


def test_soft_delete_lifecycle_with_history(catalog: Engine) -> None:
    server_id, lib_id = _library(catalog)
    with catalog.begin() as conn:
        ids = dal.upsert_items(conn, server_id, lib_id, [_episode(i) for i in range(4)], now=100)
    run = 200
    with catalog.begin() as conn:
        assert (
            lifecycle.mark_missing(conn, lib_id, [ids["2"], ids["3"]], now=run, listing=5, confirmed_at=150)
            == 2
        )
        assert dal.library_missing_deleted_counts(conn, lib_id) == (2, 0)
    # not yet past retention
    with catalog.begin() as conn:
        assert (
            lifecycle.promote_deleted_past_retention(
                conn, lib_id, now=run + 29 * DAY, retention_days=30, listings=9
            )
            == 0
        )
    # item 2 comes back before retention: ACTIVE again, missing_since cleared
    with catalog.begin() as conn:
        dal.upsert_items(conn, server_id, lib_id, [_episode(2)], now=run + DAY)
    with catalog.begin() as conn:
        # past retention by the clock, but only one complete listing since it went missing: kept
        assert (
            lifecycle.promote_deleted_past_retention(
                conn, lib_id, now=run + 30 * DAY, retention_days=30, listings=6
            )
            == 0
        )
        assert (
            lifecycle.promote_deleted_past_retention(
                conn, lib_id, now=run + 30 * DAY, retention_days=30, listings=7
            )
            == 1
        )
        counts = dal.library_state_counts(conn, lib_id)
    assert counts[ItemState.ACTIVE] == 3
    assert counts[ItemState.DELETED] == 1
    with catalog.connect() as conn:
        row = conn.execute(sa.select(t.media_items).where(t.media_items.c.rating_key == "2")).one()._mapping
        assert row["state"] == "ACTIVE"
        assert (row["missing_since"], row["missing_listing"]) == (None, None)
        assert row["first_seen_at"] == 100
        history = conn.execute(
            sa.select(t.item_events.c.old_value, t.item_events.c.new_value)
            .join(t.media_items, t.media_items.c.id == t.item_events.c.item_id)
            .where(t.media_items.c.rating_key.in_(["2", "3"]))
            .order_by(t.item_events.c.at, t.item_events.c.id)
        ).all()
    assert ("ACTIVE", "MISSING") in history
    assert ("MISSING", "ACTIVE") in history
    assert ("MISSING", "DELETED") in history


def test_deleted_comes_back_with_history_and_purge_is_explicit(catalog: Engine) -> None:
    server_id, lib_id = _library(catalog)
    with catalog.begin() as conn:
        ids = dal.upsert_items(conn, server_id, lib_id, [_episode(1), _episode(2)], now=100)
        lifecycle.mark_missing(conn, lib_id, list(ids.values()), now=200, listing=1, confirmed_at=None)
        assert lifecycle.confirm_deleted(conn, lib_id, ["1", "2"], now=201) == 2
        dal.upsert_items(conn, server_id, lib_id, [_episode(1)], now=300)
        assert lifecycle.purge_deleted(conn, lib_id) == 1
    with catalog.connect() as conn:
        keys = conn.execute(sa.select(t.media_items.c.rating_key, t.media_items.c.state)).all()
        assert keys == [("1", "ACTIVE")]
        assert conn.execute(sa.select(sa.func.count()).select_from(t.media_parts)).scalar() == 1


def test_shows_and_seasons_go_missing_by_key_and_come_back(catalog: Engine) -> None:
    _, lib_id = _library(catalog)
    with catalog.begin() as conn:
        dal.upsert_shows(conn, lib_id, [dal.ShowRecord("100", "Show", "sd", True)], now=100)
        dal.upsert_seasons(conn, lib_id, [dal.SeasonRecord("101", "100", 1)], now=100)
        assert lifecycle.mark_missing_keys(conn, t.shows, lib_id, ["100"], now=150, listing=2) == 1
        assert lifecycle.mark_missing_keys(conn, t.seasons, lib_id, ["101"], now=150, listing=2) == 1
        assert dal.present_keys(conn, t.shows, lib_id) == set()
        dal.upsert_shows(conn, lib_id, [dal.ShowRecord("100", "Show", "sd", True)], now=160)
        assert dal.present_keys(conn, t.shows, lib_id) == {"100"}
        assert dal.present_keys(conn, t.seasons, lib_id) == set()


def test_item_errors_are_counted(catalog: Engine) -> None:
    server_id, lib_id = _library(catalog)
    with catalog.begin() as conn:
        dal.upsert_items(conn, server_id, lib_id, [_episode(1)], now=1)
        assert dal.record_item_errors(conn, lib_id, {"1": "bad Media", "404": "unknown"}, now=5) == 1
        dal.record_item_errors(conn, lib_id, {"1": "bad again"}, now=6)
    with catalog.connect() as conn:
        row = conn.execute(sa.select(t.media_items)).one()._mapping
    assert (row["error_count"], row["last_error"], row["last_error_at"]) == (2, "bad again", 6)


def test_unicode_and_long_values_round_trip(catalog: Engine) -> None:
    server_id, lib_id = _library(catalog)
    title = "Ünïcødé — 日本語 🎬 " * 40
    item = dal.ItemRecord(
        rating_key="7",
        kind="movie",
        title=title,
        digest="x",
        file_size=2**62,
        parts=(dal.PartRecord(0, 0, file="/movies/Amélie (2001)/アメリ.mkv", size=2**62),),
    )
    with catalog.begin() as conn:
        dal.upsert_items(conn, server_id, lib_id, [item], now=1)
    with catalog.connect() as conn:
        assert conn.execute(sa.select(t.media_items.c.title)).scalar() == title
        assert conn.execute(sa.select(t.media_parts.c.file)).scalar() == "/movies/Amélie (2001)/アメリ.mkv"
