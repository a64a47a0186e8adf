"""Re-keyed items: Plex gave a file a new rating key (a re-match, a re-added library folder).

The engine pairs a vanished row with the row that appeared for the same file (`ingest.rekey`
decides the pairs from what `rekey_candidates` returns); `merge_rekeyed` then keeps the old row,
with its id, first sighting and history, and gives it the new key and data.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from retrovue.states import ItemState
from retrovue.store import feed
from retrovue.store import schema as t
from retrovue.store.items import GONE, ITEM_UPDATE_COLUMNS, chunks

__all__ = ["merge_rekeyed", "rekey_candidates"]


def rekey_candidates(
    conn: Connection,
    library_id: int,
    *,
    unseen_ids: Sequence[int],
    seen_ids: Container[int],
    listings: int,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(vanished, appeared) rows as (id, rating_key, kind, guid, first file, its size, listing).

    Vanished: the present items a complete listing did not contain (`unseen_ids`; last listed in
    listing number `listings`, so `listing` = `listings` + 1 is the first one they could have been
    re-keyed in), and the library's MISSING items (`listing` = the one that found them gone).
    Appeared: items this run saw that were first listed at or after the earliest of those numbers,
    across runs, so a re-key first listed by a run that ended partial is still matched. Rows
    without a `first_listing` (stored before it existed) never count as appeared.
    """
    i, p = t.media_items.c, t.media_parts.c
    first_part = (
        sa.select(p.file, p.size)
        .where(p.item_id == i.id)
        .order_by(p.media_index, p.part_index)
        .limit(1)
        .correlate(t.media_items)
    )
    file_col = first_part.with_only_columns(p.file).scalar_subquery()
    size_col = first_part.with_only_columns(p.size).scalar_subquery()
    cols = (i.id, i.rating_key, i.kind, i.guid_primary, file_col, size_col)
    vanished: list[tuple[Any, ...]] = []
    for part in chunks(list(unseen_ids)):
        rows = conn.execute(sa.select(*cols).where(i.library_id == library_id, i.id.in_(part)))
        vanished.extend((*r, listings + 1) for r in rows)
    missing = conn.execute(
        sa.select(*cols, sa.func.coalesce(i.missing_listing, 0)).where(
            i.library_id == library_id, i.state == ItemState.MISSING.value
        )
    )
    vanished.extend(tuple(r) for r in missing)
    if not vanished:
        return [], []
    since = min(v[-1] for v in vanished)
    rows = conn.execute(
        sa.select(*cols, i.first_listing).where(
            i.library_id == library_id, i.first_listing >= since, i.state.notin_(GONE)
        )
    )
    appeared = [tuple(r) for r in rows if r[0] in seen_ids]
    return vanished, appeared


_REKEY_COPY = (*ITEM_UPDATE_COLUMNS, "rating_key", "error_count", "last_error_at", "last_error")


def merge_rekeyed(
    conn: Connection,
    library_id: int,
    pairs: Sequence[tuple[int, int]],
    *,
    now: int,
    run_id: int | None = None,
) -> int:
    """Give each vanished row (old id) the identity data of its re-keyed twin (new id), then drop the
    twin: the old row keeps its id, `first_seen_at` and history; its parts become the twin's.

    Statements per chunk: a few reads and one executemany per table, whatever the number of pairs.
    """
    c = t.media_items.c
    merged = 0
    for chunk in chunks(list(pairs)):
        feed.claim(conn)  # before the rows its entries describe (store/feed.py: lock order)
        old_ids = [o for o, _ in chunk]
        new_ids = [n for _, n in chunk]
        twin_rows = {
            r.id: r._mapping for r in conn.execute(sa.select(t.media_items).where(c.id.in_(new_ids)))
        }
        old_keys = {
            r.id: (r.rating_key, r.state)
            for r in conn.execute(sa.select(c.id, c.rating_key, c.state).where(c.id.in_(old_ids)))
        }
        for table in (t.media_parts, t.item_tags):  # the twin's files, genres and collections
            conn.execute(table.delete().where(table.c.item_id.in_(old_ids)))
            conn.execute(
                table.update()
                .where(table.c.item_id == sa.bindparam("new_id"))
                .values(item_id=sa.bindparam("old_id")),
                [{"new_id": n, "old_id": o} for o, n in chunk],
            )
        feed.record(
            conn,
            [
                {
                    "item_id": n,
                    "library_id": library_id,
                    "rating_key": twin_rows[n]["rating_key"],
                    "at": now,
                    "run_id": run_id,
                    "change": feed.MERGED,
                    "old_value": None,
                    "new_value": str(o),
                }
                for o, n in chunk
            ]
            + [
                {
                    "item_id": o,
                    "library_id": library_id,
                    "rating_key": twin_rows[n]["rating_key"],
                    "at": now,
                    "run_id": run_id,
                    "change": feed.REKEY,
                    "old_value": old_keys[o][0],
                    "new_value": twin_rows[n]["rating_key"],
                }
                for o, n in chunk
            ],
        )
        conn.execute(t.item_events.delete().where(t.item_events.c.item_id.in_(new_ids)))
        conn.execute(t.media_items.delete().where(c.id.in_(new_ids)))
        updates = []
        for o, n in chunk:
            twin = twin_rows[n]
            row = {f"v_{col}": twin[col] for col in _REKEY_COPY}
            row["v_missing_since"] = None
            row["target_id"] = o
            updates.append(row)
        conn.execute(
            t.media_items.update()
            .where(c.id == sa.bindparam("target_id"))
            .values({col: sa.bindparam(f"v_{col}") for col in _REKEY_COPY}),
            updates,
        )
        events = [
            {
                "item_id": o,
                "run_id": run_id,
                "at": now,
                "event": "rekey",
                "old_value": old_keys[o][0],
                "new_value": twin_rows[n]["rating_key"],
                "detail": f"state {old_keys[o][1]} -> {twin_rows[n]['state']}",
            }
            for o, n in chunk
        ]
        conn.execute(t.item_events.insert(), events)
        merged += len(chunk)
    return merged
