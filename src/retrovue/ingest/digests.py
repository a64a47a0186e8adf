"""Change detection: digests computed only from what a listing page provides.

The design note's digests, with its central flaw fixed: a stored digest is always computed from the
same inputs the next run's listing will provide. (The seed compared a "lite" show digest from the
listing with one built from hydrated children, so they never matched and every show was re-expanded
on every run.) Nothing here depends on item detail (`checkFiles`, streams), which a listing lacks.

Extensions over the seed, each because a real change would otherwise go unseen:
- Part ids, keys and file paths: a file replaced by a better copy gets a new Part size and a new
  changestamp in the Part key while Plex leaves the item's `updatedAt` untouched.
- Every stored listing attribute (title, indices, parent keys, year, addedAt): `updatedAt` is often
  absent in real data, so it cannot stand for "metadata changed" on its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from retrovue.plex.models import Media

__all__ = ["SEPARATOR", "digest_ep_or_movie", "digest_show", "streams_signature"]

SEPARATOR = _SEP = "\x1f"
"""Follows every value a digest hashes (`records.item_digest` builds the same text in one pass)."""


def _hash(values: Iterable[object]) -> str:
    """SHA-1 of every value followed by the separator (one update: the same bytes, fewer calls)."""
    text = _SEP.join(["" if value is None else str(value) for value in values] + [""])
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def streams_signature(media: Sequence[Media]) -> str:
    """A short, stable summary of the item's versions: codecs, channels, resolution, container.

    Built from Media attributes that listings and detail responses both carry (not from Streams,
    which only detail has), so the signature of an unchanged item is the same from either.
    """
    return ";".join(
        f"v:{m.video_codec or '?'}/{m.video_resolution or '?'}"
        f"|a:{m.audio_channels or '?'}@{m.audio_codec or '?'}|c:{m.container or '?'}"
        for m in media
    )


def digest_ep_or_movie(
    *,
    rating_key: str,
    updated_at: int | None,
    duration: int | None,
    file_size: int | None,
    part_count: int,
    streams_signature: str,
    guid_primary: str | None,
    parts: Sequence[tuple[object, ...]] = (),
    attributes: Sequence[object] = (),
) -> str:
    """The seed's episode/movie digest, plus every Part's identity and the stored listing attributes.

    `parts` holds one tuple per Part (id, key, file, size, duration, container); `attributes` the
    other listing values the catalog stores (title, indices, parent keys, year, addedAt, …).
    """
    seed = (
        rating_key,
        updated_at or 0,
        duration or 0,
        file_size or 0,
        part_count,
        streams_signature,
        guid_primary,
    )
    flat_parts = (value for part in parts for value in (*part, "|"))
    return _hash((*seed, "parts", *flat_parts, "attrs", *attributes))


def digest_show(
    *,
    child_count: int | None,
    leaf_count: int | None,
    show_updated_at: int | None,
    attributes: Sequence[object] = (),
) -> str:
    """The seed's show digest without `max(updatedAt across children)`, which a listing cannot give.

    Adding or removing episodes moves `leafCount` (and `childCount` for a new or emptied season);
    the show's own metadata moves `updatedAt` or the stored attributes (title, year, guid).
    """
    return _hash((child_count or 0, leaf_count or 0, show_updated_at or 0, "attrs", *attributes))
