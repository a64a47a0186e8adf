"""Shows, seasons, media items and parts: the batch-shaped data access the sync engine runs on.

Every write takes a page of records and issues a fixed number of statements, whatever the page size:
one upsert per table and one delete-and-insert of parts; nothing for unchanged rows. The caller owns
the transaction (one per page). Reads return small snapshots keyed by rating key so the engine can
compare digests without loading a whole library into memory.

Seen/state bookkeeping (the design note's section 02, without its per-row touch):
- add: first_seen_at = last_seen_at = now; change: update, keep first_seen_at;
- unchanged: nothing is written. The run keeps the ids it saw in memory; the library's
  `verified_at` records when its present rows were last confirmed;
- what a complete listing did not contain goes MISSING and later DELETED in `store.lifecycle`;
  a row carried to a re-keyed twin in `store.rekeys`.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence
from functools import cache
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql

from retrovue.states import ItemState
from retrovue.store import feed
from retrovue.store import schema as t
from retrovue.store.keys import fold, item_keys, show_keys
from retrovue.store.upsert import bulk_insert, upsert

__all__ = [
    "ItemRecord",
    "ItemSnapshot",
    "MetadataFields",
    "PartRecord",
    "SeasonRecord",
    "ShowRecord",
    "ShowSnapshot",
    "holds_no_items",
    "item_snapshot",
    "library_missing_deleted_counts",
    "library_state_counts",
    "present_not_in",
    "show_snapshot",
    "upsert_items",
    "upsert_seasons",
    "upsert_shows",
]

GONE = (ItemState.MISSING.value, ItemState.DELETED.value)
# Chunk IN-lists well below every dialect's bound-parameter limit (SQLite: 32,766).
IN_CHUNK = 900


def chunks(seq: Sequence[Any], size: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


class _Record(msgspec.Struct, frozen=True, gc=False):
    """What the sync builds and writes per item, twice per item or more: a frozen msgspec struct is
    built in C (a frozen dataclass sets each field through `object.__setattr__`, 5% of a first
    sync) and turns into a row in C (`msgspec.structs.asdict`). Untracked by the cycle collector:
    records hold text, numbers and tuples of records, so they cannot form a cycle."""


class PartRecord(_Record, frozen=True):
    media_index: int
    part_index: int
    plex_media_id: int | None = None
    plex_part_id: int | None = None
    part_key: str | None = None
    file: str | None = None
    size: int | None = None
    duration_ms: int | None = None
    container: str | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    audio_channels: int | None = None
    video_resolution: str | None = None
    width: int | None = None
    height: int | None = None
    bitrate: int | None = None
    streams: str | None = None
    accessible: bool | None = None
    file_exists: bool | None = None


class MetadataFields(_Record, frozen=True, kw_only=True):
    """What a scheduler filters on, shared by items and shows (schema 0007): the columns of
    `METADATA_COLUMNS` and the tags of `TAGS`. Keyword-only, so a record's own fields keep their
    positions before these."""

    summary: str | None = None
    content_rating: str | None = None
    originally_available_at: str | None = None  # YYYY-MM-DD
    studio: str | None = None
    thumb: str | None = None
    art: str | None = None
    rating: float | None = None
    audience_rating: float | None = None
    imdb_id: str | None = None
    tmdb_id: str | None = None
    tvdb_id: str | None = None
    genres: tuple[str, ...] = ()
    collections: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()


class ItemRecord(MetadataFields, frozen=True):
    """An episode or movie as the engine wants it stored (a digest already computed)."""

    rating_key: str
    kind: str  # episode | movie
    title: str
    digest: str
    state: str = ItemState.ACTIVE.value
    show_rating_key: str | None = None
    season_rating_key: str | None = None
    show_title: str | None = None
    season_index: int | None = None
    episode_index: int | None = None
    year: int | None = None
    guid_primary: str | None = None
    duration_ms: int | None = None
    file_size: int | None = None
    part_count: int = 0
    streams_signature: str | None = None
    added_at_plex: int | None = None
    updated_at_plex: int | None = None
    parts: tuple[PartRecord, ...] = ()
    title_sort: str | None = None  # Plex's titleSort
    detail_pending: bool = False  # stored without its file check: the next run owes it one


class ShowRecord(MetadataFields, frozen=True):
    """A show as the engine wants it stored (its digest from the listing)."""

    rating_key: str
    title: str
    show_digest: str
    children_hydrated: bool
    guid: str | None = None
    title_sort: str | None = None
    year: int | None = None
    child_count: int | None = None
    leaf_count: int | None = None
    added_at_plex: int | None = None
    updated_at_plex: int | None = None


class SeasonRecord(_Record, frozen=True):
    rating_key: str
    show_rating_key: str
    season_index: int | None = None
    title: str | None = None
    leaf_count: int | None = None
    updated_at_plex: int | None = None


class ItemSnapshot(_Record, frozen=True):
    id: int
    digest: str | None
    state: str
    detail_pending: bool = False


class ShowSnapshot(_Record, frozen=True):
    show_digest: str | None
    children_hydrated: bool
    state: str


def _shallow_row(record: _Record, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """A record's fields as a row dict, without the fields in `skip`."""
    row = msgspec.structs.asdict(record)
    for name in skip:
        row.pop(name, None)
    return row


