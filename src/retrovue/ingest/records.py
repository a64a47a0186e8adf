"""From Plex's typed items to the catalog's records: pure functions, no I/O.

This is where the engine decides what an item *is* in the catalog: its digest (from listing data
only), its parts, and the state Plex's data implies (ACTIVE or UNAVAILABLE; REMOTE_ONLY is decided
later by path mapping, MISSING and DELETED by finalize).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace

from retrovue.ingest.digests import digest_ep_or_movie, digest_show, streams_signature
from retrovue.plex import primary_guid
from retrovue.plex.models import Episode, Media, Movie, Part, Show
from retrovue.states import ItemState
from retrovue.store.items import ItemRecord, PartRecord, SeasonRecord, ShowRecord

__all__ = ["apply_detail", "item_record", "plex_state", "season_record", "show_record"]


def _parts(media: Sequence[Media]) -> tuple[PartRecord, ...]:
    return tuple(
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
            accessible=p.accessible,
            file_exists=p.exists,
        )
        for m_index, m in enumerate(media)
        for p_index, p in enumerate(m.parts)
    )


def plex_state(parts: Sequence[PartRecord]) -> ItemState:
    """UNAVAILABLE when Plex lists the item but cannot play it: no parts, or a part Plex reports as
    not accessible or not existing (only known after a `checkFiles=1` detail request)."""
    if not parts:
        return ItemState.UNAVAILABLE
    if any(p.accessible is False or p.file_exists is False for p in parts):
        return ItemState.UNAVAILABLE
    return ItemState.ACTIVE


def item_record(item: Episode | Movie) -> ItemRecord:
    """The catalog record of a listed episode or movie, digest included."""
    parts = _parts(item.media)
    sizes = [p.size for p in parts if p.size is not None]
    file_size = sum(sizes) if sizes else None
    signature = streams_signature(item.media)
    guid = primary_guid(item)
    if isinstance(item, Episode):
        kind = "episode"
        show_key: str | None = item.grandparent_rating_key
        season_key = item.parent_rating_key
        show_title = item.grandparent_title
        season_index = item.parent_index
        episode_index = item.index
    else:
        kind, show_key, season_key, show_title, season_index, episode_index = (
            "movie",
            None,
            None,
            None,
            None,
            None,
        )
    digest = digest_ep_or_movie(
        rating_key=item.rating_key,
        updated_at=item.updated_at,
        duration=item.duration,
        file_size=file_size,
        part_count=len(parts),
        streams_signature=signature,
        guid_primary=guid,
        parts=[(p.plex_part_id, p.part_key, p.file, p.size, p.duration_ms, p.container) for p in parts],
        attributes=(
            kind,
            item.title,
            show_key,
            season_key,
            show_title,
            season_index,
            episode_index,
            item.year,
            item.added_at,
            # Plex's sort title, only when it sends one: items without it keep their digest.
            *((item.title_sort,) if item.title_sort else ()),
        ),
    )
    return ItemRecord(
        rating_key=item.rating_key,
        kind=kind,
        title=item.title,
        digest=digest,
        state=plex_state(parts).value,
        show_rating_key=show_key,
        season_rating_key=season_key,
        show_title=show_title,
        season_index=season_index,
        episode_index=episode_index,
        year=item.year,
        guid_primary=guid,
        duration_ms=item.duration,
        file_size=file_size,
        part_count=len(parts),
        streams_signature=signature[:256],
        added_at_plex=item.added_at,
        updated_at_plex=item.updated_at,
        parts=parts,
        title_sort=item.title_sort,
    )


def _streams_json(part: Part) -> str | None:
    if not part.streams:
        return None
    return json.dumps(
        [
            {
                k: v
                for k, v in {
                    "type": s.stream_type,
                    "codec": s.codec,
                    "channels": s.channels,
                    "language": s.language_code or s.language,
                    "title": s.display_title or s.title,
                    "default": s.default or None,
                    "forced": s.forced or None,
                    "width": s.width,
                    "height": s.height,
                }.items()
                if v is not None
            }
            for s in part.streams
        ],
        ensure_ascii=False,
    )


def apply_detail(record: ItemRecord, detail: Episode | Movie) -> ItemRecord:
    """Enrich a listing record with what only item detail has: file checks and streams.

    The digest is left as the listing computed it, so the next run's listing compares equal.
    Parts are matched by Plex part id; a part the detail does not mention keeps its listing values.
    """
    by_id: Mapping[int, Part] = {p.id: p for m in detail.media for p in m.parts}
    parts = tuple(
        replace(p, accessible=d.accessible, file_exists=d.exists, streams=_streams_json(d))
        if p.plex_part_id is not None and (d := by_id.get(p.plex_part_id)) is not None
        else p
        for p in record.parts
    )
    return replace(record, parts=parts, state=plex_state(parts).value)


def show_record(show: Show) -> ShowRecord:
    digest = digest_show(
        child_count=show.child_count,
        leaf_count=show.leaf_count,
        show_updated_at=show.updated_at,
        attributes=(show.title, show.year, show.guid, show.added_at, show.title_sort),
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
