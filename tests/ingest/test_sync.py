"""The sync engine against a real simulated Plex server and a real catalog on every backend."""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from retrovue import servers
from retrovue.errors import LockHeldError
from retrovue.ingest import LibraryDone, LibraryStarted, PageProgress, sync
from retrovue.ingest.item_pages import WRITE_PAGES
from retrovue.sim import Simulator
from retrovue.store import items as dal
from retrovue.store import locks, registry, runs
from retrovue.store import schema as t
from tests.conftest import StatementCounter
from tests.ingest.conftest import Home
from tests.ingest.transports import FirstHeldUntil
from tests.ingest.truth import assert_matches_truth, library_ids, states

DAY = 86_400


def _leaves(sim: Simulator, kind: str = "episode") -> list[dict[str, object]]:
    truth = sim.ground_truth()
    out: list[dict[str, object]] = []
    for section in truth["sections"]:
        if kind == "episode":
            out += [
                ep for show in section.get("shows", []) for se in show["seasons"] for ep in se["episodes"]
            ]
        else:
            out += section.get("movies", [])
    return out


def _pages(entries: int, page_size: int) -> int:
    """Requests for one listing: a full last page (or none at all) needs one more, empty, page to
    confirm the end; a short last page at totalSize ends it."""
    return math.ceil(entries / page_size) + (1 if entries % page_size == 0 else 0)


def _listing_requests(sim: Simulator, page_size: int) -> int:
    """Pages of shows, episodes and movies for the simulator's current library."""
    pages = 0
    for section in sim.sections():
        if section["type"] == "show":
            pages += _pages(section["shows"], page_size) + _pages(section["episodes"], page_size)
        else:
            pages += _pages(section["movies"], page_size)
    assert pages
    return pages


ROW_TABLES = ("media_items", "media_parts", "shows", "seasons", "item_events")


def test_first_sync_mirrors_plex_exactly(home: Home) -> None:
    summaries = sync(home.engine, page_size=7, on_event=home.record)
    assert [s.status for s in summaries] == ["ok", "ok"]
    assert_matches_truth(home.engine, home.sim, check_files=True)
    leaves = len(_leaves(home.sim)) + len(_leaves(home.sim, "movie"))
    assert sum(s.changed for s in summaries) == leaves
    assert sum(s.processed for s in summaries) == leaves
    # sections + listing pages + one batched checkFiles request per page that had new items
    assert home.sim.request_count == sum(s.requests for s in summaries) + 1
    detail_requests = [r for r in home.sim.requests if r[1].startswith("/library/metadata/")]
    listing_requests = [r for r in home.sim.requests if r[1].endswith("/all")]
    assert len(listing_requests) == _listing_requests(home.sim, 7)
    assert len(detail_requests) <= len(listing_requests)
    # items' detail checks their files; shows' (every genre, new shows only) has none to check
    shows = {s["ratingKey"] for sec in home.sim.ground_truth()["sections"] for s in sec.get("shows", [])}
    show_detail = [r for r in detail_requests if set(r[1].rsplit("/", 1)[1].split(",")) <= shows]
    assert len(show_detail) == math.ceil(len(shows) / 7)  # one per show page: every show is new
    assert all(("checkFiles=1" in r[2]) == (r not in show_detail) for r in detail_requests)


def test_no_change_costs_one_request_and_writes_no_item_row(home: Home) -> None:
    sync(home.engine)
    home.sim.reset_requests()
    counter = StatementCounter(home.engine)
    summaries = sync(home.engine)
    counter.close()
    assert home.sim.requests == [("GET", "/library/sections", "")]
    assert all(s.gated and s.changed == 0 and s.status == "ok" and s.written == 0 for s in summaries)
    for table in ROW_TABLES:
        assert not counter.rows_written(table), table
    with home.engine.connect() as conn:  # the confirmation is one stamp on the library instead
        verified = conn.execute(sa.select(t.libraries.c.verified_at)).scalars().all()
    assert all(v is not None for v in verified)


