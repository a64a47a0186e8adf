"""Never a false MISSING, the hard way (issue 14): each case a review reproduced on an earlier engine.

Every test runs the engine the way users do — change gate on — against the real simulator and a
real catalog on SQLite, PostgreSQL and MariaDB, and ends with the oracle: nothing the server still
has (item, show or season) is MISSING or DELETED.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from retrovue import servers
from retrovue.errors import ConfigError, LockHeldError
from retrovue.ingest import Event, PageProgress, sync
from retrovue.sim import Simulator
from retrovue.store import locks, registry, runs
from retrovue.store import schema as t
from tests.ingest.conftest import Home
from tests.ingest.truth import assert_matches_truth, assert_nothing_falsely_missing, library_ids, states

DAY = 86_400
FAST: dict[str, object] = {"backoff": 0.0, "max_retries": 0, "connect_timeout": 1.0, "timeout": 5.0}


def _movies(sim: Simulator) -> list[dict[str, Any]]:
    return [m for s in sim.ground_truth()["sections"] for m in s.get("movies", [])]


def _gone(home: Home) -> dict[str, str]:
    lib = library_ids(home.engine, "home")
    out = {}
    for key in ("1", "2"):
        out.update({k: v for k, v in states(home.engine, lib[key]).items() if v in ("MISSING", "DELETED")})
    return out


def _count(home: Home, table: sa.Table, *where: Any) -> int:
    with home.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one())


# --- case 1: a live sync keeps its lock; a sync that lost it writes nothing -------------------------


def test_a_long_page_does_not_let_another_sync_take_the_lock(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page that takes longer than the stale limit (a weekly deep run beside the cron sync): the
    holder's lease keeps beating, so the second sync is refused instead of taking over."""
    monkeypatch.setattr(locks, "STALE_AFTER", 2)
    monkeypatch.setattr(locks, "HEARTBEAT_EVERY", 0.2)
    sync(home.engine)
    home.sim.set_faults("latency=3s@/library/sections/2/all")
    first: list[Any] = []
    worker = threading.Thread(
        target=lambda: first.extend(sync(home.engine, library="Movies", use_gate=False)), daemon=True
    )
    worker.start()
    time.sleep(2.6)  # longer than STALE_AFTER since the lock was taken
    with pytest.raises(LockHeldError, match="being synced"):
        sync(home.engine, library="Movies")
    worker.join(30)
    assert [s.status for s in first] == ["ok"]
    home.sim.clear_faults()
    assert_nothing_falsely_missing(home.engine, home.sim)
    assert_matches_truth(home.engine, home.sim)


def test_a_sync_that_lost_its_lock_stops_and_writes_nothing(home: Home) -> None:
    sync(home.engine)
    for movie in _movies(home.sim)[:4]:
        home.sim.remove(movie["ratingKey"])
    home.sim.add_movie()
    with home.engine.connect() as conn:
        lib = registry.get_library(conn, "Movies")
    before = _count(home, t.media_items, t.media_items.c.library_id == lib.id)

    def steal(event: Event) -> None:
        if isinstance(event, PageProgress) and event.phase == "items":
            with home.engine.begin() as conn:  # another sync declared us dead and took over
                conn.execute(t.library_locks.update().values(owner="thief"))

    (movies,) = sync(home.engine, library="Movies", page_size=3, on_event=steal)
    assert movies.status == "failed"
    assert "lost the library's lock" in (movies.reason or "")
    assert movies.missing_promoted == 0
    assert_nothing_falsely_missing(home.engine, home.sim)
    assert _count(home, t.media_items, t.media_items.c.library_id == lib.id) <= before + 1
    with home.engine.connect() as conn:
        (row,) = runs.list_runs(conn, library_id=lib.id, limit=1)
        assert row.status == "running"  # left for the taker to close: never rewritten as ok
        assert (
            conn.execute(sa.select(t.libraries.c.last_sync_status).where(t.libraries.c.id == lib.id)).scalar()
            == "ok"
        )


# --- case 2: another Plex server at the stored address ----------------------------------------------


def test_another_server_at_the_stored_address_is_refused(home: Home) -> None:
    sync(home.engine)
    with Simulator(seed=99, shows=2, movies=4, token=home.sim.token) as stranger:
        with home.engine.begin() as conn:  # a DHCP swap: the stored address now reaches another server
            conn.execute(t.servers.update().values(base_url=stranger.url))
        summaries = sync(home.engine)
        assert [s.status for s in summaries] == ["failed", "failed"]
        assert all("different Plex server" in (s.reason or "") for s in summaries)
        assert not _gone(home)
        assert_nothing_falsely_missing(home.engine, home.sim)
        with pytest.raises(servers.PlexError, match="different Plex server"):
            servers.refresh_libraries(home.engine, "home")
    with home.engine.begin() as conn:
        conn.execute(t.servers.update().values(base_url=home.sim.url))
    assert [s.status for s in sync(home.engine)] == ["ok", "ok"]
    assert_matches_truth(home.engine, home.sim)


