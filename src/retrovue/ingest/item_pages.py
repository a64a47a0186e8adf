"""One listing page of episodes or movies: compare it with the catalog, check files, write.

A page goes through two steps so that the run can overlap them (see `LibrarySync._walk_items`):

1. `prepare` — digest the listed items, read the stored digest/state of the page's items in one
   query (none into an empty library, `_stored`), decide what must be written (new, changed,
   restored from MISSING, owed a file check) and start the detail requests for those; record
   every catalog id the page proves present in `Seen`.
2. `write` — queue the page; every `WRITE_PAGES` pages (and at the end) `flush` waits for the
   queued pages' detail, builds each record to write once, with its detail, and stores what
   changed in one fenced transaction.

Nothing is written for an item that is unchanged: that it was seen is kept in memory (`Seen`), and
finalize compares the catalog with it. A run that stores nothing but its bookkeeping writes no
item row at all.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from retrovue.ingest.detail import DetailFetch, DetailResult
from retrovue.ingest.idset import KeySet
from retrovue.ingest.records import item_digest, item_record, season_record
from retrovue.ingest.run_scope import RunScope, RunStep, Seen, Tally
from retrovue.ingest.sync_common import WRITE_PAGES
from retrovue.plex import Page
from retrovue.plex.models import Episode, Movie
from retrovue.states import ItemState
from retrovue.store import items as dal
from retrovue.store.items import ItemRecord, ItemSnapshot, SeasonRecord
from retrovue.store.schema import KEY

__all__ = ["GONE", "WRITE_PAGES", "ItemPages", "PagePlan", "Seen", "Tally", "needs_write", "plex_class"]

GONE = (ItemState.MISSING.value, ItemState.DELETED.value)


def needs_write(snap: ItemSnapshot | None, digest: str) -> bool:
    """New, changed by digest, never fully stored, or coming back from MISSING/DELETED."""
    return snap is None or not snap.digest or snap.digest != digest or snap.state in GONE


def plex_class(state: str) -> str:
    """What Plex's data says of a state: UNAVAILABLE, or playable (ACTIVE and REMOTE_ONLY alike)."""
    return "unavailable" if state == ItemState.UNAVAILABLE.value else "playable"


@dataclass
class PagePlan:
    items: dict[str, Episode | Movie]  # the listed items that may be written, by rating key
    digests: dict[str, str]
    snap: dict[str, ItemSnapshot]
    write: list[str]  # of them, those new, changed or back: written whatever their detail says
    errors: dict[str, str]
    seasons: list[SeasonRecord]
    detail: DetailFetch
    entries: int  # listing entries this page counts as processed
    listed: int  # items of the page that can be stored (`items` holds only those that may be written)


@dataclass
class _Batch:
    """What queued pages store in one transaction (`ItemPages.flush`)."""

    # By rating key, the last page's record winning: a key two queued pages listed (pages that
    # shifted under the walk) is stored once, as consecutive writes would have left it.
    records: dict[str, ItemRecord] = field(default_factory=dict)
    stored: set[str] = field(default_factory=set)  # keys the catalog held when their page was read
    errors: list[dict[str, str]] = field(default_factory=list)  # one per page: each counts
    seasons: list[SeasonRecord] = field(default_factory=list)

    def add(self, plan: PagePlan, final: list[ItemRecord]) -> None:
        self.records.update((r.rating_key, r) for r in final)
        self.stored.update(plan.snap)
        if plan.errors:
            self.errors.append(plan.errors)
        self.seasons += plan.seasons


