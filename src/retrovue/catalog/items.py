"""Items: pages of episodes and movies, one item with its parts, streams and history."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from retrovue.catalog.model import Event, Item, Page, Part, Stream
from retrovue.catalog.query import (
    _FIRST_FILE,
    ITEM_SORTS,
    ItemQuery,
    Keyset,
    item_filters,
    reader_columns,
    sort_names,
)
from retrovue.errors import ConfigError
from retrovue.mapping import Resolvers
from retrovue.states import ItemState
from retrovue.store import schema as t

__all__ = [
    "confirmed_at",
    "item_from_row",
    "item_page",
    "load_item",
    "load_parts",
    "part_files",
    "row_page",
    "row_tags",
]

_I = t.media_items.c
_P = t.media_parts.c


def confirmed_at(verified: sa.ColumnElement[Any] | None = None) -> sa.ColumnElement[int]:
    """When Plex last vouched for the item (docs/catalog.md). Syncs write a row only when it
    changes, and stamp the library instead (`libraries.verified_at`: every present item was listed
    then); so a present item's is the later of its own `last_seen_at` and its library's
    `verified_at`, and a MISSING or DELETED item's is its `last_seen_at` (set, when it went missing,
    to the last confirmation it had). `verified`: the library's `verified_at` where a query joins
    the library (`_LIBRARY`), else it is looked up."""
    if verified is None:
        verified = (
            sa.select(t.libraries.c.verified_at).where(t.libraries.c.id == _I.library_id).scalar_subquery()
        )
    gone = _I.state.in_((ItemState.MISSING.value, ItemState.DELETED.value))
    return sa.case(
        (sa.or_(gone, verified.is_(None), verified < _I.last_seen_at), _I.last_seen_at), else_=verified
    )


_LIBRARY = t.libraries.alias("item_library")


def _columns(
    reader: sa.ColumnElement[str], plays: sa.ColumnElement[Any], *, joined: bool = False
) -> list[Any]:
    """The columns of an Item, in the order of its fields (tests/catalog checks they agree).

    `joined`: the query joins the item's library as `_LIBRARY` and reads its parts apart, so the
    first part's path is left NULL here (`item_from_row` takes it from the parts)."""
    return [
        _I.id,
        _I.server_id,
        _I.library_id,
        _I.rating_key,
        _I.kind,
        _I.title,
        _I.title_sort,
        _I.show_title,
        _I.show_rating_key,
        _I.season_rating_key,
        _I.season_index,
        _I.episode_index,
        _I.year,
        _I.guid_primary,
        _I.duration_ms,
        _I.file_size,
        _I.part_count,
        reader.label("reader_state"),
        _I.state,
        plays.label("plays_locally"),
        _I.first_seen_at,
        _I.last_seen_at,
        confirmed_at(_LIBRARY.c.verified_at if joined else None).label("confirmed_at"),
        _I.missing_since,
        _I.added_at_plex,
        _I.updated_at_plex,
        (sa.null() if joined else _FIRST_FILE).label("first_file"),
        _I.last_error,
        _I.error_count,
        _I.last_error_at,
    ]


_COUNT = 30


def _show_value(column: sa.ColumnElement[Any]) -> sa.ScalarSelect[Any]:
    """The value of `column` (of `shows`) for the item's show, correlated."""
    s = t.shows.c
    return (
        sa.select(column)
        .where(s.library_id == _I.library_id, s.rating_key == _I.show_rating_key)
        .correlate(t.media_items)
        .scalar_subquery()
    )


def _metadata_columns() -> list[Any]:
    """The scheduler metadata (schema 0007), after the base columns: an episode without a studio
    of its own shows its show's (its network)."""
    return [
        _I.summary,
        _I.content_rating,
        _I.originally_available_at,
        # Only an episode without a studio of its own looks its show up (CASE stops there).
        sa.case(
            (sa.and_(_I.studio.is_(None), _I.kind == "episode"), _show_value(t.shows.c.studio)),
            else_=_I.studio,
        ).label("studio"),
        _I.rating,
        _I.audience_rating,
        _I.thumb,
        _I.art,
        _I.imdb_id,
        _I.tmdb_id,
        _I.tvdb_id,
    ]


_META = 11


_PLAYS, _FILE, _ERRORS = 19, 26, 28  # positions in `_columns` (the order of Item's fields)
# Also read by position (a row's attribute look-up by name costs more than the rest of a page's
# tag query when an item has no tags):
_ID, _SERVER, _LIBRARY_ID, _KIND, _SHOW_KEY = 0, 1, 2, 4, 8


_NEW = object.__new__
_SETTERS = tuple(Item.__dict__[f.name].__set__ for f in dataclasses.fields(Item))
"""Item's slots in the order of its fields: `item_from_row` fills them directly, as `Item(...)` would but
without its frozen `__init__`, which sets each of the 43 fields through `object.__setattr__`
(a third of the time `Catalog.playable()` spent per item). Item has no `__post_init__`."""


