"""The catalog's tables, as SQLAlchemy Core metadata: the one place that says what the schema is.

Alembic migrations in `store/migrations/versions/` create and upgrade real databases; a test checks
that applying every migration yields exactly this metadata, so the two cannot drift apart.

Conventions:
- Times are epoch seconds in BIGINT columns, as in the design note.
- Plex identifiers (rating keys, section keys) are strings: Plex calls them opaque.
- There is no local-path column anywhere: local paths are derived on demand from `path_mappings`.
- `media_items.state` is what Plex says (ACTIVE = Plex can play it, UNAVAILABLE, MISSING, DELETED).
  Whether an ACTIVE item plays from a local file is a fact about one machine, kept apart in
  `local_verdicts` under a machine profile name, like that machine's `path_mappings`: one machine's
  verdict never overwrites another's in a shared catalog.
- Strings that take part in an index have a bounded length that fits MariaDB's index limits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects import mysql, postgresql

from retrovue.store import keys

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

KEY = 64  # rating keys, section keys, machine identifiers
STATE = 16
MACHINE = 128  # machine profile names (retrovue.machine)

SortKey = (
    String(keys.SORT_LENGTH)
    .with_variant(postgresql.VARCHAR(keys.SORT_LENGTH, collation="C"), "postgresql")
    .with_variant(mysql.VARCHAR(keys.SORT_LENGTH, collation="utf8mb4_bin"), "mysql", "mariadb")
)
"""A folded sort key (`store.keys`), compared bytewise on every backend so order is the same."""


def _derived(derive: Any, name: str) -> Any:
    """A column default computed from the row's own values: how every writer fills the folded keys
    (an upsert lists the column among those it updates, so a changed title moves its keys too)."""

    def default(context: Any) -> str:
        return str(derive(context.get_current_parameters())[name])

    return default


servers = Table(
    "servers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("base_url", String(1024), nullable=False),
    Column("token", String(256), nullable=False),
    Column("machine_identifier", String(KEY)),
    Column("version", String(64)),
    Column("friendly_name", String(256)),
    Column("verify_tls", Boolean, nullable=False, default=True),
    Column("ca_bundle", String(1024)),  # a custom CA to trust instead of the system store
    Column("check_local_files", Boolean, nullable=False, default=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # Who shared the server with the signed-in account (its plex.tv name); NULL for one's own server
    # or one added by hand. The token of a shared server is the access token plex.tv issued for it.
    Column("owner", String(256)),
)

server_connections = Table(
    "server_connections",
    metadata,
    # Every address plex.tv lists for a server added from the account (`retrovue.reach` tries them in
    # order: local before remote before relay, HTTPS before HTTP). `servers.base_url` is the one that
    # worked last. A server added by hand has none: its base_url is its only address.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("server_id", Integer, ForeignKey("servers.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),  # the order they are tried in, from 0
    Column("uri", String(1024), nullable=False),
    Column("kind", String(16), nullable=False),  # local | remote | relay
    Column("protocol", String(16), nullable=False),  # http | https
    Column("last_ok_at", BigInteger),  # the last time the server answered here as itself
    Column("last_failed_at", BigInteger),  # the last time it did not (no answer, or another server)
    Column("updated_at", BigInteger, nullable=False),
    Index(None, "server_id", "position"),
)

libraries = Table(
    "libraries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("server_id", Integer, ForeignKey("servers.id", ondelete="CASCADE"), nullable=False),
    Column("section_key", String(KEY), nullable=False),
    Column("section_uuid", String(KEY)),
    Column("title", String(512), nullable=False),
    Column("kind", String(16), nullable=False),  # movie | show
    Column("agent", String(256)),
    Column(
        "locations", Text, info={"json": True}
    ),  # JSON list of the section's Location paths on the Plex server
    Column("enabled", Boolean, nullable=False, default=True),
    Column("content_changed_at", String(KEY)),  # opaque Plex counter seen at the last complete sync
    Column("retention_days", Integer, nullable=False, default=30),
    Column("missing_threshold_pct", Integer, nullable=False, default=50),
    Column("last_synced_at", BigInteger),
    Column("last_sync_status", String(STATE)),
    # When a run last proved the library current: a complete listing, or a change gate that held
    # after one. Present items were confirmed by Plex at this time (see docs/sync.md, "Stamps").
    Column("verified_at", BigInteger),
    Column("listed_at", BigInteger),  # the last complete listing (the verification interval's clock)
    Column("listings", Integer, nullable=False, default=0, server_default="0"),  # complete listings so far
    Column("verify_hours", Integer, nullable=False, default=24, server_default="24"),
    # Items stored without their file check (a failed detail request), owed one by the next run.
    Column("pending_detail", Integer, nullable=False, default=0, server_default="0"),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("server_id", "section_key"),
)


TAG = 255  # a genre, collection or label name (indexed: bounded for MariaDB)


def _metadata() -> list[Column[Any]]:
    """What a scheduler filters on, as Plex says it (schema 0007), on shows and on media items.

    An episode's network and genres are its show's (`shows.studio`, the show's `show_tags`): real
    episode listings carry neither. Thumb and art are Plex paths, never with a token.
    """
    return [
        Column("summary", Text),
        Column("content_rating", String(32)),  # TV-MA, PG-13, nl/12, … as Plex sends it
        Column("originally_available_at", String(10)),  # air or release date, YYYY-MM-DD
        Column("studio", String(256)),  # a movie's studio, a show's network
        Column("thumb", String(512)),
        Column("art", String(512)),
        Column("rating", Float),  # critic rating, 0-10
        Column("audience_rating", Float),  # 0-10
        Column("imdb_id", String(32)),
        Column("tmdb_id", String(32)),
        Column("tvdb_id", String(32)),
    ]


def _seen() -> list[Column[int] | Column[str]]:
    """The seen/state columns shared by shows, seasons and media items.

    `last_seen_at` is written with the row (added, changed, state change), never by a run that merely
    saw it: a present row was confirmed at its library's `verified_at`. `missing_listing` is the
    library's `listings` count when the row went MISSING; promotion to DELETED waits for more complete
    listings as well as for the retention period, so a clock that jumps cannot delete anything.
    """
    return [
        Column("first_seen_at", BigInteger, nullable=False),
        Column("last_seen_at", BigInteger, nullable=False),
        Column("state", String(STATE), nullable=False, default="ACTIVE"),
        Column("missing_since", BigInteger),
        Column("missing_listing", Integer),
    ]


shows = Table(
    "shows",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("library_id", Integer, ForeignKey("libraries.id", ondelete="CASCADE"), nullable=False),
    Column("rating_key", String(KEY), nullable=False),
    Column("guid", String(512)),
    Column("title", Text, nullable=False),
    Column("title_sort", Text),
    Column(
        "sort_title",
        SortKey,
        nullable=False,
        default=_derived(keys.show_keys, "sort_title"),
        server_default="",
    ),
    Column(
        "search_text",
        Text,
        nullable=False,
        default=_derived(keys.show_keys, "search_text"),
        server_default="",
    ),
    Column("year", Integer),
    Column("child_count", Integer),
    Column("leaf_count", Integer),
    Column("added_at_plex", BigInteger),
    Column("updated_at_plex", BigInteger),
    Column("show_digest", String(KEY)),
    Column("children_hydrated", Boolean, nullable=False, default=False),
    *_seen(),
    *_metadata(),
    UniqueConstraint("library_id", "rating_key"),
    Index(None, "library_id", "state"),
    Index(None, "library_id", "sort_title"),
)

seasons = Table(
    "seasons",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("library_id", Integer, ForeignKey("libraries.id", ondelete="CASCADE"), nullable=False),
    Column("rating_key", String(KEY), nullable=False),
    Column("show_rating_key", String(KEY), nullable=False),
    Column("season_index", Integer),
    Column("title", Text),
    Column("leaf_count", Integer),
    Column("updated_at_plex", BigInteger),
    *_seen(),
    UniqueConstraint("library_id", "rating_key"),
    Index(None, "library_id", "show_rating_key"),
)

media_items = Table(
    "media_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("server_id", Integer, ForeignKey("servers.id", ondelete="CASCADE"), nullable=False),
    Column("library_id", Integer, ForeignKey("libraries.id", ondelete="CASCADE"), nullable=False),
    Column("rating_key", String(KEY), nullable=False),
    Column("kind", String(16), nullable=False),  # episode | movie
    Column("show_rating_key", String(KEY)),
    Column("season_rating_key", String(KEY)),  # absent when a show's seasons are hidden
    Column("title", Text, nullable=False),
    Column("title_sort", Text),  # Plex's titleSort ("Office" for "The Office"), when it sends one
    Column("show_title", Text),
    Column("season_index", Integer),
    Column("episode_index", Integer),
    Column(
        "sort_title",
        SortKey,
        nullable=False,
        default=_derived(keys.item_keys, "sort_title"),
        server_default="",
    ),
    Column(
        "sort_show", SortKey, nullable=False, default=_derived(keys.item_keys, "sort_show"), server_default=""
    ),
    Column(
        "search_text",
        Text,
        nullable=False,
        default=_derived(keys.item_keys, "search_text"),
        server_default="",
    ),
    Column("year", Integer),
    Column("guid_primary", String(512)),
    Column("duration_ms", BigInteger),
    Column("file_size", BigInteger),
    Column("part_count", Integer, nullable=False, default=0),
    Column("streams_signature", String(256)),
    Column("digest", String(KEY)),
    Column("added_at_plex", BigInteger),
    Column("updated_at_plex", BigInteger),
    *_seen(),
    Column("first_listing", Integer),  # the library's listing number of the run that added the row
    Column("last_scan_at", BigInteger),
    # Stored without its file check (the detail request failed): owed one by the next run, gated or not.
    Column("detail_pending", Boolean, nullable=False, default=False, server_default=false()),
    Column("error_count", Integer, nullable=False, default=0),
    Column("last_error_at", BigInteger),
    Column("last_error", Text),
    *_metadata(),
    UniqueConstraint("library_id", "rating_key"),
    Index(None, "library_id", "state"),
    Index(None, "library_id", "show_rating_key"),
    Index(None, "library_id", "sort_title"),
    Index(None, "library_id", "sort_show"),
)

media_parts = Table(
    "media_parts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("media_items.id", ondelete="CASCADE"), nullable=False),
    Column("media_index", Integer, nullable=False),  # which Media (version) of the item
    Column("part_index", Integer, nullable=False),  # which Part of that Media (CD1, CD2, …)
    Column("plex_media_id", BigInteger),
    Column("plex_part_id", BigInteger),
    Column("part_key", String(1024)),  # /library/parts/{id}/{changestamp}/file.ext
    Column("file", Text),  # the path on the Plex server; never a local path
    Column("size", BigInteger),
    Column("duration_ms", BigInteger),
    Column("container", String(32)),
    Column("video_codec", String(32)),
    Column("audio_codec", String(32)),
    Column("audio_channels", Integer),
    Column("video_resolution", String(16)),
    Column("width", Integer),
    Column("height", Integer),
    Column("bitrate", Integer),
    Column(
        "streams", Text, info={"json": True}
    ),  # JSON summary of the Part's streams, when item detail was read
    Column("accessible", Boolean),  # from checkFiles=1; NULL when never checked
    Column("file_exists", Boolean),  # from checkFiles=1; NULL when never checked
    UniqueConstraint("item_id", "media_index", "part_index"),
)

TAG_KINDS = ("genre", "collection", "label")


def _tags(owner: str, parent: str) -> list[Any]:
    return [
        Column(owner, Integer, ForeignKey(f"{parent}.id", ondelete="CASCADE"), primary_key=True),
        Column("kind", String(16), primary_key=True),  # genre | collection | label
        Column("tag", String(TAG), primary_key=True),  # as Plex sends it
        Column("tag_key", String(TAG), nullable=False),  # folded (case and accents): what filters match
        Column("position", Integer, nullable=False, default=0),  # Plex's order (the first genre first)
        Index(None, "kind", "tag_key"),
    ]


item_tags = Table("item_tags", metadata, *_tags("item_id", "media_items"))
"""A media item's genres, collections and labels (schema 0007)."""

show_tags = Table("show_tags", metadata, *_tags("show_id", "shows"))
"""A show's genres, collections and labels, which are also its episodes' (schema 0007)."""

plex_collections = Table(
    "plex_collections",
    metadata,
    Column("library_id", Integer, ForeignKey("libraries.id", ondelete="CASCADE"), primary_key=True),
    Column("rating_key", String(KEY), primary_key=True),
    Column("title", String(TAG), nullable=False),
    Column("digest", String(40), nullable=False),  # its title, updatedAt and childCount when walked
)
"""A library's Plex collections as last walked (schema 0008): a collection whose digest is
unchanged is not walked again; its members are the items' and shows' `collection` tags."""

item_events = Table(
    "item_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("media_items.id", ondelete="CASCADE"), nullable=False),
    Column("run_id", Integer),
    Column("at", BigInteger, nullable=False),
    Column("event", String(32), nullable=False),  # state | rekey | error
    Column("old_value", String(256)),
    Column("new_value", String(256)),
    Column("detail", Text),
    Index(None, "item_id", "at"),
)

item_changes = Table(
    "item_changes",
    metadata,
    # The change feed's position: readers' cursors are these ids. Writers take `change_clock` first
    # in their transaction (store/feed.py), so ids are handed out in commit order on every backend.
    Column("id", Integer, primary_key=True, autoincrement=True),
    # No foreign keys: an entry outlives its item (purge) and stays readable for the feed's period.
    Column("item_id", Integer, nullable=False),  # media_items.id, the stable key
    Column("library_id", Integer, nullable=False),
    Column("rating_key", String(KEY)),
    Column("at", BigInteger, nullable=False),
    Column("run_id", Integer),
    Column("change", String(16), nullable=False),  # added | changed | state | missing | deleted | ...
    Column("old_value", String(256)),
    Column("new_value", String(256)),
    Column("machine", String(MACHINE)),  # set on `local` entries: whose verdict moved
    Index(None, "library_id", "id"),
    Index(None, "at"),
    sqlite_autoincrement=True,  # never reuse an id after a prune: a cursor must not see it twice
)

change_clock = Table(
    "change_clock",
    metadata,
    # One row (id 1). Every transaction that records changes upserts it first and so holds its row
    # lock until commit: feed ids are then assigned in commit order, and a reader that has seen id N
    # can never later find a smaller id committed.
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("ticks", BigInteger, nullable=False, default=0),
    Column("pruned_through", Integer, nullable=False, default=0, server_default="0"),
)

path_mappings = Table(
    "path_mappings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("server_id", Integer, ForeignKey("servers.id", ondelete="CASCADE"), nullable=False),
    Column("machine", String(MACHINE), nullable=False),  # the profile whose mount this describes
    Column("plex_prefix", String(1024), nullable=False),
    Column("local_prefix", String(1024), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index(None, "server_id", "machine"),
)

local_verdicts = Table(
    "local_verdicts",
    metadata,
    Column("item_id", Integer, ForeignKey("media_items.id", ondelete="CASCADE"), primary_key=True),
    Column("machine", String(MACHINE), primary_key=True),
    # True: some version plays from local files here; False: none can; NULL: the check could not tell.
    Column("local", Boolean),
    Column("digest", String(KEY), nullable=False),  # media_items.digest when decided: stale once it moves
    Column("decided_at", BigInteger, nullable=False),
)

local_roots = Table(
    "local_roots",
    metadata,
    Column("machine", String(MACHINE), primary_key=True),
    Column("library_id", Integer, ForeignKey("libraries.id", ondelete="CASCADE"), primary_key=True),
    Column("mapping_id", Integer, ForeignKey("path_mappings.id", ondelete="CASCADE"), primary_key=True),
    Column("status", String(STATE), nullable=False),  # present | missing | empty | unreadable
    Column("signature", String(KEY)),  # device and inode of a present root: a remount changes it
    Column("observed_at", BigInteger, nullable=False),
)

local_checks = Table(
    "local_checks",
    metadata,
    Column("machine", String(MACHINE), primary_key=True),
    Column("library_id", Integer, ForeignKey("libraries.id", ondelete="CASCADE"), primary_key=True),
    Column("items_through", BigInteger),  # newest media_items.last_seen_at the last decision pass saw
    Column("undecided", Integer, nullable=False, default=0),  # verdicts left NULL by that pass
    # when this machine last re-decided every item of the library (a full pass). Rows written
    # before it meant that held the time of their last pass of any kind: at worst, one full pass
    # comes a verification interval later than it would have.
    Column("checked_at", BigInteger, nullable=False),
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("library_id", Integer, ForeignKey("libraries.id", ondelete="CASCADE"), nullable=False),
    Column("mode", String(16), nullable=False),  # incremental | deep
    Column("status", String(STATE), nullable=False),  # running | ok | partial | failed | cancelled
    Column("started_at", BigInteger, nullable=False),
    Column("finished_at", BigInteger),
    Column("host", String(256)),
    Column("pid", Integer),
    Column("processed", Integer, nullable=False, default=0),
    Column("changed", Integer, nullable=False, default=0),
    Column("skipped", Integer, nullable=False, default=0),
    Column("errors", Integer, nullable=False, default=0),
    Column("missing", Integer, nullable=False, default=0),
    Column("deleted", Integer, nullable=False, default=0),
    Column("requests", Integer, nullable=False, default=0),
    Column("pages", Integer, nullable=False, default=0, server_default="0"),  # listing pages read
    Column("bytes", BigInteger, nullable=False, default=0, server_default="0"),  # response bytes read
    Column("error_text", Text),
    Index(None, "library_id", "started_at"),
)

library_locks = Table(
    "library_locks",
    metadata,
    Column("library_id", Integer, ForeignKey("libraries.id", ondelete="CASCADE"), primary_key=True),
    Column("owner", String(KEY), nullable=False),  # a random token per holder
    Column("host", String(256), nullable=False),
    Column("pid", Integer, nullable=False),
    # Which process table `pid` belongs to (boot id + pid namespace): a pid is only checked for life
    # by a process that shares it, never across containers or sandboxes with the same host name.
    Column("instance", String(128)),
    Column("acquired_at", BigInteger, nullable=False),
    Column("heartbeat_at", BigInteger, nullable=False),  # the database server's clock, epoch seconds
)
