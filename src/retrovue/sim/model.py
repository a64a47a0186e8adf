"""The simulated library's data model: sections, items, media, parts, and the changes made to them.

Plain slotted dataclasses, shared by the catalog (which generates and mutates them), the renderer
(which turns them into Plex's wire shapes) and the app (which serves them).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "KIND_TYPE",
    "STATE_CREATED",
    "STATE_DELETED",
    "STATE_PROCESSED",
    "CatalogConfig",
    "Change",
    "Collection",
    "Item",
    "Media",
    "Part",
    "Section",
]

#: Plex's numeric search type for each item kind.
KIND_TYPE: dict[str, int] = {"movie": 1, "show": 2, "season": 3, "episode": 4}

#: Timeline states Plex uses in notifications.
STATE_CREATED = 0
STATE_PROCESSED = 5
STATE_DELETED = 9


@dataclass(slots=True)
class CatalogConfig:
    """Everything that shapes the generated library, including the Plex behaviours we could not
    verify (each such switch says what we assumed)."""

    seed: int = 0
    shows: int = 5
    movies: int = 10
    seasons_per_show: int = 2
    episodes_per_season: int = 4
    windows_paths: bool = False
    #: Fraction of generated episodes without `updatedAt` (real data: 7 of 10 in one page).
    episode_updated_at_missing: float = 0.2
    #: Fraction of shows with a season 0 ("Specials").
    specials_fraction: float = 0.2
    #: Fraction of shows whose seasons are hidden (episodes then lack parentRatingKey/parentKey).
    hidden_seasons_fraction: float = 0.0
    #: Fraction of movies split over two files (one Media, two Parts: CD1/CD2).
    multipart_fraction: float = 0.05
    #: Fraction of movies with a second version (two Media).
    multiversion_fraction: float = 0.03
    #: Fraction of episodes/movies without any Media element.
    no_media_fraction: float = 0.01
    #: Fraction of parts that `checkFiles=1` reports as not accessible / not existing.
    missing_file_fraction: float = 0.02
    #: Unverified: does a show/season `updatedAt` move when a child is added/removed/edited?
    #: Evidence says no, so the default is False.
    parent_updated_at_follows_children: bool = False
    #: Unverified: is a season (show) removed when its last episode (season) goes? We assume yes,
    #: as an emptied season disappears from Plex after the item is deleted.
    remove_empty_parents: bool = True
    #: Unverified: filters `>>=` / `<<=` are strict (`>` / `<`) by default; set True for `>=`/`<=`.
    filter_inclusive: bool = False
    #: Unverified: whether items with missing files carry `deletedAt` in listings (default: no).
    deleted_at_on_unavailable: bool = False
    #: Captured real show listings requested "with includeGuids" carry no `Guid` list, so by default
    #: shows get `Guid` only in their detail; set True to add it to show listings too.
    guids_in_show_listings: bool = False
    #: Unverified: does a re-match keep Media and Part ids? We assume yes (same file, same part).
    rematch_keeps_part_ids: bool = True
    #: A collection membership changed *through the collection* (Plex's collection editor, a
    #: script such as Kometa adding items to it): does the item's `updatedAt` move? We assume not (a
    #: collection is its own object, with its own `updatedAt` and `childCount`); an edit of the
    #: item's own Collection tags (`Catalog.edit(collections=…)`) moves it. Either moves the
    #: section's contentChangedAt.
    collection_edit_moves_updated_at: bool = False
    #: Listings carry only an item's first tags of a kind (two genres in every captured real
    #: listing; python-plexapi's maintainers: "more than 3 list items need a reload"); detail
    #: carries all. Collection tags are capped the same way (unverified: no captured listing item
    #: has more than two), so a third collection is not seen in a listing.
    listing_tags: int = 2


@dataclass(slots=True, eq=False)
class Part:
    """One file of a Media. `key` embeds a changestamp that moves when the file is replaced."""

    id: int
    file: str
    size: int
    duration: int
    container: str
    changestamp: int
    accessible: bool = True
    exists: bool = True

    @property
    def key(self) -> str:
        return f"/library/parts/{self.id}/{self.changestamp}/file.{self.container}"


@dataclass(slots=True, eq=False)
class Media:
    """One version of an item's file(s): codecs and resolution, and one or more Parts."""

    id: int
    duration: int
    bitrate: int
    width: int
    height: int
    aspect_ratio: float
    audio_channels: int
    audio_codec: str
    video_codec: str
    video_resolution: str
    video_frame_rate: str
    video_profile: str
    container: str
    parts: list[Part]


@dataclass(slots=True, eq=False)
class Item:
    """A show, season, episode or movie. Parents and children are object references, so a moved
    or re-keyed item is seen correctly from every side without bookkeeping."""

    rating_key: int
    kind: str
    section: Section
    guid: str
    title: str
    title_sort: str | None
    year: int | None
    index: int | None
    added_at: int
    updated_at: int | None
    duration: int | None = None
    originally_available_at: str | None = None
    summary: str = ""
    content_rating: str | None = None
    studio: str | None = None
    external_ids: tuple[str, ...] = ()
    genres: tuple[str, ...] = ()
    collections: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    rating: float | None = None  # critic rating (movies)
    audience_rating: float | None = None
    parent: Item | None = None
    children: list[Item] = field(default_factory=list)
    media: list[Media] = field(default_factory=list)
    hidden_seasons: bool = False
    sort_key: tuple[Any, ...] = ()

    @property
    def type_number(self) -> int:
        return KIND_TYPE[self.kind]

    @property
    def show(self) -> Item | None:
        """The show an episode or season belongs to."""
        if self.kind == "season":
            return self.parent
        if self.kind == "episode" and self.parent is not None:
            return self.parent.parent
        return None

    def leaves(self) -> Iterator[Item]:
        """Episodes under a show or season, in season/episode order; a leaf yields itself."""
        if self.kind in ("episode", "movie"):
            yield self
            return
        for child in self.children:
            yield from child.leaves()

    def parts(self) -> Iterator[Part]:
        for leaf in self.leaves():
            for media in leaf.media:
                yield from media.parts


@dataclass(slots=True, eq=False)
class Section:
    """A library section ("TV Shows", "Movies"). `content_changed_at` is an opaque counter."""

    key: int
    kind: str  # "show" | "movie"
    title: str
    uuid: str
    agent: str
    scanner: str
    language: str
    locations: list[tuple[int, str]]
    created_at: int
    updated_at: int
    scanned_at: int
    content_changed_at: int
    items: list[Item] = field(default_factory=list)
    offline: bool = False


@dataclass(frozen=True, slots=True)
class Change:
    """One item-level change, as a notification would report it."""

    section_key: int
    rating_key: int
    type: int
    title: str
    state: int
    updated_at: int


@dataclass(slots=True, eq=False)
class Collection:
    """A Plex collection of a section: an object of its own (`/library/sections/{key}/collections`)
    whose members are the items whose `collections` name it. Its `updated_at` moves when a member
    is added or removed; an emptied collection is gone (unverified)."""

    rating_key: int
    section: Section
    title: str
    added_at: int
    updated_at: int