def item_from_row(
    row: Any,
    local_paths: tuple[str | None, ...] | None = None,
    tags: dict[str, tuple[str, ...]] | None = None,
    parts: Sequence[tuple[int, str]] | None = None,
) -> Item:
    """An Item from a row of `_columns` (read by position: a page of 100,000 rows read by name
    spent a third of its time looking names up), with its genres, collections and labels, and
    `parts` (`part_files`) when the row was read without its first part's path."""
    values = list(row[: _COUNT + _META - 3])
    if values[_PLAYS] is not None:
        values[_PLAYS] = bool(values[_PLAYS])
    if parts is not None:
        values[_FILE] = parts[0][1] if parts else None
    values[_FILE] = values[_FILE] or None
    values[_ERRORS] = values[_ERRORS] or 0
    values.insert(_COUNT, local_paths)
    imdb, tmdb, tvdb = row[_COUNT + _META - 3 : _COUNT + _META]
    values.append({k: v for k, v in (("imdb", imdb), ("tmdb", tmdb), ("tvdb", tvdb)) if v})
    if tags:
        values += (tags.get("genre", ()), tags.get("collection", ()), tags.get("label", ()))
    else:
        values += ((), (), ())
    item = _NEW(Item)
    for put, value in zip(_SETTERS, values, strict=True):
        put(item, value)
    return item


def _among(
    column: sa.ColumnElement[int], ids: Sequence[int]
) -> tuple[sa.ColumnElement[bool], set[int] | None]:
    """A condition on `column` (an item id leading an index) that matches at least `ids`, and the
    ids to keep of the rows it matches (None: all). A page read by id (`playable`, the default
    sort) holds a dense run of ids: the range between its first and last, filtered here, costs
    less than sending the list; scattered ids (another sort, a narrow filter) are sent as a list."""
    low, high = min(ids), max(ids)
    if high - low < 2 * len(ids):
        return column.between(low, high), set(ids)
    return column.in_(sa.bindparam("ids", list(ids), expanding=True, literal_execute=True)), None


def item_tags(conn: Connection, rows: Sequence[Any]) -> dict[int, dict[str, tuple[str, ...]]]:
    """Each item's genres, collections and labels (an episode's include its show's), for a page:
    two reads whatever its size."""
    out: dict[int, dict[str, list[str]]] = {}
    if not rows:
        return {}
    ids = [r[_ID] for r in rows]
    g = t.item_tags.c
    among, keep = _among(g.item_id, ids)
    for item_id, kind, tag in conn.execute(
        sa.select(g.item_id, g.kind, g.tag).where(among).order_by(g.item_id, g.kind, g.position)
    ):
        if keep is None or item_id in keep:
            out.setdefault(item_id, {}).setdefault(kind, []).append(tag)
    shows: dict[tuple[int, str], list[int]] = {}
    for r in rows:
        if r[_KIND] == "episode" and r[_SHOW_KEY] is not None:
            shows.setdefault((r[_LIBRARY_ID], r[_SHOW_KEY]), []).append(r[_ID])
    if shows:
        s, h = t.shows.c, t.show_tags.c
        keys = sorted({k for _lib, k in shows})
        libs = sorted({lib for lib, _k in shows})
        for library_id, show_key, kind, tag in conn.execute(
            sa.select(s.library_id, s.rating_key, h.kind, h.tag)
            .join(t.show_tags, h.show_id == s.id)
            .where(
                s.library_id.in_(libs),
                s.rating_key.in_(sa.bindparam("keys", keys, expanding=True, literal_execute=True)),
            )
            .order_by(s.id, h.kind, h.position)
        ):
            for item_id in shows.get((library_id, show_key), ()):
                own = out.setdefault(item_id, {}).setdefault(kind, [])
                if tag not in own:
                    own.append(tag)
    return {i: {k: tuple(v) for k, v in kinds.items()} for i, kinds in out.items()}


def part_files(conn: Connection, item_ids: Sequence[int]) -> dict[int, list[tuple[int, str]]]:
    """Each item's parts as (media index, Plex path), in media then part order."""
    out: dict[int, list[tuple[int, str]]] = {}
    if not item_ids:
        return out
    among, keep = _among(_P.item_id, item_ids)
    rows = conn.execute(
        sa.select(_P.item_id, _P.media_index, _P.file)
        .where(among)
        .order_by(_P.item_id, _P.media_index, _P.part_index)
    ).all()
    for item_id, media_index, file in rows:
        if keep is None or item_id in keep:
            out.setdefault(item_id, []).append((media_index, file or ""))
    return out