# --- reads -------------------------------------------------------------------------------------


class _KeyedRead:
    """`SELECT columns FROM table WHERE library_id = ? AND rating_key IN (keys)`, built once per
    dialect: every page reads through it, so SQLAlchemy compiles each form once and caches it.

    PostgreSQL takes the keys as one array parameter (`= ANY(?)`) and SQLite as one JSON array
    (`json_each`): every page sends the same statement text, which the driver prepares once, instead
    of an IN-list of as many placeholders as the page has keys, rendered again for every page.
    MariaDB gets the expanding IN-list."""

    def __init__(self, table: sa.Table, *columns: str) -> None:
        c = table.c
        selected = [c.rating_key, *(c[name] for name in columns)]
        library = c.library_id == sa.bindparam("library_id")
        self._by_dialect: dict[str, Any] = {
            "postgresql": sa.select(*selected).where(
                library, c.rating_key == sa.any_(sa.bindparam("keys", type_=postgresql.ARRAY(sa.String)))
            ),
            "sqlite": sa.select(*selected).where(
                library,
                c.rating_key.in_(
                    sa.select(sa.column("value", sa.String)).select_from(
                        sa.func.json_each(sa.bindparam("keys", type_=sa.JSON))
                    )
                ),
            ),
        }
        self._default = sa.select(*selected).where(
            library, c.rating_key.in_(sa.bindparam("keys", expanding=True))
        )

    def rows(self, conn: Connection, library_id: int, rating_keys: Sequence[str]) -> list[Any]:
        """The stored rows of the given keys (those that exist): (rating key, *columns), in no order."""
        query = self._by_dialect.get(conn.dialect.name, self._default)
        out: list[Any] = []
        for part in chunks(list(rating_keys)):
            out += conn.execute(query, {"library_id": library_id, "keys": list(part)}).all()
        return out


_ITEM_SNAPSHOT = _KeyedRead(t.media_items, "id", "digest", "state", "detail_pending")
_SHOW_SNAPSHOT = _KeyedRead(t.shows, "show_digest", "children_hydrated", "state")
_SEASON_SNAPSHOT = _KeyedRead(t.seasons, "show_rating_key", "season_index", "title", "state", "last_seen_at")


def item_snapshot(conn: Connection, library_id: int, rating_keys: Sequence[str]) -> dict[str, ItemSnapshot]:
    """Stored id, digest and state of the given items (those that exist), keyed by rating key."""
    # Unpacked by position: a Row's attribute access by name cost half this read's time.
    return {
        key: ItemSnapshot(item_id, digest, state, bool(pending))
        for key, item_id, digest, state, pending in _ITEM_SNAPSHOT.rows(conn, library_id, rating_keys)
    }


