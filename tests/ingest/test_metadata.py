"""What a scheduler needs (ratings, air dates, networks, genres, collections, labels, external ids),
synced from the simulator into the catalog on SQLite, PostgreSQL and MariaDB: stored from the
requests a sync already makes, caught by the digest when Plex changes it (a collection change too,
although it does not move the item's `updatedAt`), kept through a re-key, and filtered on."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from retrovue import servers
from retrovue.catalog import Catalog, Item, ItemQuery
from retrovue.ingest import sync
from retrovue.sim import Simulator
from tests.conftest import CliResult, StatementCounter
from tests.ingest.conftest import Home
from tests.ingest.transports import FirstHeldUntil

T0 = 1_800_000_000


def _ids(truth: dict[str, Any]) -> dict[str, str]:
    return dict(g.split("://", 1) for g in truth["externalIds"])


def _by_key(cat: Catalog) -> dict[str, Item]:
    return {i.rating_key: i for i in cat.iter_items()}


def test_a_sync_stores_it_and_a_quiet_run_rewrites_nothing(home: Home) -> None:
    bare = home.sim.ground_truth()["sections"][1]["movies"][-1]["ratingKey"]
    home.sim.edit(bare, summary="", content_rating=None, studio=None, genres=(), originally_available_at=None)
    assert all(s.ok for s in sync(home.engine, clock=lambda: T0))
    cat = Catalog(home.engine)
    items = _by_key(cat)
    truth = home.sim.ground_truth()
    movies = truth["sections"][1]["movies"]
    for movie in movies:
        item = items[movie["ratingKey"]]
        assert item.genres == tuple(movie["genres"])  # every genre: detail, not the listing's two
        assert item.collections == tuple(movie["collections"])
        assert item.labels == tuple(movie["labels"])
        assert item.content_rating == movie["contentRating"]
        assert item.studio == movie["studio"]
        assert item.originally_available_at == movie["originallyAvailableAt"]
        assert item.summary == movie["summary"]
        assert item.external_ids == _ids(movie)
    assert any(len(m["genres"]) > 2 for m in movies)
    none = items[bare]  # an item Plex says nothing of
    assert (none.genres, none.content_rating, none.studio, none.summary) == ((), None, None, None)
    for show in truth["sections"][0]["shows"]:
        for season in show["seasons"]:
            for episode in season["episodes"]:
                item = items[episode["ratingKey"]]
                assert item.genres == tuple(show["genres"])  # a show's genres: all, from its detail
                assert item.studio == show["studio"]  # the show's network
                assert set(show["collections"]) <= set(item.collections)
                assert item.content_rating == episode["contentRating"]
                assert item.originally_available_at == episode["originallyAvailableAt"]
    detail = cat.detail(items[movies[0]["ratingKey"]].id)
    assert detail is not None
    assert detail.item.genres == tuple(movies[0]["genres"])

    counter = StatementCounter(home.engine)
    try:
        assert all(s.ok and s.written == 0 for s in sync(home.engine, clock=lambda: T0 + 10, use_gate=False))
        for table in ("media_items", "item_tags", "show_tags", "shows", "item_changes"):
            assert counter.rows_written(table) == [], table
    finally:
        counter.close()


def test_plex_edits_and_collection_changes_are_caught_and_a_rekey_keeps_them(home: Home) -> None:
    assert all(s.ok for s in sync(home.engine, clock=lambda: T0))
    cat = Catalog(home.engine)
    start = cat.cursor()
    movies = [m for m in home.sim.ground_truth()["sections"][1]["movies"] if m["parts"]]
    edited, collected, rematched = movies[0], movies[1], movies[2]
    home.sim.edit(edited["ratingKey"], genres=("Horror", "Thriller"))
    home.sim.set_collections(collected["ratingKey"], ("Halloween Night",))  # its updatedAt stays
    home.sim.set_collections(rematched["ratingKey"], ("Award Winners",))
    assert all(s.ok for s in sync(home.engine, clock=lambda: T0 + 10, use_gate=False))
    items = _by_key(cat)
    assert items[edited["ratingKey"]].genres == ("Horror", "Thriller")
    assert items[collected["ratingKey"]].collections == ("Halloween Night",)
    changed = {(c.change, c.id) for c in cat.changes(start).changes}
    assert ("changed", items[edited["ratingKey"]].id) in changed
    assert ("changed", items[collected["ratingKey"]].id) in changed

    # A show's genres are its episodes': each of them changes for a reader following the feed, and
    # no other show's.
    show = next(s for s in home.sim.ground_truth()["sections"][0]["shows"] if s["genres"])
    episodes = {items[e["ratingKey"]].id for se in show["seasons"] for e in se["episodes"]}
    mark = cat.cursor()
    home.sim.edit(show["ratingKey"], genres=("Western",))
    assert all(s.ok for s in sync(home.engine, clock=lambda: T0 + 15, use_gate=False))
    assert {c.id for c in cat.changes(mark).changes if c.change == "changed"} == episodes
    assert {cat.item(i).genres for i in episodes} == {("Western",)}  # type: ignore[union-attr]

    kept = items[rematched["ratingKey"]]
    new_key = home.sim.rematch(rematched["ratingKey"])
    assert all(s.ok for s in sync(home.engine, clock=lambda: T0 + 20, use_gate=False))
    again = cat.item(kept.id)
    assert again is not None
    assert again.rating_key == new_key
    assert again.collections == ("Award Winners",)
    assert again.genres == kept.genres


def test_the_read_api_and_items_filter_on_it(home: Home, db_url: str, cli: Callable[..., CliResult]) -> None:
    show = next(s for s in home.sim.ground_truth()["sections"][0]["shows"] if s["genres"] and s["studio"])
    movie = next(m for m in home.sim.ground_truth()["sections"][1]["movies"] if m["parts"] and m["studio"])
    home.sim.set_collections(show["ratingKey"], ("Saturday Morning",))  # across libraries
    home.sim.set_collections(movie["ratingKey"], ("Saturday Morning",))
    home.sim.edit(
        movie["ratingKey"], genres=("Westérn",), content_rating="TV-G", originally_available_at="1994-06-01"
    )
    assert all(s.ok for s in sync(home.engine, clock=lambda: T0))
    cat = Catalog(home.engine)
    items = _by_key(cat)
    episodes = {e["ratingKey"] for s in show["seasons"] for e in s["episodes"]}

    def keys(**filters: Any) -> set[str]:
        return {i.rating_key for i in cat.iter_items(ItemQuery(**filters))}

    assert keys(collection="saturday morning") == episodes | {movie["ratingKey"]}
    assert keys(genre="WESTERN") == {movie["ratingKey"]}  # case and accents aside
    assert movie["ratingKey"] in keys(content_rating="tv-g", decade=1990)
    assert movie["ratingKey"] in keys(aired_from="1994-06", aired_to="1994")
    assert movie["ratingKey"] not in keys(aired_from="1994-06-02")
    assert keys(genre=show["genres"][0], kind="episode") >= episodes
    assert keys(studio=show["studio"].upper(), kind="episode") >= episodes
    network = {items[k].studio for k in keys(studio=show["studio"], kind="episode")}
    assert network == {show["studio"]}
    with pytest.raises(Exception, match="not a date"):
        keys(aired_from="June 1994")

    out = cli("items", "--genre", "western", "--content-rating", "TV-G", "--format", "json", db_url=db_url)
    assert out.code == 0, out.err
    (row,) = json.loads(out.out)
    assert row["rating_key"] == movie["ratingKey"]
    assert (row["genres"], row["content_rating"], row["originally_available_at"]) == (
        ["Westérn"],
        "TV-G",
        "1994-06-01",
    )
    assert row["collections"] == ["Saturday Morning"]
    assert row["studio"] == movie["studio"]
    assert row["external_ids"] == _ids(movie)
    assert set(row) >= {"summary", "labels"}
    dated = cli(
        "items", "--aired-from", "1994-06-01", "--aired-to", "1994-06-01", "-f", "json", db_url=db_url
    )
    assert movie["ratingKey"] in {r["rating_key"] for r in json.loads(dated.out)}
    bad = cli("items", "--aired-from", "sometime", db_url=db_url)
    assert bad.code == 2
    assert "not a date" in bad.err


def _detail_keys(requests: list[tuple[str, str, str]]) -> list[set[str]]:
    """The rating keys of each `/library/metadata/{k1,k2,…}` request, in order."""
    return [set(r[1].rsplit("/", 1)[1].split(",")) for r in requests if r[1].startswith("/library/metadata/")]


def test_show_detail_costs_a_request_per_hundred_new_or_changed_shows(catalog: Engine) -> None:
    """A show listing carries a show's first two genres; its detail all of them, batched like item
    detail (100 keys a request, in flight while the listing goes on) for new and changed shows only."""
    with Simulator(seed=11, shows=250, movies=3, seasons_per_show=1, episodes_per_season=1) as sim:
        servers.add_server(catalog, "big", sim.url, sim.token)
        shows = {s["ratingKey"]: s for s in sim.ground_truth()["sections"][0]["shows"]}
        episodes = sum(len(se["episodes"]) for s in shows.values() for se in s["seasons"])
        assert len(shows) == 250
        assert 300 < episodes < 400
        assert any(len(s["genres"]) > 2 for s in shows.values())
        sim.reset_requests()
        assert all(s.ok for s in sync(catalog, clock=lambda: T0, page_size=400))
        show_batches = [k for k in _detail_keys(sim.requests) if k <= set(shows)]
        # sections, one page each of shows, episodes and movies; shows 100 a request (3), episodes'
        # and movies' checkFiles detail 100 a request (4 + 1); no collection holds more than a page
        assert sorted(len(k) for k in show_batches) == [50, 100, 100]
        assert set().union(*show_batches) == set(shows)
        walked = sum(len(sec["collections"]) for sec in sim.ground_truth()["sections"])
        # + each library's collections, and every collection walked once (its members)
        assert sim.request_count == 1 + 3 + 3 + 4 + 1 + 2 + walked
        cat = Catalog(catalog)
        items = _by_key(cat)
        for show in shows.values():
            for season in show["seasons"]:
                for episode in season["episodes"]:
                    assert items[episode["ratingKey"]].genres == tuple(show["genres"])

        # Two shows change: one's third genre (its listing shows the same first two), one gets an
        # episode (its leafCount moves). One show detail request for both, one checkFiles request.
        edited, grown = [k for k, s in shows.items() if len(s["genres"]) > 2][:2]
        first_two = tuple(shows[edited]["genres"][:2])
        sim.edit(edited, genres=(*first_two, "Western"))
        new_episode = sim.add_episode(grown, season_index=shows[grown]["seasons"][0]["index"])
        sim.reset_requests()
        counter = StatementCounter(catalog)
        try:
            (tv, movies) = sorted(
                sync(catalog, clock=lambda: T0 + 10, page_size=400), key=lambda s: s.library_id
            )
        finally:
            counter.close()
        assert tv.ok
        assert movies.gated
        assert _detail_keys(sim.requests) == [{edited, grown}, {new_episode}]
        assert sim.request_count == 1 + 1 + 1 + 2 + 1  # + the collections: none changed, none walked
        assert len(counter.rows_written("shows")) == 1  # one upsert statement for both
        items = _by_key(cat)
        assert items[new_episode].genres == tuple(shows[grown]["genres"])
        for show_key, genres in ((edited, (*first_two, "Western")), (grown, tuple(shows[grown]["genres"]))):
            for season in shows[show_key]["seasons"]:
                assert {items[e["ratingKey"]].genres for e in season["episodes"]} == {genres}

        # Nothing changed: one request, no row; listed anyway: the listing pages, no detail.
        sim.reset_requests()
        assert all(s.gated and s.written == 0 for s in sync(catalog, clock=lambda: T0 + 20))
        assert sim.request_count == 1
        sim.reset_requests()
        assert all(s.ok and s.written == 0 for s in sync(catalog, clock=lambda: T0 + 30, use_gate=False))
        assert _detail_keys(sim.requests) == []


def test_a_show_whose_detail_failed_is_stored_from_its_listing_and_listed_again(catalog: Engine) -> None:
    with Simulator(seed=12, shows=4, movies=2, seasons_per_show=1, episodes_per_season=2) as sim:
        servers.add_server(catalog, "home", sim.url, sim.token)
        shows = sim.ground_truth()["sections"][0]["shows"]
        sim.set_faults("status=404@/library/metadata/*")
        assert all(s.ok for s in sync(catalog, clock=lambda: T0))
        cat = Catalog(catalog)
        first = shows[0]["seasons"][0]["episodes"][0]["ratingKey"]
        assert _by_key(cat)[first].genres == tuple(shows[0]["genres"][:2])  # the listing's, meanwhile
        sim.clear_faults()
        sim.reset_requests()
        (tv, movies) = sorted(sync(catalog, clock=lambda: T0 + 10), key=lambda s: s.library_id)
        assert not tv.gated  # shows owed their detail: the gate did not hold
        assert movies.gated
        assert _by_key(cat)[first].genres == tuple(shows[0]["genres"])
        assert all(s.gated for s in sync(catalog, clock=lambda: T0 + 20))


def test_a_membership_changed_through_the_collection_is_caught_by_walking_that_collection_only(
    home: Home,
) -> None:
    """Through the collection, a membership moves neither the item's `updatedAt` nor (beyond its
    first two) the listing's Collection tags: the digest cannot see it. The collection's own
    `updatedAt` and `childCount` do move, so a run that lists the library (its gate opened) reads
    the section's collections (1 request) and walks only the changed one (1 request). A re-keyed
    item keeps its memberships; a collection Plex drops is forgotten; a quiet run costs 1 request."""
    movie = next(m for m in home.sim.ground_truth()["sections"][1]["movies"] if m["parts"])
    key = movie["ratingKey"]
    home.sim.set_collections(key, ("Award Winners", "Halloween Night"))
    assert all(s.ok for s in sync(home.engine, clock=lambda: T0))
    cat = Catalog(home.engine)
    assert cat.item(_by_key(cat)[key].id).collections == ("Award Winners", "Halloween Night")  # type: ignore[union-attr]
    start = cat.cursor()

    home.sim.set_collections(key, ("Award Winners", "Halloween Night", "Midnight Movies"))
    after = next(m for m in home.sim.ground_truth()["sections"][1]["movies"] if m["ratingKey"] == key)
    assert after["updatedAt"] == movie["updatedAt"]  # the item did not move: its digest cannot tell
    home.sim.reset_requests()
    counter = StatementCounter(home.engine)
    try:
        by_title = {s.library_title: s for s in sync(home.engine, clock=lambda: T0 + 10)}
    finally:
        counter.close()
    tv, movies = by_title["TV Shows"], by_title["Movies"]
    assert tv.gated
    assert movies.ok
    assert not movies.gated
    assert movies.written == 0
    walked = [r[1] for r in home.sim.requests if r[1].startswith("/library/collections/")]
    midnight = next(
        c for c in home.sim.ground_truth()["sections"][1]["collections"] if c["title"] == "Midnight Movies"
    )
    assert walked == [f"/library/collections/{midnight['ratingKey']}/children"]  # only the changed one
    # sections, the movies page, the section's collections, the one walk
    assert home.sim.request_count == 4
    assert counter.rows_written("media_items") == []
    item = _by_key(cat)[key]
    assert item.collections == ("Award Winners", "Halloween Night", "Midnight Movies")
    assert [(c.change, c.id) for c in cat.changes(start).changes] == [("changed", item.id)]
    assert item.id in {i.id for i in cat.iter_items(ItemQuery(collection="midnight movies"))}

    # Nothing changed: one request; listed anyway: no collection walked, no row.
    home.sim.reset_requests()
    assert all(s.gated for s in sync(home.engine, clock=lambda: T0 + 20))
    assert home.sim.request_count == 1
    home.sim.reset_requests()
    assert all(s.written == 0 for s in sync(home.engine, clock=lambda: T0 + 30, use_gate=False))
    assert not [r for r in home.sim.requests if r[1].startswith("/library/collections/")]

    # Re-keyed: the item keeps every membership (its detail carries them all).
    new_key = home.sim.rematch(key)
    assert all(s.ok for s in sync(home.engine, clock=lambda: T0 + 40))
    again = cat.item(item.id)
    assert again is not None
    assert again.rating_key == new_key
    assert again.collections == ("Award Winners", "Halloween Night", "Midnight Movies")

    # Left through the collection (which, emptied, is gone): forgotten, with a feed entry.
    mark = cat.cursor()
    home.sim.set_collections(new_key, ("Award Winners", "Halloween Night"))
    assert all(s.ok for s in sync(home.engine, clock=lambda: T0 + 50))
    assert cat.item(item.id).collections == ("Award Winners", "Halloween Night")  # type: ignore[union-attr]
    assert [(c.change, c.id) for c in cat.changes(mark).changes] == [("changed", item.id)]
    assert not list(cat.iter_items(ItemQuery(collection="midnight movies")))


def test_a_shows_collection_changed_through_the_collection_reaches_its_episodes(home: Home) -> None:
    show = home.sim.ground_truth()["sections"][0]["shows"][0]
    home.sim.set_collections(show["ratingKey"], ("Saturday Morning", "Award Winners"))
    assert all(s.ok for s in sync(home.engine, clock=lambda: T0))
    cat = Catalog(home.engine)
    mark = cat.cursor()
    home.sim.set_collections(show["ratingKey"], ("Saturday Morning", "Award Winners", "Halloween Night"))
    assert all(s.ok for s in sync(home.engine, clock=lambda: T0 + 10))
    items = _by_key(cat)
    episodes = {items[e["ratingKey"]].id for se in show["seasons"] for e in se["episodes"]}
    assert {i.id for i in cat.iter_items(ItemQuery(collection="Halloween Night", kind="episode"))} == episodes
    assert {c.id for c in cat.changes(mark).changes if c.change == "changed"} == episodes


def test_a_collections_request_that_fails_leaves_memberships_and_lists_again(home: Home) -> None:
    movie = next(m for m in home.sim.ground_truth()["sections"][1]["movies"] if m["parts"])
    home.sim.set_collections(movie["ratingKey"], ("Award Winners", "Halloween Night"))
    assert all(s.ok for s in sync(home.engine, clock=lambda: T0))
    home.sim.set_collections(movie["ratingKey"], ("Award Winners", "Halloween Night", "Midnight Movies"))
    home.sim.set_faults("status=500@/library/sections/2/collections")
    by_title = {s.library_title: s for s in sync(home.engine, clock=lambda: T0 + 10)}
    assert by_title["Movies"].status == "ok"  # the listing was complete: finalize stands
    cat = Catalog(home.engine)
    assert _by_key(cat)[movie["ratingKey"]].collections == ("Award Winners", "Halloween Night")
    home.sim.clear_faults()
    by_title = {s.library_title: s for s in sync(home.engine, clock=lambda: T0 + 20)}
    assert not by_title["Movies"].gated  # the failed run did not vouch for the section
    assert _by_key(cat)[movie["ratingKey"]].collections == (
        "Award Winners",
        "Halloween Night",
        "Midnight Movies",
    )
    assert all(s.gated for s in sync(home.engine, clock=lambda: T0 + 30))


def _collection_walk(request: httpx.Request) -> bool:
    path = request.url.path
    return path.startswith("/library/collections/") and path.endswith("/children")


def test_collections_are_walked_side_by_side_and_stored_whole(home: Home) -> None:
    """The changed collections' member walks are in flight together (at 20 ms a request, walking
    hundreds of collections one by one was seconds of waiting), each stored on its own: a walk that
    fails costs its own collection only, which the next run walks again."""
    movies = [m["ratingKey"] for m in home.sim.ground_truth()["sections"][1]["movies"] if m["parts"]]
    aw, hn, mm, sm = "Award Winners", "Halloween Night", "Midnight Movies", "Saturday Morning"
    home.sim.set_collections(movies[0], (aw, hn, mm))
    home.sim.set_collections(movies[1], (aw, hn, sm))
    home.sim.set_collections(movies[2], (mm, sm))
    # the first walk is answered only once a second was sent: one after another, it waits 10 s
    transport = FirstHeldUntil(httpx.HTTPTransport(), _collection_walk, nth=2)
    (summary,) = sync(home.engine, library="Movies", clock=lambda: T0, transport=transport)
    assert summary.status == "ok"
    assert transport.released is True
    cat = Catalog(home.engine)
    items = _by_key(cat)
    assert [items[k].collections for k in movies[:3]] == [(aw, hn, mm), (aw, hn, sm), (mm, sm)]

    # Two memberships change through their collections (the items' first two tags stay: only the
    # walks can tell); one walk fails. The other is stored; the failed one keeps its members, and
    # the run does not vouch for the section, so the next run walks it again.
    home.sim.set_collections(movies[0], (aw, hn))
    home.sim.set_collections(movies[1], (aw, hn))
    midnight = next(c for c in home.sim.ground_truth()["sections"][1]["collections"] if c["title"] == mm)
    home.sim.set_faults("status=500", pattern=f"/library/collections/{midnight['ratingKey']}/children")
    (summary,) = sync(home.engine, library="Movies", clock=lambda: T0 + 10)
    assert (summary.status, summary.errors, summary.written) == ("ok", 1, 0)
    items = _by_key(cat)
    assert [items[k].collections for k in movies[:3]] == [(aw, hn, mm), (aw, hn), (mm, sm)]
    home.sim.clear_faults()
    (summary,) = sync(home.engine, library="Movies", clock=lambda: T0 + 20)
    assert not summary.gated
    items = _by_key(cat)
    assert [items[k].collections for k in movies[:3]] == [(aw, hn), (aw, hn), (mm, sm)]
