"""Typed, frozen views of what a Plex Media Server says, decoded at the edge.

This module is the one place that knows Plex's JSON shapes (see docs/plex-client.md). Field names are
the wire names in snake_case (`rating_key` is `ratingKey`, `guids` is the `Guid` array), so every
attribute can be traced back to the response it came from.

Decoding is lenient where real servers are untidy and strict where the sync engine depends on a value:

* Only the attributes the engine cannot work without are required (an item's `ratingKey` and
  `title`, a season's parent, an episode's show). Everything else is optional and defaults to None or
  an empty tuple, because real servers omit `updatedAt`, `parentRatingKey`, `Media`, … more often than
  one would like. Unknown attributes are ignored.
* Numbers sent as strings are accepted (decoders run with ``strict=False``).
* Values that are opaque identifiers and not quantities (`contentChangedAt`, `videoResolution`) are
  kept exactly as sent, because they may be numbers beyond 2**63 or strings like ``"4k"``; the public
  attribute is always ``str | None``.
* Sizes and durations that cannot be real (negative, or beyond :data:`MAX_SIZE` / :data:`MAX_DURATION`)
  are clamped to None ("unknown") rather than failing the item: one bogus number should not hide an
  episode from the catalog, and None is what a digest sees for "not reported" anyway.

Nested collections are tuples so that every model is immutable and hashable.
"""

from __future__ import annotations

import msgspec
from msgspec import field

__all__ = [
    "MAX_DURATION",
    "MAX_SIZE",
    "Collection",
    "Episode",
    "Guid",
    "Identity",
    "Item",
    "Location",
    "Media",
    "Member",
    "Movie",
    "OtherItem",
    "Part",
    "Season",
    "Section",
    "ServerInfo",
    "Show",
    "Stream",
    "Tag",
    "aired",
]

MAX_SIZE = 2**50
"""Largest file size (bytes, 1 PiB) taken at face value; larger or negative sizes become None."""

MAX_DURATION = 31 * 24 * 3600 * 1000
"""Largest duration (ms, 31 days) taken at face value; larger or negative durations become None."""


def _plausible(value: int | None, upper: int) -> int | None:
    """Return `value` if it is a believable non-negative quantity, else None (unknown)."""
    if value is None or value < 0 or value > upper:
        return None
    return value


def _opaque(value: int | str | None) -> str | None:
    """Render an opaque wire value that may arrive as a number or a string as a string."""
    return None if value is None else str(value)


class _Wire(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=False, gc=False):
    """Base of every model: immutable, camelCase wire names, unknown attributes ignored.

    Untracked by the cycle collector (`gc=False`): a model holds text, numbers and tuples of
    models, so it cannot be part of a cycle, and a run decodes millions of them. Tracked, they
    set off a collection every few hundred items (1,100 in a listing of 110,595 items, an
    eighth of its CPU)."""


class Identity(_Wire, frozen=True):
    """`GET /identity`: who the server is. Plex answers it without a token."""

    machine_identifier: str
    version: str = ""
    claimed: bool = False


class ServerInfo(_Wire, frozen=True):
    """`GET /`: the server root, with the human name a user recognises."""

    machine_identifier: str
    friendly_name: str = ""
    version: str = ""
    platform: str | None = None


class Location(_Wire, frozen=True):
    """A folder of a section, as a path on the Plex server (not on this machine)."""

    path: str
    id: int | None = None


class Section(_Wire, frozen=True):
    """One library of `GET /library/sections` (a `Directory` entry)."""

    key: str
    type: str
    title: str
    agent: str | None = None
    scanner: str | None = None
    language: str | None = None
    uuid: str | None = None
    updated_at: int | None = None
    created_at: int | None = None
    scanned_at: int | None = None
    content_changed_at_raw: int | str | None = field(name="contentChangedAt", default=None)
    refreshing: bool = False
    hidden: bool = False
    locations: tuple[Location, ...] = field(name="Location", default=())

    @property
    def content_changed_at(self) -> str | None:
        """Opaque change counter: compare for inequality only, never parse it as a time."""
        return _opaque(self.content_changed_at_raw)


class Guid(_Wire, frozen=True):
    """An external id of an item, e.g. ``imdb://tt0111161`` (needs ``includeGuids=1``)."""

    id: str


class Tag(_Wire, frozen=True):
    """A tag of an item: `Genre`, `Collection`, `Label` (`{"tag": "Drama", "id": 91, …}`).

    Listings carry only an item's first tags (two genres at most in every captured real listing);
    item detail carries them all."""

    tag: str
    id: int | None = None


def aired(value: str | None) -> str | None:
    """`originallyAvailableAt` as `YYYY-MM-DD`, or None when it is not a real date (Plex leaves
    some empty or sends a time after the date: the date part is kept)."""
    if not value:
        return None
    day = value.strip()[:10]
    if len(day) != 10 or day[4] != "-" or day[7] != "-":
        return None
    year, month, dom = day[:4], day[5:7], day[8:]
    if not (day.isascii() and year.isdigit() and month.isdigit() and dom.isdigit()):  # not "²"
        return None
    if not (1 <= int(month) <= 12 and 1 <= int(dom) <= 31 and int(year) >= 1):
        return None
    return day