def holds_no_items(conn: Connection, library_id: int) -> bool:
    """Whether the library has no item and no season row in any state: a first sync's pages have
    nothing to be compared with, and can skip reading the catalog for keys it has never held."""
    for table in (t.media_items, t.seasons):
        if conn.execute(sa.select(table.c.id).where(table.c.library_id == library_id).limit(1)).first():
            return False
    return True


def show_snapshot(conn: Connection, library_id: int, rating_keys: Sequence[str]) -> dict[str, ShowSnapshot]:
    return {
        key: ShowSnapshot(digest, bool(hydrated), state)
        for key, digest, hydrated, state in _SHOW_SNAPSHOT.rows(conn, library_id, rating_keys)
    }


def library_state_counts(conn: Connection, library_id: int) -> dict[str, int]:
    """Items per stored (Plex-side) state, every state a key (zero where none).

    Readers want the five states as they hold for their machine: `local.state_counts`.
    """
    c = t.media_items.c
    counts = {s.value: 0 for s in ItemState}
    rows = conn.execute(
        sa.select(c.state, sa.func.count()).where(c.library_id == library_id).group_by(c.state)
    )
    for state, n in rows:
        counts[state] = int(n)
    return counts


def library_missing_deleted_counts(conn: Connection, library_id: int) -> tuple[int, int]:
    counts = library_state_counts(conn, library_id)
    return counts[ItemState.MISSING.value], counts[ItemState.DELETED.value]


def present_not_in(conn: Connection, library_id: int, seen: Container[int]) -> tuple[int, list[int]]:
    """(how many items the library holds as present, the ids of those not in `seen`), streamed in
    one indexed read so memory holds only the unseen few."""
    c = t.media_items.c
    held = 0
    unseen: list[int] = []
    rows = conn.execute(  # streamed; the option is the statement's, never the connection's
        sa.select(c.id)
        .where(c.library_id == library_id, c.state.notin_(GONE))
        .execution_options(yield_per=2000)
    )
    for (item_id,) in rows:
        held += 1
        if item_id not in seen:
            unseen.append(item_id)
    return held, unseen


def present_keys(conn: Connection, table: sa.Table, library_id: int) -> set[str]:
    """Rating keys of a library's present shows or seasons."""
    c = table.c
    rows = conn.execute(sa.select(c.rating_key).where(c.library_id == library_id, c.state.notin_(GONE)))
    return {k for (k,) in rows}


# --- writes ------------------------------------------------------------------------------------

METADATA_COLUMNS = (
    "summary",
    "content_rating",
    "originally_available_at",
    "studio",
    "thumb",
    "art",
    "rating",
    "audience_rating",
    "imdb_id",
    "tmdb_id",
    "tvdb_id",
)
"""The scheduler metadata columns of shows and media items (schema 0007)."""

TAGS = ("genres", "collections", "labels")
"""Record fields written to `item_tags` / `show_tags`, not to the row itself."""

_TAG_KIND = {"genres": "genre", "collections": "collection", "labels": "label"}

ITEM_UPDATE_COLUMNS = (
    "server_id",
    "kind",
    "show_rating_key",
    "season_rating_key",
    "title",
    "title_sort",
    "sort_title",  # the folded keys: column defaults computed from the row (schema.py, keys.py)
    "sort_show",
    "search_text",
    "show_title",
    "season_index",
    "episode_index",
    "year",
    "guid_primary",
    "duration_ms",
    "file_size",
    "part_count",
    "streams_signature",
    "digest",
    "added_at_plex",
    "updated_at_plex",
    "last_seen_at",
    "last_scan_at",
    "state",
    "missing_since",
    "missing_listing",
    "detail_pending",
    *METADATA_COLUMNS,
)


