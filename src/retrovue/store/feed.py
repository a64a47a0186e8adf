"""The change feed's write side: one `item_changes` row per change to an item, in the same transaction
as the rows it describes, so a reader following the feed never misses one.

Order across writers. Ids are autoincrement values; on PostgreSQL and MariaDB two transactions
could take ids 7 and 8 and commit in the order 8, 7, and a reader that read up to 8 in between would
skip 7 for ever. So every transaction that records changes first upserts the one `change_clock` row
(`claim`) and holds its row lock until it commits: the next recording transaction waits, and ids
are handed out in commit order. A reader that has seen id N can never later find a smaller one.
Transactions that record nothing (a quiet run) never touch the clock. SQLite has one writer at a
time anyway.

Lock order: a transaction claims the clock before writing the rows its changes describe (an
upsert of items, a verdict upsert), so two writers never hold each other's rows while waiting for
it.

Retention: entries are kept `FEED_DAYS` days at least; `prune` (run by `retrovue purge`) removes
older ones and remembers the last id it removed (`change_clock.pruned_through`), so a reader whose
cursor is older than that is told so instead of silently skipping changes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from retrovue.store import schema as t
from retrovue.store.upsert import bulk_insert, upsert

__all__ = [
    "ADDED",
    "CHANGED",
    "DELETED",
    "FEED_DAYS",
    "LOCAL",
    "MERGED",
    "MISSING",
    "PURGED",
    "REKEY",
    "STATE",
    "claim",
    "prune",
    "pruned_through",
    "record",
    "record_select",
    "state_change",
]

ADDED = "added"  # a new item (new_value: its state)
CHANGED = "changed"  # rewritten with new data from Plex (its digest moved); same state
STATE = "state"  # Plex's state moved between ACTIVE and UNAVAILABLE, or back from MISSING/DELETED
MISSING = "missing"  # gone from a complete listing
DELETED = "deleted"  # missing past retention, or confirmed gone by Plex
REKEY = "rekey"  # Plex gave the item a new rating key; the id stays (old/new: the rating keys)
MERGED = "merged"  # this id was a re-keyed item's twin and is gone; new_value: the id that stays
PURGED = "purged"  # removed from the catalog for good (`retrovue purge`, a server removed)
LOCAL = "local"  # a machine's verdict moved the item between ACTIVE and REMOTE_ONLY (see `machine`)

FEED_DAYS = 90
"""Feed entries are kept at least this long; `retrovue purge` removes older ones."""

COLUMNS = ("item_id", "library_id", "rating_key", "at", "run_id", "change", "old_value", "new_value")


def state_change(new_state: str) -> str:
    """The change name of a move into Plex's state `new_state`."""
    if new_state == "MISSING":
        return MISSING
    if new_state == "DELETED":
        return DELETED
    return STATE


def claim(conn: Connection) -> None:
    """Take the feed's clock for the rest of this transaction (see the module docstring); once per
    transaction, however often it is called."""
    tx = conn.get_transaction()
    if tx is not None and conn.info.get(_CLAIMED) is tx:
        return
    upsert(conn, t.change_clock, [{"id": 1, "ticks": int(time.time())}], conflict=("id",), update=("ticks",))
    conn.info[_CLAIMED] = tx


_CLAIMED = "retrovue.feed.claimed"  # the transaction that holds the clock, in the connection's info


def record(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Record changes (dicts with `COLUMNS`, `machine` optional); claims the clock first."""
    if not rows:
        return 0
    claim(conn)
    # The batch writer: a first sync records every item it adds, and SQLAlchemy's own executemany
    # built each of those rows' parameters in Python again.
    bulk_insert(conn, t.item_changes, [{"run_id": None, "machine": None, **r} for r in rows])
    return len(rows)


def record_select(
    conn: Connection,
    where: sa.ColumnElement[bool],
    change: str | sa.ColumnElement[str],
    *,
    now: int,
    run_id: int | None = None,
    new_value: str | sa.ColumnElement[Any] | None = None,
    old_value: sa.ColumnElement[Any] | None = None,
) -> None:
    """Record one change per `media_items` row matching `where`, set-based (INSERT … SELECT), before
    the statement that changes them: `old_value` defaults to the row's state."""
    c = t.media_items.c
    select = sa.select(
        c.id,
        c.library_id,
        c.rating_key,
        sa.literal(now, sa.BigInteger),
        sa.literal(run_id, sa.Integer),
        change if isinstance(change, sa.ColumnElement) else sa.literal(change, sa.String),
        old_value if old_value is not None else c.state,
        new_value if isinstance(new_value, sa.ColumnElement) else sa.literal(new_value, sa.String),
    ).where(where)
    claim(conn)
    conn.execute(t.item_changes.insert().from_select(list(COLUMNS), select))


def pruned_through(conn: Connection) -> int:
    """The newest feed id removed by a prune (0: none ever was)."""
    value = conn.execute(sa.select(t.change_clock.c.pruned_through).where(t.change_clock.c.id == 1)).scalar()
    return int(value or 0)


def prune(conn: Connection, *, now: int, days: int = FEED_DAYS) -> int:
    """Remove feed entries older than `days`, never the newest one; returns how many went."""
    c = t.item_changes.c
    newest = conn.execute(sa.select(sa.func.max(c.id))).scalar()
    cutoff = conn.execute(sa.select(sa.func.max(c.id)).where(c.at < now - days * 86_400)).scalar()
    if cutoff is None or newest is None:
        return 0
    cutoff = min(int(cutoff), int(newest) - 1)
    if cutoff <= pruned_through(conn):
        return 0
    claim(conn)
    n = conn.execute(t.item_changes.delete().where(c.id <= cutoff)).rowcount
    conn.execute(t.change_clock.update().where(t.change_clock.c.id == 1).values(pruned_through=cutoff))
    return int(n)
