"""One library's run: gate, list, compare, write, finalize — the least work that proves the catalog.

The plan for a library (see docs/sync.md for the reasoning and the measured costs):

1. **Lock.** A lease on the library's lock, heartbeating from its own thread; every write
   transaction of the run is fenced by it, so a run that lost its lock writes nothing more.
2. **Gate.** The section's `contentChangedAt` (read once per server from `/library/sections`) is
   compared with the value stored after the last complete run. Unchanged, and the library's last
   complete listing younger than its verification interval: nothing is listed and no item row is
   written (items owed a file check get it). The library's `verified_at` records the confirmation.
3. **List.** Otherwise the section is walked in pages: shows (`type=2`), then every episode with its
   Media and Parts (`type=4`), or every movie (`type=1`), read ahead of the writer. Each page is
   compared with the catalog by digest in one read; only new, changed or restored items are
   written. What was seen is kept in memory, not stamped on rows.
4. **Detail.** New and changed items (every item in a deep run) get `checkFiles=1` detail, batched
   and in flight while the next page is read; a failed batch leaves its items owed a check. New and
   changed shows get their detail (every genre) the same way; one that misses it keeps the gate
   open for the next run.
5. **Finalize**, only after a listing proven complete and consistent (`ingest.listing`): present
   rows the listing did not contain become MISSING, after a re-check that the section did not
   change under the walk, re-key matching, and the library's threshold (for items, shows and
   seasons alike, measured against what the catalog held). MISSING past retention and enough
   complete listings becomes DELETED; a deep run also confirms MISSING items gone by their 404.

One fenced transaction per page, then a `PageProgress` event; finalize in its own transaction.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from retrovue.errors import LockLostError, PlexError, PlexNotFoundError
from retrovue.ingest.detail import DetailFetch, ShowDetailFetch
from retrovue.ingest.events import (
    RUN_CANCELLED,
    RUN_FAILED,
    RUN_OK,
    RUN_PARTIAL,
    EventCallback,
    LibraryDone,
    LibraryStarted,
    PageProgress,
    SyncSummary,
)
from retrovue.ingest.item_pages import GONE, ItemPages, PagePlan, Seen, Tally
from retrovue.ingest.listing import IncompleteListingError, ListingCheck, checked
from retrovue.ingest.prefetch import prefetch
from retrovue.ingest.records import apply_detail, apply_show_detail, item_record, show_record
from retrovue.ingest.rekey import Candidate, match_rekeys
from retrovue.mapping import refresh_library
from retrovue.plex import Page, PlexClient
from retrovue.plex.models import Collection, Episode, Movie, Section, Show
from retrovue.store import collections, lifecycle, maintenance, registry, rekeys, runs
from retrovue.store import items as dal
from retrovue.store import schema as t
from retrovue.store.items import ShowRecord
from retrovue.store.locks import LockLease
from retrovue.store.registry import LibraryRow, ServerRow
from retrovue.store.schema import KEY

__all__ = ["LibrarySync", "SyncOptions"]

log = logging.getLogger(__name__)
L = TypeVar("L", Show, Episode, Movie)
E = TypeVar("E", Episode, Movie)
GROWTH_ANALYZE_ROWS = 2000
"""A first sync analyzes its tables after writing this many items, then after every doubling."""
CANCELLED = "cancelled by the user; nothing was marked missing"


@dataclass(frozen=True)
class SyncOptions:
    deep: bool = False
    force: bool = False  # finalize even past the library's MISSING threshold
    page_size: int = 200
    detail_chunk: int = 100  # keys per checkFiles request: 2 per listing page of 200
    use_gate: bool = True
    resolve_local: bool = True  # re-decide ACTIVE vs REMOTE_ONLY for written items (path mappings)
    prefetch_pages: int = 2  # listing pages read ahead of the writer (memory stays page-bounded)
    heartbeat_every: float | None = None  # seconds between lock heartbeats (None: the default)


class CancelledError(Exception):
    pass


P = TypeVar("P")
Q = TypeVar("Q")


def one_ahead(pages: Iterable[P], prepare: Callable[[P], Q]) -> Iterator[tuple[Q, bool]]:
    """Each page prepared as it arrives (compared with the catalog, its detail requests started),
    handed on one page later with whether another page followed: the caller writes a page while
    the next one's detail is in flight.

    When the listing breaks (the server gone, a lie detected), the page in hand is still handed on
    before the error: a run that ends partial keeps what it was told, so a re-key it saw is matched
    by the next run instead of being taken for a new item and a MISSING one. A cancel hands on
    nothing more."""
    pending: list[Q] = []
    source = iter(pages)
    while True:
        try:
            page = next(source)
        except StopIteration:
            break
        except CancelledError:
            raise
        except Exception:
            if pending:
                yield pending.pop(), False
            raise
        plan = prepare(page)
        if pending:
            yield pending.pop(), True
        pending.append(plan)
    if pending:
        yield pending.pop(), False


@dataclass
class _ShowPlan:
    write: list[ShowRecord]  # new, changed or returning shows, from the listing
    present: set[str]  # those of them the catalog holds as present
    detail: ShowDetailFetch


@dataclass
class _Outcome:
    status: str
    reason: str | None = None
    missing: int = 0
    deleted: int = 0
    gated: bool = False
    listed: bool = False  # a complete listing: the library's listing count and stamps move
    verification: bool = False  # listed although the gate held: the verification interval was up


class LibrarySync:
    """Runs one library once. Construct, call `run()`, get a `SyncSummary`; events go to `on_event`."""

    def __init__(
        self,
        engine: sa.Engine,
        client: PlexClient,
        server: ServerRow,
        library: LibraryRow,
        section: Section | None,
        *,
        options: SyncOptions,
        on_event: EventCallback,
        cancel: threading.Event,
        clock: Callable[[], float] = time.time,
        via: tuple[str, str] | None = None,
    ) -> None:
        self.engine = engine
        self.via = via  # (connection kind, address) the server was reached at, for the summary
        self.client = client
        self.server = server
        self.library = library
        self.section = section
        self.options = options
        self.on_event = on_event
        self.cancel = cancel
        self.clock = clock
        self.tally = Tally()
        self.seen = Seen()
        self.total: int | None = None
        self.run_id: int | None = None
        self.mode = "deep" if options.deep else "incremental"
        self.ambiguous: list[str] = []
        self.now = 0
        self.listing = library.listings + 1  # this run's listing number, should it complete
        self.listed = False  # the run read a listing (whether or not it completed)
        self.pages = 0
        self.lease: LockLease | None = None
        self.shows_check: ListingCheck | None = None
        self.items_check: ListingCheck | None = None
        self.leaves = 0  # episodes the show listing announces (the run's total until episodes list)
        self.shows_owed = 0  # listed shows stored without their detail: the next run lists again
        self.collections_owed = False  # a collection could not be walked: the next run lists again

    # --- the run ------------------------------------------------------------------------------

    def run(self) -> SyncSummary:
        """Take the library's lock (LockHeldError if another sync has it), run, record, report."""
        started = time.monotonic()
        requests_before, bytes_before = self.client.request_count, self.client.bytes_read
        self.now = int(self.clock())
        lib = self.library
        outcome = _Outcome(RUN_FAILED)
        what = f"library {lib.server_name}/{lib.title}"
        with LockLease(self.engine, lib.id, what=what, every=self.options.heartbeat_every) as lease:
            self.lease = lease
            with self.engine.begin() as conn:
                lease.fence(conn)
                self.run_id = runs.start_run(conn, lib.id, mode=self.mode, now=self.now)
            self.on_event(LibraryStarted(lib.server_id, lib.id, lib.server_name, lib.title, self.mode))
            outcome = self._guarded_body()
            finished_at = int(self.clock())
            counts = self._counts(outcome, requests_before, bytes_before)
            try:
                self._record(outcome, counts, finished_at)
                self._resolve_local(outcome.status)
            except LockLostError as exc:
                outcome = replace(outcome, status=RUN_FAILED, reason=str(exc))
            except SQLAlchemyError as exc:
                outcome = replace(outcome, status=RUN_FAILED, reason=_catalog_error(exc))
                self._record_failure(outcome, counts, finished_at)
        summary = SyncSummary(
            server_id=lib.server_id,
            library_id=lib.id,
            server_name=lib.server_name,
            library_title=lib.title,
            run_id=self.run_id,
            mode=self.mode,
            status=outcome.status,
            processed=self.tally.processed,
            changed=self.tally.changed,
            skipped=self.tally.skipped,
            errors=self.tally.errors,
            missing_promoted=outcome.missing,
            deleted_promoted=outcome.deleted,
            last_synced_at=finished_at if outcome.status in (RUN_OK, RUN_PARTIAL) else lib.last_synced_at,
            requests=self.client.request_count - requests_before,
            written=self.tally.written,
            rekeyed=self.tally.rekeyed,
            ambiguous=tuple(self.ambiguous),
            reason=outcome.reason,
            gated=outcome.gated,
            elapsed_s=time.monotonic() - started,
            verification=outcome.verification,
            pages=self.pages,
            bytes=self.client.bytes_read - bytes_before,
            connection=self.via[0] if self.via else None,
            address=self.via[1] if self.via else None,
        )
        self.on_event(LibraryDone(lib.server_id, lib.id, summary))
        return summary

    def _guarded_body(self) -> _Outcome:
        """The run's work, with every way it can end turned into an outcome (never an exception)."""
        lib = self.library
        try:
            return self._body()
        except CancelledError:
            return _Outcome(RUN_CANCELLED, CANCELLED)
        except IncompleteListingError as exc:
            return _Outcome(RUN_PARTIAL, str(exc))
        except LockLostError as exc:
            return _Outcome(RUN_FAILED, str(exc))
        except PlexError as exc:
            if self.cancel.is_set():  # the request failed because the user stopped waiting
                return _Outcome(RUN_CANCELLED, CANCELLED)
            return _Outcome(RUN_FAILED, f"{exc}; nothing was marked missing")
        except SQLAlchemyError as exc:
            return _Outcome(RUN_FAILED, _catalog_error(exc))
        except Exception as exc:  # a bug or an unforeseen value: record it, never leave it 'running'
            log.exception("sync of library %s/%s failed unexpectedly", lib.server_name, lib.title)
            first = str(exc).splitlines()[0] if str(exc) else ""
            return _Outcome(
                RUN_FAILED, f"internal error ({type(exc).__name__}: {first}); nothing was marked missing"
            )

    def _counts(self, outcome: _Outcome, requests_before: int, bytes_before: int) -> runs.RunCounts:
        return runs.RunCounts(
            processed=self.tally.processed,
            changed=self.tally.changed,
            skipped=self.tally.skipped,
            errors=self.tally.errors,
            missing=outcome.missing,
            deleted=outcome.deleted,
            requests=self.client.request_count - requests_before,
            pages=self.pages,
            bytes=self.client.bytes_read - bytes_before,
        )

    def _fence(self, conn: sa.Connection) -> None:
        assert self.lease is not None
        self.lease.fence(conn)

    def _resolve_local(self, status: str) -> None:
        """Decide, for this machine, which of the library's items play from a local file
        (`mapping.refresh_library`). After every run, gated or not: it stats this machine's mapping
        roots, re-decides items under a root that came or went, and decides every item without a
        valid verdict (new, rewritten, or undecided last time), so a state is decided for every
        item a run stores, an interrupted run included. A complete listing (or a deep run)
        re-decides every item. A quiet run writes nothing here; a down root is logged and kept in
        the catalog for `retrovue sync` to report."""
        if not self.options.resolve_local:
            return
        full = self.options.deep or (self.listed and status == RUN_OK)
        try:
            refresh_library(self.engine, self.library.id, full=full)
        except SQLAlchemyError as exc:  # the Plex side of the run is recorded: report, do not undo it
            log.warning(
                "%s/%s: local states not decided: %s",
                self.library.server_name,
                self.library.title,
                str(exc).splitlines()[0],
            )

    def _record(self, outcome: _Outcome, counts: runs.RunCounts, now: int) -> None:
        """The run's row in sync_runs and the library's stamps, fenced like every other write."""
        values: dict[str, object] = {"last_sync_status": outcome.status}
        if outcome.status in (RUN_OK, RUN_PARTIAL):
            values["last_synced_at"] = now
        if outcome.status == RUN_OK and self.section is not None:
            # Only a complete run may vouch for the section's state: the gate trusts this value.
            # A listing that came back empty vouches for nothing (a drive offline behind Plex looks
            # the same as an empty library): the next run lists again, one request.
            empty = outcome.listed and self.items_check is not None and self.items_check.received == 0
            # shows owed their detail, collections owed a walk: the gate must not hold next time
            owed = self.shows_owed > 0 or self.collections_owed
            values["content_changed_at"] = None if empty or owed else self.section.content_changed_at
            values["verified_at"] = self.now
        if outcome.status == RUN_OK and outcome.listed:
            values["listed_at"] = self.now
            values["listings"] = self.listing
        with self.engine.begin() as conn:
            self._fence(conn)
            if self.tally.pending_changed:
                values["pending_detail"] = dal.count_pending_detail(conn, self.library.id)
            assert self.run_id is not None
            runs.finish_run(
                conn, self.run_id, status=outcome.status, counts=counts, now=now, error_text=outcome.reason
            )
            registry.record_library_run(conn, self.library.id, **values)

    def _record_failure(self, outcome: _Outcome, counts: runs.RunCounts, now: int) -> None:
        """The catalog refused the run's record (a full disk, say): try the one small write that
        keeps the history honest — the run `failed` — and leave everything else as it was."""
        try:
            with self.engine.begin() as conn:
                assert self.run_id is not None
                runs.finish_run(
                    conn, self.run_id, status=RUN_FAILED, counts=counts, now=now, error_text=outcome.reason
                )
        except SQLAlchemyError as exc:  # the next run that takes the lock closes it as interrupted
            log.warning("could not record run %s: %s", self.run_id, str(exc).splitlines()[0])

    def _body(self) -> _Outcome:
        lib, section = self.library, self.section
        if section is None:
            return _Outcome(
                RUN_FAILED,
                f"section {lib.section_key} ({lib.title}) is no longer on server {lib.server_name}; "
                "run `retrovue libraries` to refresh, nothing was marked missing",
            )
        if lib.section_uuid and section.uuid and lib.section_uuid != section.uuid:
            return _Outcome(
                RUN_FAILED,
                f"section {lib.section_key} of server {lib.server_name} is now a different library "
                f"({section.title!r}, another uuid); nothing was changed — run `retrovue libraries` "
                "to see the server's libraries",
            )
        gate = self._gate_holds(section)
        if gate and not self._verification_due():
            return self._gated()
        self.listed = True
        with ThreadPoolExecutor(self.client.max_concurrency, thread_name_prefix="detail") as executor:
            if lib.kind == "show":
                self._walk_shows(section, executor)
                self._walk_items(self.client.iter_episodes(section.key), executor)
            else:
                self._walk_items(self.client.iter_movies(section.key), executor)
        missing, deleted = self._finalize()
        self._sync_collections(section)
        if self.options.deep and self.tally.detail_failures:
            return _Outcome(
                RUN_PARTIAL,
                f"the listing was complete, but Plex's file check failed for {self.tally.detail_failures} "
                "items; run the deep sync again to check them",
                missing,
                deleted,
                listed=True,
            )
        return _Outcome(RUN_OK, None, missing, deleted, listed=True, verification=gate)

    def _gate_holds(self, section: Section) -> bool:
        lib = self.library
        return (
            self.options.use_gate
            and not self.options.deep
            and lib.last_sync_status == RUN_OK
            and lib.content_changed_at is not None
            and section.content_changed_at is not None
            and lib.content_changed_at == section.content_changed_at
        )

    def _verification_due(self) -> bool:
        """The gate trusts Plex's `contentChangedAt`; a library not listed completely for its
        verification interval (default 24 h; 0 = every run) is listed anyway, to catch what Plex
        may not count as a change. A last listing in the future (a clock set back) counts as due."""
        lib = self.library
        if lib.listed_at is None:
            return True
        age = self.now - lib.listed_at
        return age < 0 or age >= lib.verify_hours * 3600

    def _gated(self) -> _Outcome:
        lib = self.library
        if lib.pending_detail:
            self._retry_pending_detail()
        with self.engine.begin() as conn:
            self._fence(conn)
            deleted = self._promote_deleted(conn, listings=lib.listings)
        self._progress("items")
        return _Outcome(RUN_OK, None, 0, deleted, gated=True)

    def _retry_pending_detail(self) -> None:
        """Items stored without their file check get it now, even though nothing was listed."""
        lib = self.library
        with self.engine.connect() as conn:
            owed = dal.pending_detail_keys(conn, lib.id)
        result = DetailFetch(self.client, None, list(owed), self.options.detail_chunk).result()
        records = []
        for key, detail in result.details.items():
            if (snap := owed.get(key)) is not None:
                fresh = apply_detail(item_record(detail), detail)
                records.append(replace(fresh, digest=snap.digest or ""))
        if result.failed:
            self.tally.errors += len(result.failed)
            self.tally.detail_failures += len(result.failed)
        if records:
            with self.engine.begin() as conn:
                self._fence(conn)
                dal.upsert_items(
                    conn,
                    lib.server_id,
                    lib.id,
                    records,
                    now=self.now,
                    run_id=self.run_id,
                    listing=self.listing,
                )
            self.tally.written += len(records)
            self.tally.pending_changed = True
        self._progress("details")

    # --- listing ----------------------------------------------------------------------------------

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise CancelledError

    def _read(self, pages: Iterable[Page[L]]) -> Iterator[Page[L]]:
        """A listing read ahead of the writer, checked for cancel between pages."""
        for page in prefetch(pages, self.options.prefetch_pages, name=f"list-{self.library.id}"):
            self._check_cancel()
            self.pages += 1
            yield page

    def _walk_shows(self, section: Section, executor: Executor) -> None:
        """Show pages, each compared with the catalog and its new and changed shows' detail started
        (every genre: a listing carries the first ones) one page ahead of the page being written."""
        check = ListingCheck("shows")
        self.shows_check = check
        self.leaves = 0
        pages = checked(self._read(self.client.iter_shows(section.key)), check)
        for plan, _ in one_ahead(pages, lambda page: self._prepare_shows(page, executor)):
            self._write_shows(plan)
        self.total = self.leaves or None

    def _prepare_shows(self, page: Page[Show], executor: Executor) -> _ShowPlan:
        lib = self.library
        records = {s.rating_key: show_record(s) for s in page.items if len(s.rating_key) <= KEY}
        self.tally.errors += len(page.items) - len(records) + len(page.errors)
        self.leaves += sum(s.leaf_count or 0 for s in page.items)
        keyed = [e.rating_key for e in page.errors if e.rating_key and len(e.rating_key) <= KEY]
        with self.engine.connect() as conn:
            snap = dal.show_snapshot(conn, lib.id, list(records))
        write = [
            replace(r, children_hydrated=bool(s and s.children_hydrated))
            for k, r in records.items()
            if (s := snap.get(k)) is None or s.show_digest != r.show_digest or s.state in GONE
        ]
        self.seen.shows.update(records)
        self.seen.shows.update(keyed)
        self.seen.listed_shows.update(records)
        self.seen.listed_shows.update(keyed)
        self.seen.added_shows += sum(1 for k in records if k not in snap)
        present = {r.rating_key for r in write if (s := snap.get(r.rating_key)) and s.state not in GONE}
        keys = [r.rating_key for r in write]
        detail = ShowDetailFetch(self.client, executor, keys, self.options.detail_chunk)
        return _ShowPlan(write, present, detail)

    def _write_shows(self, plan: _ShowPlan) -> None:
        """Changed shows with their detail. A show whose detail did not come is owed it by the next
        listing: a stored one is left as it was (its old digest differs from the listing's), a new
        or returning one is stored from its listing with an empty digest; and the run does not vouch
        for the section's `contentChangedAt`, so the next run lists again."""
        result = plan.detail.result()
        final = []
        for record in plan.write:
            if (detail := result.details.get(record.rating_key)) is not None:
                final.append(apply_show_detail(record, detail))
                continue
            self.shows_owed += 1
            if record.rating_key not in plan.present:
                final.append(replace(record, show_digest=""))
        self.tally.errors += len(result.failed)
        if final:
            with self.engine.begin() as conn:
                self._fence(conn)
                dal.upsert_shows(conn, self.library.id, final, now=self.now, run_id=self.run_id)
        self._progress("shows")

    def _walk_items(self, pages: Iterator[Page[E]], executor: Executor) -> None:
        """Pages are prepared (compared, detail started) one ahead of the page being written."""
        check = ListingCheck("episodes" if self.library.kind == "show" else "movies")
        self.items_check = check
        writer = ItemPages(
            self.engine,
            self.client,
            self.library,
            executor=executor,
            fence=self._fence,
            deep=self.options.deep,
            detail_chunk=self.options.detail_chunk,
            run_id=self.run_id,
            listing=self.listing,
            now=self.now,
            seen=self.seen,
            tally=self.tally,
        )
        analyze_at = GROWTH_ANALYZE_ROWS

        def prepare(page: Page[E]) -> PagePlan:
            if page.total_size is not None:
                self.total = page.total_size
            return writer.prepare(page)

        for plan, more in one_ahead(checked(self._read(pages), check), prepare):
            writer.write(plan)
            self._progress("items")
            if more and self.tally.written >= analyze_at:  # a growing library: keep its plans right
                maintenance.analyze_if_grown(self.engine, ("media_items", "media_parts"))
                analyze_at = 2 * self.tally.written

    # --- collections ------------------------------------------------------------------------------

    def _sync_collections(self, section: Section) -> None:
        """Plex collections, after a complete listing (never in a gated run): one listing of the
        section's collections, each with its own `updatedAt` and `childCount`; only a collection
        whose digest of those (and its title) moved, or a smart one, has its members walked and
        written (`store.collections`); one Plex no longer lists is forgotten. A membership changed
        through the collection moves neither the item's `updatedAt` nor, beyond its first ones, the
        listing's `Collection` tags: this is what sees it. A request that fails leaves the
        memberships as they were and the next run lists again."""
        lib = self.library
        check = ListingCheck("collections")
        try:
            listed = [
                c
                for page in checked(self.client.iter_collections(section.key), check)
                for c in page.items
                if len(c.rating_key) <= KEY
            ]
        except PlexNotFoundError:  # a server without collection objects: tags are all there is
            return
        except PlexError as exc:
            self._collections_failed(exc)
            return
        with self.engine.connect() as conn:
            stored = collections.stored_collections(conn, lib.id)
        for found in listed:
            digest = _collection_digest(found)
            was = stored.get(found.rating_key)
            if was is not None and was[1] == digest and not found.smart:
                continue
            members = ListingCheck("collection members")
            try:
                keys = [
                    m.rating_key
                    for page in checked(self.client.iter_collection_members(found.rating_key), members)
                    for m in page.items
                ]
            except PlexError as exc:
                self._collections_failed(exc)
                continue
            if members.problem() is not None:
                self.collections_owed = True
                continue
            with self.engine.begin() as conn:
                self._fence(conn)
                collections.set_members(
                    conn,
                    lib.id,
                    lib.kind,
                    rating_key=found.rating_key,
                    title=found.title,
                    digest=digest,
                    members=keys,
                    was=was[0] if was is not None else None,
                    now=self.now,
                    run_id=self.run_id,
                )
        if check.problem() is not None:
            self.collections_owed = True  # a collection missing from this listing may still exist
            return
        gone = set(stored) - {c.rating_key for c in listed}
        if gone:
            with self.engine.begin() as conn:
                self._fence(conn)
                for key in sorted(gone):
                    collections.forget_collection(
                        conn,
                        lib.id,
                        lib.kind,
                        rating_key=key,
                        title=stored[key][0],
                        now=self.now,
                        run_id=self.run_id,
                    )

    def _collections_failed(self, exc: PlexError) -> None:
        """Memberships stay as they were (finalize is done: the run is not failed for this)."""
        self.collections_owed = True
        self.tally.errors += 1
        log.warning("%s/%s: collections not read: %s", self.library.server_name, self.library.title, exc)

    # --- finalize ---------------------------------------------------------------------------------

    def _finalize(self) -> tuple[int, int]:
        self._check_cancel()
        lib = self.library
        for check in (self.shows_check, self.items_check):
            if check is not None:
                check.raise_if_incomplete()
        if lib.kind == "show" and (left_out := self.seen.shows - self.seen.listed_shows):
            # Episodes name a show the show listing did not give: that listing is not complete (a
            # new show would never be stored, a renamed one keep its old title, behind the gate).
            raise IncompleteListingError(
                f"the shows listing left out {len(left_out)} shows that listed episodes belong to; "
                "nothing was marked missing, run sync again"
            )
        with self.engine.connect() as conn:
            held, unseen_list = dal.present_not_in(conn, lib.id, self.seen.items)
            shows = dal.present_keys(conn, t.shows, lib.id) if lib.kind == "show" else set()
            seasons = dal.present_keys(conn, t.seasons, lib.id) if lib.kind == "show" else set()
        unseen = set(unseen_list)
        unseen_shows = shows - self.seen.shows
        unseen_seasons = seasons - self.seen.seasons
        if unseen or self.seen.added_items:
            unseen = self._carry_identities(unseen)
        if unseen or unseen_shows or unseen_seasons:
            self._check_section_unchanged()
            if not self.options.force:
                self._within_threshold("items", len(unseen), held - self.seen.added_items)
                self._within_threshold("shows", len(unseen_shows), len(shows) - self.seen.added_shows)
                self._within_threshold("seasons", len(unseen_seasons), len(seasons) - self.seen.added_seasons)
        self._progress("finalize")
        with self.engine.begin() as conn:
            self._fence(conn)
            missing = lifecycle.mark_missing(
                conn,
                lib.id,
                sorted(unseen),
                now=self.now,
                listing=self.listing,
                confirmed_at=lib.verified_at,
                run_id=self.run_id,
            )
            if lib.kind == "show":
                for table, keys in ((t.shows, unseen_shows), (t.seasons, unseen_seasons)):
                    lifecycle.mark_missing_keys(
                        conn, table, lib.id, sorted(keys), now=self.now, listing=self.listing
                    )
                dal.mark_children_hydrated(conn, lib.id)
            deleted = self._promote_deleted(conn, listings=self.listing)
        if self.options.deep:
            deleted += self._confirm_deleted()
        return missing, deleted

    def _promote_deleted(self, conn: sa.Connection, *, listings: int) -> int:
        """MISSING past retention and `listings` complete listings later becomes DELETED (a gated
        run passes the library's count unchanged: quiet runs do not bring deletion closer)."""
        return lifecycle.promote_deleted_past_retention(
            conn,
            self.library.id,
            now=self.now,
            retention_days=self.library.retention_days,
            listings=listings,
            run_id=self.run_id,
        )

    def _within_threshold(self, what: str, would: int, held: int) -> None:
        """Refuse a finalize that would mark more than the library's threshold of what the catalog
        held before this run (items it just added do not dilute the share)."""
        lib = self.library
        share = would * 100 / held if held > 0 else 0
        if share > lib.missing_threshold_pct:
            raise IncompleteListingError(
                f"the listing would mark {would} of {held} {what} MISSING ({share:.0f}% > the "
                f"library's {lib.missing_threshold_pct}% threshold) — is a drive offline behind Plex? "
                "Nothing was marked; run with --force if they are really gone"
            )

    def _carry_identities(self, unseen: set[int]) -> set[int]:
        """Re-keyed items keep their catalog row (see `ingest.rekey`): vanished rows are paired with
        rows that appeared since they were last listed, in this run or an earlier partial one.
        Returns the unseen ids that are still unaccounted for."""
        lib = self.library
        with self.engine.connect() as conn:
            vanished, appeared = rekeys.rekey_candidates(
                conn, lib.id, unseen_ids=sorted(unseen), seen_ids=self.seen.items, listings=lib.listings
            )
        if not vanished or not appeared:
            return unseen
        plan = match_rekeys([Candidate(*row) for row in vanished], [Candidate(*row) for row in appeared])
        self.ambiguous.extend(plan.ambiguous)
        if not plan.pairs:
            return unseen
        pairs = [(old.item_id, new.item_id) for old, new in plan.pairs]
        with self.engine.begin() as conn:
            self._fence(conn)
            rekeys.merge_rekeyed(conn, lib.id, pairs, now=self.now, run_id=self.run_id)
        for old, new in pairs:
            self.seen.items.discard(new)
            self.seen.items.add(old)
            if old in unseen:
                unseen = unseen - {old}
                self.seen.added_items -= 1  # the twin counted as added is the held row, kept
        self.tally.rekeyed += len(pairs)
        self.tally.changed -= len(pairs)
        return unseen

    def _check_section_unchanged(self) -> None:
        """Before marking anything missing, make sure the section did not change under the walk
        (an insert or delete shifts later pages, which could hide an item that still exists)."""
        assert self.section is not None
        now_sections = {s.key: s for s in self.client.sections()}
        current = now_sections.get(self.section.key)
        if (
            current is None
            or current.content_changed_at != self.section.content_changed_at
            or current.uuid != self.section.uuid
        ):
            raise IncompleteListingError(
                "the library changed on the server while it was being read; nothing was marked "
                "missing, run sync again"
            )

    def _confirm_deleted(self) -> int:
        """Deep runs: a MISSING item whose metadata request 404s is gone for good (DELETED)."""
        with self.engine.connect() as conn:
            keys = dal.missing_rating_keys(conn, self.library.id)
        if not keys:
            return 0
        result = DetailFetch(self.client, None, keys, self.options.detail_chunk).result()
        gone = [k for k in keys if k not in result.details and k not in result.failed]
        with self.engine.begin() as conn:
            self._fence(conn)
            return lifecycle.confirm_deleted(conn, self.library.id, gone, now=self.now, run_id=self.run_id)

    def _progress(self, phase: str) -> None:
        lib = self.library
        tally = self.tally
        self.on_event(
            PageProgress(
                lib.server_id,
                lib.id,
                tally.processed,
                self.total,
                tally.changed,
                tally.skipped,
                tally.errors,
                phase,
            )
        )


def _collection_digest(found: Collection) -> str:
    """What says a collection's members may have moved: its title, `updatedAt` and `childCount`."""
    text = "\x00".join(str(v) for v in (found.title, found.updated_at, found.child_count, found.smart))
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def _catalog_error(exc: SQLAlchemyError) -> str:
    return f"catalog error: {type(exc).__name__}: {str(exc).splitlines()[0]}"
