"""One listing page of a TV library's shows: compare it with the catalog, fetch detail, write.

Shows come before their episodes (`LibrarySync._walk_shows`), and like item pages (`item_pages`)
each page goes through two steps the run overlaps with `one_ahead`:

1. `prepare` — decode into records, read the stored digest/state of the page's shows in one query,
   decide which are new, changed or returning, and start their detail requests (every genre: a
   listing carries only the first ones); record the keys the page proves present in `Seen`.
2. `write` — wait for the detail, then write those shows in one fenced transaction.

A show whose detail did not come is owed it (`owed`): the run must not vouch for the section's
`contentChangedAt`, so the next run lists again.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass

from msgspec.structs import replace

from retrovue.ingest.detail import ShowDetailFetch
from retrovue.ingest.item_pages import GONE
from retrovue.ingest.records import apply_show_detail, show_record
from retrovue.ingest.run_scope import RunScope, RunStep
from retrovue.plex import Page
from retrovue.plex.models import Show
from retrovue.store import items as dal
from retrovue.store.items import ShowRecord
from retrovue.store.schema import KEY

__all__ = ["ShowPages", "ShowPlan"]


@dataclass
class ShowPlan:
    write: list[ShowRecord]  # new, changed or returning shows, from the listing
    present: set[str]  # those of them the catalog holds as present
    detail: ShowDetailFetch


class ShowPages(RunStep):
    """Prepares and writes one run's show pages; `leaves` counts the episodes they announce and
    `owed` the listed shows stored without their detail."""

    def __init__(self, scope: RunScope, *, executor: Executor, detail_chunk: int) -> None:
        super().__init__(scope)
        self.executor = executor
        self.detail_chunk = detail_chunk
        self.leaves = 0  # episodes the show listing announces (the run's total until episodes list)
        self.owed = 0  # listed shows stored without their detail: the next run lists again

    def prepare(self, page: Page[Show]) -> ShowPlan:
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
        detail = ShowDetailFetch(self.client, self.executor, keys, self.detail_chunk)
        return ShowPlan(write, present, detail)

    def write(self, plan: ShowPlan) -> None:
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
            self.owed += 1
            if record.rating_key not in plan.present:
                final.append(replace(record, show_digest=""))
        self.tally.errors += len(result.failed)
        if final:
            with self.engine.begin() as conn:
                self.fence(conn)
                dal.upsert_shows(conn, self.library.id, final, now=self.now, run_id=self.run_id)