class Stream(_Wire, frozen=True):
    """A video (1), audio (2) or subtitle (3) track; only in detail responses."""

    id: int
    stream_type: int
    codec: str | None = None
    channels: int | None = None
    language: str | None = None
    language_code: str | None = None
    index: int | None = None
    bitrate: int | None = None
    width: int | None = None
    height: int | None = None
    default: bool = False
    forced: bool = False
    title: str | None = None
    display_title: str | None = None


class Part(_Wire, frozen=True):
    """One file of a Media. `file` is a path on the Plex server.

    `accessible` and `exists` are only reported with ``checkFiles=1``; None means "not asked".
    """

    id: int
    key: str | None = None
    file: str | None = None
    size: int | None = None
    duration: int | None = None
    container: str | None = None
    accessible: bool | None = None
    exists: bool | None = None
    streams: tuple[Stream, ...] = field(name="Stream", default=())

    def __post_init__(self) -> None:
        msgspec.structs.force_setattr(self, "size", _plausible(self.size, MAX_SIZE))
        msgspec.structs.force_setattr(self, "duration", _plausible(self.duration, MAX_DURATION))


class Media(_Wire, frozen=True):
    """One version of an item (two resolutions are two Media); a multi-file item has several Parts."""

    id: int
    duration: int | None = None
    bitrate: int | None = None
    width: int | None = None
    height: int | None = None
    audio_channels: int | None = None
    audio_codec: str | None = None
    video_codec: str | None = None
    video_resolution_raw: int | str | None = field(name="videoResolution", default=None)
    container: str | None = None
    parts: tuple[Part, ...] = field(name="Part", default=())

    def __post_init__(self) -> None:
        msgspec.structs.force_setattr(self, "duration", _plausible(self.duration, MAX_DURATION))

    @property
    def video_resolution(self) -> str | None:
        """`720`, `1080`, `4k`, `sd`, … always as a string."""
        return _opaque(self.video_resolution_raw)


class _Metadata(_Wire, frozen=True, kw_only=True):
    """What shows, episodes and movies share: ids, dates and what a scheduler filters on.

    Keyword-only, so each kind's required fields (`rating_key`, `title`, …) may come first."""

    key: str | None = None
    guid: str | None = None
    title_sort: str | None = None
    year: int | None = None
    originally_available_at: str | None = None
    added_at: int | None = None
    updated_at: int | None = None
    guids: tuple[Guid, ...] = field(name="Guid", default=())
    summary: str | None = None
    content_rating: str | None = None
    studio: str | None = None
    thumb: str | None = None
    art: str | None = None
    rating: float | None = None  # critic rating (0-10)
    audience_rating: float | None = None  # audience rating (0-10)
    genres: tuple[Tag, ...] = field(name="Genre", default=())
    collections: tuple[Tag, ...] = field(name="Collection", default=())
    labels: tuple[Tag, ...] = field(name="Label", default=())


class _Playable(_Metadata, frozen=True, kw_only=True):
    """An episode or a movie: a duration and its files."""

    duration: int | None = None
    media: tuple[Media, ...] = field(name="Media", default=())

    def __post_init__(self) -> None:
        msgspec.structs.force_setattr(self, "duration", _plausible(self.duration, MAX_DURATION))


class Show(_Metadata, frozen=True):
    """A TV show from a `type=2` listing or a detail request."""

    rating_key: str
    title: str
    type: str = "show"
    index: int | None = None
    child_count: int | None = None
    leaf_count: int | None = None


class Season(_Wire, frozen=True):
    """A season; `index` 0 is specials."""

    rating_key: str
    parent_rating_key: str
    type: str = "season"
    title: str | None = None
    parent_title: str | None = None
    index: int | None = None
    leaf_count: int | None = None
    added_at: int | None = None
    updated_at: int | None = None
    guid: str | None = None


class Episode(_Playable, frozen=True):
    """An episode. `parent_rating_key` is absent when the show's seasons are hidden."""

    rating_key: str
    grandparent_rating_key: str
    title: str
    type: str = "episode"
    parent_rating_key: str | None = None
    grandparent_title: str | None = None
    parent_title: str | None = None
    parent_index: int | None = None
    index: int | None = None


class Movie(_Playable, frozen=True):
    """A movie (or any item of a movie-type section, such as a concert video)."""

    rating_key: str
    title: str
    type: str = "movie"


class Collection(_Wire, frozen=True):
    """A collection of `GET /library/sections/{key}/collections`: an object of its own, whose
    `updatedAt` and `childCount` move when members join or leave it through the collection."""

    rating_key: str
    title: str
    type: str = "collection"
    key: str | None = None
    subtype: str | None = None
    smart: bool = False
    child_count: int | None = None
    added_at: int | None = None
    updated_at: int | None = None


class Member(_Wire, frozen=True):
    """A member of `GET /library/collections/{key}/children`: only which item it is."""

    rating_key: str
    type: str | None = None


class OtherItem(_Wire, frozen=True):
    """An item of a kind this project does not ingest (album, artist, track, clip, photo, …).

    Returned by type-dispatching decoders so that a mixed response is still read in full.
    """

    rating_key: str
    type: str
    title: str | None = None
    guid: str | None = None


Item = Movie | Show | Season | Episode | OtherItem
"""Anything a type-dispatching decoder (`decode_items_page`, `PlexClient.metadata`) may return."""