def test_no_change_without_gate_lists_but_writes_no_item_row(home: Home) -> None:
    sync(home.engine, page_size=5)
    home.sim.reset_requests()
    counter = StatementCounter(home.engine)
    summaries = sync(home.engine, page_size=5, use_gate=False)
    counter.close()
    # + each library's collections (a listing of its own: the simulator's small library has none)
    assert home.sim.request_count == 1 + _listing_requests(home.sim, 5) + 2
    assert sum(s.changed for s in summaries) == 0
    assert all(s.status == "ok" and not s.gated for s in summaries)
    for table in ROW_TABLES:
        assert not counter.rows_written(table), table


def test_one_episode_edit_costs_one_extra_request(home: Home) -> None:
    sync(home.engine)
    episode = _leaves(home.sim)[3]
    home.sim.edit(episode["ratingKey"], title="A New Title")
    home.sim.reset_requests()
    (movies, tv) = sync(home.engine)
    assert movies.gated
    assert not tv.gated
    assert (tv.changed, tv.status) == (1, "ok")
    # sections, shows page, episodes page, one detail request for the changed episode, and the
    # library's collections (none changed: none walked)
    assert home.sim.request_count == 5
    assert home.sim.requests[-1][1] == "/library/sections/1/collections"
    assert_matches_truth(home.engine, home.sim)


def test_replaced_file_is_caught_by_a_normal_run(home: Home) -> None:
    sync(home.engine)
    episode = _leaves(home.sim)[0]
    home.sim.replace_file(episode["ratingKey"], size=123_456_789)
    (_, tv) = sync(home.engine)
    assert tv.changed == 1
    assert_matches_truth(home.engine, home.sim)
    with home.engine.connect() as conn:
        size = conn.execute(
            sa.select(t.media_parts.c.size)
            .join(t.media_items, t.media_items.c.id == t.media_parts.c.item_id)
            .where(t.media_items.c.rating_key == episode["ratingKey"])
        ).scalar()
    assert size == 123_456_789


def test_adds_changes_and_removals_converge(home: Home) -> None:
    sync(home.engine)
    show = home.sim.ground_truth()["sections"][0]["shows"][0]
    added = home.sim.add_episode(show["seasons"][0]["ratingKey"])
    new_show = home.sim.add_show(seasons=2, episodes=2)
    movie = home.sim.add_movie(parts=2)
    gone = _leaves(home.sim)[-1]["ratingKey"]
    home.sim.remove(gone)
    summaries = sync(home.engine, page_size=3)
    assert all(s.status == "ok" for s in summaries)
    assert sum(s.changed for s in summaries) == 1 + 4 + 1
    assert sum(s.missing_promoted for s in summaries) == 1
    assert_matches_truth(home.engine, home.sim)
    lib = library_ids(home.engine, "home")
    assert states(home.engine, lib["1"])[gone] == "MISSING"
    # playable through Plex, but no path mapping makes the files local: REMOTE_ONLY
    assert states(home.engine, lib["1"])[added] == "REMOTE_ONLY"
    assert states(home.engine, lib["2"])[movie] == "REMOTE_ONLY"
    assert new_show


def test_missing_becomes_deleted_after_retention_and_keeps_history(home: Home) -> None:
    t0 = 1_800_000_000
    sync(home.engine, clock=lambda: t0)
    gone = _leaves(home.sim)[0]["ratingKey"]
    home.sim.remove(gone)
    sync(home.engine, clock=lambda: t0 + 100)
    lib = library_ids(home.engine, "home")["1"]
    with home.engine.connect() as conn:
        row = conn.execute(sa.select(t.media_items).where(t.media_items.c.rating_key == gone)).one()._mapping
    assert (row["state"], row["missing_since"], row["first_seen_at"]) == ("MISSING", t0 + 100, t0)
    # A day later the verification listing is due; the item is still gone but not for 30 days yet.
    (_, tv) = sync(home.engine, clock=lambda: t0 + 100 + DAY)
    assert (tv.gated, tv.verification, tv.deleted_promoted) == (False, True, 0)
    (_, tv) = sync(home.engine, clock=lambda: t0 + 100 + 29 * DAY)
    assert (tv.gated, tv.deleted_promoted) == (False, 0)
    (_, tv) = sync(home.engine, clock=lambda: t0 + 100 + 30 * DAY)
    assert tv.deleted_promoted == 1
    assert states(home.engine, lib)[gone] == "DELETED"
    with home.engine.connect() as conn:
        history = conn.execute(
            sa.select(t.item_events.c.old_value, t.item_events.c.new_value)
            .join(t.media_items, t.media_items.c.id == t.item_events.c.item_id)
            .where(t.media_items.c.rating_key == gone)
            .order_by(t.item_events.c.id)
        ).all()
    # Plex's states only: a first local verdict (REMOTE_ONLY here, nothing is mapped) is not history.
    assert history == [("ACTIVE", "MISSING"), ("MISSING", "DELETED")]


