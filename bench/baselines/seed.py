"""The seed design's algorithm (plex-ingest-00-04, sections 00-02), as written, over our client and store.

Per page of shows (`/all?type=2`, 200 a page): compute the "lite" show digest from the listing; expand
the show if that digest differs from the stored one or its children were never hydrated. Expanding is
`/library/metadata/{show}/children` for the seasons, `/library/metadata/{season}/children` for each
season's episodes, and one `/library/metadata/{episode}` detail request per episode "to read
Media/Part safely"; every expanded episode is upserted one at a time and counted as changed; then the
show's digest is stored, computed with `max(updatedAt across children)`. Movies: per page of movies,
one detail request per movie, digest compared, upsert or touch. One transaction per page; finalize
(MISSING, DELETED past retention) at the end.

Kept faithfully, including the flaw our engine fixes: the stored show digest is built from hydrated
children (`children_max`) while the next run's listing can only offer `show.updatedAt`, so the two
never match and every show is expanded again on every run (see `retrovue.ingest.digests`).

`max_shows` / `max_movies` stop the walk early, for runs on a measured subset that are extrapolated
linearly (finalize is skipped then: the rest of the library was not seen).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

import sqlalchemy as sa
from msgspec.structs import replace

from bench.baselines import seed_store
from retrovue.ingest.records import item_record
from retrovue.plex import PlexClient
from retrovue.plex.decode import decode_page
from retrovue.plex.models import Episode, Media, Movie, Show
from retrovue.store import items as dal
from retrovue.store import lifecycle
from retrovue.store.items import ShowRecord
from retrovue.store.registry import LibraryRow

__all__ = ["SeedTally", "digest_ep_or_movie", "digest_show", "seed_sync_library"]


# --- the design note's digest helpers, verbatim in substance ---------------------------------------


def streams_sig(media: Media | None) -> str:
    if media is None:
        return "v:?|a:?@?|s:0"
    v = f"v:{media.video_codec or '?'}"
    a = f"a:{media.audio_channels or '?'}@{media.audio_codec or '?'}"
    s = "s:0"  # the listing/detail Media carries no subtitleCount
    return "|".join([v, a, s])


def digest_ep_or_movie(
    *,
    rating_key: str,
    updated_at: int | None,
    duration: int | None,
    file_size: int | None,
    part_count: int | None,
    streams_signature: str | None,
    guid_primary: str | None,
) -> str:
    h = hashlib.sha1(usedforsecurity=False)
    for v in (
        rating_key,
        str(updated_at or 0),
        str(duration or 0),
        str(file_size or 0),
        str(part_count or 0),
        streams_signature or "",
        guid_primary or "",
    ):
        h.update(v.encode("utf-8"))
        h.update(b"|")
    return h.hexdigest()


def digest_show(
    child_count: int | None, leaf_count: int | None, show_updated_at: int | None, children_max: int | None
) -> str:
    h = hashlib.sha1(usedforsecurity=False)
    for v in (str(child_count or 0), str(leaf_count or 0), str(show_updated_at or 0), str(children_max or 0)):
        h.update(v.encode("utf-8"))
        h.update(b"|")
    return h.hexdigest()


# --- the run -----------------------------------------------------------------------------------------


@dataclass
class SeedTally:
    processed: int = 0
    changed: int = 0
    skipped: int = 0
    errors: int = 0
    shows_seen: int = 0
    movies_seen: int = 0
    missing: int = 0
    truncated: bool = False


def _detail(client: PlexClient, rating_key: str) -> Episode | Movie | None:
    """`GET /library/metadata/{rk}`: one request per item, as the seed does."""
    page = client.metadata([rating_key], chunk=1)
    for item in page.items:
        if isinstance(item, Episode | Movie):
            return item
    return None


def _media_digest(item: Episode | Movie, listed_updated_at: int | None) -> str:
    parts = [p for m in item.media for p in m.parts]
    sizes = [p.size for p in parts if p.size is not None]
    return digest_ep_or_movie(
        rating_key=item.rating_key,
        updated_at=listed_updated_at,
        duration=item.duration,
        file_size=sum(sizes) if sizes else None,
        part_count=len(parts),
        streams_signature=streams_sig(item.media[0] if item.media else None),
        guid_primary=item.guid,
    )


def seed_sync_library(
    engine: sa.Engine,
    client: PlexClient,
    library: LibraryRow,
    *,
    deep: bool = False,
    max_shows: int | None = None,
    max_movies: int | None = None,
) -> SeedTally:
    """Run the seed's algorithm on one library; returns its counters."""
    tally = SeedTally()
    with engine.connect() as conn:
        now = max(int(time.time()), seed_store.max_last_seen(conn, library.id) + 1)
    if library.kind == "show":
        _tv(engine, client, library, tally, deep=deep, now=now, limit=max_shows)
    else:
        _movies(engine, client, library, tally, now=now, limit=max_movies)
    if not tally.truncated:
        with engine.begin() as conn:
            tally.missing = seed_store.mark_missing_not_seen(conn, library.id, now, now=now)
            lifecycle.promote_deleted_past_retention(
                conn, library.id, now=now, retention_days=library.retention_days, listings=library.listings
            )
    return tally


