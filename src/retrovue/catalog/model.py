"""What the read API returns: frozen, typed, plain data, stable across releases.

Field names are part of the API (scripts and Retrovue's scheduler rely on them); new fields may be
added at the end, none is renamed or removed without a deprecation. Times are epoch seconds.
Identifiers: `id` is the catalog's own key and stays with an item for as long as the catalog holds
it, re-keys by Plex included; `rating_key` is Plex's and can change (a re-match, a re-add).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = [
    "Change",
    "Changes",
    "Event",
    "Item",
    "ItemDetail",
    "Library",
    "Page",
    "Part",
    "Playable",
    "Run",
    "Season",
    "Server",
    "Show",
    "Stream",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Server:
    """A Plex server the catalog mirrors. The token is never part of what readers get."""

    id: int
    name: str
    base_url: str
    friendly_name: str | None
    machine_identifier: str | None
    version: str | None
    check_local_files: bool
    owner: str | None = None  # who shared it with the signed-in Plex account; None: one's own
    connection: str | None = None  # local | remote | relay: how `base_url` reaches it (account servers)

    @property
    def shared(self) -> bool:
        return self.owner is not None


@dataclass(frozen=True, slots=True)
class Library:
    """A Plex library section, with its items counted by state as this machine's readers see them."""

    id: int
    server_id: int
    server_name: str
    section_key: str
    title: str
    kind: str  # movie | show
    enabled: bool
    locations: tuple[str, ...]
    last_synced_at: int | None
    last_sync_status: str | None
    counts: dict[str, int] = field(default_factory=dict)  # every state a key
    verified_at: int | None = None  # when a sync last proved every present item listed by Plex
    listed_at: int | None = None  # the last complete listing
    verify_hours: int = 24  # listed at least this often even when Plex reports no change (0: always)

    @property
    def items(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class Run:
    """One sync of a library: how it ended (running, ok, partial, failed, cancelled) and its counts."""

    id: int
    library_id: int
    library_title: str
    server_name: str
    mode: str  # incremental | deep
    status: str
    started_at: int
    finished_at: int | None
    processed: int
    changed: int  # added, or changed in Plex
    skipped: int
    errors: int
    missing: int  # items Plex stopped listing during the run
    deleted: int
    requests: int
    error_text: str | None  # why it was not ok


@dataclass(frozen=True, slots=True)
class Show:
    id: int
    library_id: int
    rating_key: str
    title: str
    title_sort: str | None
    year: int | None
    guid: str | None
    seasons: int | None  # Plex's childCount
    episodes: int | None  # Plex's leafCount
    state: str  # ACTIVE (in Plex's listing), MISSING or DELETED
    first_seen_at: int
    last_seen_at: int


@dataclass(frozen=True, slots=True)
class Season:
    id: int
    library_id: int
    rating_key: str
    show_rating_key: str
    index: int | None
    title: str | None
    episodes: int | None
    state: str
    first_seen_at: int
    last_seen_at: int


@dataclass(frozen=True, slots=True)
class Item:
    """An episode or movie, one row per item whatever its number of files."""

    id: int  # the stable key (see the module docstring)
    server_id: int
    library_id: int
    rating_key: str  # Plex's, changeable
    kind: str  # episode | movie
    title: str
    title_sort: str | None
    show_title: str | None
    show_rating_key: str | None
    season_rating_key: str | None
    season_index: int | None
    episode_index: int | None
    year: int | None
    guid: str | None
    duration_ms: int | None
    file_size: int | None
    part_count: int
    state: str  # one of the five states, for the reading machine
    plex_state: str  # Plex's side: ACTIVE, UNAVAILABLE, MISSING or DELETED
    plays_locally: bool | None  # this machine's verdict; None: not decided or could not tell
    first_seen_at: int
    last_seen_at: int
    confirmed_at: int  # when Plex last vouched for the item (see docs/catalog.md)
    missing_since: int | None
    added_at_plex: int | None
    updated_at_plex: int | None
    file: str | None  # the first part's path on the Plex server
    last_error: str | None  # the last problem reading it from Plex
    error_count: int
    last_error_at: int | None
    local_paths: tuple[str | None, ...] | None = None  # one per part, when asked for; None: unresolved
    # What a scheduler filters on (schema 0007); an episode's studio (network), genres, collections
    # and labels include its show's. None / empty: Plex gave none (or no sync has read it yet).
    summary: str | None = None
    content_rating: str | None = None  # as Plex says it: TV-MA, PG-13, nl/12, …
    originally_available_at: str | None = None  # air or release date, YYYY-MM-DD
    studio: str | None = None  # a movie's studio; an episode's show's network
    rating: float | None = None  # critic rating, 0-10
    audience_rating: float | None = None  # 0-10
    thumb: str | None = None  # Plex paths (ask the server with your token), never with a token
    art: str | None = None
    external_ids: dict[str, str] = field(default_factory=dict)  # imdb, tmdb, tvdb where known
    genres: tuple[str, ...] = ()
    collections: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Stream:
    """A stream of a part (video, audio, subtitle), as item detail reported it."""

    type: int | None  # Plex's streamType: 1 video, 2 audio, 3 subtitle
    codec: str | None
    language: str | None
    title: str | None
    channels: int | None
    width: int | None
    height: int | None
    default: bool
    forced: bool


@dataclass(frozen=True, slots=True)
class Part:
    media_index: int  # which version (Plex's Media) of the item
    part_index: int  # which file of that version
    file: str | None  # the path on the Plex server
    local_path: str | None  # the same file on this machine, through this machine's mappings
    size: int | None
    duration_ms: int | None
    container: str | None
    video_codec: str | None
    audio_codec: str | None
    audio_channels: int | None
    video_resolution: str | None
    width: int | None
    height: int | None
    bitrate: int | None
    accessible: bool | None  # Plex's file check (None: never checked)
    file_exists: bool | None
    streams: tuple[Stream, ...] | None  # None: item detail was never read


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of an item's history."""

    at: int
    event: str  # state (Plex's), local (this or another machine's verdict), rekey, ...
    old_value: str | None
    new_value: str | None
    detail: str | None
    run_id: int | None


@dataclass(frozen=True, slots=True)
class ItemDetail:
    item: Item
    parts: tuple[Part, ...]
    history: tuple[Event, ...]  # newest first


@dataclass(frozen=True, slots=True)
class Playable:
    """An item that plays from local files on this machine, and the files to play, in order."""

    item: Item
    files: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing; pass `next` back as `after=` for the following page (None: the end)."""

    rows: list[T]
    next: str | None


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of the change feed: something happened to the item `id` (re-read it with
    `Catalog.item(id)`; None there means it is gone from the catalog).

    `change` is one of: added, changed (new data from Plex), state (Plex's state moved, e.g.
    UNAVAILABLE, or back from MISSING), missing, deleted, rekey (Plex's rating key changed, the id
    stays: old/new are the rating keys), merged (this id was a re-keyed twin and is gone; `new_value`
    is the id that stays), purged (removed from the catalog for good), local (this machine's
    verdict moved the item between ACTIVE and REMOTE_ONLY). For state changes `old_value` /
    `new_value` are the states.
    """

    id: int  # the item's stable id (media_items.id)
    rating_key: str | None  # Plex's rating key when the change was recorded
    change: str
    library_id: int
    at: int
    old_value: str | None
    new_value: str | None
    run_id: int | None  # the sync run that recorded it, when one did
    position: int  # the feed position of this entry: a cursor just past it is str(position)


@dataclass(frozen=True, slots=True)
class Changes:
    """A stretch of the change feed, oldest first, and the cursor to continue from."""

    cursor: str  # pass back as `since=`; survives restarts (it is a position in the catalog)
    changes: list[Change]
    more: bool  # the limit cut the stretch short: call again with `cursor` for the rest