class ItemPages(RunStep):
    """Prepares and writes pages of one library's episode or movie listing for one run."""

    def __init__(
        self,
        scope: RunScope,
        *,
        executor: Executor | None,
        deep: bool,
        detail_chunk: int,
        empty: bool = False,
    ) -> None:
        super().__init__(scope)
        self.executor = executor
        self.deep = deep
        self.detail_chunk = detail_chunk
        self.seasons_done: set[str] = set()  # seasons compared this run (they span pages)
        self.queued: list[PagePlan] = []  # written pages not stored yet (`flush`)
        # The library held no item and no season when the run began (a first sync): the catalog
        # can hold only keys this run listed, so a page reads only those (`_stored`).
        self.empty = empty
        self.listed_keys = KeySet()

    def prepare(self, page: Page[Any]) -> PagePlan:
        listed: dict[str, Episode | Movie] = {}
        digests: dict[str, str] = {}
        seasons: dict[str, SeasonRecord] = {}
        for item in page.items:
            if len(item.rating_key) > KEY:  # cannot be an identity: an item error, never stored
                self.tally.errors += 1
                continue
            listed[item.rating_key] = item
            digests[item.rating_key] = item_digest(item)
            if isinstance(item, Episode):
                if item.grandparent_rating_key:
                    self.seen.shows.add(item.grandparent_rating_key)
                season_key = item.parent_rating_key  # a season spans pages: compared once a run
                if (
                    season_key is not None
                    and season_key not in seasons
                    and season_key not in self.seasons_done
                ):
                    season = season_record(item)
                    if season is not None:
                        seasons[season.rating_key] = season
        errors = {
            e.rating_key: e.message
            for e in page.errors
            if e.rating_key is not None and len(e.rating_key) <= KEY and e.rating_key not in listed
        }
        self.tally.errors += len(page.errors)
        self.tally.unreadable += sum(1 for e in page.errors if e.rating_key is None)
        snap, season_snap = self._stored(listed, errors, seasons)
        # An entry this listing already showed (pages shifted under the walk) is not written again:
        # which version is current cannot be told, and `ListingCheck` keeps the run from finalizing.
        for key in [k for k, s in snap.items() if s.id in self.seen.items]:
            listed.pop(key, None)
            errors.pop(key, None)
        self.seasons_done.update(seasons)
        self.seen.seasons.update(seasons)
        self.seen.items.update(s.id for s in snap.values())
        changed = [k for k in listed if needs_write(snap.get(k), digests[k])]
        owed = [k for k in listed if (s := snap.get(k)) is not None and s.detail_pending]
        detail_keys = list(listed) if self.deep else list(dict.fromkeys([*changed, *owed]))
        changed_seasons = [
            s
            for k, s in seasons.items()
            if (old := season_snap.get(k)) is None
            or old[:3] != (s.show_rating_key, s.season_index, s.title)
            or old[3] in GONE
        ]
        self.seen.added_seasons += sum(1 for k in seasons if k not in season_snap)
        return PagePlan(
            # Records are built in `write`, once each, with the detail: none for a quiet listing.
            items={k: listed[k] for k in detail_keys},
            digests=digests,
            snap=snap,
            write=changed,
            errors=errors,
            seasons=changed_seasons,
            detail=DetailFetch(self.client, self.executor, detail_keys, self.detail_chunk),
            entries=len(listed) + len(errors),
            listed=len(listed),
        )

    def _stored(
        self, listed: dict[str, Episode | Movie], errors: dict[str, str], seasons: dict[str, SeasonRecord]
    ) -> tuple[dict[str, ItemSnapshot], dict[str, tuple[str, int | None, str | None, str, int]]]:
        """What the catalog holds of a page's items and seasons, in one read each. Into an empty
        library, only the keys this run listed before can be stored (pages that shifted under the
        walk), and no season: a first sync's page reads nothing else, or nothing at all (on
        PostgreSQL and MariaDB each read is a round trip the server plans and answers)."""
        keys = [*listed, *errors]
        if self.empty:
            known = self.listed_keys
            known_keys = [k for k in keys if k in known]
            known.update(keys)
            if not known_keys:
                return {}, {}
            with self.engine.connect() as conn:
                return dal.item_snapshot(conn, self.library.id, known_keys), {}
        with self.engine.connect() as conn:
            return dal.item_snapshot(conn, self.library.id, keys), dal.season_snapshot(
                conn, self.library.id, list(seasons)
            )

    def write(self, plan: PagePlan) -> None:
        """Queue the page; every `WRITE_PAGES` pages the queue is stored (`flush`). Its detail is
        not waited for here: it has until the flush to arrive, while the next pages are compared
        and their detail requested (at 20 ms a request, waiting for each page's detail as its
        turn came cost a first sync a fifth of its time)."""
        self.queued.append(plan)
        self.tally.processed += plan.entries
        self.tally.changed += sum(
            1 for k in plan.write if (s := plan.snap.get(k)) is None or s.digest != plan.digests[k]
        )
        if len(self.queued) >= WRITE_PAGES:
            self.flush()

    def flush(self) -> None:
        """Store the queued pages in one fenced transaction, each record built once with its
        detail. A queue with nothing to store opens none: a listing where nothing changed writes
        nothing, not even the fence's heartbeat (the lease's own thread keeps it alive)."""
        plans, self.queued = self.queued, []
        batch = _Batch()
        for plan in plans:
            checked = plan.detail.result()
            final = self._final_records(plan, checked)
            batch.add(plan, final)
            self._count(plan, checked, final)
        records = list(batch.records.values())
        ids: dict[str, int] = {}
        if records or batch.errors or batch.seasons:
            lib = self.library
            with self.engine.begin() as conn:
                self.fence(conn)
                ids = dal.upsert_items(
                    conn,
                    lib.server_id,
                    lib.id,
                    records,
                    now=self.now,
                    run_id=self.run_id,
                    listing=self.listing,
                )
                for errors in batch.errors:
                    dal.record_item_errors(conn, lib.id, errors, now=self.now)
                dal.upsert_seasons(conn, lib.id, batch.seasons, now=self.now)
        self.seen.items.update(ids.values())
        self.seen.added_items += sum(1 for k in ids if k not in batch.stored)
        self.tally.written += len(records)

    def _count(self, plan: PagePlan, checked: DetailResult[Episode | Movie], final: list[ItemRecord]) -> None:
        """A page's counts that depend on its detail."""
        tally = self.tally
        if checked.failed:
            tally.errors += len(checked.failed)
            tally.detail_failures += len(checked.failed)
        tally.skipped += plan.listed - len(final)
        was_pending = {k for k, s in plan.snap.items() if s.detail_pending}
        if any(r.detail_pending != (r.rating_key in was_pending) for r in final):
            tally.pending_changed = True

    def _final_records(self, plan: PagePlan, checked: DetailResult[Episode | Movie]) -> list[ItemRecord]:
        """What to write: changed records with their file checks (or owed one), items whose owed
        check came back, and — in a deep run — items whose playability Plex now reports differently."""
        details = checked.details
        final = [
            item_record(plan.items[k], plan.digests[k], detail=details.get(k), pending=k not in details)
            for k in plan.write
        ]
        written = set(plan.write)
        for key, item in plan.items.items():
            s = plan.snap.get(key)
            if key in written or s is None or key not in details:
                continue
            done = item_record(item, plan.digests[key], detail=details[key])
            if s.detail_pending or plex_class(done.state) != plex_class(s.state):
                final.append(done)
        return final
