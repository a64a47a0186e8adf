"""`records.item_digest` is the documented digest formula (`digests.digest_ep_or_movie`) and never
drifts from it: every catalog stores these digests, so a changed formula would make the next run
rewrite every item of every library.

`item_digest` builds the hashed text in one pass for speed; `_by_the_formula` below assembles the
same inputs the way `digest_ep_or_movie` documents them. Hypothesis holds the two equal on generated
items, and `PINNED` holds today's digests of a few items as they are stored in users' catalogs.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retrovue.ingest.digests import digest_ep_or_movie, streams_signature
from retrovue.ingest.records import item_digest
from retrovue.plex import primary_guid
from retrovue.plex.models import Episode, Movie


def _by_the_formula(item: Episode | Movie) -> str:
    parts = [
        (p.id, p.key, p.file, p.size, p.duration, p.container or m.container)
        for m in item.media
        for p in m.parts
    ]
    sizes = [part[3] for part in parts if part[3] is not None]
    if isinstance(item, Episode):
        place: tuple[object, ...] = (
            "episode",
            item.title,
            item.grandparent_rating_key,
            item.parent_rating_key,
            item.grandparent_title,
            item.parent_index,
            item.index,
        )
    else:
        place = ("movie", item.title, None, None, None, None, None)
    meta = (
        item.summary,
        item.content_rating,
        item.originally_available_at,
        item.studio,
        item.rating,
        item.audience_rating,
        "|".join(g.id for g in item.guids),
        "|".join(g.tag for g in item.genres),
        "|".join(c.tag for c in item.collections),
        "|".join(label.tag for label in item.labels),
    )
    return digest_ep_or_movie(
        rating_key=item.rating_key,
        updated_at=item.updated_at,
        duration=item.duration,
        file_size=sum(sizes) if sizes else None,
        part_count=len(parts),
        streams_signature=streams_signature(item.media),
        guid_primary=primary_guid(item),
        parts=parts,
        attributes=(
            *place,
            item.year,
            item.added_at,
            *((item.title_sort,) if item.title_sort else ()),
            *(("meta", *meta) if any(meta) else ()),
        ),
    )


_text = st.none() | st.text(max_size=12)
_int = st.none() | st.integers(min_value=0, max_value=2**40)
_tags = st.lists(st.fixed_dictionaries({"tag": st.text(min_size=1, max_size=8)}), max_size=3)
_part = st.fixed_dictionaries(
    {"id": st.integers(1, 10**6)},
    optional={"key": _text, "file": _text, "size": _int, "duration": _int, "container": _text},
)
_media = st.fixed_dictionaries(
    {"id": st.integers(1, 10**6), "Part": st.lists(_part, max_size=3)},
    optional={
        "videoCodec": _text,
        "audioCodec": _text,
        "audioChannels": st.none() | st.integers(0, 8),
        "videoResolution": st.none() | st.sampled_from(["sd", "720", "1080", "4k"]) | st.integers(1, 2160),
        "container": _text,
    },
)
_common = {
    "guid": st.none()
    | st.sampled_from(["plex://episode/1", "com.plexapp.agents.imdb://tt1?lang=en", "local://9"]),
    "Guid": st.lists(
        st.fixed_dictionaries({"id": st.sampled_from(["imdb://tt1", "tmdb://2", "tvdb://3"])}), max_size=3
    ),
    "titleSort": _text,
    "year": st.none() | st.integers(1900, 2030),
    "addedAt": _int,
    "updatedAt": _int,
    "duration": _int,
    "summary": _text,
    "contentRating": _text,
    "originallyAvailableAt": st.none() | st.sampled_from(["1999-01-02", "", "bad"]),
    "studio": _text,
    "rating": st.none() | st.floats(0, 10, allow_nan=False),
    "audienceRating": st.none() | st.floats(0, 10, allow_nan=False),
    "Genre": _tags,
    "Collection": _tags,
    "Label": _tags,
    "Media": st.lists(_media, max_size=2),
}
_episodes = st.fixed_dictionaries(
    {
        "ratingKey": st.text(min_size=1, max_size=6),
        "grandparentRatingKey": st.text(max_size=6),
        "title": st.text(),
    },
    optional={
        **_common,
        "parentRatingKey": _text,
        "grandparentTitle": _text,
        "parentIndex": st.none() | st.integers(0, 99),
        "index": st.none() | st.integers(0, 999),
    },
)
_movies = st.fixed_dictionaries(
    {"ratingKey": st.text(min_size=1, max_size=6), "title": st.text()}, optional=_common
)


def _decode(wire: dict[str, Any], kind: type[Episode] | type[Movie]) -> Episode | Movie:
    return msgspec.json.decode(json.dumps(wire).encode(), type=kind)


@settings(max_examples=300)
@given(_episodes)
def test_an_episode_digest_is_the_formula(wire: dict[str, Any]) -> None:
    item = _decode(wire, Episode)
    assert item_digest(item) == _by_the_formula(item)


@settings(max_examples=300)
@given(_movies)
def test_a_movie_digest_is_the_formula(wire: dict[str, Any]) -> None:
    item = _decode(wire, Movie)
    assert item_digest(item) == _by_the_formula(item)


_PART = {"id": 70, "key": "/library/parts/70/1/f.mkv", "file": "/tv/a.mkv", "size": 1000, "duration": 9}
PINNED: list[tuple[dict[str, Any], str, str]] = [
    (
        {
            "ratingKey": "45",
            "grandparentRatingKey": "40",
            "parentRatingKey": "41",
            "title": "Pilot",
            "grandparentTitle": "A Show",
            "parentIndex": 1,
            "index": 1,
            "year": 1999,
            "addedAt": 1_600_000_000,
            "updatedAt": 1_600_000_500,
            "guid": "plex://episode/abc",
            "Media": [
                {"id": 7, "videoCodec": "h264", "videoResolution": 1080, "container": "mkv", "Part": [_PART]}
            ],
        },
        "episode",
        "2339b1152cabfd69592ccefb2950b7b69320f1c2",
    ),
    (
        {
            "ratingKey": "9",
            "title": "Film",
            "titleSort": "Film, The",
            "summary": "Plot.",
            "audienceRating": 6.3,
            "Guid": [{"id": "imdb://tt1"}, {"id": "tmdb://2"}],
            "Genre": [{"tag": "Drama"}, {"tag": "War"}],
            "Media": [
                {"id": 1, "audioChannels": 6, "Part": [_PART, {**_PART, "id": 71, "size": None}]},
                {"id": 2, "container": "avi", "Part": []},
            ],
        },
        "movie",
        "d8f633f6e429eff175d76937d2a48e7636afb3fe",
    ),
    ({"ratingKey": "1", "title": ""}, "movie", "e10a1606aa1aeda4d321b4972389b21abd830fa4"),
]


@pytest.mark.parametrize(
    ("wire", "kind", "digest"), PINNED, ids=["episode", "movie-with-metadata", "bare-movie"]
)
def test_stored_digests_stay_what_they_are(wire: dict[str, Any], kind: str, digest: str) -> None:
    """The digests catalogs hold today: a different value here rewrites every user's library."""
    item = _decode(wire, Episode if kind == "episode" else Movie)
    assert item_digest(item) == digest
