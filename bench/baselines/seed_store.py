"""The design note's per-item store helpers, used only by the seed-design baseline (`seed.py`).

The product writes pages (`retrovue.store.items.upsert_items`); the seed design wrote one show and
one item at a time through these helpers, and the baseline reproduces that shape to be measured
against. They live here, beside the only code that calls them, built on the store's page writers.
"""

from __future__ import annotations

from sqlalchemy import Connection

from retrovue.store import schema as t
from retrovue.store.items import ItemRecord, show_snapshot, upsert_items

__all__ = ["children_hydrated", "show_digest_changed", "upsert_episode", "upsert_movie", "upsert_show_digest"]


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