def upsert_items(
    conn: Connection,
    server_id: int,
    library_id: int,
    items: Sequence[ItemRecord],
    *,
    now: int,
    run_id: int | None = None,
    listing: int | None = None,
) -> dict[str, int]:
    """Insert new and rewrite changed items with their parts; returns {rating_key: item id}.

    `listing` is the library's listing number for the run (`libraries.listings` + 1), kept on new
    rows as `first_listing` so re-key matching can tell what appeared since an item was last seen.
    Statements: one snapshot read, one upsert, one id read, a parts and a tags delete for rows that
    existed before, a parts and a tags insert, and one events insert when states changed —
    independent of the page size. A new row owns no parts or tags yet: a first sync deletes nothing.
    """
    if not items:
        return {}
    keys = [i.rating_key for i in items]
    before = item_snapshot(conn, library_id, keys)
    rows = []
    for item in items:
        row = _shallow_row(item, skip=("parts", *TAGS))
        row.update(
            server_id=server_id,
            library_id=library_id,
            first_seen_at=now,
            last_seen_at=now,
            last_scan_at=now,
            missing_since=None,
            missing_listing=None,
            first_listing=listing,
            error_count=0,
        )
        row.update(item_keys(row))  # once per row: the columns' own defaults would fold 3 times
        rows.append(row)
    moved = [i for i in items if _moved(before.get(i.rating_key), i)]
    if moved:
        feed.claim(conn)  # before the rows it describes (store/feed.py: lock order)
    upsert(conn, t.media_items, rows, conflict=("library_id", "rating_key"), update=ITEM_UPDATE_COLUMNS)
    ids = {k: snap.id for k, snap in item_snapshot(conn, library_id, keys).items()}
    owned = [ids[k] for k in keys if k in before]  # rows that may already own parts and tags
    _delete_owned(conn, t.media_parts, "item_id", owned)
    _delete_owned(conn, t.item_tags, "item_id", owned)
    bulk_insert(
        conn,
        t.media_parts,
        [{"item_id": ids[i.rating_key], **_shallow_row(p)} for i in items for p in i.parts],
    )
    insert_tags(conn, t.item_tags, "item_id", {ids[i.rating_key]: i for i in items})
    feed.record(
        conn,
        [
            {
                "item_id": ids[i.rating_key],
                "library_id": library_id,
                "rating_key": i.rating_key,
                "at": now,
                "run_id": run_id,
                **_change(before.get(i.rating_key), i),
            }
            for i in moved
        ],
    )
    events = [
        {
            "item_id": ids[i.rating_key],
            "run_id": run_id,
            "at": now,
            "event": "state",
            "old_value": before[i.rating_key].state if i.rating_key in before else None,
            "new_value": i.state,
        }
        for i in items
        if i.rating_key in before and before[i.rating_key].state != i.state
    ]
    if events:
        conn.execute(t.item_events.insert(), events)
    return ids


def _moved(before: ItemSnapshot | None, item: ItemRecord) -> bool:
    """Whether writing `item` over `before` is a change for the feed (new, new data, new state)."""
    return before is None or before.state != item.state or (before.digest or "") != item.digest


def _change(before: ItemSnapshot | None, item: ItemRecord) -> dict[str, str | None]:
    if before is None:
        return {"change": feed.ADDED, "old_value": None, "new_value": item.state}
    if before.state != item.state:
        return {"change": feed.state_change(item.state), "old_value": before.state, "new_value": item.state}
    return {"change": feed.CHANGED, "old_value": None, "new_value": item.state}


def _tag_rows(record: object) -> list[tuple[str, str, str, int]]:
    """A record's genres, collections and labels as stored: (kind, tag, folded key, position), one
    per folded name (a case-insensitive collation agrees), stripped and bounded."""
    rows = []
    for field_name in TAGS:
        seen: set[str] = set()
        for tag in getattr(record, field_name):
            name = tag.strip()[: t.TAG]
            key = fold(name)[: t.TAG]
            if name and key not in seen:
                seen.add(key)
                rows.append((_TAG_KIND[field_name], name, key, len(seen)))
    return rows


