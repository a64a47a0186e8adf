"""The end of a listed run: what the listing did not contain becomes MISSING, and MISSING past
retention becomes DELETED — the only decisions in a run that take rows away from the catalog.

They live here, apart from the walk, because they carry the safety rules that make a MISSING mark
trustworthy: finalize runs only after a listing proven complete and consistent (`ingest.listing`),
re-checks that the section did not change under the walk, carries re-keyed items' identities
(`ingest.rekey`), and refuses to pass the library's threshold (items, shows and seasons alike,
measured against what the catalog held). A deep run also confirms MISSING items gone by their 404.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import sqlalchemy as sa

from retrovue.ingest.detail import DetailFetch
from retrovue.ingest.listing import IncompleteListingError, ListingCheck
from retrovue.ingest.rekey import Candidate, match_rekeys
from retrovue.ingest.run_scope import RunScope, RunStep
from retrovue.ingest.sync_common import SyncOptions
from retrovue.plex.models import Section
from retrovue.store import items as dal
from retrovue.store import lifecycle, rekeys
from retrovue.store import schema as t
from retrovue.store.registry import LibraryRow

__all__ = ["Finalize", "promote_deleted"]


def promote_deleted(
    conn: sa.Connection, library: LibraryRow, *, now: int, listings: int, run_id: int | None
) -> int:
    """MISSING past retention and `listings` complete listings later becomes DELETED (a gated
    run passes the library's count unchanged: quiet runs do not bring deletion closer)."""
    return lifecycle.promote_deleted_past_retention(
        conn,
        library.id,
        now=now,
        retention_days=library.retention_days,
        listings=listings,
        run_id=run_id,
    )


class Finalize(RunStep):
    """Finalizes one listed run (`run`): marks MISSING and DELETED, returns how many of each.
    Re-keys it matches are counted in `tally`, and those it could not decide added to `ambiguous`."""

    def __init__(
        self,
        scope: RunScope,
        section: Section,
        *,
        options: SyncOptions,
        progress: Callable[[str], None],
        ambiguous: list[str],
    ) -> None:
        super().__init__(scope)
        self.section = section
        self.options = options
        self.progress = progress
        self.ambiguous = ambiguous

    def run(self, checks: Iterable[ListingCheck | None]) -> tuple[int, int]:
        lib = self.library
        for check in checks:
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
        self.progress("finalize")
        with self.engine.begin() as conn:
            self.fence(conn)
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
            deleted = promote_deleted(conn, lib, now=self.now, listings=self.listing, run_id=self.run_id)
        if self.options.deep:
            deleted += self._confirm_deleted()
        return missing, deleted

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
            self.fence(conn)
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
            self.fence(conn)
            return lifecycle.confirm_deleted(conn, self.library.id, gone, now=self.now, run_id=self.run_id)
