"""The gate: whether a library's run may skip its listing, and the one thing a gated run still
fetches from Plex — the file checks its items are owed.

It is its own module because it is the cheap path most runs take (one request per server, no item
row written), and its rules are few enough to read in one sitting apart from the listing's.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from retrovue.ingest.detail import DetailFetch
from retrovue.ingest.events import RUN_OK
from retrovue.ingest.records import item_record
from retrovue.ingest.run_scope import Tally
from retrovue.ingest.sync_common import SyncOptions
from retrovue.intervals import due
from retrovue.plex import PlexClient
from retrovue.plex.models import Section
from retrovue.store import items as dal
from retrovue.store.registry import LibraryRow

__all__ = ["gate_holds", "retry_pending_detail", "verification_due"]


def gate_holds(library: LibraryRow, section: Section, options: SyncOptions) -> bool:
    """The section's `contentChangedAt` is the one the last complete run vouched for."""
    return (
        options.use_gate
        and not options.deep
        and library.last_sync_status == RUN_OK
        and library.content_changed_at is not None
        and section.content_changed_at is not None
        and library.content_changed_at == section.content_changed_at
    )


def verification_due(library: LibraryRow, now: int) -> bool:
    """The gate trusts Plex's `contentChangedAt`; a library not listed completely for its
    verification interval (default 24 h; 0 = every run) is listed anyway, to catch what Plex
    may not count as a change. A last listing in the future (a clock set back) counts as due."""
    return due(library.listed_at, now, library.verify_hours * 3600)


def retry_pending_detail(
    engine: sa.Engine,
    client: PlexClient,
    library: LibraryRow,
    *,
    fence: Callable[[sa.Connection], None],
    detail_chunk: int,
    now: int,
    run_id: int | None,
    listing: int,
    tally: Tally,
) -> None:
    """Items stored without their file check get it now, even though nothing was listed."""
    with engine.connect() as conn:
        owed = dal.pending_detail_keys(conn, library.id)
    result = DetailFetch(client, None, list(owed), detail_chunk).result()
    records = []
    for key, detail in result.details.items():
        if (snap := owed.get(key)) is not None:
            records.append(item_record(detail, snap.digest or "", detail=detail))
    if result.failed:
        tally.errors += len(result.failed)
        tally.detail_failures += len(result.failed)
    if records:
        with engine.begin() as conn:
            fence(conn)
            dal.upsert_items(
                conn,
                library.server_id,
                library.id,
                records,
                now=now,
                run_id=run_id,
                listing=listing,
            )
        tally.written += len(records)
        tally.pending_changed = True
