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

This module is the orchestrator: it holds the run's state and its order. Each step's work lives in
a module of its own — the gate in `gate`, show pages in `show_pages`, episode and movie pages in
`item_pages`, MISSING/DELETED in `finalize`, Plex collections in `collections_pass`, and what they
share (options, outcome, cancel, `one_ahead`) in `sync_common`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import replace
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from retrovue.errors import LockLostError, PlexError
from retrovue.ingest.collections_pass import CollectionsPass
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
from retrovue.ingest.finalize import Finalize, promote_deleted
from retrovue.ingest.gate import gate_holds, retry_pending_detail, verification_due
from retrovue.ingest.item_pages import ItemPages, PagePlan
from retrovue.ingest.listing import IncompleteListingError, ListingCheck, checked
from retrovue.ingest.prefetch import prefetch
from retrovue.ingest.run_scope import RunScope, Seen, Tally
from retrovue.ingest.show_pages import ShowPages
from retrovue.ingest.sync_common import CancelledError, Outcome, SyncOptions, catalog_error, one_ahead
from retrovue.mapping import refresh_library
from retrovue.plex import Page, PlexClient
from retrovue.plex.models import Episode, Movie, Section, Show
from retrovue.store import items as dal
from retrovue.store import maintenance, registry, runs
from retrovue.store.locks import LockLease
from retrovue.store.registry import LibraryRow, ServerRow

# CancelledError and one_ahead are re-exported: tests and callers have long imported them from here.
__all__ = ["CancelledError", "LibrarySync", "SyncOptions", "one_ahead"]