def test_a_section_with_another_uuid_under_the_same_key_is_refused(home: Home) -> None:
    """The server is the same, but section 2 is now another library (deleted and re-created, say):
    that library is refused and nothing in it changes; the other library syncs."""
    sync(home.engine)
    for movie in _movies(home.sim)[:3]:
        home.sim.remove(movie["ratingKey"])
    with home.sim.state.lock:
        home.sim.catalog.sections[2].uuid = "0b5e55ed-0000-4000-8000-000000000002"
    home.sim.add_episode(home.sim.ground_truth()["sections"][0]["shows"][0]["seasons"][0]["ratingKey"])
    movies, tv = sync(home.engine)
    assert (movies.status, tv.status) == ("failed", "ok")
    assert "different library" in (movies.reason or "")
    assert not _gone(home)
    assert_matches_truth(home.engine, home.sim, sections={"1"})


def test_edit_to_another_servers_address_and_a_second_copy_are_refused(home: Home) -> None:
    with (
        Simulator(seed=99, shows=1, movies=2) as stranger,
        pytest.raises(ConfigError, match="different Plex server"),
    ):
        servers.edit_server(home.engine, "home", base_url=stranger.url, token=stranger.token)
    with pytest.raises(ConfigError, match="already in the catalog"):
        servers.add_server(home.engine, "again", home.sim.url, home.sim.token)
    with home.engine.connect() as conn:
        (server,) = registry.list_servers(conn)
    assert (server.name, server.base_url, server.machine_identifier) == (
        "home",
        home.sim.url,
        home.sim.machine_identifier,
    )


def test_threshold_counts_what_the_catalog_held_not_what_the_run_added(home: Home) -> None:
    """All 10 movies replaced by 10 others (new files, new guids): 10 of 20 is "only" half, but the
    catalog held 10 and lost all of them."""
    sync(home.engine)
    for movie in _movies(home.sim):
        home.sim.remove(movie["ratingKey"])
    for n in range(10):
        home.sim.add_movie(title=f"Stranger {n}")
    (movies,) = sync(home.engine, library="Movies")
    assert movies.status == "partial"
    assert "10 of 10 items" in (movies.reason or "")
    assert not _gone(home)


# --- case 3: shows and seasons have the same guards as items -------------------------------------


def test_an_empty_show_listing_marks_no_show_missing(home: Home) -> None:
    """A show whose episodes are listed is present, whatever the show listing says (even forced);
    a show listing that leaves out shows the episodes belong to is not complete."""
    sync(home.engine)
    home.sim.set_faults("empty@/library/sections/1/all?type=2")
    for force in (False, True):
        (tv,) = sync(home.engine, library="TV Shows", use_gate=False, force=force)
        assert (tv.status, tv.missing_promoted) == ("partial", 0)
        assert "left out" in (tv.reason or "")
        assert _count(home, t.shows, t.shows.c.state != "ACTIVE") == 0
    home.sim.clear_faults()
    assert_nothing_falsely_missing(home.engine, home.sim)


def test_a_show_listing_that_leaves_out_a_new_show_does_not_end_ok(home: Home) -> None:
    """Found by the fault storm: the show listing came back empty while the episodes listing named
    a show added since the last run. The run ended `ok` without the show, the gate then held, and
    the catalog lacked the show until the next verification listing, a day later."""
    sync(home.engine)
    home.sim.add_show(seasons=1, episodes=2)
    home.sim.set_faults("empty@/library/sections/1/all?type=2")
    (_movies, tv) = sync(home.engine)
    assert tv.status == "partial", tv.reason
    assert "shows listing left out" in (tv.reason or "")
    home.sim.clear_faults()
    assert [s.status for s in sync(home.engine)] == ["ok", "ok"]  # gate on, as users run it
    assert_matches_truth(home.engine, home.sim)
    assert_nothing_falsely_missing(home.engine, home.sim)


def test_shows_past_the_threshold_are_not_marked(home: Home) -> None:
    """Four of five shows gone at once (their episodes too): refused like items, by the shows' own
    share as well."""
    sync(home.engine)
    shows = home.sim.ground_truth()["sections"][0]["shows"]
    for show in shows[1:]:
        home.sim.remove(show["ratingKey"])
    (tv,) = sync(home.engine, library="TV Shows")
    assert tv.status == "partial"
    assert "threshold" in (tv.reason or "")
    assert _count(home, t.shows, t.shows.c.state != "ACTIVE") == 0
    assert _count(home, t.seasons, t.seasons.c.state != "ACTIVE") == 0