def _tv(
    engine: sa.Engine,
    client: PlexClient,
    lib: LibraryRow,
    tally: SeedTally,
    *,
    deep: bool,
    now: int,
    limit: int | None,
) -> None:
    season_children = partial(decode_page, item_type=Episode, start=0)
    for page in client.iter_shows(lib.section_key):
        to_expand: list[tuple[Show, str]] = []
        for show in page.items:
            if limit is not None and tally.shows_seen >= limit:
                tally.truncated = True
                break
            tally.shows_seen += 1
            # "lite" digest: the listing has no childrenUpdatedAtMax, so the seed falls back to updatedAt
            lite = digest_show(show.child_count, show.leaf_count, show.updated_at, show.updated_at)
            with engine.connect() as conn:
                changed = seed_store.show_digest_changed(conn, lib.id, show.rating_key, lite)
                hydrated = seed_store.children_hydrated(conn, lib.id, show.rating_key)
            if deep or changed or not hydrated:
                to_expand.append((show, lite))
            else:
                tally.skipped += 1
                with engine.begin() as conn:
                    seed_store.touch_shows(conn, lib.id, [show.rating_key], now=now)
            tally.processed += 1
        with engine.begin() as conn:  # one transaction per page
            for show, _lite in to_expand:
                try:
                    dal.upsert_shows(conn, lib.id, [_show_row(show)], now=now)
                    seasons = client.show_seasons(show.rating_key)
                    eps: list[Episode] = []
                    for season in seasons.items:
                        path = f"/library/metadata/{season.rating_key}/children"
                        eps.extend(client._http.get(path, season_children).items)
                    child_max = 0
                    for ep in eps:
                        det = _detail(client, ep.rating_key)
                        if det is None:
                            tally.errors += 1
                            continue
                        record = replace(item_record(det), digest=_media_digest(det, ep.updated_at))
                        seed_store.upsert_episode(conn, lib.server_id, lib.id, record, now=now)
                        child_max = max(child_max, ep.updated_at or 0)
                        tally.changed += 1
                    seed_store.upsert_show_digest(
                        conn,
                        lib.id,
                        show.rating_key,
                        digest_show(show.child_count, show.leaf_count, show.updated_at, child_max),
                        children_hydrated=True,
                    )
                except Exception:  # the seed counts a failed show and goes on
                    tally.errors += 1
        if tally.truncated:
            break


def _show_row(show: Show) -> ShowRecord:
    return ShowRecord(
        rating_key=show.rating_key,
        title=show.title,
        show_digest="",
        children_hydrated=False,
        guid=show.guid,
        title_sort=show.title_sort,
        year=show.year,
        child_count=show.child_count,
        leaf_count=show.leaf_count,
        added_at_plex=show.added_at,
        updated_at_plex=show.updated_at,
    )


def _movies(
    engine: sa.Engine, client: PlexClient, lib: LibraryRow, tally: SeedTally, *, now: int, limit: int | None
) -> None:
    for page in client.iter_movies(lib.section_key):
        with engine.begin() as conn:  # one transaction per page
            for mv in page.items:
                if limit is not None and tally.movies_seen >= limit:
                    tally.truncated = True
                    break
                tally.movies_seen += 1
                tally.processed += 1
                det = _detail(client, mv.rating_key)
                if det is None:
                    tally.errors += 1
                    continue
                record = replace(item_record(det), digest=_media_digest(det, mv.updated_at))
                snap = dal.item_snapshot(conn, lib.id, [mv.rating_key]).get(mv.rating_key)
                if snap is None or snap.digest != record.digest or snap.state in dal.GONE:
                    seed_store.upsert_movie(conn, lib.server_id, lib.id, record, now=now)
                    tally.changed += 1
                else:
                    seed_store.touch_items(conn, lib.id, [mv.rating_key], now=now)
                    tally.skipped += 1
        if tally.truncated:
            break


def summary(tally: SeedTally) -> dict[str, Any]:
    return {
        "processed": tally.processed,
        "changed": tally.changed,
        "skipped": tally.skipped,
        "errors": tally.errors,
        "missing": tally.missing,
        "shows": tally.shows_seen,
        "movies": tally.movies_seen,
        "truncated": tally.truncated,
    }
