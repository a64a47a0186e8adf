"""From Plex's typed items to the catalog's records: pure functions, no I/O.

This is where the engine decides what an item *is* in the catalog: its digest (from listing data
only), its parts, and the state Plex's data implies (ACTIVE or UNAVAILABLE; REMOTE_ONLY is decided
later by path mapping, MISSING and DELETED by finalize).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from msgspec.structs import replace

from retrovue.ingest.digests import SEPARATOR as _SEP
from retrovue.ingest.digests import digest_show, streams_signature
from retrovue.plex import primary_guid
from retrovue.plex.guids import external_ids
from retrovue.plex.models import Episode, Media, Movie, Part, Show, aired
from retrovue.states import ItemState
from retrovue.store.items import ItemRecord, PartRecord, SeasonRecord, ShowRecord

__all__ = [
    "apply_show_detail",
    "item_digest",
    "item_record",
    "metadata",
    "plex_state",
    "season_record",
    "show_record",
]


def _parts(media: Sequence[Media], checked: Mapping[int, Part] | None = None) -> tuple[PartRecord, ...]:
    """The parts of a listed item; with `checked` (its detail's parts by Plex part id), each part
    the detail mentions carries its file check and streams, and the others their listing values."""
    out = []
    for m_index, m in enumerate(media):
        for p_index, p in enumerate(m.parts):
            d = checked.get(p.id) if checked is not None and p.id is not None else None
            out.append(
                PartRecord(
                    media_index=m_index,
                    part_index=p_index,
                    plex_media_id=m.id,
                    plex_part_id=p.id,
                    part_key=p.key,
                    file=p.file,
                    size=p.size,
                    duration_ms=p.duration,
                    container=p.container or m.container,
                    video_codec=m.video_codec,
                    audio_codec=m.audio_codec,
                    audio_channels=m.audio_channels,
                    video_resolution=m.video_resolution,
                    width=m.width,
                    height=m.height,
                    bitrate=m.bitrate,
                    accessible=p.accessible if d is None else d.accessible,
                    file_exists=p.exists if d is None else d.exists,
                    streams=None if d is None else _streams_json(d),
                )
            )
    return tuple(out)


def plex_state(parts: Sequence[PartRecord]) -> ItemState:
    """UNAVAILABLE when Plex lists the item but cannot play it: no parts, or a part Plex reports as
    not accessible or not existing (only known after a `checkFiles=1` detail request)."""
    if not parts:
        return ItemState.UNAVAILABLE
    if any(p.accessible is False or p.file_exists is False for p in parts):
        return ItemState.UNAVAILABLE
    return ItemState.ACTIVE


def _place(item: Episode | Movie) -> tuple[str, str | None, str | None, str | None, int | None, int | None]:
    """(kind, show key, season key, show title, season index, episode index) of an item."""
    if isinstance(item, Episode):
        return (
            "episode",
            item.grandparent_rating_key,
            item.parent_rating_key,
            item.grandparent_title,
            item.parent_index,
            item.index,
        )
    return "movie", None, None, None, None, None


def metadata(item: Episode | Movie | Show) -> dict[str, Any]:
    """What a scheduler filters on, as record fields (`ItemRecord` and `ShowRecord` share them)."""
    ids = external_ids(item)
    return {
        "summary": item.summary or None,
        "content_rating": (item.content_rating or None) and item.content_rating[:32],
        "originally_available_at": aired(item.originally_available_at),
        "studio": (item.studio or None) and item.studio[:256],
        "thumb": _plex_path(item.thumb),
        "art": _plex_path(item.art),
        "rating": item.rating,
        "audience_rating": item.audience_rating,
        "imdb_id": _bounded(ids.get("imdb")),
        "tmdb_id": _bounded(ids.get("tmdb")),
        "tvdb_id": _bounded(ids.get("tvdb")),
        **tags(item),
    }


_TAGS = ("genres", "collections", "labels")


def tags(item: Episode | Movie | Show) -> dict[str, tuple[str, ...]]:
    """The item's genres, collections and labels by record field name, as Plex gives them."""
    return {name: tuple(tag.tag for tag in getattr(item, name)) for name in _TAGS}


def _bounded(value: str | None) -> str | None:
    return value if value is not None and len(value) <= 32 else None


def _plex_path(value: str | None) -> str | None:
    """A thumb or art key as a Plex path: never with a query (a token could ride in one)."""
    if not value:
        return None
    path = value.split("?", 1)[0]
    return path if len(path) <= 512 else None


def _metadata_digest(item: Episode | Movie | Show) -> tuple[object, ...]:
    """The listing's metadata as digest input, only when it carries any: an item without it keeps
    the digest it had before schema 0007 (as `titleSort` does)."""
    guids, genres, collections, labels = item.guids, item.genres, item.collections, item.labels
    values = (
        item.summary,
        item.content_rating,
        item.originally_available_at,
        item.studio,
        item.rating,
        item.audience_rating,
        # list comprehensions, and none at all for an empty list: every listed item passes here
        "|".join([g.id for g in guids]) if guids else "",
        "|".join([g.tag for g in genres]) if genres else "",
        "|".join([c.tag for c in collections]) if collections else "",
        "|".join([label.tag for label in labels]) if labels else "",
    )
    return ("meta", *values) if any(values) else ()


def item_digest(item: Episode | Movie) -> str:
    """The digest of a listed episode or movie, straight from the decoded item.

    What a run computes for every listed item: only items whose digest differs from the stored
    one (or that are owed a file check) get a full record (`item_record`), so a listing where
    nothing changed builds none.

    The same text `digest_ep_or_movie` hashes (its values, each followed by the separator), built
    in one pass over the item: every listed item of every listing run comes through here, and the
    general form cost twice as much in calls and generators. `tests/ingest/test_digest_formula.py`
    holds the two equal on generated items and pins today's digests of a few items.
    """
    values: list[object] = [item.rating_key, item.updated_at or 0, item.duration or 0]
    parts: list[object] = ["parts"]
    total = count = 0
    for m in item.media:
        for p in m.parts:
            count += 1
            if p.size is not None:
                total += p.size
            parts += (p.id, p.key, p.file, p.size, p.duration, p.container or m.container, "|")
    kind, *place = _place(item)
    values += (total, count, streams_signature(item.media), primary_guid(item), *parts, "attrs")
    values += (kind, item.title, *place)
    values += (item.year, item.added_at)
    if item.title_sort:  # Plex's sort title, only when it sends one: items without it keep their digest
        values.append(item.title_sort)
    values += _metadata_digest(item)
    text = _SEP.join(["" if value is None else str(value) for value in values])
    return hashlib.sha1(f"{text}{_SEP}".encode(), usedforsecurity=False).hexdigest()


def item_record(
    item: Episode | Movie,
    digest: str | None = None,
    *,
    detail: Episode | Movie | None = None,
    pending: bool = False,
) -> ItemRecord:
    """The catalog record of a listed episode or movie, with its digest (computed unless given).

    With `detail` (the item's detail, asked with `checkFiles=1`) the record also holds what only
    detail has: each part's file check and streams (matched by Plex part id; a part the detail does
    not mention keeps its listing values) and every tag (a listing carries only the first ones). The
    digest stays the listing's, so the next run's listing compares equal. Built in one step: every
    item a first sync stores comes through here. `pending`: stored without its file check (its
    detail request failed), which the next run owes it."""
    checked = None if detail is None else {p.id: p for m in detail.media for p in m.parts}
    parts = _parts(item.media, checked)
    sizes = [p.size for p in parts if p.size is not None]
    file_size = sum(sizes) if sizes else None
    signature = streams_signature(item.media)
    kind, show_key, season_key, show_title, season_index, episode_index = _place(item)
    fields = metadata(item)
    if detail is not None:
        fields.update(_from_detail(detail))
    return ItemRecord(
        rating_key=item.rating_key,
        kind=kind,
        title=item.title,
        digest=item_digest(item) if digest is None else digest,
        state=plex_state(parts).value,
        show_rating_key=show_key,
        season_rating_key=season_key,
        show_title=show_title,
        season_index=season_index,
        episode_index=episode_index,
        year=item.year,
        guid_primary=primary_guid(item),
        duration_ms=item.duration,
        file_size=file_size,
        part_count=len(parts),
        streams_signature=signature[:256],
        added_at_plex=item.added_at,
        updated_at_plex=item.updated_at,
        parts=parts,
        title_sort=item.title_sort,
        detail_pending=pending,
        **fields,
    )


class _Stream(msgspec.Struct, omit_defaults=True):
    """What the catalog keeps of a Part's stream (detail only), absent values left out."""

    type: int | None = None
    codec: str | None = None
    channels: int | None = None
    language: str | None = None
    title: str | None = None
    default: bool | None = None
    forced: bool | None = None
    width: int | None = None
    height: int | None = None


def _streams_json(part: Part) -> str | None:
    if not part.streams:
        return None
    return _JSON.encode(
        [
            _Stream(
                s.stream_type,
                s.codec,
                s.channels,
                s.language_code or s.language,
                s.display_title or s.title,
                s.default or None,
                s.forced or None,
                s.width,
                s.height,
            )
            for s in part.streams
        ]
    ).decode()


_JSON = msgspec.json.Encoder()  # compact UTF-8 JSON, an order of magnitude cheaper than json.dumps


def _from_detail(detail: Episode | Movie | Show, record: ShowRecord | None = None) -> dict[str, Any]:
    """What detail adds to a listing's metadata: every tag (a listing carries only the first ones),
    and for a show's `record` what its listing left out (a show listing has no `Guid` list: its ids)."""
    if record is None:  # the tags alone: every item a first sync writes passes here
        return {name: value for name, value in tags(detail).items() if value}
    return {
        name: value
        for name, value in metadata(detail).items()
        if value and (name in _TAGS or not getattr(record, name))
    }


def apply_show_detail(record: ShowRecord, detail: Show) -> ShowRecord:
    """A listed show's record with what its detail adds: every genre, collection and label, and its
    external ids. The digest stays the listing's, so the next run's listing compares equal."""
    return replace(record, **_from_detail(detail, record))


def show_record(show: Show) -> ShowRecord:
    digest = digest_show(
        child_count=show.child_count,
        leaf_count=show.leaf_count,
        show_updated_at=show.updated_at,
        attributes=(
            show.title,
            show.year,
            show.guid,
            show.added_at,
            show.title_sort,
            *_metadata_digest(show),
        ),
    )
    return ShowRecord(
        rating_key=show.rating_key,
        title=show.title,
        show_digest=digest,
        children_hydrated=False,
        guid=show.guid,
        title_sort=show.title_sort,
        year=show.year,
        child_count=show.child_count,
        leaf_count=show.leaf_count,
        added_at_plex=show.added_at,
        updated_at_plex=show.updated_at,
        **metadata(show),
    )


def season_record(episode: Episode) -> SeasonRecord | None:
    """The season an episode belongs to, as far as the episode tells (None when seasons are hidden)."""
    if episode.parent_rating_key is None:
        return None
    return SeasonRecord(
        rating_key=episode.parent_rating_key,
        show_rating_key=episode.grandparent_rating_key,
        season_index=episode.parent_index,
        title=episode.parent_title,
    )