def test_offline_section_marks_nothing_missing(home: Home) -> None:
    sync(home.engine)
    before = states(home.engine, library_ids(home.engine, "home")["1"])
    home.sim.set_section_offline("1")
    (_, tv) = sync(home.engine)
    assert tv.status == "partial"
    assert "threshold" in (tv.reason or "")
    assert "drive offline" in (tv.reason or "")
    assert tv.missing_promoted == 0
    assert states(home.engine, library_ids(home.engine, "home")["1"]) == before
    # back online: a plain run is complete again and nothing was lost
    home.sim.set_section_offline("1", offline=False)
    (_, tv) = sync(home.engine)
    assert (tv.status, tv.missing_promoted) == ("ok", 0)
    assert_matches_truth(home.engine, home.sim)


def test_forced_empty_listing_then_return_restores_items(home: Home) -> None:
    sync(home.engine)
    lib = library_ids(home.engine, "home")["2"]
    home.sim.set_section_offline("2")
    (movies, _) = sync(home.engine, force=True)
    assert movies.status == "ok"
    assert set(states(home.engine, lib).values()) == {"MISSING"}
    home.sim.set_section_offline("2", offline=False)
    (movies, _) = sync(home.engine)
    assert movies.status == "ok"
    assert movies.changed == 0  # same digests: restored, not changed
    assert_matches_truth(home.engine, home.sim)
    with home.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.min(t.media_items.c.missing_since))).scalar() is None


def test_failed_page_marks_nothing_and_next_run_converges(home: Home) -> None:
    sync(home.engine, page_size=4)
    gone = _leaves(home.sim)[0]["ratingKey"]
    home.sim.remove(gone)
    home.sim.set_faults("status=500", pattern="/library/sections/1/all")
    (_, tv) = sync(home.engine, page_size=4, client_options={"max_retries": 1, "backoff": 0})
    assert tv.status == "failed"
    assert "nothing was marked missing" in (tv.reason or "")
    lib = library_ids(home.engine, "home")["1"]
    assert states(home.engine, lib)[gone] == "REMOTE_ONLY"
    home.sim.clear_faults()
    (_, tv) = sync(home.engine, page_size=4)
    assert (tv.status, tv.missing_promoted) == ("ok", 1)
    assert_matches_truth(home.engine, home.sim)


def test_listing_that_shifts_mid_walk_marks_nothing(home: Home) -> None:
    sync(home.engine, page_size=4)
    gone = _leaves(home.sim)[0]["ratingKey"]
    home.sim.remove(gone)
    season = home.sim.ground_truth()["sections"][0]["shows"][-1]["seasons"][0]["ratingKey"]
    mutated: list[str] = []

    def mutate_once(event: object) -> None:
        if isinstance(event, PageProgress) and event.phase == "items" and not mutated:
            mutated.append(home.sim.add_episode(season))

    (tv,) = sync(home.engine, page_size=4, library="TV Shows", on_event=mutate_once)
    assert tv.status == "partial"
    assert states(home.engine, library_ids(home.engine, "home")["1"])[gone] == "REMOTE_ONLY"
    (tv,) = sync(home.engine, library="TV Shows", page_size=4)
    assert tv.status == "ok"
    assert_matches_truth(home.engine, home.sim)


def test_pages_are_stored_five_to_a_transaction(home: Home, statements: StatementCounter) -> None:
    """A first sync stores `WRITE_PAGES` listing pages per item transaction: the fixed cost of a
    transaction (fence, reads, a dozen statements, a commit) is paid once for them."""
    section = next(s for s in home.sim.sections() if s["type"] == "movie")
    pages = math.ceil(section["movies"] / 3)
    (summary,) = sync(home.engine, library="Movies", page_size=3)
    assert summary.status == "ok"
    upserts = [w for w in statements.writes() if w.lstrip().upper().startswith("INSERT INTO MEDIA_ITEMS")]
    assert len(upserts) == math.ceil(pages / WRITE_PAGES)
    assert_matches_truth(home.engine, home.sim, sections={section["key"]})