def test_a_show_listing_that_shifts_marks_nothing(home: Home) -> None:
    sync(home.engine, page_size=2)
    home.sim.set_faults("shift=1@/library/sections/1/all?type=2")
    (tv,) = sync(home.engine, library="TV Shows", page_size=2, use_gate=False)
    assert tv.status == "partial"
    assert "repeated" in (tv.reason or "")
    home.sim.clear_faults()
    assert_nothing_falsely_missing(home.engine, home.sim)


# --- case 4: listings that contradict themselves are not complete ---------------------------------


@pytest.mark.parametrize(
    ("spec", "status", "words"),
    [
        ("total=6@/library/sections/2/all", "partial", "announced 6 entries but 9 came back"),
        ("cap=3,nototal@/library/sections/2/all", "ok", None),  # read to its end, complete
        ("shift=1@/library/sections/2/all", "partial", "repeated"),
        ("dup=2@/library/sections/2/all", "partial", "repeated"),
        ("total=4,cap=4@/library/sections/2/all", "partial", "announced 4 entries"),
    ],
)
def test_a_listing_that_lies_marks_nothing(home: Home, spec: str, status: str, words: str | None) -> None:
    sync(home.engine, page_size=4)
    gone = _movies(home.sim)[-1]["ratingKey"]
    home.sim.remove(gone)  # one real removal: only a trustworthy listing may mark it
    home.sim.set_faults(spec)
    (movies,) = sync(home.engine, library="Movies", page_size=4)
    assert movies.status == status, movies.reason
    if words:
        assert words in (movies.reason or "")
        assert not _gone(home)
    else:
        assert _gone(home) == {gone: "MISSING"}
    assert_nothing_falsely_missing(home.engine, home.sim)
    home.sim.clear_faults()
    (movies,) = sync(home.engine, library="Movies", page_size=4)
    assert movies.status == "ok"
    assert_matches_truth(home.engine, home.sim)


def test_an_empty_first_listing_is_not_trusted_by_the_gate(home: Home) -> None:
    """Found by the fault storm: the first complete listing of a library came back empty (a drive
    offline behind Plex at the first sync; the simulator's `empty` lie). The run is `ok` (an empty
    library is possible), but it must not vouch for the section: the gate then held and the
    library stayed empty in the catalog until the verification listing, a day later."""
    home.sim.set_faults("empty@/library/sections/2/all")
    (movies,) = sync(home.engine, library="Movies")
    assert (movies.status, movies.processed) == ("ok", 0)
    home.sim.clear_faults()
    (movies,) = sync(home.engine, library="Movies")  # gate on, as users run it
    assert not movies.gated
    assert_matches_truth(home.engine, home.sim, sections={"2"})
    (movies,) = sync(home.engine, library="Movies")
    assert movies.gated  # a listing with entries is trusted again


# --- case 5: a re-key first listed by a run that ended partial ------------------------------------


