"""The change feed (`Catalog.changes`, `retrovue changes`) on SQLite, PostgreSQL and MariaDB, over
catalogs synced from the simulator: every change in commit order, a cursor that survives restarts,
re-keys keeping their id, entries outliving a purge, and an expired cursor said, never skipped."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from retrovue import machine, mapping, servers
from retrovue.catalog import Catalog, Change
from retrovue.errors import ConfigError, CursorExpiredError
from retrovue.ingest import sync
from retrovue.sim import Simulator
from retrovue.store import feed, lifecycle
from retrovue.store import schema as t
from tests.conftest import CliResult, StatementCounter

T0 = 1_800_000_000


def ids_by_key(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(t.media_items.c.rating_key, t.media_items.c.id)).all())


def summary(changes: list[Change]) -> list[tuple[str, int]]:
    return [(c.change, c.id) for c in changes]


@pytest.fixture
def home(catalog: Engine, plex_sim: Simulator) -> Simulator:
    servers.add_server(catalog, "home", plex_sim.url, plex_sim.token)
    return plex_sim


def test_the_feed_follows_syncs_in_order_and_survives_a_restart(
    catalog: Engine, home: Simulator, db_url: str
) -> None:
    cat = Catalog(catalog)
    assert (cat.changes().cursor, cat.changes().changes) == ("0", [])
    assert all(s.ok for s in sync(catalog, clock=lambda: T0))
    first = cat.changes()
    ids = ids_by_key(catalog)
    assert sorted(summary(first.changes)) == sorted(("added", i) for i in ids.values())
    assert [c.position for c in first.changes] == sorted(c.position for c in first.changes)
    assert {c.rating_key for c in first.changes} == set(ids)
    assert first.cursor == cat.cursor()
    assert not first.more

    # A quiet run records nothing, not even the clock.
    counter = StatementCounter(catalog)
    try:
        assert all(s.ok for s in sync(catalog, clock=lambda: T0 + 10, use_gate=False))
        assert counter.rows_written("item_changes") == counter.rows_written("change_clock") == []
    finally:
        counter.close()
    assert cat.changes(first.cursor) == type(first)(first.cursor, [], False)

    truth = home.ground_truth()
    movies = [m for m in truth["sections"][1]["movies"] if m["parts"]]
    episode = truth["sections"][0]["shows"][0]["seasons"][0]["episodes"][0]
    edited, removed, rematched = movies[0]["ratingKey"], movies[1]["ratingKey"], movies[2]["ratingKey"]
    home.edit(edited, title="A New Title")
    home.set_unavailable(episode["ratingKey"])
    home.remove(removed)
    new_key = home.rematch(rematched)
    assert all(s.ok for s in sync(catalog, clock=lambda: T0 + 20, deep=True))  # deep: file checks

    # Another process, later: the cursor is a position in the catalog.
    with Catalog.open(db_url) as again:
        later = again.changes(first.cursor)
    got = summary(later.changes)
    assert ("changed", ids[edited]) in got
    assert ("state", ids[episode["ratingKey"]]) in got
    assert ("missing", ids[removed]) in got
    rekey = [c for c in later.changes if c.change == "rekey"]
    assert [(c.id, c.old_value, c.new_value) for c in rekey] == [(ids[rematched], rematched, new_key)]
    merged = [c for c in later.changes if c.change == "merged"]
    assert [c.new_value for c in merged] == [str(ids[rematched])]
    assert ("added", merged[0].id) in got  # the twin first stored, then merged into the old id
    assert ids_by_key(catalog)[new_key] == ids[rematched]
    state = next(c for c in later.changes if c.change == "state")
    assert (state.old_value, state.new_value) == ("ACTIVE", "UNAVAILABLE")
    assert [c.position for c in later.changes] == sorted(c.position for c in later.changes)

    # Paging: a limit cuts the stretch and hands out the cursor to continue from.
    head = later.cursor
    pages, cursor = [], first.cursor
    while True:
        part = cat.changes(cursor, limit=2)
        pages.extend(part.changes)
        cursor = part.cursor
        if not part.more:
            break
    assert pages == later.changes
    assert cursor == head

    # By library: only that library's entries, the same cursor space.
    movie_lib = next(c.library_id for c in later.changes if c.id == ids[edited])
    only = cat.changes(first.cursor, library_id=movie_lib).changes
    assert only == [c for c in later.changes if c.library_id == movie_lib]


def test_purged_items_stay_in_the_feed_and_an_expired_cursor_is_said(
    catalog: Engine, home: Simulator
) -> None:
    cat = Catalog(catalog)
    assert all(s.ok for s in sync(catalog, clock=lambda: T0))
    movie = next(m for m in home.ground_truth()["sections"][1]["movies"] if m["parts"])
    item_id = ids_by_key(catalog)[movie["ratingKey"]]
    start = cat.cursor()
    home.remove(movie["ratingKey"])
    assert all(s.ok for s in sync(catalog, clock=lambda: T0 + 10, use_gate=False))
    with catalog.begin() as conn:
        library_id = conn.execute(
            sa.select(t.media_items.c.library_id).where(t.media_items.c.id == item_id)
        ).scalar_one()
        assert lifecycle.confirm_deleted(conn, library_id, [movie["ratingKey"]], now=T0 + 20) == 1
        assert lifecycle.purge_deleted(conn, library_id, now=T0 + 30) == 1
    assert cat.item(item_id) is None
    assert summary(cat.changes(start).changes) == [
        ("missing", item_id),
        ("deleted", item_id),
        ("purged", item_id),
    ]

    # Entries past the feed's period go (never the newest); a cursor from before them is refused.
    with catalog.begin() as conn:
        removed = feed.prune(conn, now=T0 + 30 + feed.FEED_DAYS * 86_400 + 1)
    assert removed > 0
    with pytest.raises(CursorExpiredError, match="older than the feed keeps"):
        cat.changes(start)
    rest = cat.changes()  # "everything": what is kept
    assert summary(rest.changes) == [("purged", item_id)]
    assert rest.cursor == cat.cursor()
    assert cat.changes(rest.cursor).changes == []
    with pytest.raises(ConfigError, match="not a change-feed cursor"):
        cat.changes("yesterday")


def test_local_entries_are_this_machines_only(catalog: Engine, home: Simulator, tmp_path: Path) -> None:
    movie = next(m for m in home.ground_truth()["sections"][1]["movies"] if m["parts"])
    root = tmp_path / "media"
    files = [root / str(p["file"]).removeprefix("/data/media/") for p in movie["parts"]]
    for f in files:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"")
    mapping.add_mapping(catalog, "home", "/data/media", str(root))
    assert all(s.ok for s in sync(catalog, clock=lambda: T0))
    cat = Catalog(catalog)
    other = Catalog(catalog, machine="elsewhere")
    start = cat.cursor()
    item_id = ids_by_key(catalog)[movie["ratingKey"]]
    assert cat.item(item_id).state == "ACTIVE"  # type: ignore[union-attr]
    # Added, then found to play here: a reader that re-read it in between saw REMOTE_ONLY.
    first = [(c.change, c.old_value, c.new_value) for c in cat.changes().changes if c.id == item_id]
    assert first == [("added", None, "ACTIVE"), ("local", "REMOTE_ONLY", "ACTIVE")]
    files[0].unlink()  # the file goes from this machine: its verdict moves to REMOTE_ONLY
    mapping.reevaluate_states(catalog, "home", mapping.LocalOptions(now=T0 + 10))
    local = [c for c in cat.changes(start).changes if c.change == "local"]
    assert [(c.id, c.old_value, c.new_value) for c in local] == [(item_id, "ACTIVE", "REMOTE_ONLY")]
    assert [c for c in other.changes(start).changes if c.change == "local"] == []
    assert machine.current() == cat.machine


def test_recording_transactions_take_the_clock_in_turn(catalog: Engine) -> None:
    """Feed ids follow commit order because a recording transaction holds the clock until it
    commits: a second one cannot record meanwhile (it would wait; here it gives up at once)."""
    if catalog.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time by itself")
    entry = {"item_id": 1, "library_id": 1, "rating_key": "1", "at": T0, "change": "added"}
    outcome: list[str] = []
    with catalog.begin() as first:
        feed.record(first, [entry])

        def second() -> None:
            try:
                with catalog.begin() as conn:
                    if conn.dialect.name == "postgresql":
                        conn.execute(sa.text("SET LOCAL lock_timeout = '50ms'"))
                    else:
                        conn.execute(sa.text("SET SESSION innodb_lock_wait_timeout = 1"))
                    feed.record(conn, [entry])
                outcome.append("recorded")
            except sa.exc.OperationalError:
                outcome.append("waited")

        thread = threading.Thread(target=second)
        thread.start()
        thread.join()
    assert outcome == ["waited"]
    feed_ids = Catalog(catalog).changes().changes
    assert len(feed_ids) == 1


def test_changes_command_prints_the_feed_and_its_cursor(
    catalog: Engine, home: Simulator, db_url: str, cli: Callable[..., CliResult]
) -> None:
    assert all(s.ok for s in sync(catalog, clock=lambda: T0))
    ids = ids_by_key(catalog)
    everything = cli("changes", "--format", "json", db_url=db_url)
    assert everything.code == 0, everything.err
    data = json.loads(everything.out)
    assert list(data) == ["cursor", "changes"]
    assert data["cursor"] == Catalog(catalog).cursor()
    assert sorted((c["change"], c["id"]) for c in data["changes"]) == sorted(
        ("added", i) for i in ids.values()
    )
    assert set(data["changes"][0]) >= {"id", "rating_key", "change", "at", "old_value", "new_value"}
    movie = next(m for m in home.ground_truth()["sections"][1]["movies"] if m["parts"])
    home.remove(movie["ratingKey"])
    assert all(s.ok for s in sync(catalog, clock=lambda: T0 + 10, use_gate=False))
    since = json.loads(cli("changes", "--since", data["cursor"], "-f", "json", db_url=db_url).out)
    assert [(c["change"], c["id"], c["rating_key"]) for c in since["changes"]] == [
        ("missing", ids[movie["ratingKey"]], movie["ratingKey"])
    ]
    table = cli("changes", "--since", data["cursor"], db_url=db_url)
    assert table.code == 0
    assert "missing" in table.out
    assert table.out.rstrip().endswith(f"1 change; cursor {since['cursor']}")
    assert json.loads(cli("changes", "--since", since["cursor"], "-f", "json", db_url=db_url).out) == {
        "cursor": since["cursor"],
        "changes": [],
    }
    bad = cli("changes", "--since", "soon", db_url=db_url)
    assert (bad.code, bad.out) == (2, "")
    assert bad.err.count("\n") == 1
    assert "not a change-feed cursor" in bad.err
