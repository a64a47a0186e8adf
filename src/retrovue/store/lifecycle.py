"""Items that Plex stopped listing: MISSING, then DELETED, then purged; each change in item_events
and in the change feed (store/feed.py).

- finalize: present rows a complete listing did not contain become MISSING (missing_since = now,
  last_seen_at = the library's previous `verified_at`, the last moment they were known present);
- MISSING past the retention period *and* `MIN_LISTINGS_BEFORE_DELETE` further complete listings
  becomes DELETED (a clock that jumps forward cannot delete anything by itself), or at once after a
  deep run confirmed the file gone;
- `purge_deleted` removes DELETED rows for good, on request only.
The caller owns the transaction and fences it (`store.locks.fence`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy import Connection

from retrovue.states import ItemState
from retrovue.store import feed
from retrovue.store import schema as t
from retrovue.store.items import GONE, chunks

__all__ = [
    "MIN_LISTINGS_BEFORE_DELETE",
    "confirm_deleted",
    "mark_missing",
    "mark_missing_keys",
    "promote_deleted_past_retention",
    "purge_deleted",
]

MIN_LISTINGS_BEFORE_DELETE = 2
"""Complete listings that must go by without an item, after the one that marked it MISSING, before
retention may promote it to DELETED: a clock that jumps forward cannot delete anything by itself."""


def mark_missing(
    conn: Connection,
    library_id: int,
    item_ids: Sequence[int],
    *,
    now: int,
    listing: int,
    confirmed_at: int | None,
    run_id: int | None = None,
) -> int:
    """The given present items become MISSING; returns how many were marked.

    Only call this after a complete listing that did not contain them. `confirmed_at` (the
    library's previous `verified_at`) becomes their `last_seen_at` where it is newer: the last time
    Plex was known to list them. `listing` is the complete listing that found them gone.
    """
    c = t.media_items.c
    marked = 0
    for part in chunks(list(item_ids)):
        due = sa.and_(c.library_id == library_id, c.id.in_(part), c.state.notin_(GONE))
        _log_transition(conn, due, ItemState.MISSING, now=now, run_id=run_id)
        marked += conn.execute(
            t.media_items.update()
            .where(due)
            .values(
                state=ItemState.MISSING.value,
                missing_since=now,
                missing_listing=listing,
                last_seen_at=_greatest(conn, c.last_seen_at, confirmed_at),
            )
        ).rowcount
    return int(marked)


def mark_missing_keys(
    conn: Connection, table: sa.Table, library_id: int, rating_keys: Sequence[str], *, now: int, listing: int
) -> int:
    """Shows or seasons (by rating key) that a complete listing did not contain become MISSING."""
    c = table.c
    marked = 0
    for part in chunks(list(rating_keys)):
        marked += conn.execute(
            table.update()
            .where(c.library_id == library_id, c.rating_key.in_(part), c.state.notin_(GONE))
            .values(state=ItemState.MISSING.value, missing_since=now, missing_listing=listing)
        ).rowcount
    return int(marked)


def _greatest(conn: Connection, column: sa.ColumnElement[int], value: int | None) -> sa.ColumnElement[int]:
    """max(column, value) in SQL: GREATEST where the dialect has it, MAX(a, b) on SQLite."""
    if value is None:
        return column
    if conn.dialect.name == "sqlite":
        return sa.func.max(column, value)
    return sa.func.greatest(column, value)


def promote_deleted_past_retention(
    conn: Connection,
    library_id: int,
    *,
    now: int,
    retention_days: int,
    listings: int,
    run_id: int | None = None,
) -> int:
    """MISSING for at least `retention_days` *and* for `MIN_LISTINGS_BEFORE_DELETE` further complete
    listings becomes DELETED; returns how many items were promoted. `listings` is the library's
    count of complete listings so far."""
    cutoff = now - retention_days * 86_400
    last_listing = listings - MIN_LISTINGS_BEFORE_DELETE
    tables = (t.media_items, t.shows, t.seasons)

    def due_in(table: sa.Table) -> sa.ColumnElement[bool]:
        c = table.c
        return sa.and_(
            c.library_id == library_id,
            c.state == ItemState.MISSING.value,
            c.missing_since <= cutoff,
            sa.func.coalesce(c.missing_listing, 0) <= last_listing,
        )

    # One indexed read first: most runs have nothing due, and then send no write statement at all.
    anything = sa.select(sa.or_(*(sa.exists().where(due_in(table)) for table in tables)))
    if not conn.execute(anything).scalar():
        return 0
    promoted = 0
    for table in tables:
        due = due_in(table)
        if table is t.media_items:
            _log_transition(conn, due, ItemState.DELETED, now=now, run_id=run_id)
        n = conn.execute(table.update().where(due).values(state=ItemState.DELETED.value)).rowcount
        if table is t.media_items:
            promoted = int(n)
    return promoted


def confirm_deleted(
    conn: Connection, library_id: int, rating_keys: Sequence[str], *, now: int, run_id: int | None = None
) -> int:
    """MISSING items that a deep run proved gone (their metadata request returned 404) become DELETED."""
    c = t.media_items.c
    n = 0
    for part in chunks(list(rating_keys)):
        due = sa.and_(c.library_id == library_id, c.state == ItemState.MISSING.value, c.rating_key.in_(part))
        _log_transition(conn, due, ItemState.DELETED, now=now, run_id=run_id)
        n += conn.execute(t.media_items.update().where(due).values(state=ItemState.DELETED.value)).rowcount
    return n


def _log_transition(
    conn: Connection, where: sa.ColumnElement[bool], new: ItemState, *, now: int, run_id: int | None
) -> None:
    """Write one item_events row and one change-feed entry per item about to change state,
    set-based (INSERT … SELECT)."""
    c = t.media_items.c
    select = sa.select(
        c.id,
        sa.literal(run_id, sa.Integer),
        sa.literal(now, sa.BigInteger),
        sa.literal("state"),
        c.state,
        sa.literal(new.value),
    ).where(where)
    if conn.execute(sa.select(c.id).where(where).limit(1)).first() is None:
        return  # nothing is due: write nothing, not even the feed's clock (a quiet run)
    feed.record_select(conn, where, feed.state_change(new.value), now=now, run_id=run_id, new_value=new.value)
    conn.execute(
        t.item_events.insert().from_select(
            ["item_id", "run_id", "at", "event", "old_value", "new_value"], select
        )
    )


def purge_deleted(conn: Connection, library_id: int, *, now: int | None = None) -> int:
    """Remove DELETED items (and their parts and history) for good; the explicit, separate clean-up.

    Each leaves a `purged` entry in the change feed, which outlives it (store/feed.py)."""
    c = t.media_items.c
    gone = sa.and_(c.library_id == library_id, c.state == ItemState.DELETED.value)
    if conn.execute(sa.select(c.id).where(gone).limit(1)).first() is not None:
        stamp = int(time.time()) if now is None else now
        feed.record_select(conn, gone, feed.PURGED, now=stamp)
    doomed = sa.select(c.id).where(gone)
    conn.execute(t.media_parts.delete().where(t.media_parts.c.item_id.in_(doomed)))
    conn.execute(t.item_events.delete().where(t.item_events.c.item_id.in_(doomed)))
    n = conn.execute(
        t.media_items.delete().where(c.library_id == library_id, c.state == ItemState.DELETED.value)
    ).rowcount
    for table in (t.shows, t.seasons):
        conn.execute(
            table.delete().where(table.c.library_id == library_id, table.c.state == ItemState.DELETED.value)
        )
    return int(n)