def test_a_first_sync_whose_listing_shifts_stores_each_item_once(home: Home) -> None:
    """New items listed twice in one transaction's pages (an episode added while the walk runs
    shifts the pages after it) are stored once: one row, one set of parts, one `added` entry."""
    season = home.sim.ground_truth()["sections"][0]["shows"][0]["seasons"][0]["ratingKey"]
    added: list[str] = []

    def add_once(event: object) -> None:
        if isinstance(event, PageProgress) and event.phase == "items" and not added:
            added.append(home.sim.add_episode(season))

    (tv,) = sync(home.engine, library="TV Shows", page_size=4, on_event=add_once)
    assert added
    assert tv.status == "partial"  # the shift was seen: nothing may be finalized
    with home.engine.connect() as conn:
        c = t.item_changes.c
        per_item = conn.execute(
            sa.select(c.item_id, sa.func.count()).where(c.change == "added").group_by(c.item_id)
        ).all()
        assert per_item
        assert {n for _, n in per_item} == {1}
        p = t.media_parts.c
        parts = conn.execute(
            sa.select(p.item_id, p.media_index, p.part_index, sa.func.count())
            .group_by(p.item_id, p.media_index, p.part_index)
            .having(sa.func.count() > 1)
        ).all()
        assert parts == []
    (tv,) = sync(home.engine, library="TV Shows", page_size=4)
    assert tv.status == "ok"
    shows = {s["key"] for s in home.sim.sections() if s["type"] == "show"}
    assert_matches_truth(home.engine, home.sim, sections=shows)


class _ComparisonReads:
    """Counts the keys a run's pages read back from the catalog to compare with the listing (item
    and season snapshots), apart from the reads `upsert_items` makes of the rows it writes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.items = 0
        self.seasons = 0
        for name in ("item_snapshot", "season_snapshot"):
            monkeypatch.setattr(dal, name, self._counted(name, getattr(dal, name)))

    def _counted(self, name: str, read: Callable[..., Any]) -> Callable[..., Any]:
        def counted(conn: sa.Connection, library_id: int, keys: Sequence[str]) -> Any:
            if sys._getframe(1).f_code.co_name != "upsert_items":
                if name == "item_snapshot":
                    self.items += len(keys)
                else:
                    self.seasons += len(keys)
            return read(conn, library_id, keys)

        return counted


_OWNED_DELETES = ("DELETE FROM MEDIA_PARTS", "DELETE FROM ITEM_TAGS")


def test_a_first_sync_does_not_compare_its_pages_with_an_empty_catalog(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Into an empty library there is nothing to compare a page with and nothing to replace: a
    first sync reads no stored item or season back and deletes no parts or tags, and still
    mirrors Plex exactly. The next listing compares every page (the spy sees the reads)."""
    reads = _ComparisonReads(monkeypatch)
    counter = StatementCounter(home.engine)
    summaries = sync(home.engine, page_size=5)
    counter.close()
    assert [s.status for s in summaries] == ["ok", "ok"]
    assert (reads.items, reads.seasons) == (0, 0)
    assert not [w for w in counter.writes() if w.lstrip().upper().startswith(_OWNED_DELETES)]
    parts = sum(n for _, n in counter.rows_written("media_parts"))
    assert parts == sum(
        len(leaf["parts"]) for kind in ("episode", "movie") for leaf in _leaves(home.sim, kind)
    )
    assert_matches_truth(home.engine, home.sim, check_files=True)
    summaries = sync(home.engine, page_size=5, use_gate=False)
    leaves = len(_leaves(home.sim)) + len(_leaves(home.sim, "movie"))
    assert reads.items == leaves
    assert reads.seasons > 0
    assert sum(s.written for s in summaries) == 0