@cache
def _delete_of(table: sa.Table, owner: str) -> Any:
    """`DELETE FROM table WHERE owner IN (:ids)`, built once: a page deletes through it twice."""
    return table.delete().where(table.c[owner].in_(sa.bindparam("ids", expanding=True)))


def _delete_owned(conn: Connection, table: sa.Table, owner: str, ids: Sequence[int]) -> None:
    """Delete the rows of `table` whose `owner` column holds one of `ids`, a chunk at a time."""
    delete = _delete_of(table, owner)
    for part in chunks(ids):
        conn.execute(delete, {"ids": list(part)})


def replace_tags(conn: Connection, table: sa.Table, owner: str, records: Mapping[int, object]) -> None:
    """Rewrite the genres, collections and labels of the given rows (by id): one delete, one insert."""
    _delete_owned(conn, table, owner, list(records))
    insert_tags(conn, table, owner, records)


def insert_tags(conn: Connection, table: sa.Table, owner: str, records: Mapping[int, object]) -> None:
    """Insert the genres, collections and labels of rows that own none yet: one insert."""
    rows = [
        {owner: row_id, "kind": kind, "tag": name, "tag_key": key, "position": position}
        for row_id, record in records.items()
        for kind, name, key, position in _tag_rows(record)
    ]
    bulk_insert(conn, table, rows)


def season_snapshot(
    conn: Connection, library_id: int, rating_keys: Sequence[str]
) -> dict[str, tuple[str, int | None, str | None, str, int]]:
    """Stored (show key, index, title, state, last_seen_at) of the given seasons, by rating key."""
    return {
        key: (show, index, title, state, seen)
        for key, show, index, title, state, seen in _SEASON_SNAPSHOT.rows(conn, library_id, rating_keys)
    }


def mark_children_hydrated(conn: Connection, library_id: int) -> None:
    """After a complete episode listing, every present show has its episodes in the catalog.

    Writes only the shows not yet marked (new ones), so a quiet run writes nothing here.
    """
    c = t.shows.c
    conn.execute(
        t.shows.update()
        .where(c.library_id == library_id, c.state.notin_(GONE), c.children_hydrated == sa.false())
        .values(children_hydrated=True)
    )


def missing_rating_keys(conn: Connection, library_id: int) -> list[str]:
    c = t.media_items.c
    rows = conn.execute(
        sa.select(c.rating_key).where(c.library_id == library_id, c.state == ItemState.MISSING.value)
    )
    return [r for (r,) in rows]


def pending_detail_keys(conn: Connection, library_id: int) -> dict[str, ItemSnapshot]:
    """Present items stored without their file check, by rating key (owed one by the next run)."""
    c = t.media_items.c
    rows = conn.execute(
        sa.select(c.rating_key, c.id, c.digest, c.state).where(
            c.library_id == library_id, c.detail_pending == sa.true(), c.state.notin_(GONE)
        )
    )
    return {r.rating_key: ItemSnapshot(r.id, r.digest, r.state, True) for r in rows}


def count_pending_detail(conn: Connection, library_id: int) -> int:
    c = t.media_items.c
    return int(
        conn.execute(
            sa.select(sa.func.count()).where(
                c.library_id == library_id, c.detail_pending == sa.true(), c.state.notin_(GONE)
            )
        ).scalar_one()
    )


def _upsert_present(
    conn: Connection, table: sa.Table, library_id: int, records: Sequence[ShowRecord | SeasonRecord], now: int
) -> None:
    """Write show or season records as present and seen now; `first_seen_at` survives a conflict."""
    rows = [
        {
            **_shallow_row(r, skip=TAGS),
            "library_id": library_id,
            "first_seen_at": now,
            "last_seen_at": now,
            "state": ItemState.ACTIVE.value,
            "missing_since": None,
            "missing_listing": None,
        }
        for r in records
    ]
    if "sort_title" in table.c:  # shows: the folded keys, derived from the title once per row
        for row in rows:
            row.update(show_keys(row))
    update = [k for k in rows[0] if k not in ("library_id", "rating_key", "first_seen_at")] if rows else []
    upsert(conn, table, rows, conflict=("library_id", "rating_key"), update=update)


