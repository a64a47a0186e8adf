"""Plex collections as objects: the digest each was last walked with, and its members as tags.

A collection's members are the `collection` tags of the library's movies (`item_tags`) or shows
(`show_tags`, which are also their episodes'), the same rows an item's own `Collection` tags write,
so a reader sees one membership whichever way Plex told it. A collection walked again (its digest
moved) has its tag set to exactly its members: tags added to the items that joined, removed from
those that left, and each item whose membership moved gets a `changed` entry in the change feed (a
show's: each of its present episodes).
"""

from __future__ import annotations

from collections.abc import Collection as Keys
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy import Connection

from retrovue.states import ItemState
from retrovue.store import feed
from retrovue.store import schema as t
from retrovue.store.keys import fold
from retrovue.store.upsert import bulk_insert, upsert

__all__ = ["forget_collection", "set_members", "stored_collections"]

GONE = (ItemState.MISSING.value, ItemState.DELETED.value)
KIND = "collection"


def stored_collections(conn: Connection, library_id: int) -> dict[str, tuple[str, str]]:
    """{rating key: (title, digest)} of the library's collections as last walked."""
    c = t.plex_collections.c
    rows = conn.execute(sa.select(c.rating_key, c.title, c.digest).where(c.library_id == library_id))
    return {r.rating_key: (r.title, r.digest) for r in rows}


def _owner(library_kind: str) -> tuple[sa.Table, sa.Table, str]:
    """(the table of what a collection holds, its tag table, the tag table's owner column)."""
    if library_kind == "show":
        return t.shows, t.show_tags, "show_id"
    return t.media_items, t.item_tags, "item_id"


def _tag_key(title: str) -> str:
    return fold(title.strip()[: t.TAG])[: t.TAG]


def _holders(conn: Connection, library_id: int, library_kind: str, key: str) -> dict[int, str]:
    """{owner id: rating key} of the library's rows holding the collection tag `key`."""
    owners, tags, column = _owner(library_kind)
    g = tags.c
    rows = conn.execute(
        sa.select(owners.c.id, owners.c.rating_key)
        .join(tags, g[column] == owners.c.id)
        .where(owners.c.library_id == library_id, g.kind == KIND, g.tag_key == key)
    )
    return {r.id: r.rating_key for r in rows}


def _record_changed(
    conn: Connection, library_id: int, library_kind: str, keys: Sequence[str], now: int, run_id: int | None
) -> None:
    """A `changed` feed entry for every present item these movies are, or these shows hold."""
    if not keys:
        return
    i = t.media_items.c
    column = i.show_rating_key if library_kind == "show" else i.rating_key
    for start in range(0, len(keys), 900):
        where = sa.and_(
            i.library_id == library_id, column.in_(keys[start : start + 900]), i.state.notin_(GONE)
        )
        feed.record_select(
            conn, where, feed.CHANGED, now=now, run_id=run_id, old_value=sa.null(), new_value=i.state
        )


def _drop(conn: Connection, library_kind: str, ids: Sequence[int], key: str) -> None:
    _, tags, column = _owner(library_kind)
    g = tags.c
    for start in range(0, len(ids), 900):
        conn.execute(
            tags.delete().where(g[column].in_(ids[start : start + 900]), g.kind == KIND, g.tag_key == key)
        )


def set_members(
    conn: Connection,
    library_id: int,
    library_kind: str,
    *,
    rating_key: str,
    title: str,
    digest: str,
    members: Keys[str],
    was: str | None,
    now: int,
    run_id: int | None = None,
) -> int:
    """Make the collection hold exactly `members` (rating keys of the library's movies or shows),
    drop the tags of its old title `was` if it was renamed, and store its digest. Returns how many
    rows' membership moved."""
    owners, tags, column = _owner(library_kind)
    key = _tag_key(title)
    held = _holders(conn, library_id, library_kind, key)
    renamed = was is not None and _tag_key(was) != key
    old = _holders(conn, library_id, library_kind, _tag_key(was)) if renamed and was is not None else {}
    wanted: dict[int, str] = {}
    wanted_keys = list(members)
    for start in range(0, len(wanted_keys), 900):
        rows = conn.execute(
            sa.select(owners.c.id, owners.c.rating_key).where(
                owners.c.library_id == library_id, owners.c.rating_key.in_(wanted_keys[start : start + 900])
            )
        )
        wanted.update({r.id: r.rating_key for r in rows})
    leave = [i for i in held if i not in wanted]
    join = [i for i in wanted if i not in held]
    moved = sorted({held[i] for i in leave} | {wanted[i] for i in join} | set(old.values()))
    if moved:
        feed.claim(conn)  # before the rows its entries describe (store/feed.py: lock order)
        _record_changed(conn, library_id, library_kind, moved, now, run_id)
    _drop(conn, library_kind, leave, key)
    if renamed and was is not None:
        _drop(conn, library_kind, list(old), _tag_key(was))
    if join:
        g = tags.c
        last = dict(
            conn.execute(
                sa.select(g[column], sa.func.max(g.position))
                .where(g[column].in_(join), g.kind == KIND)
                .group_by(g[column])
            ).all()
        )
        name = title.strip()[: t.TAG]
        bulk_insert(
            conn,
            tags,
            [
                {column: i, "kind": KIND, "tag": name, "tag_key": key, "position": (last.get(i) or 0) + 1}
                for i in join
            ],
        )
    upsert(
        conn,
        t.plex_collections,
        [{"library_id": library_id, "rating_key": rating_key, "title": title[: t.TAG], "digest": digest}],
        conflict=("library_id", "rating_key"),
        update=("title", "digest"),
    )
    return len(moved)


def forget_collection(
    conn: Connection,
    library_id: int,
    library_kind: str,
    *,
    rating_key: str,
    title: str,
    now: int,
    run_id: int | None = None,
) -> int:
    """A collection Plex no longer lists: no row holds it any more. Returns the rows that did."""
    key = _tag_key(title)
    held = _holders(conn, library_id, library_kind, key)
    if held:
        feed.claim(conn)
        _record_changed(conn, library_id, library_kind, sorted(held.values()), now, run_id)
        _drop(conn, library_kind, list(held), key)
    c = t.plex_collections.c
    conn.execute(t.plex_collections.delete().where(c.library_id == library_id, c.rating_key == rating_key))
    return len(held)