def test_cancel_between_pages(home: Home) -> None:
    sync(home.engine)
    gone = _leaves(home.sim)[0]["ratingKey"]
    home.sim.remove(gone)
    stop = threading.Event()

    done: list[LibraryDone] = []

    def cancel_on_first_page(event: object) -> None:
        if isinstance(event, PageProgress):
            stop.set()
        if isinstance(event, LibraryDone):
            done.append(event)

    (tv,) = sync(home.engine, library="TV Shows", page_size=3, cancel=stop, on_event=cancel_on_first_page)
    assert tv.status == "cancelled"
    assert [d.summary for d in done] == [tv]  # a cancelled run is reported done, once
    assert states(home.engine, library_ids(home.engine, "home")["1"])[gone] == "REMOTE_ONLY"
    with home.engine.connect() as conn:
        assert runs.list_runs(conn, limit=1)[0].status == "cancelled"
        assert conn.execute(sa.select(sa.func.count()).select_from(t.library_locks)).scalar() == 0


def _file_check(request: httpx.Request) -> bool:
    return request.url.path.startswith("/library/metadata/") and request.url.params.get("checkFiles") == "1"


def test_a_page_is_not_held_up_by_its_own_detail(home: Home) -> None:
    """The writer does not wait for a page's detail when the page's turn comes, only when its
    transaction is stored: the third page is compared (its detail requested) while the first
    page's detail is still in flight."""
    # the first file check is answered only once a third was sent: as at 20 ms a request, a
    # page's detail is still in flight while later pages are compared
    transport = FirstHeldUntil(httpx.HTTPTransport(), _file_check, nth=3)
    (movies,) = sync(home.engine, library="Movies", page_size=3, transport=transport)
    assert movies.status == "ok"
    assert transport.released is True
    section = next(s for s in home.sim.sections() if s["type"] == "movie")
    assert_matches_truth(home.engine, home.sim, sections={section["key"]}, check_files=True)


def test_a_cancel_stores_the_pages_already_written(home: Home) -> None:
    """Pages are queued and stored five at a time (`WRITE_PAGES`): a cancel after the second page
    still stores both, as it did when every page had its own transaction."""
    stop = threading.Event()
    pages: list[int] = []

    def cancel_after_two_pages(event: object) -> None:
        if isinstance(event, PageProgress) and event.phase == "items":
            pages.append(event.processed)
            if len(pages) == 2:
                stop.set()

    (movies,) = sync(home.engine, library="Movies", page_size=3, cancel=stop, on_event=cancel_after_two_pages)
    assert movies.status == "cancelled"
    assert len(pages) == 2 < WRITE_PAGES
    with home.engine.connect() as conn:
        lib = registry.get_library(conn, "Movies")
        stored = conn.execute(
            sa.select(sa.func.count()).select_from(t.media_items).where(t.media_items.c.library_id == lib.id)
        ).scalar_one()
    assert stored == pages[-1] == 6


def test_events_arrive_in_order(home: Home) -> None:
    sync(home.engine, page_size=6, on_event=home.record)
    for lib_id in set(library_ids(home.engine, "home").values()):
        mine = [e for e in home.events if e.library_id == lib_id]
        assert isinstance(mine[0], LibraryStarted)
        assert isinstance(mine[-1], LibraryDone)
        progress = [e for e in mine[1:-1] if isinstance(e, PageProgress)]
        assert progress
        assert len(progress) == len(mine) - 2
        processed = [p.processed for p in progress]
        assert processed == sorted(processed)
        assert progress[-1].total == mine[-1].summary.processed


def test_lock_held_single_library_raises_and_all_reports(home: Home) -> None:
    with home.engine.connect() as conn:
        lib = registry.get_library(conn, "Movies")
    owner = locks.acquire_lock(home.engine, lib.id)
    try:
        with pytest.raises(LockHeldError, match="being synced by pid"):
            sync(home.engine, library="Movies")
        summaries = {s.library_title: s for s in sync(home.engine)}
        assert summaries["Movies"].status == "failed"
        assert "being synced" in (summaries["Movies"].reason or "")
        assert summaries["TV Shows"].status == "ok"
    finally:
        locks.release_lock(home.engine, lib.id, owner)


def test_unreachable_server_fails_its_libraries_only(home: Home, tmp_path: object) -> None:
    with Simulator(seed=99, shows=2, movies=3) as other:
        servers.add_server(home.engine, "other", other.url, other.token)
    # `other` is stopped now: its libraries fail, home's sync
    summaries = sync(home.engine, client_options={"max_retries": 0, "connect_timeout": 1.0})
    by_server = {(s.server_name, s.library_title): s for s in summaries}
    assert {s.status for (name, _), s in by_server.items() if name == "other"} == {"failed"}
    assert {s.status for (name, _), s in by_server.items() if name == "home"} == {"ok"}
    with home.engine.connect() as conn:
        failed = [r for r in runs.list_runs(conn) if r.server_name == "other"]
    assert len(failed) == 2
    assert all("Cannot reach" in (r.error_text or "") or "reach" in (r.error_text or "") for r in failed)