log = logging.getLogger(__name__)
L = TypeVar("L", Show, Episode, Movie)
E = TypeVar("E", Episode, Movie)
GROWTH_ANALYZE_ROWS = 2000
"""A first sync analyzes its tables after writing this many items, then after every doubling."""
CANCELLED = "cancelled by the user; nothing was marked missing"


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
        self.pages = 0
        self.lease: LockLease | None = None
        self.shows_check: ListingCheck | None = None
        self.items_check: ListingCheck | None = None
        self.shows_owed = 0  # listed shows stored without their detail: the next run lists again
        self.collections_owed = False  # a collection could not be walked: the next run lists again
        self.empty = False  # the library held no item when the run began (`ItemPages._stored`)

    # --- the run ------------------------------------------------------------------------------

    def run(self) -> SyncSummary:
        """Take the library's lock (LockHeldError if another sync has it), run, record, report."""
        started = time.monotonic()
        requests_before, bytes_before = self.client.request_count, self.client.bytes_read
        self.now = int(self.clock())
        lib = self.library
        outcome = Outcome(RUN_FAILED)
        what = f"library {lib.server_name}/{lib.title}"
        with LockLease(self.engine, lib.id, what=what, every=self.options.heartbeat_every) as lease:
            self.lease = lease
            with self.engine.begin() as conn:
                lease.fence(conn)
                self.run_id = runs.start_run(conn, lib.id, mode=self.mode, now=self.now)
                self.empty = dal.holds_no_items(conn, lib.id)
            self.on_event(LibraryStarted(lib.server_id, lib.id, lib.server_name, lib.title, self.mode))
            outcome = self._guarded_body()
            finished_at = int(self.clock())
            counts = self._counts(outcome, requests_before, bytes_before)
            try:
                self._record(outcome, counts, finished_at)
                self._resolve_local(outcome)
            except LockLostError as exc:
                outcome = replace(outcome, status=RUN_FAILED, reason=str(exc))
            except SQLAlchemyError as exc:
                outcome = replace(outcome, status=RUN_FAILED, reason=catalog_error(exc))
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

    def _guarded_body(self) -> Outcome:
        """The run's work, with every way it can end turned into an outcome (never an exception)."""
        lib = self.library
        try:
            return self._body()
        except CancelledError:
            return Outcome(RUN_CANCELLED, CANCELLED)
        except IncompleteListingError as exc:
            return Outcome(RUN_PARTIAL, str(exc))
        except LockLostError as exc:
            return Outcome(RUN_FAILED, str(exc))
        except PlexError as exc:
            if self.cancel.is_set():  # the request failed because the user stopped waiting
                return Outcome(RUN_CANCELLED, CANCELLED)
            return Outcome(RUN_FAILED, f"{exc}; nothing was marked missing")
        except SQLAlchemyError as exc:
            return Outcome(RUN_FAILED, catalog_error(exc))
        except Exception as exc:  # a bug or an unforeseen value: record it, never leave it 'running'
            log.exception("sync of library %s/%s failed unexpectedly", lib.server_name, lib.title)
            first = str(exc).splitlines()[0] if str(exc) else ""
            return Outcome(
                RUN_FAILED, f"internal error ({type(exc).__name__}: {first}); nothing was marked missing"
            )

    def _counts(self, outcome: Outcome, requests_before: int, bytes_before: int) -> runs.RunCounts:
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

    def _resolve_local(self, outcome: Outcome) -> None:
        """Decide, for this machine, which of the library's items play from a local file
        (`mapping.refresh_library`). After every run, gated or not: it stats this machine's mapping
        roots, re-decides items under a root that came or went, and decides every item without a
        valid verdict (new, rewritten, or undecided last time), so a state is decided for every
        item a run stores, an interrupted run included. Every item is re-decided by a deep run and
        once per verification interval (`verify_hours`, default a day), whatever the run, so a file
        copied in behind Plex's back is found within a day (`retrovue paths apply` finds it at
        once). A listing does not re-decide every item: checking every file of a library because
        some other item changed cost a listing run more than the listing itself (2-4 s per 100,000
        items, and a `stat` per file on a network share). A quiet run writes nothing here; a down
        root is logged and kept in the catalog for `retrovue sync` to report."""
        if not self.options.resolve_local:
            return
        every = self.library.verify_hours * 3600
        try:
            refresh_library(
                self.engine,
                self.library.id,
                full=self.options.deep,
                full_every=every,
                wrote=bool(self.tally.written or self.tally.rekeyed or outcome.missing or outcome.deleted),
            )
        except SQLAlchemyError as exc:  # the Plex side of the run is recorded: report, do not undo it
            log.warning(
                "%s/%s: local states not decided: %s",
                self.library.server_name,
                self.library.title,
                str(exc).splitlines()[0],
            )

    def _record(self, outcome: Outcome, counts: runs.RunCounts, now: int) -> None:
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

    def _record_failure(self, outcome: Outcome, counts: runs.RunCounts, now: int) -> None:
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

    def _body(self) -> Outcome:
        lib, section = self.library, self.section
        if section is None:
            return Outcome(
                RUN_FAILED,
                f"section {lib.section_key} ({lib.title}) is no longer on server {lib.server_name}; "
                "run `retrovue libraries` to refresh, nothing was marked missing",
            )
        if lib.section_uuid and section.uuid and lib.section_uuid != section.uuid:
            return Outcome(
                RUN_FAILED,
                f"section {lib.section_key} of server {lib.server_name} is now a different library "
                f"({section.title!r}, another uuid); nothing was changed — run `retrovue libraries` "
                "to see the server's libraries",
            )
        gate = gate_holds(lib, section, self.options)
        if gate and not verification_due(lib, self.now):
            return self._gated()
        with ThreadPoolExecutor(self.client.max_concurrency, thread_name_prefix="detail") as executor:
            if lib.kind == "show":
                self._walk_shows(section, executor)
                self._walk_items(self.client.iter_episodes(section.key), executor)
            else:
                self._walk_items(self.client.iter_movies(section.key), executor)
        missing, deleted = self._finalize(section)
        self._sync_collections(section)
        if self.options.deep and self.tally.detail_failures:
            return Outcome(
                RUN_PARTIAL,
                f"the listing was complete, but Plex's file check failed for {self.tally.detail_failures} "
                "items; run the deep sync again to check them",
                missing,
                deleted,
                listed=True,
            )
        return Outcome(RUN_OK, None, missing, deleted, listed=True, verification=gate)

    def _gated(self) -> Outcome:
        lib = self.library
        if lib.pending_detail:  # items stored without their file check get it now
            retry_pending_detail(
                self.engine,
                self.client,
                lib,
                fence=self._fence,
                detail_chunk=self.options.detail_chunk,
                now=self.now,
                run_id=self.run_id,
                listing=self.listing,
                tally=self.tally,
            )
            self._progress("details")
        with self.engine.begin() as conn:
            self._fence(conn)
            deleted = promote_deleted(conn, lib, now=self.now, listings=lib.listings, run_id=self.run_id)
        self._progress("items")
        return Outcome(RUN_OK, None, 0, deleted, gated=True)

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
        """Show pages (`show_pages`), each compared with the catalog and its new and changed shows'
        detail started (every genre: a listing carries the first ones) one page ahead of the page
        being written."""
        check = ListingCheck("shows")
        self.shows_check = check
        writer = ShowPages(self._scope(), executor=executor, detail_chunk=self.options.detail_chunk)
        pages = checked(self._read(self.client.iter_shows(section.key)), check)
        try:
            for plan, _ in one_ahead(pages, writer.prepare):
                writer.write(plan)
                self._progress("shows")
        finally:
            self.shows_owed += writer.owed
        self.total = writer.leaves or None

    def _walk_items(self, pages: Iterator[Page[E]], executor: Executor) -> None:
        """Pages are prepared (compared, detail started) one ahead of the page being written."""
        check = ListingCheck("episodes" if self.library.kind == "show" else "movies")
        self.items_check = check
        writer = ItemPages(
            self._scope(),
            executor=executor,
            deep=self.options.deep,
            detail_chunk=self.options.detail_chunk,
            empty=self.empty,
        )
        analyze_at = GROWTH_ANALYZE_ROWS

        def prepare(page: Page[E]) -> PagePlan:
            if page.total_size is not None:
                self.total = page.total_size
            return writer.prepare(page)

        try:
            for plan, more in one_ahead(checked(self._read(pages), check), prepare):
                writer.write(plan)
                self._progress("items")
                if more and self.tally.written >= analyze_at:  # a growing library: keep its plans right
                    maintenance.analyze_if_grown(self.engine, ("media_items", "media_parts"))
                    analyze_at = 2 * self.tally.written
        except BaseException as exc:
            # Pages written before a cancel or a Plex error are stored, as they were before pages
            # were queued (`ItemPages.flush`); not when the catalog itself failed or the lock was lost.
            if not isinstance(exc, (SQLAlchemyError, LockLostError)):
                writer.flush()
            raise
        writer.flush()

    # --- after the listing ------------------------------------------------------------------------

    def _finalize(self, section: Section) -> tuple[int, int]:
        """MISSING and DELETED decisions (`ingest.finalize`), after a complete listing."""
        self._check_cancel()
        return Finalize(
            self._scope(), section, options=self.options, progress=self._progress, ambiguous=self.ambiguous
        ).run((self.shows_check, self.items_check))

    def _sync_collections(self, section: Section) -> None:
        """Plex collections (`ingest.collections_pass`), after finalize; one that could not be
        walked keeps the gate open for the next run."""
        collections = CollectionsPass(self._scope())
        try:
            collections.run(section)
        finally:
            self.collections_owed = self.collections_owed or collections.owed

    def _scope(self) -> RunScope:
        """The run as its steps see it (built when a step starts: the run id and clock are set by then)."""
        return RunScope(
            engine=self.engine,
            client=self.client,
            library=self.library,
            fence=self._fence,
            run_id=self.run_id,
            listing=self.listing,
            now=self.now,
            seen=self.seen,
            tally=self.tally,
        )

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
