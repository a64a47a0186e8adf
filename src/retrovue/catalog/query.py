"""The SQL behind the read API: filters, sort orders, and paging by key.

Every listing is ordered by a sort key that ends with the row id, so the order is total and the
same on every backend, and pages follow each other by key (`WHERE (key…, id) > (last key…, last
id)`), never by OFFSET: a page deep into 100,000 rows costs what the first one does, and rows
written between two pages neither repeat nor vanish from the ones not yet read. Sort keys never
hold NULL (absent numbers are compared as -1), so NULL ordering, which differs between databases,
never matters. The cursor handed to callers carries the sort it belongs to and the last key.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from retrovue.errors import ConfigError
from retrovue.states import ItemState
from retrovue.store import local
from retrovue.store import schema as t
from retrovue.store.keys import fold

__all__ = [
    "ITEM_SORTS",
    "SHOW_SORTS",
    "ItemQuery",
    "Keyset",
    "decode_cursor",
    "encode_cursor",
    "item_filters",
    "search_query",
]

STATES = tuple(s.value for s in ItemState)
KINDS = ("episode", "movie")


@dataclass(frozen=True, slots=True)
class ItemQuery:
    """Which items a listing holds. Every field narrows it; the default is every item.

    `state` is one of the five states as the reading machine sees them (or several); `text` is
    found, case and accents aside, in the title, the show title or Plex's sort title ("deja vu"
    finds "Déjà Vu"); `show_id` and `season_id` are the catalog ids of a show and a season,
    `season_index` a season number (with `show_id`).
    """

    server_id: int | None = None
    library_id: int | None = None
    show_id: int | None = None
    season_id: int | None = None
    season_index: int | None = None
    kind: str | None = None
    state: str | tuple[str, ...] | None = None
    text: str | None = None
    ids: tuple[int, ...] | None = None
    # What a scheduler filters on (schema 0007). Genre, collection, label and studio match case and
    # accents aside, and an episode matches through its show too (its network, its show's genres
    # and collections). `content_rating` is one rating or several, as Plex says them ("TV-G").
    # `aired_from`/`aired_to` bound the air or release date (YYYY, YYYY-MM or YYYY-MM-DD, both
    # inclusive); an item without one counts by its year. `decade` (1990) is 1990-01-01..1999-12-31.
    genre: str | None = None
    content_rating: str | tuple[str, ...] | None = None
    collection: str | None = None
    label: str | None = None
    studio: str | None = None
    aired_from: str | None = None
    aired_to: str | None = None
    decade: int | None = None

    def states(self) -> tuple[str, ...]:
        if self.state is None:
            return ()
        return (self.state,) if isinstance(self.state, str) else tuple(self.state)


def _like(column: Any, text: str | None) -> list[sa.ColumnElement[bool]]:
    """The folded text anywhere in the folded column (`%` and `_` taken literally)."""
    folded = fold(text)
    if not folded:
        return []
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return [column.like(f"%{escaped}%", escape="\\")]


def item_filters(
    conn: sa.Connection, query: ItemQuery, reader: sa.ColumnElement[str]
) -> list[sa.ColumnElement[bool]]:
    """WHERE clauses for `query` over `media_items` (with `reader` the reader-state expression).

    Raises ConfigError for an unknown state or kind, or a show or season id the catalog lacks.
    """
    i = t.media_items.c
    where: list[sa.ColumnElement[bool]] = []
    if query.server_id is not None:
        where.append(i.server_id == query.server_id)
    if query.library_id is not None:
        where.append(i.library_id == query.library_id)
    if query.show_id is not None:
        show = conn.execute(
            sa.select(t.shows.c.library_id, t.shows.c.rating_key).where(t.shows.c.id == query.show_id)
        ).first()
        if show is None:
            raise ConfigError(f"no show with id {query.show_id} in the catalog")
        where += [i.library_id == show.library_id, i.show_rating_key == show.rating_key]
    if query.season_id is not None:
        season = conn.execute(
            sa.select(t.seasons.c.library_id, t.seasons.c.rating_key).where(t.seasons.c.id == query.season_id)
        ).first()
        if season is None:
            raise ConfigError(f"no season with id {query.season_id} in the catalog")
        where += [i.library_id == season.library_id, i.season_rating_key == season.rating_key]
    if query.season_index is not None:
        where.append(i.season_index == query.season_index)
    if query.kind is not None:
        if query.kind not in KINDS:
            raise ConfigError(f"unknown kind {query.kind!r}; use episode or movie")
        where.append(i.kind == query.kind)
    states = query.states()
    if states:
        unknown = [s for s in states if s not in STATES]
        if unknown:
            raise ConfigError(f"unknown state {unknown[0]!r}; use one of {', '.join(STATES)}")
        where.append(reader.in_(states))
    where += _like(i.search_text, query.text)
    if query.ids is not None:
        where.append(i.id.in_(list(query.ids)))
    return where + metadata_filters(query)


_SEARCH_KEYS = {
    "genre": "genre",
    "collection": "collection",
    "label": "label",
    "studio": "studio",
    "network": "studio",
    "rated": "content_rating",
    "rating": "content_rating",
    "decade": "decade",
    "aired": "aired",
    "year": "aired",
}
_TOKEN = re.compile(r'(\w+):(?:"([^"]*)"|(\S+))|"([^"]*)"|(\S+)')


def search_query(text: str, base: ItemQuery | None = None) -> ItemQuery:
    """A search box's text as a query: words are searched in titles, and `genre:`, `collection:`,
    `label:`, `studio:` (`network:`), `rated:`, `decade:` (`1990s`) and `aired:` (`1994`,
    `1990..1999`) narrow it ("quoted words" stay together: `genre:"Science Fiction"`). A value that
    is not one (`decade:soon`) is searched as words, so typing never fails."""
    words: list[str] = []
    found: dict[str, Any] = {}
    for key, quoted, bare, phrase, word in _TOKEN.findall(text):
        field_name = _SEARCH_KEYS.get(key.lower()) if key else None
        value = (quoted or bare).strip()
        if field_name is None or not value:
            words.append(phrase or word or f"{key}:{quoted or bare}")
            continue
        if field_name == "decade":
            digits = value.lower().removesuffix("s")
            if digits.isascii() and digits.isdigit() and len(digits) == 4 and digits.endswith("0"):
                found["decade"] = int(digits)
                continue
        elif field_name == "aired":
            low, _, high = value.partition("..")
            try:
                _day(low, end=False)
                _day(high or low, end=True)
            except ConfigError:
                words.append(f"{key}:{value}")
                continue
            found["aired_from"], found["aired_to"] = low, high or low
            continue
        else:
            found[field_name] = value
            continue
        words.append(f"{key}:{value}")
    text_words = " ".join(w for w in words if w).strip() or None
    start = base if base is not None else ItemQuery()
    return dataclasses.replace(start, text=text_words, **found)


def _tagged(kind: str, name: str) -> sa.ColumnElement[bool]:
    """The item, or (for an episode) its show, carries tag `name` of `kind` (folded)."""
    i, g, h, s = t.media_items.c, t.item_tags.c, t.show_tags.c, t.shows.c
    key = fold(name)[: t.TAG]
    own = sa.exists().where(g.item_id == i.id, g.kind == kind, g.tag_key == key)
    show = sa.exists().where(
        h.show_id == s.id,
        s.library_id == i.library_id,
        s.rating_key == i.show_rating_key,
        h.kind == kind,
        h.tag_key == key,
    )
    return sa.or_(own, sa.and_(i.kind == "episode", show))


def _day(value: str, *, end: bool) -> str:
    """YYYY, YYYY-MM or YYYY-MM-DD as the first (or last) day it names; ConfigError otherwise."""
    parts = value.strip().split("-")
    ok = (
        1 <= len(parts) <= 3
        and all(p.isascii() and p.isdigit() for p in parts)
        and len(parts[0]) == 4
        and all(len(p) == 2 for p in parts[1:])
    )
    if not ok:
        raise ConfigError(f"not a date: {value[:40]!r}; use YYYY, YYYY-MM or YYYY-MM-DD")
    month = parts[1] if len(parts) > 1 else ("12" if end else "01")
    day = parts[2] if len(parts) > 2 else ("31" if end else "01")
    if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31):
        raise ConfigError(f"not a date: {value[:40]!r}; use YYYY, YYYY-MM or YYYY-MM-DD")
    return f"{parts[0]}-{month}-{day}"


def aired_date() -> sa.ColumnElement[str]:
    """An item's air or release date for date filters: its own, else January 1st of its year."""
    i = t.media_items.c
    year = sa.cast(i.year, sa.String(4))
    return sa.func.coalesce(i.originally_available_at, sa.case((i.year.is_not(None), year + "-01-01")))