def test_deep_run_checks_files_and_confirms_deletions(home: Home) -> None:
    sync(home.engine)
    leaves = _leaves(home.sim)
    broken, gone = leaves[1]["ratingKey"], leaves[2]["ratingKey"]
    home.sim.set_unavailable(broken)
    home.sim.remove(gone)
    sync(home.engine)
    lib = library_ids(home.engine, "home")["1"]
    assert states(home.engine, lib)[gone] == "MISSING"
    (_, tv) = sync(home.engine, deep=True)
    assert tv.status == "ok"
    assert states(home.engine, lib)[broken] == "UNAVAILABLE"
    assert states(home.engine, lib)[gone] == "DELETED"
    assert tv.deleted_promoted == 1
    assert_matches_truth(home.engine, home.sim, check_files=True)


def test_rematch_move_and_hidden_seasons(home: Home) -> None:
    sync(home.engine)
    truth = home.sim.ground_truth()["sections"][0]
    first, last = truth["shows"][0], truth["shows"][-1]
    episode = first["seasons"][0]["episodes"][0]["ratingKey"]
    home.sim.move_episode(episode, show_rk=last["ratingKey"], season_index=1)
    home.sim.set_hidden_seasons(first["ratingKey"])
    old_movie = _leaves(home.sim, "movie")[0]["ratingKey"]
    new_movie = home.sim.rematch(old_movie)
    summaries = sync(home.engine)
    assert all(s.status == "ok" for s in summaries)
    assert_matches_truth(home.engine, home.sim)
    movies = states(home.engine, library_ids(home.engine, "home")["2"])
    assert old_movie not in movies  # the row was re-keyed, not replaced (see test_rekey.py)
    assert movies[new_movie] == "REMOTE_ONLY"


def test_mapped_local_files_make_items_active(home: Home, tmp_path: object) -> None:
    """After a sync, items whose files exist under a path mapping are ACTIVE, the rest REMOTE_ONLY."""
    from pathlib import Path

    from retrovue import mapping

    root = Path(str(tmp_path)) / "media"
    mapping.add_mapping(home.engine, "home", "/data/media", str(root))
    movies = _leaves(home.sim, "movie")
    present = [m for m in movies if m["parts"]][:3]
    for movie in present:
        for part in movie["parts"]:
            local = root / str(part["file"]).removeprefix("/data/media/")
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(b"")
    sync(home.engine)
    lib = library_ids(home.engine, "home")["2"]
    got = states(home.engine, lib)
    for movie in movies:
        broken = not movie["parts"] or any(not (p["accessible"] and p["exists"]) for p in movie["parts"])
        if broken:
            assert got[movie["ratingKey"]] == "UNAVAILABLE"
        elif movie in present:
            assert got[movie["ratingKey"]] == "ACTIVE"
        else:
            assert got[movie["ratingKey"]] == "REMOTE_ONLY"


def test_cancel_interrupts_retry_backoff(home: Home) -> None:
    sync(home.engine)
    home.sim.set_faults("status=503", pattern="/library/sections/1/all")
    stop = threading.Event()

    def cancel_soon_after_the_start(event: object) -> None:  # the user presses Cancel mid-run
        if isinstance(event, LibraryStarted):
            threading.Timer(0.3, stop.set).start()

    before = len(home.sim.requests)
    (tv,) = sync(
        home.engine,
        library="TV Shows",
        use_gate=False,
        cancel=stop,
        on_event=cancel_soon_after_the_start,
        client_options={"max_retries": 4, "backoff": 30.0},
    )
    # Four backoffs of 30 s and more would follow without the cancel; it must end right away instead:
    # the failing page is asked once, not five times.
    listing = [r for r in home.sim.requests[before:] if "/library/sections/1/all" in r[1]]
    assert len(listing) == 1, listing
    assert tv.status == "cancelled"
