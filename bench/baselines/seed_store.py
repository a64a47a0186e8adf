"""The design note's per-item store helpers, used only by the baselines (`seed.py`, `plexapi_ingest.py`).

The product writes pages (`retrovue.store.items.upsert_items`); the seed design wrote one show and
one item at a time through these helpers, and the baseline reproduces that shape to be measured
against. They live here, beside the only code that calls them, built on the store's page writers.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy import Connection

from retrovue.states import ItemState
from retrovue.store import schema as t
from retrovue.store.items import GONE, ItemRecord, chunks, show_snapshot, upsert_items

__all__ = [
    "children_hydrated",
    "mark_missing_not_seen",
    "max_last_seen",
    "show_digest_changed",
    "touch_items",
    "touch_shows",
    "upsert_episode",
    "upsert_movie",
    "upsert_show_digest",
]


def show_digest_changed(conn: Connection, library_id: int, show_key: str, digest: str) -> bool:
    """Does the stored show digest differ from `digest` (or is none stored)?"""
    snap = show_snapshot(conn, library_id, [show_key]).get(show_key)
    return snap is None or snap.show_digest != digest


def children_hydrated(conn: Connection, library_id: int, show_key: str) -> bool:
    snap = show_snapshot(conn, library_id, [show_key]).get(show_key)
    return snap is not None and snap.children_hydrated


def upsert_episode(
    conn: Connection, server_id: int, library_id: int, episode: ItemRecord, *, now: int
) -> int:
    """Single-item form of the page writer, as the seed design called it."""
    if episode.kind != "episode":
        raise ValueError("upsert_episode takes an episode record")
    return upsert_items(conn, server_id, library_id, [episode], now=now)[episode.rating_key]


def upsert_movie(conn: Connection, server_id: int, library_id: int, movie: ItemRecord, *, now: int) -> int:
    if movie.kind != "movie":
        raise ValueError("upsert_movie takes a movie record")
    return upsert_items(conn, server_id, library_id, [movie], now=now)[movie.rating_key]


def upsert_show_digest(
    conn: Connection, library_id: int, show_key: str, digest: str, *, children_hydrated: bool
) -> None:
    """Store a show's digest once its children are in the catalog."""
    conn.execute(
        t.shows.update()
        .where(t.shows.c.library_id == library_id, t.shows.c.rating_key == show_key)
        .values(show_digest=digest, children_hydrated=children_hydrated)
    )


# --- the per-row touch the seed design (and the python-plexapi baseline) rely on: Retrovue's engine
# keeps what it saw in memory instead, so these live here, beside the baselines.


def _touch(conn: Connection, table: sa.Table, library_id: int, rating_keys: Sequence[str], now: int) -> int:
    touched = 0
    for part in chunks(list(rating_keys)):
        touched += conn.execute(
            table.update()
            .where(table.c.library_id == library_id, table.c.rating_key.in_(part))
            .values(last_seen_at=now)
        ).rowcount
    return touched


def touch_items(conn: Connection, library_id: int, rating_keys: Sequence[str], *, now: int) -> int:
    return _touch(conn, t.media_items, library_id, rating_keys, now)


def touch_shows(conn: Connection, library_id: int, rating_keys: Sequence[str], *, now: int) -> int:
    return _touch(conn, t.shows, library_id, rating_keys, now)


def max_last_seen(conn: Connection, library_id: int) -> int:
    c = t.media_items.c
    value = conn.execute(sa.select(sa.func.max(c.last_seen_at)).where(c.library_id == library_id)).scalar()
    return int(value or 0)


def mark_missing_not_seen(conn: Connection, library_id: int, since: int, *, now: int) -> int:
    """Everything of the library not touched since `since` becomes MISSING (no history rows: the
    baselines measure the ingest, not our audit trail)."""
    marked = 0
    for table in (t.media_items, t.shows, t.seasons):
        n = conn.execute(
            table.update()
            .where(table.c.library_id == library_id, table.c.state.notin_(GONE), table.c.last_seen_at < since)
            .values(state=ItemState.MISSING.value, missing_since=now)
        ).rowcount
        if table is t.media_items:
            marked = int(n)
    return marked