def row_page(
    engine: Engine,
    machine: str,
    query: ItemQuery,
    *,
    sort: str,
    descending: bool,
    limit: int,
    after: str | None,
    parts: bool,
    extra: Sequence[sa.ColumnElement[bool]] = (),
) -> tuple[list[Any], str | None, dict[int, list[tuple[int, str]]]]:
    """One page of item rows as the database gave them, the cursor of the next page, and when
    `parts` each item's parts (media index, Plex path): `item_from_row(row, …, parts=…)` makes an
    Item of a row, and must be given its parts when they were read."""
    if sort not in ITEM_SORTS:
        raise ConfigError(f"unknown sort {sort!r}; use one of {sort_names(ITEM_SORTS)}")
    v, on, reader, plays = reader_columns(machine)
    source = t.media_items.outerjoin(v, on)
    if parts:  # the library joined once rather than looked up per row; the first path from the parts
        source = source.outerjoin(_LIBRARY, _LIBRARY.c.id == _I.library_id)
    with engine.connect() as conn:
        where = item_filters(conn, query, reader)
        select = (
            sa.select(*_columns(reader, plays, joined=parts), *_metadata_columns())
            .select_from(source)
            .where(*where, *extra)
        )
        rows, cursor = Keyset("items", sort, descending, limit, after).page(
            conn, select, ITEM_SORTS[sort](reader), _I.id
        )
        files = part_files(conn, [r[_ID] for r in rows]) if parts else {}
    return rows, cursor, files


def row_tags(engine: Engine, rows: Sequence[Any]) -> dict[int, dict[str, tuple[str, ...]]]:
    """`item_tags` of some rows of `row_page`, in a read of its own."""
    if not rows:
        return {}
    with engine.connect() as conn:
        return item_tags(conn, rows)


def item_page(
    engine: Engine,
    machine: str,
    resolvers: Resolvers,
    query: ItemQuery,
    *,
    sort: str,
    descending: bool,
    limit: int,
    after: str | None,
    local_paths: bool,
) -> Page[Item]:
    """One page of items, with each one's local paths (one per part) when `local_paths`."""
    rows, cursor, parts = row_page(
        engine, machine, query, sort=sort, descending=descending, limit=limit, after=after, parts=local_paths
    )
    tags = row_tags(engine, rows)
    items = []
    for row in rows:
        if local_paths:
            resolver = resolvers(row[_SERVER])
            files = parts.get(row[_ID], [])
            paths = tuple(resolver.resolve(file) if file else None for _, file in files)
            items.append(item_from_row(row, paths, tags.get(row[_ID]), files))
        else:
            items.append(item_from_row(row, None, tags.get(row[_ID])))
    return Page(items, cursor)


def load_item(engine: Engine, machine: str, item_id: int) -> Item | None:
    v, on, reader, plays = reader_columns(machine)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(*_columns(reader, plays), *_metadata_columns())
            .select_from(t.media_items.outerjoin(v, on))
            .where(_I.id == item_id)
        ).first()
        tags = item_tags(conn, [row]) if row is not None else {}
    return None if row is None else item_from_row(row, None, tags.get(row.id))


def _streams(text: str | None) -> tuple[Stream, ...] | None:
    if not text:
        return None
    try:
        raw = json.loads(text)
    except ValueError:
        return ()
    if not isinstance(raw, list):
        return ()
    out = []
    for s in raw:
        if not isinstance(s, dict):
            continue
        out.append(
            Stream(
                type=_int(s.get("type", s.get("streamType"))),
                codec=_str(s.get("codec")),
                language=_str(s.get("language")),
                title=_str(s.get("title")),
                channels=_int(s.get("channels")),
                width=_int(s.get("width")),
                height=_int(s.get("height")),
                default=bool(s.get("default")),
                forced=bool(s.get("forced")),
            )
        )
    return tuple(out)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def load_parts(engine: Engine, resolvers: Resolvers, item_id: int, server_id: int) -> tuple[Part, ...]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.media_parts).where(_P.item_id == item_id).order_by(_P.media_index, _P.part_index)
        ).all()
    resolver = resolvers(server_id)
    return tuple(
        Part(
            media_index=p.media_index,
            part_index=p.part_index,
            file=p.file,
            local_path=resolver.resolve(p.file) if p.file else None,
            size=p.size,
            duration_ms=p.duration_ms,
            container=p.container,
            video_codec=p.video_codec,
            audio_codec=p.audio_codec,
            audio_channels=p.audio_channels,
            video_resolution=p.video_resolution,
            width=p.width,
            height=p.height,
            bitrate=p.bitrate,
            accessible=p.accessible,
            file_exists=p.file_exists,
            streams=_streams(p.streams),
        )
        for p in rows
    )


def load_history(engine: Engine, item_id: int, limit: int) -> tuple[Event, ...]:
    ev = t.item_events.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.item_events)
            .where(ev.item_id == item_id)
            .order_by(ev.at.desc(), ev.id.desc())
            .limit(limit)
        ).all()
    return tuple(Event(r.at, r.event, r.old_value, r.new_value, r.detail, r.run_id) for r in rows)


def ids_of(items: Iterable[Item]) -> list[int]:
    return [i.id for i in items]