def metadata_filters(query: ItemQuery) -> list[sa.ColumnElement[bool]]:
    i, s = t.media_items.c, t.shows.c
    where: list[sa.ColumnElement[bool]] = []
    for kind, name in (("genre", query.genre), ("collection", query.collection), ("label", query.label)):
        if name is not None and name.strip():
            where.append(_tagged(kind, name))
    if query.content_rating is not None:
        ratings = (query.content_rating,) if isinstance(query.content_rating, str) else query.content_rating
        where.append(sa.func.upper(i.content_rating).in_([r.strip().upper() for r in ratings]))
    if query.studio is not None and query.studio.strip():
        show_studio = (
            sa.select(s.studio)
            .where(s.library_id == i.library_id, s.rating_key == i.show_rating_key)
            .correlate(t.media_items)
            .scalar_subquery()
        )
        studio = sa.func.lower(sa.func.coalesce(i.studio, show_studio))
        where.append(studio == query.studio.strip().lower())
    low, high = query.aired_from, query.aired_to
    if query.decade is not None:
        if not 1000 <= query.decade <= 9990 or query.decade % 10:
            raise ConfigError(f"a decade is a year ending in 0, such as 1990; got {query.decade}")
        low, high = low or str(query.decade), high or str(query.decade + 9)
    if low is not None:
        where.append(aired_date() >= _day(low, end=False))
    if high is not None:
        where.append(aired_date() <= _day(high, end=True))
    return where


