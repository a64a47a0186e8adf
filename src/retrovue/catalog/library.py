"""Servers, libraries (with counts by state), shows and seasons."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from retrovue.catalog.model import Library, Page, Season, Server, Show
from retrovue.catalog.query import (
    SHOW_SORTS,
    ItemQuery,
    Keyset,
    item_filters,
    reader_columns,
    show_filters,
    sort_names,
)
from retrovue.errors import ConfigError
from retrovue.states import ItemState
from retrovue.store import schema as t

__all__ = [
    "count_states",
    "count_states_by",
    "list_libraries",
    "list_seasons",
    "list_servers",
    "show_page",
]


def list_servers(engine: Engine) -> list[Server]:
    s = t.servers.c
    c = t.server_connections.c
    in_use = (
        sa.select(c.kind)
        .where(c.server_id == s.id, c.uri == s.base_url)
        .order_by(c.position)
        .limit(1)
        .scalar_subquery()
    )
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                s.id,
                s.name,
                s.base_url,
                s.friendly_name,
                s.machine_identifier,
                s.version,
                s.check_local_files,
                s.owner,
                in_use.label("connection"),
            ).order_by(s.name)
        ).all()
    return [
        Server(
            r.id,
            r.name,
            r.base_url,
            r.friendly_name,
            r.machine_identifier,
            r.version,
            bool(r.check_local_files),
            r.owner,
            r.connection,
        )
        for r in rows
    ]


def _zero() -> dict[str, int]:
    return {s.value: 0 for s in ItemState}


def list_libraries(
    engine: Engine, machine: str, *, server_id: int | None = None, counts: bool = True
) -> list[Library]:
    """Libraries by server then title, each with its items counted by state for `machine`: one
    grouped query for all of them."""
    lib, srv, i = t.libraries.c, t.servers.c, t.media_items.c
    v, on, reader, _plays = reader_columns(machine)
    query = (
        sa.select(t.libraries, srv.name.label("server_name"))
        .join(t.servers, srv.id == lib.server_id)
        .order_by(srv.name, lib.title, lib.section_key)
    )
    state = reader.label("state")
    grouped = (
        sa.select(i.library_id, state, sa.func.count())
        .select_from(t.media_items.outerjoin(v, on))
        .group_by(i.library_id, state)
    )
    if server_id is not None:
        query = query.where(lib.server_id == server_id)
        grouped = grouped.where(i.server_id == server_id)
    by_library: dict[int, dict[str, int]] = {}
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        for library_id, value, n in conn.execute(grouped) if counts else ():
            by_library.setdefault(library_id, _zero())[value] = int(n)
    return [
        Library(
            id=r.id,
            server_id=r.server_id,
            server_name=r.server_name,
            section_key=r.section_key,
            title=r.title,
            kind=r.kind,
            enabled=bool(r.enabled),
            locations=tuple(json.loads(r.locations or "[]")),
            last_synced_at=r.last_synced_at,
            last_sync_status=r.last_sync_status,
            counts=by_library.get(r.id, _zero()) if counts else {},
            verified_at=r.verified_at,
            listed_at=r.listed_at,
            verify_hours=r.verify_hours,
        )
        for r in rows
    ]


def count_states(engine: Engine, machine: str, query: ItemQuery) -> dict[str, int]:
    """Items matching `query` per state as `machine`'s readers see them, every state a key."""
    v, on, reader, _plays = reader_columns(machine)
    state = reader.label("state")
    out = _zero()
    with engine.connect() as conn:
        where = item_filters(conn, query, reader)
        rows = conn.execute(
            sa.select(state, sa.func.count())
            .select_from(t.media_items.outerjoin(v, on))
            .where(*where)
            .group_by(state)
        )
        for value, n in rows:
            out[value] = int(n)
    return out


GROUPS = ("show", "season")


def count_states_by(engine: Engine, machine: str, query: ItemQuery, by: str) -> dict[str, dict[str, int]]:
    """Items matching `query` per show (or season) rating key and state, in one grouped query: the
    counts a browser shows beside each show or season. Every state is a key of each inner dict."""
    if by not in GROUPS:
        raise ConfigError(f"unknown grouping {by!r}; use show or season")
    i = t.media_items.c
    key = (i.show_rating_key if by == "show" else i.season_rating_key).label("group_key")
    v, on, reader, _plays = reader_columns(machine)
    state = reader.label("state")
    out: dict[str, dict[str, int]] = {}
    with engine.connect() as conn:
        where = item_filters(conn, query, reader)
        rows = conn.execute(
            sa.select(key, state, sa.func.count())
            .select_from(t.media_items.outerjoin(v, on))
            .where(*where, key.isnot(None))
            .group_by(key, state)
        )
        for group, value, n in rows:
            out.setdefault(str(group), _zero())[value] = int(n)
    return out


def _show(r: Any) -> Show:
    return Show(
        id=r.id,
        library_id=r.library_id,
        rating_key=r.rating_key,
        title=r.title,
        title_sort=r.title_sort,
        year=r.year,
        guid=r.guid,
        seasons=r.child_count,
        episodes=r.leaf_count,
        state=r.state,
        first_seen_at=r.first_seen_at,
        last_seen_at=r.last_seen_at,
    )


def show_page(
    engine: Engine,
    *,
    library_id: int | None,
    text: str | None,
    state: str | None,
    sort: str,
    descending: bool,
    limit: int,
    after: str | None,
) -> Page[Show]:
    if sort not in SHOW_SORTS:
        raise ConfigError(f"unknown sort {sort!r}; use one of {sort_names(SHOW_SORTS)}")
    with engine.connect() as conn:
        select = sa.select(t.shows).where(*show_filters(library_id, text, state))
        rows, cursor = Keyset("shows", sort, descending, limit, after).page(
            conn, select, SHOW_SORTS[sort](), t.shows.c.id
        )
    return Page([_show(r) for r in rows], cursor)


def load_show(engine: Engine, show_id: int) -> Show | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(t.shows).where(t.shows.c.id == show_id)).first()
    return None if row is None else _show(row)


def list_seasons(engine: Engine, show_id: int) -> list[Season]:
    """A show's seasons in season order (specials, index 0, first)."""
    s, se = t.shows.c, t.seasons.c
    with engine.connect() as conn:
        show = conn.execute(sa.select(s.library_id, s.rating_key).where(s.id == show_id)).first()
        if show is None:
            raise ConfigError(f"no show with id {show_id} in the catalog")
        rows = conn.execute(
            sa.select(t.seasons)
            .where(se.library_id == show.library_id, se.show_rating_key == show.rating_key)
            .order_by(sa.func.coalesce(se.season_index, -1), se.id)
        ).all()
    return [
        Season(
            id=r.id,
            library_id=r.library_id,
            rating_key=r.rating_key,
            show_rating_key=r.show_rating_key,
            index=r.season_index,
            title=r.title,
            episodes=r.leaf_count,
            state=r.state,
            first_seen_at=r.first_seen_at,
            last_seen_at=r.last_seen_at,
        )
        for r in rows
    ]