class _ListingBreaksAfterFirstPage(httpx.BaseTransport):
    """Real HTTP, except that every listing page past the first fails to connect."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        start = request.url.params.get("X-Plex-Container-Start")
        if request.url.path.endswith("/all") and start not in (None, "0"):
            raise httpx.ConnectError("server gone", request=request)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def test_a_rekey_listed_by_an_interrupted_run_is_still_matched(home: Home) -> None:
    sync(home.engine, page_size=3)
    movies = sorted(_movies(home.sim), key=lambda m: m["title"])
    old = movies[0]["ratingKey"]
    new = home.sim.rematch(old)  # same file, new rating key: first page, by title
    # The movie listing's first page and its detail arrive, the next page does not. Decided per
    # request, not by request number: pages are read ahead, so the order of the first page's detail
    # and the next page's request varies from run to run.
    (first,) = sync(
        home.engine,
        library="Movies",
        page_size=3,
        client_options=FAST,
        transport=_ListingBreaksAfterFirstPage(httpx.HTTPTransport()),
    )
    assert first.status == "failed"
    with home.engine.connect() as conn:
        lib = registry.get_library(conn, "Movies")
        keys = set(
            conn.execute(
                sa.select(t.media_items.c.rating_key).where(t.media_items.c.library_id == lib.id)
            ).scalars()
        )
    assert {old, new} <= keys  # the new key was stored by the failed run
    home.sim.clear_faults()
    (second,) = sync(home.engine, library="Movies", page_size=3)
    assert (second.status, second.rekeyed, second.missing_promoted) == ("ok", 1, 0)
    assert states(home.engine, lib.id)[new] == "REMOTE_ONLY"
    assert old not in states(home.engine, lib.id)
    assert_matches_truth(home.engine, home.sim)


# --- case 6: a failed file check is owed, and paid by the next run, gate or no gate ----------------


def test_a_failed_file_check_is_retried_by_the_next_gated_run(home: Home) -> None:
    sync(home.engine)
    added = home.sim.add_movie(title="Needs a check")
    home.sim.set_faults("status=503@/library/metadata/*")
    (movies,) = sync(home.engine, library="Movies", client_options=FAST)
    assert movies.status == "ok"  # the listing is complete; the check is owed
    with home.engine.connect() as conn:
        lib = registry.get_library(conn, "Movies")
    assert lib.pending_detail == 1
    home.sim.clear_faults()
    home.sim.reset_requests()
    (movies,) = sync(home.engine, library="Movies")
    assert movies.gated
    assert [r[1] for r in home.sim.requests] == ["/library/sections", f"/library/metadata/{added}"]
    with home.engine.connect() as conn:
        checked = conn.execute(
            sa.select(t.media_parts.c.file_exists, t.media_items.c.detail_pending)
            .join(t.media_items, t.media_items.c.id == t.media_parts.c.item_id)
            .where(t.media_items.c.rating_key == added)
        ).all()
        assert registry.get_library(conn, "Movies").pending_detail == 0
    assert checked
    assert all(exists is not None and not pending for exists, pending in checked)
    home.sim.reset_requests()
    (movies,) = sync(home.engine, library="Movies")  # nothing owed any more: one request
    assert home.sim.request_count == 1


def test_a_deep_run_whose_file_checks_fail_is_not_ok(home: Home) -> None:
    sync(home.engine)
    home.sim.set_faults("status=503@/library/metadata/*")
    (movies,) = sync(home.engine, library="Movies", deep=True, client_options=FAST)
    assert movies.status == "partial"
    assert "file check failed" in (movies.reason or "")
    assert not _gone(home)


# --- case 7: the gate is verified by a listing now and then ---------------------------------------


def test_a_change_plex_did_not_count_is_caught_by_the_verification_listing(home: Home) -> None:
    t0 = 1_900_000_000
    sync(home.engine, clock=lambda: t0)
    movie = _movies(home.sim)[0]
    home.sim.replace_file(movie["ratingKey"], size=77_777, silent=True)  # contentChangedAt unmoved
    (movies, _) = sync(home.engine, clock=lambda: t0 + 3600)
    assert movies.gated  # within the day: the gate is trusted
    (movies, _) = sync(home.engine, clock=lambda: t0 + DAY)
    assert (movies.gated, movies.verification, movies.changed) == (False, True, 1)
    assert_matches_truth(home.engine, home.sim)
    with home.engine.begin() as conn:
        lib = registry.get_library(conn, "Movies")
        registry.set_library_options(conn, lib.id, verify_hours=0)
    (movies, _) = sync(home.engine, clock=lambda: t0 + DAY + 60)
    assert (movies.gated, movies.verification) == (False, True)  # 0: every run lists


# --- case 9 lives in tests/cli/test_sync_interrupt.py (Ctrl-C); case 10 in tests/plex ------------


# --- case 11: a clock that jumps cannot delete anything -------------------------------------------


def test_a_clock_far_ahead_does_not_promote_to_deleted(home: Home) -> None:
    t0 = 1_900_000_000
    sync(home.engine, clock=lambda: t0)
    gone = _movies(home.sim)[0]["ratingKey"]
    home.sim.remove(gone)
    sync(home.engine, clock=lambda: t0 + 100)
    assert _gone(home) == {gone: "MISSING"}
    (movies, _) = sync(home.engine, clock=lambda: t0 + 400 * DAY)  # one run, clock 400 days ahead
    assert movies.deleted_promoted == 0
    assert _gone(home) == {gone: "MISSING"}
    # Real time passes: after the retention *and* two more complete listings, it is DELETED.
    (movies, _) = sync(home.engine, clock=lambda: t0 + 400 * DAY + DAY)
    assert movies.deleted_promoted == 1


# --- case 12: servers are independent; runs record their real cost ---------------------------------


def test_one_servers_configuration_error_does_not_stop_the_others(home: Home, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not really a certificate\n")
    with Simulator(seed=11, shows=1, movies=2) as other:
        servers.add_server(home.engine, "other", other.url, other.token)
        with home.engine.begin() as conn:  # its CA bundle, later removed from disk
            conn.execute(t.servers.update().where(t.servers.c.name == "other").values(ca_bundle=str(ca)))
        ca.unlink()
        summaries = sync(home.engine)
    by_server: dict[str, list[str]] = {}
    for s in summaries:
        by_server.setdefault(s.server_name, []).append(s.status)
    assert by_server["home"] == ["ok", "ok"]
    assert set(by_server["other"]) == {"failed"}
    with home.engine.connect() as conn:
        recorded = [r for r in runs.list_runs(conn) if r.server_name == "home"]
    assert recorded
    assert all(r.counts.requests > 0 and r.counts.pages > 0 and r.counts.bytes > 0 for r in recorded)