def show_filters(library_id: int | None, text: str | None, state: str | None) -> list[sa.ColumnElement[bool]]:
    s = t.shows.c
    where: list[sa.ColumnElement[bool]] = []
    if library_id is not None:
        where.append(s.library_id == library_id)
    if state is not None:
        where.append(s.state == state)
    return where + _like(s.search_text, text)


# --------------------------------------------------------------------------------------------------
# Sort orders


def _num(column: Any) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(column, -1)


SortKeys = Callable[[sa.ColumnElement[str]], list[sa.ColumnElement[Any]]]

_I = t.media_items.c
_FIRST_FILE = (
    sa.select(sa.func.coalesce(t.media_parts.c.file, ""))
    .where(t.media_parts.c.item_id == _I.id)
    .order_by(t.media_parts.c.media_index, t.media_parts.c.part_index)
    .limit(1)
    .correlate(t.media_items)
    .scalar_subquery()
)

ITEM_SORTS: dict[str, SortKeys] = {
    "show": lambda _r: [_I.library_id, _I.sort_show],
    "title": lambda _r: [_I.library_id, _I.sort_title],
    "year": lambda _r: [_I.library_id, _num(_I.year), _I.sort_title],
    "added": lambda _r: [_I.library_id, _num(_I.added_at_plex)],
    "duration": lambda _r: [_I.library_id, _num(_I.duration_ms)],
    "size": lambda _r: [_I.library_id, _num(_I.file_size)],
    "state": lambda reader: [_I.library_id, reader, _I.sort_title],
    "last_seen": lambda _r: [_I.library_id, _I.last_seen_at],
    "path": lambda _r: [_I.library_id, sa.func.coalesce(_FIRST_FILE, "")],
    "id": lambda _r: [],
}
"""Item sort orders by name. A listing is grouped by library (in library id order), sorted within
each by the order named, and completed by the id. `show` orders episodes by show, season and episode
(movies by title), `title` by Plex's sort title; both are indexed, `(library_id, key)`, so a page
is an index range however deep it is and whether or not the listing is narrowed to one library."""

