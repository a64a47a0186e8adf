"""One library's run: gate, list, compare, write, finalize — the least work that proves the catalog.

The plan for a library (see docs/sync.md for the reasoning and the measured costs):

1. **Gate.** The section's `contentChangedAt` (read once per server from `/library/sections`) is
   compared with the value stored after the last complete run. Unchanged: nothing is listed; the
   library's items are touched in one statement per table and the run is done.
2. **List.** Otherwise the section is walked in pages: shows (`type=2`), then every episode with its
   Media and Parts (`type=4`), or every movie (`type=1`). Each page is compared with the catalog by
   digest in one read; only new or changed items are written, the rest are touched in one statement.
   A section-wide episode listing is what catches a replaced file (new Part size and key, unchanged
   `updatedAt`); per-show expansion would cost a request per show, per-episode detail one per item.
3. **Detail.** New and changed items (every item in a deep run) get `checkFiles=1` detail, batched
   (`/library/metadata/a,b,c`) with a few requests in flight, for Part `accessible`/`exists` and
   streams.
4. **Finalize**, only after a complete listing: unseen items become MISSING, MISSING past retention
   DELETED (a deep run also confirms MISSING items gone by their 404). Not when a page failed, the
   run was cancelled, an entry could not be read, the listing shifted under us, or the run would mark
   more than the library's threshold MISSING (a drive unmounted behind Plex) — then the run ends
   `partial` and marks nothing. Never a false MISSING.

One transaction per page, then a `PageProgress` event; finalize in its own transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from retrovue.errors import PlexBadResponseError, PlexError, PlexNotFoundError, PlexUnreachableError
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
from retrovue.ingest.records import apply_detail, item_record, season_record, show_record
from retrovue.ingest.rekey import Candidate, match_rekeys
from retrovue.mapping import refresh_library
from retrovue.plex import Page, PlexClient
from retrovue.plex.models import Episode, Movie, Section, Show
from retrovue.states import ItemState
from retrovue.store import items as dal
from retrovue.store import runs
from retrovue.store import schema as t
from retrovue.store.items import ItemRecord, ItemSnapshot, SeasonRecord
from retrovue.store.registry import LibraryRow, ServerRow
from retrovue.store.schema import KEY

__all__ = ["LibrarySync", "SyncOptions"]

GONE = (ItemState.MISSING.value, ItemState.DELETED.value)
T = TypeVar("T", bound=Show | Episode | Movie)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncOptions:
    deep: bool = False
    force: bool = False  # finalize even past the library's MISSING threshold
    page_size: int = 200
    detail_chunk: int = 100  # keys per checkFiles request: 2 per listing page of 200
    use_gate: bool = True
    resolve_local: bool = True  # re-decide ACTIVE vs REMOTE_ONLY for written items (path mappings)


class CancelledError(Exception):
    pass


class IncompleteListingError(Exception):
    """The run cannot prove the listing complete: keep what was written, mark nothing missing."""


@dataclass
class _Tally:
    processed: int = 0
    changed: int = 0
    skipped: int = 0
    errors: int = 0
    unreadable: int = 0  # listing entries without a rating key: they cannot be touched
    written: int = 0
    rekeyed: int = 0
    detail_failures: int = 0


def needs_write(snap: ItemSnapshot | None, record: ItemRecord) -> bool:
    """New, changed by digest, never fully stored, or coming back from MISSING/DELETED."""
    return snap is None or not snap.digest or snap.digest != record.digest or snap.state in GONE


def plex_class(state: str) -> str:
    """What Plex's data says of a state: UNAVAILABLE, or playable (ACTIVE and REMOTE_ONLY alike)."""
    return "unavailable" if state == ItemState.UNAVAILABLE.value else "playable"


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
    ) -> None:
        self.engine = engine
        self.client = client
        self.server = server
        self.library = library
        self.section = section
        self.options = options
        self.on_event = on_event
        self.cancel = cancel
        self.clock = clock
        self.tally = _Tally()
        self.total: int | None = None
        self.run_id: int | None = None
        self.mode = "deep" if options.deep else "incremental"
        self.ambiguous: list[str] = []
        self.run_start: int | None = None  # the stamp of rows this run wrote (None: nothing listed)

    # --- the run ------------------------------------------------------------------------------

    def run(self) -> SyncSummary:
        """Take the library's lock (LockHeldError if another sync has it), run, record, report."""
        started = time.monotonic()
        requests_before = self.client.request_count
        now = int(self.clock())
        lib = self.library
        owner = runs.acquire_lock(self.engine, lib.id, now=now, what=f"library {lib.server_name}/{lib.title}")
        status, reason, missing, deleted, gated, finished_at = RUN_FAILED, None, 0, 0, False, now
        try:
            with self.engine.begin() as conn:
                self.run_id = runs.start_run(conn, lib.id, mode=self.mode, now=now)
            self.on_event(LibraryStarted(lib.server_id, lib.id, lib.server_name, lib.title, self.mode))
            try:
                status, reason, missing, deleted, gated = self._body(now, owner)
            except CancelledError:
                status, reason = RUN_CANCELLED, "cancelled by the user; nothing was marked missing"
            except IncompleteListingError as exc:
                status, reason = RUN_PARTIAL, str(exc)
            except PlexError as exc:
                if self.cancel.is_set():  # the request failed because the user stopped waiting
                    status, reason = RUN_CANCELLED, "cancelled by the user; nothing was marked missing"
                else:
                    status, reason = RUN_FAILED, f"{exc}; nothing was marked missing"
            except SQLAlchemyError as exc:
                status, reason = (
                    RUN_FAILED,
                    f"catalog error: {type(exc).__name__}: {str(exc).splitlines()[0]}",
                )
            except Exception as exc:  # a bug or an unforeseen value: record it, never leave it 'running'
                log.exception("sync of library %s/%s failed unexpectedly", lib.server_name, lib.title)
                first = str(exc).splitlines()[0] if str(exc) else ""
                status, reason = (
                    RUN_FAILED,
                    f"internal error ({type(exc).__name__}: {first}); nothing was marked missing",
                )
            finished_at = int(self.clock())
            self._record(status, reason, missing, deleted, gated, finished_at)
            self._resolve_local(status)
        finally:
            runs.release_lock(self.engine, lib.id, owner)
        summary = SyncSummary(
            server_id=lib.server_id,
            library_id=lib.id,
            server_name=lib.server_name,
            library_title=lib.title,
            run_id=self.run_id,
            mode=self.mode,
            status=status,
            processed=self.tally.processed,
            changed=self.tally.changed,
            skipped=self.tally.skipped,
            errors=self.tally.errors,
            missing_promoted=missing,
            deleted_promoted=deleted,
            last_synced_at=finished_at if status in (RUN_OK, RUN_PARTIAL) else lib.last_synced_at,
            requests=self.client.request_count - requests_before,
            written=self.tally.written,
            rekeyed=self.tally.rekeyed,
            ambiguous=tuple(self.ambiguous),
            reason=reason,
            gated=gated,
            elapsed_s=time.monotonic() - started,
        )
        self.on_event(LibraryDone(lib.server_id, lib.id, summary))
        return summary

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
        full = self.options.deep or (self.run_start is not None and status == RUN_OK)
        try:
            refresh_library(self.engine, self.library.id, full=full)
        except SQLAlchemyError as exc:  # the Plex side of the run is recorded: report, do not undo it
            log.warning(
                "%s/%s: local states not decided: %s",
                self.library.server_name,
                self.library.title,
                str(exc).splitlines()[0],
            )

    def _record(
        self, status: str, reason: str | None, missing: int, deleted: int, gated: bool, now: int
    ) -> None:
        counts = runs.RunCounts(
            processed=self.tally.processed,
            changed=self.tally.changed,
            skipped=self.tally.skipped,
            errors=self.tally.errors,
            missing=missing,
            deleted=deleted,
            requests=0,
        )
        values: dict[str, object] = {"last_sync_status": status}
        if status in (RUN_OK, RUN_PARTIAL):
            values["last_synced_at"] = now
        if status == RUN_OK and self.section is not None:
            # Only a complete run may vouch for the section's state: the gate trusts this value.
            values["content_changed_at"] = self.section.content_changed_at
        with self.engine.begin() as conn:
            assert self.run_id is not None
            runs.finish_run(conn, self.run_id, status=status, counts=counts, now=now, error_text=reason)
            conn.execute(t.libraries.update().where(t.libraries.c.id == self.library.id).values(**values))

    def _body(self, now: int, owner: str) -> tuple[str, str | None, int, int, bool]:
        lib, section = self.library, self.section
        if section is None:
            return (
                RUN_FAILED,
                f"section {lib.section_key} ({lib.title}) is no longer on server {lib.server_name}; "
                "run `retrovue libraries` to refresh, nothing was marked missing",
                0,
                0,
                False,
            )
        if self._gate_holds(section):
            return self._gated(now)
        with self.engine.connect() as conn:
            run_start = max(now, dal.max_last_seen(conn, lib.id) + 1)
        self.run_start = run_start
        self.owner = owner
        if lib.kind == "show":
            self._walk_shows(run_start)
            self._walk_items(self.client.iter_episodes(section.key), run_start)
        else:
            self._walk_items(self.client.iter_movies(section.key), run_start)
        missing, deleted = self._finalize(run_start)
        return RUN_OK, None, missing, deleted, False

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

    def _gated(self, now: int) -> tuple[str, str | None, int, int, bool]:
        lib = self.library
        with self.engine.begin() as conn:
            touched = dal.touch_library(conn, lib.id, now=now)
            deleted = dal.promote_deleted_past_retention(
                conn, lib.id, now=now, retention_days=lib.retention_days, run_id=self.run_id
            )
        self.tally.processed = self.tally.skipped = touched
        self.total = touched
        self._progress("items")
        return RUN_OK, None, 0, deleted, True

    # --- listing ----------------------------------------------------------------------------------

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise CancelledError

    def _pages(
        self, pages: Iterator[Page[Show]] | Iterator[Page[Episode]] | Iterator[Page[Movie]]
    ) -> Iterator[Page[Show] | Page[Episode] | Page[Movie]]:
        """Pages of one listing, checked for the stability a complete listing needs."""
        first_total: int | None = None
        seen = 0
        last_total: int | None = None
        for page in pages:
            self._check_cancel()
            if first_total is None:
                first_total = page.total_size
            last_total = page.total_size
            seen += page.count
            yield page
        if first_total != last_total:
            raise IncompleteListingError(
                f"the listing changed size while it was read ({first_total} → {last_total} entries); "
                "nothing was marked missing, run sync again"
            )
        if last_total is not None and seen < last_total:
            raise IncompleteListingError(
                f"the listing returned {seen} of {last_total} entries; nothing was marked missing"
            )

    def _walk_shows(self, run_start: int) -> None:
        lib = self.library
        total_leaves = 0
        for page in self._pages(self.client.iter_shows(self.section.key if self.section else "")):
            records = {}
            for show in self._storable(page.items):
                if isinstance(show, Show):
                    records[show.rating_key] = show_record(show)
                    total_leaves += show.leaf_count or 0
            keyed_errors = self._count_errors(page)
            with self.engine.connect() as conn:
                snap = dal.show_snapshot(conn, lib.id, list(records))
            write = [
                r
                for k, r in records.items()
                if (s := snap.get(k)) is None or s.show_digest != r.show_digest or s.state in GONE
            ]
            with self.engine.begin() as conn:
                dal.upsert_shows(
                    conn,
                    lib.id,
                    [
                        replace(
                            r, children_hydrated=bool((s := snap.get(r.rating_key)) and s.children_hydrated)
                        )
                        for r in write
                    ],
                    now=run_start,
                )
                dal.touch_shows(
                    conn,
                    lib.id,
                    [k for k in records if k not in {r.rating_key for r in write}] + keyed_errors,
                    now=run_start,
                )
            self._progress("shows")
        self.total = total_leaves or None

    def _storable(self, items: Sequence[T]) -> list[T]:
        """Items whose rating key fits the catalog; a longer one cannot be an identity, so the item
        is counted as an error (it was never stored, so it cannot be taken for missing either)."""
        fit = [i for i in items if len(i.rating_key) <= KEY]
        self.tally.errors += len(items) - len(fit)
        return fit

    def _count_errors(self, page: Page[Show] | Page[Episode] | Page[Movie]) -> list[str]:
        """Count undecodable entries; return the rating keys of those that still have one."""
        keyed = [e.rating_key for e in page.errors if e.rating_key is not None and len(e.rating_key) <= KEY]
        self.tally.errors += len(page.errors)
        self.tally.unreadable += len(page.errors) - len(keyed)
        return keyed

    def _walk_items(self, pages: Iterator[Page[Episode]] | Iterator[Page[Movie]], run_start: int) -> None:
        for page in self._pages(pages):
            if page.total_size is not None:
                self.total = page.total_size
            self._items_page(page, run_start)  # type: ignore[arg-type]
            self._progress("items")

    def _items_page(self, page: Page[Episode] | Page[Movie], run_start: int) -> None:
        lib = self.library
        records: dict[str, ItemRecord] = {}
        seasons: dict[str, SeasonRecord] = {}
        listed: list[Episode | Movie] = list(page.items)
        for item in self._storable(listed):
            records[item.rating_key] = item_record(item)
            season = season_record(item) if isinstance(item, Episode) else None
            if season is not None:
                seasons[season.rating_key] = season
        errors = {
            e.rating_key: e.message
            for e in page.errors
            if e.rating_key is not None and len(e.rating_key) <= KEY
        }
        self._count_errors(page)
        with self.engine.connect() as conn:
            snap = dal.item_snapshot(conn, lib.id, list(records))
            season_snap = dal.season_snapshot(conn, lib.id, list(seasons))
        # A season spans pages: one already stamped by this run is done (keeps memory page-bounded).
        seasons = {k: v for k, v in seasons.items() if k not in season_snap or season_snap[k][4] < run_start}
        write = [r for k, r in records.items() if needs_write(snap.get(k), r)]
        detail_keys = list(records) if self.options.deep else [r.rating_key for r in write]
        details, failed = self._details(detail_keys)
        final: list[ItemRecord] = []
        for r in write:
            if r.rating_key in details:
                final.append(apply_detail(r, details[r.rating_key]))
            elif r.rating_key in failed:
                final.append(replace(r, digest=""))  # stored without file checks: retried next run
            else:
                final.append(r)
        if self.options.deep:
            written = {r.rating_key for r in write}
            for key, r in records.items():
                s = snap.get(key)
                if key in written or key not in details or s is None:
                    continue
                checked = apply_detail(r, details[key])
                if plex_class(checked.state) != plex_class(s.state):
                    final.append(checked)
        final_keys = {r.rating_key for r in final}
        touch = [k for k in records if k not in final_keys] + [k for k in errors if k not in records]
        changed_seasons = [
            s
            for k, s in seasons.items()
            if (old := season_snap.get(k)) is None
            or old[:3] != (s.show_rating_key, s.season_index, s.title)
            or old[3] in GONE
        ]
        with self.engine.begin() as conn:
            dal.upsert_items(conn, lib.server_id, lib.id, final, now=run_start, run_id=self.run_id)
            dal.touch_items(conn, lib.id, touch, now=run_start)
            if errors:
                dal.record_item_errors(conn, lib.id, errors, now=run_start)
            dal.upsert_seasons(conn, lib.id, changed_seasons, now=run_start)
            dal.touch_seasons(
                conn,
                lib.id,
                [k for k in seasons if k not in {s.rating_key for s in changed_seasons}],
                now=run_start,
            )
            runs.heartbeat(conn, lib.id, self.owner, now=run_start)
        self.tally.written += len(final)
        self.tally.processed += len(records) + len(errors)
        self.tally.changed += sum(
            1 for r in write if (s := snap.get(r.rating_key)) is None or s.digest != r.digest
        )
        self.tally.skipped += len(records) - len(final)

    def _details(self, keys: Sequence[str]) -> tuple[dict[str, Episode | Movie], set[str]]:
        """checkFiles detail for `keys`, batched; a failed batch is reported, not fatal."""
        if not keys:
            return {}, set()
        chunk = self.options.detail_chunk
        groups = [list(keys[i : i + chunk]) for i in range(0, len(keys), chunk)]

        def fetch(group: list[str]) -> tuple[list[str], Page[object] | None]:
            try:
                return group, self.client.metadata(group, check_files=True, chunk=len(group))  # type: ignore[return-value]
            except PlexNotFoundError:
                return group, Page(offset=0, total_size=0)
            except (PlexBadResponseError, PlexUnreachableError):
                return group, None

        details: dict[str, Episode | Movie] = {}
        failed: set[str] = set()
        for group, page in self.client.map_concurrent(fetch, groups):
            if page is None:
                failed.update(group)
                continue
            for item in page.items:
                if isinstance(item, Episode | Movie):
                    details[item.rating_key] = item
        if failed:
            self.tally.errors += len(failed)
            self.tally.detail_failures += len(failed)
        return details, failed

    # --- finalize ---------------------------------------------------------------------------------

    def _finalize(self, run_start: int) -> tuple[int, int]:
        self._check_cancel()
        lib = self.library
        if self.tally.unreadable:
            raise IncompleteListingError(
                f"{self.tally.unreadable} listing entries could not be read (no rating key); "
                "nothing was marked missing"
            )
        with self.engine.connect() as conn:
            would, present = dal.count_not_seen_since(conn, lib.id, run_start)
        if would:
            self._check_section_unchanged()
            self._carry_identities(run_start)
            with self.engine.connect() as conn:
                would, present = dal.count_not_seen_since(conn, lib.id, run_start)
            share = would * 100 / present if present else 0
            if share > lib.missing_threshold_pct and not self.options.force:
                raise IncompleteListingError(
                    f"the listing would mark {would} of {present} items MISSING ({share:.0f}% > the "
                    f"library's {lib.missing_threshold_pct}% threshold) — is a drive offline behind Plex? "
                    "Nothing was marked; run with --force if they are really gone"
                )
        self._progress("finalize")
        with self.engine.begin() as conn:
            missing = dal.mark_missing_not_seen(conn, lib.id, run_start, now=run_start, run_id=self.run_id)
            if lib.kind == "show":
                dal.mark_children_hydrated(conn, lib.id, seen_since=run_start)
            deleted = dal.promote_deleted_past_retention(
                conn, lib.id, now=run_start, retention_days=lib.retention_days, run_id=self.run_id
            )
        if self.options.deep:
            deleted += self._confirm_deleted(run_start)
        return missing, deleted

    def _carry_identities(self, run_start: int) -> None:
        """Re-keyed items keep their catalog row (see `ingest.rekey`); runs only after a complete
        listing, when some rows went unseen."""
        with self.engine.connect() as conn:
            vanished, appeared = dal.rekey_candidates(conn, self.library.id, run_start)
        if not vanished or not appeared:
            return
        plan = match_rekeys([Candidate(*row) for row in vanished], [Candidate(*row) for row in appeared])
        if plan.pairs:
            with self.engine.begin() as conn:
                dal.merge_rekeyed(
                    conn,
                    self.library.id,
                    [(old.item_id, new.item_id) for old, new in plan.pairs],
                    now=run_start,
                    run_id=self.run_id,
                )
            self.tally.rekeyed += len(plan.pairs)
            self.tally.changed -= len(plan.pairs)
        self.ambiguous.extend(plan.ambiguous)

    def _check_section_unchanged(self) -> None:
        """Before marking anything missing, make sure the section did not change under the walk
        (an insert or delete shifts later pages, which could hide an item that still exists)."""
        assert self.section is not None
        now_sections = {s.key: s for s in self.client.sections()}
        current = now_sections.get(self.section.key)
        if current is None or current.content_changed_at != self.section.content_changed_at:
            raise IncompleteListingError(
                "the library changed on the server while it was being read; nothing was marked "
                "missing, run sync again"
            )

    def _confirm_deleted(self, now: int) -> int:
        """Deep runs: a MISSING item whose metadata request 404s is gone for good (DELETED)."""
        with self.engine.connect() as conn:
            keys = dal.missing_rating_keys(conn, self.library.id)
        if not keys:
            return 0
        details, failed = self._details(keys)
        gone = [k for k in keys if k not in details and k not in failed]
        self.tally.errors -= len(failed)  # an unconfirmed deletion is not an item error
        with self.engine.begin() as conn:
            return dal.confirm_deleted(conn, self.library.id, gone, now=now, run_id=self.run_id)

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