def upsert_shows(
    conn: Connection, library_id: int, shows: Sequence[ShowRecord], *, now: int, run_id: int | None = None
) -> None:
    """Write shows as present, with their genres, collections and labels (`show_tags`).

    A stored show whose network, genres or other scheduler metadata change changes its episodes for
    readers (they carry the show's): each present episode gets a `changed` entry in the change feed.
    """
    if not shows:
        return
    moved = _show_metadata_moved(conn, library_id, shows)
    if moved:
        feed.claim(conn)  # before the rows its entries describe (store/feed.py: lock order)
    _upsert_present(conn, t.shows, library_id, shows, now)
    c = t.shows.c
    by_key = {r.rating_key: r for r in shows}
    ids: dict[int, object] = {}
    for part in chunks(list(by_key)):
        rows = conn.execute(
            sa.select(c.id, c.rating_key).where(c.library_id == library_id, c.rating_key.in_(part))
        )
        ids.update({r.id: by_key[r.rating_key] for r in rows})
    replace_tags(conn, t.show_tags, "show_id", ids)
    i = t.media_items.c
    for part in chunks(moved):
        episodes = sa.and_(
            i.library_id == library_id, i.kind == "episode", i.show_rating_key.in_(part), i.state.notin_(GONE)
        )
        feed.record_select(
            conn, episodes, feed.CHANGED, now=now, run_id=run_id, old_value=sa.null(), new_value=i.state
        )


def _show_metadata_moved(conn: Connection, library_id: int, shows: Sequence[ShowRecord]) -> list[str]:
    """Rating keys of stored shows whose scheduler metadata or tags differ from these records (a new
    show has no episodes stored yet: nothing of theirs moves)."""
    c, h = t.shows.c, t.show_tags.c
    by_key = {r.rating_key: r for r in shows}
    moved: list[str] = []
    for part in chunks(list(by_key)):
        stored = {
            r.rating_key: r
            for r in conn.execute(
                sa.select(c.id, c.rating_key, *(c[name] for name in METADATA_COLUMNS)).where(
                    c.library_id == library_id, c.rating_key.in_(part)
                )
            )
        }
        if not stored:
            continue
        tags: dict[int, list[tuple[str, str, str, int]]] = {}
        for r in conn.execute(
            sa.select(h.show_id, h.kind, h.tag, h.tag_key, h.position)
            .where(h.show_id.in_([s.id for s in stored.values()]))
            .order_by(h.show_id, h.kind, h.position)
        ):
            tags.setdefault(r.show_id, []).append((r.kind, r.tag, r.tag_key, r.position))
        for key, row in stored.items():
            record = by_key[key]
            values = tuple(getattr(record, name) for name in METADATA_COLUMNS)
            if values != tuple(row[2:]) or sorted(_tag_rows(record)) != sorted(tags.get(row.id, [])):
                moved.append(key)
    return moved


def upsert_seasons(conn: Connection, library_id: int, seasons: Sequence[SeasonRecord], *, now: int) -> None:
    _upsert_present(conn, t.seasons, library_id, seasons, now)


def record_item_errors(conn: Connection, library_id: int, errors: Mapping[str, str], *, now: int) -> int:
    """Count a failure against each existing item (by rating key); items not yet stored are skipped."""
    c = t.media_items.c
    n = 0
    for key, message in errors.items():
        n += conn.execute(
            t.media_items.update()
            .where(c.library_id == library_id, c.rating_key == key)
            .values(
                error_count=c.error_count + 1,
                last_error_at=now,
                last_error=message.replace("\x00", "")[:2000],
            )
        ).rowcount
    return n