SHOW_SORTS: dict[str, Callable[[], list[sa.ColumnElement[Any]]]] = {
    "title": lambda: [t.shows.c.library_id, t.shows.c.sort_title],
    "year": lambda: [t.shows.c.library_id, _num(t.shows.c.year), t.shows.c.sort_title],
    "added": lambda: [t.shows.c.library_id, _num(t.shows.c.added_at_plex)],
    "id": lambda: [],
}


@dataclass(frozen=True, slots=True)
class Keyset:
    """One listing's order and position: which sort, which way, and after which key."""

    listing: str  # items | shows: a cursor is only good for the listing that gave it out
    sort: str
    descending: bool
    limit: int
    after: str | None

    def statement(
        self, select: sa.Select[Any], keys: Sequence[sa.ColumnElement[Any]], row_id: Any
    ) -> sa.Select[Any]:
        """`select` narrowed to this page (and the row after it), ordered, with its sort keys added
        as `sort_key_N` columns after the selected ones."""
        if self.limit < 1:
            raise ConfigError(f"a page holds at least one row; got limit={self.limit}")
        key = decode_cursor(self.after, self.listing, self.sort, self.descending) if self.after else None
        full = [*keys, row_id]
        order = [k.desc() if self.descending else k.asc() for k in full]
        labelled = [k.label(f"sort_key_{n}") for n, k in enumerate(full)]
        stmt = select.add_columns(*labelled).order_by(*order).limit(self.limit + 1)
        if key is not None:
            if len(key) != len(full):
                raise ConfigError("the cursor does not belong to this listing; start again without it")
            left, right = sa.tuple_(*full), sa.tuple_(*[sa.literal(v) for v in key])
            stmt = stmt.where(left < right if self.descending else left > right)
        return stmt

    def page(
        self, conn: sa.Connection, select: sa.Select[Any], keys: Sequence[sa.ColumnElement[Any]], row_id: Any
    ) -> tuple[list[Any], str | None]:
        """The rows of one page of `select` ordered by `keys` then `row_id`, and the next cursor.

        One row more than the page is read, to know whether another page follows (no empty last
        page); the cursor carries the last row's key values.
        """
        full = [*keys, row_id]
        rows = list(conn.execute(self.statement(select, keys, row_id)).all())
        if len(rows) <= self.limit:
            return rows, None
        last = rows[self.limit - 1]._mapping
        cursor = encode_cursor(
            self.listing, self.sort, self.descending, [last[f"sort_key_{n}"] for n in range(len(full))]
        )
        return rows[: self.limit], cursor


def sort_names(sorts: dict[str, Any]) -> str:
    return ", ".join(sorts)


# --------------------------------------------------------------------------------------------------
# Cursors


def encode_cursor(listing: str, sort: str, descending: bool, key: Sequence[Any]) -> str:
    """An opaque, URL-safe cursor: which listing and order it continues, and the last key."""
    raw = json.dumps([listing, sort, descending, list(key)], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, listing: str, sort: str, descending: bool) -> list[Any]:
    """The key a cursor carries; ConfigError when it is not one of this listing and order."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        got_listing, got_sort, got_desc, key = json.loads(raw)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ConfigError(f"{cursor[:40]!r} is not a cursor this catalog gave out") from None
    if (got_listing, got_sort, bool(got_desc)) != (listing, sort, descending) or not isinstance(key, list):
        raise ConfigError(
            f"the cursor belongs to another listing or order ({got_listing} by {got_sort}); "
            "use it with the same sort, or start again without it"
        )
    return key


def reader_columns(machine: str) -> tuple[sa.FromClause, Any, sa.ColumnElement[str], sa.ColumnElement[Any]]:
    """(verdicts alias, ON clause, reader state, plays-locally) for items read on `machine`."""
    v, on = local.verdict_join(machine)
    plays = sa.case((v.c.digest == sa.func.coalesce(_I.digest, ""), v.c.local), else_=sa.null())
    return v, on, local.reader_state(v), plays
