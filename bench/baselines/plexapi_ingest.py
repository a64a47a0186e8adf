"""An ingest written the way most Plex tools are: python-plexapi objects into our store.

`PlexServer(url, token)`, then per library `section.all()`; for a show library each show's
`show.episodes()` (`/library/metadata/{show}/allLeaves`), for a movie library the movies as listed,
with their `media` and `parts`. Records are built with our digest so the store compares them like
our engine does: new or changed items are upserted, unchanged ones touched, one transaction per show
(or per 200 movies), and unseen items marked MISSING at the end. Change detection is ours; the Plex
side is plexapi's: XML, 100-item container pages, one request per show, whole objects in memory.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
import sqlalchemy as sa
from plexapi.server import PlexServer

from bench.baselines import seed_store
from retrovue.ingest.digests import digest_ep_or_movie
from retrovue.states import ItemState
from retrovue.store import items as dal
from retrovue.store.items import ItemRecord, PartRecord
from retrovue.store.registry import LibraryRow

__all__ = ["PlexapiTally", "plexapi_sync"]

MOVIE_BATCH = 200


@dataclass
class PlexapiTally:
    processed: int = 0
    changed: int = 0
    skipped: int = 0
    missing: int = 0


def _epoch(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def _record(item: Any, kind: str) -> ItemRecord:
    parts = tuple(
        PartRecord(
            media_index=mi,
            part_index=pi,
            plex_media_id=_int(m.id),
            plex_part_id=_int(p.id),
            part_key=p.key,
            file=p.file,
            size=_int(p.size),
            duration_ms=_int(p.duration),
            container=p.container or m.container,
            video_codec=m.videoCodec,
            audio_codec=m.audioCodec,
            audio_channels=_int(m.audioChannels),
            video_resolution=m.videoResolution,
            width=_int(m.width),
            height=_int(m.height),
            bitrate=_int(m.bitrate),
        )
        for mi, m in enumerate(item.media)
        for pi, p in enumerate(m.parts)
    )
    sizes = [p.size for p in parts if p.size is not None]
    file_size = sum(sizes) if sizes else None
    signature = ";".join(
        f"v:{m.videoCodec or '?'}/{m.videoResolution or '?'}|a:{m.audioChannels or '?'}@{m.audioCodec or '?'}"
        f"|c:{m.container or '?'}"
        for m in item.media
    )
    episode = kind == "episode"
    show_key = str(item.grandparentRatingKey) if episode else None
    season_key = str(item.parentRatingKey) if episode and item.parentRatingKey else None
    rating_key = str(item.ratingKey)
    updated = _epoch(item.updatedAt)
    added = _epoch(item.addedAt)
    digest = digest_ep_or_movie(
        rating_key=rating_key,
        updated_at=updated,
        duration=_int(item.duration),
        file_size=file_size,
        part_count=len(parts),
        streams_signature=signature,
        guid_primary=item.guid,
        parts=[(p.plex_part_id, p.part_key, p.file, p.size, p.duration_ms, p.container) for p in parts],
        attributes=(kind, item.title, show_key, season_key, item.year, added),
    )
    return ItemRecord(
        rating_key=rating_key,
        kind=kind,
        title=item.title,
        digest=digest,
        state=(ItemState.ACTIVE if parts else ItemState.UNAVAILABLE).value,
        show_rating_key=show_key,
        season_rating_key=season_key,
        show_title=item.grandparentTitle if episode else None,
        season_index=_int(item.parentIndex) if episode else None,
        episode_index=_int(item.index) if episode else None,
        year=_int(item.year),
        guid_primary=item.guid,
        duration_ms=_int(item.duration),
        file_size=file_size,
        part_count=len(parts),
        streams_signature=signature[:256],
        added_at_plex=added,
        updated_at_plex=updated,
        parts=parts,
    )


def _write(
    engine: sa.Engine, lib: LibraryRow, records: Sequence[ItemRecord], now: int, tally: PlexapiTally
) -> None:
    with engine.begin() as conn:
        snap = dal.item_snapshot(conn, lib.id, [r.rating_key for r in records])
        write = [
            r
            for r in records
            if (s := snap.get(r.rating_key)) is None or s.digest != r.digest or s.state in dal.GONE
        ]
        keys = {r.rating_key for r in write}
        dal.upsert_items(conn, lib.server_id, lib.id, write, now=now)
        seed_store.touch_items(
            conn, lib.id, [r.rating_key for r in records if r.rating_key not in keys], now=now
        )
    tally.processed += len(records)
    tally.changed += len(write)
    tally.skipped += len(records) - len(write)


def plexapi_sync(
    engine: sa.Engine,
    url: str,
    token: str,
    libraries: Sequence[LibraryRow],
    *,
    max_shows: int | None = None,
    max_movies: int | None = None,
) -> PlexapiTally:
    """Ingest every given library with python-plexapi; returns the summed counters.

    `max_shows` / `max_movies` process only the first shows and movies of the (complete) listings,
    for runs on a measured subset that are extrapolated; nothing is marked missing then.
    """
    tally = PlexapiTally()
    subset = max_shows is not None or max_movies is not None
    session = requests.Session()
    plex = PlexServer(url, token, session=session, timeout=120)  # type: ignore[no-untyped-call]
    for lib in libraries:
        with engine.connect() as conn:
            now = max(int(time.time()), seed_store.max_last_seen(conn, lib.id) + 1)
        section = plex.library.sectionByID(int(lib.section_key))
        if lib.kind == "show":
            for show in section.all()[:max_shows]:
                _write(engine, lib, [_record(ep, "episode") for ep in show.episodes()], now, tally)
        else:
            movies = section.all()[:max_movies]
            for start in range(0, len(movies), MOVIE_BATCH):
                batch = movies[start : start + MOVIE_BATCH]
                _write(engine, lib, [_record(m, "movie") for m in batch], now, tally)
        if subset:
            continue
        with engine.begin() as conn:
            tally.missing += seed_store.mark_missing_not_seen(conn, lib.id, now, now=now)
    session.close()
    return tally
