"""Digests and records: pure functions, no server, no database."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retrovue.ingest.digests import digest_show
from retrovue.ingest.records import item_record, plex_state, season_record, show_record
from retrovue.plex import decode_page
from retrovue.plex.models import Episode, Movie, Show


def _media(**part: object) -> list[dict[str, object]]:
    """The episode's one Media with one Part, with Part attributes overridden."""
    return [
        {
            "id": 7,
            "videoCodec": "h264",
            "audioCodec": "aac",
            "audioChannels": 2,
            "videoResolution": "1080",
            "container": "mkv",
            "Part": [
                {
                    "id": 70,
                    "key": "/library/parts/70/111/file.mkv",
                    "file": "/tv/a/s01e01.mkv",
                    "size": 1000,
                    "duration": 1_320_000,
                    "container": "mkv",
                    **part,
                }
            ],
        }
    ]


def _episode(**overrides: object) -> Episode:
    wire: dict[str, object] = {
        "ratingKey": "45",
        "type": "episode",
        "title": "Pilot",
        "grandparentRatingKey": "40",
        "grandparentTitle": "A Show",
        "parentRatingKey": "41",
        "parentTitle": "Season 1",
        "parentIndex": 1,
        "index": 1,
        "year": 1999,
        "duration": 1_320_000,
        "addedAt": 1_600_000_000,
        "updatedAt": 1_600_000_500,
        "guid": "plex://episode/abc",
        "Media": _media(),
    }
    wire.update(overrides)
    return msgspec.convert(wire, Episode, from_attributes=False)


def test_digest_is_stable_and_ignores_detail_only_fields() -> None:
    listed = item_record(_episode())
    again = item_record(_episode())
    assert listed.digest == again.digest
    detail = _episode(
        Media=_media(accessible=False, exists=False, Stream=[{"id": 1, "streamType": 1, "codec": "h264"}])
    )
    enriched = item_record(_episode(), detail=detail)
    assert enriched.digest == listed.digest  # the next listing must compare equal
    assert enriched.state == "UNAVAILABLE"
    assert enriched.parts[0].streams is not None
    assert json.loads(enriched.parts[0].streams) == [{"type": 1, "codec": "h264"}]  # absent values left out


@pytest.mark.parametrize(
    "change",
    [
        {"title": "Pilot (Extended)"},
        {"updatedAt": 1_700_000_000},
        {"duration": 1_400_000},
        {"parentRatingKey": "99"},
        {"grandparentRatingKey": "98"},
        {"index": 2},
        {"guid": "plex://episode/other"},
    ],
)
def test_every_stored_listing_attribute_moves_the_digest(change: dict[str, object]) -> None:
    assert item_record(_episode(**change)).digest != item_record(_episode()).digest


def test_replaced_file_moves_the_digest_without_updated_at() -> None:
    replaced = _episode(Media=_media(key="/library/parts/70/222/file.mkv", size=2000))
    assert replaced.updated_at == _episode().updated_at
    assert item_record(replaced).digest != item_record(_episode()).digest


def test_untidy_episode_hidden_seasons_no_updated_at_no_media() -> None:
    wire = msgspec.json.encode(
        {
            "MediaContainer": {
                "size": 1,
                "totalSize": 1,
                "offset": 0,
                "Metadata": [
                    {"ratingKey": "5", "type": "episode", "title": "Orphan", "grandparentRatingKey": "4"}
                ],
            }
        }
    )
    page = decode_page(wire, Episode)
    (episode,) = page.items
    record = item_record(episode)
    assert record.state == "UNAVAILABLE"
    assert record.season_rating_key is None
    assert record.part_count == 0
    assert season_record(episode) is None


def test_multi_part_movie_needs_every_part() -> None:
    movie = msgspec.convert(
        {
            "ratingKey": "9",
            "type": "movie",
            "title": "Long Film",
            "Media": [
                {
                    "id": 1,
                    "Part": [
                        {"id": 11, "file": "/m/cd1.avi", "size": 10},
                        {"id": 12, "file": "/m/cd2.avi", "size": 20},
                    ],
                }
            ],
        },
        Movie,
    )
    record = item_record(movie)
    assert (record.part_count, record.file_size) == (2, 30)
    half_broken = [
        record.parts[0],
        msgspec.structs.replace(record.parts[1], file_exists=False),
    ]
    assert plex_state(half_broken) == "UNAVAILABLE"
    assert plex_state(record.parts) == "ACTIVE"


def test_show_digest_comes_from_the_listing_alone() -> None:
    show = msgspec.convert(
        {
            "ratingKey": "40",
            "type": "show",
            "title": "A Show",
            "childCount": 2,
            "leafCount": 20,
            "updatedAt": 5,
        },
        Show,
    )
    assert show_record(show).show_digest == show_record(show).show_digest
    more = msgspec.convert(
        {
            "ratingKey": "40",
            "type": "show",
            "title": "A Show",
            "childCount": 2,
            "leafCount": 21,
            "updatedAt": 5,
        },
        Show,
    )
    assert show_record(more).show_digest != show_record(show).show_digest


@settings(max_examples=200, deadline=None)
@given(
    st.tuples(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 2**40)),
    st.tuples(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 2**40)),
)
def test_show_digest_distinguishes_its_inputs(a: tuple[int, int, int], b: tuple[int, int, int]) -> None:
    da = digest_show(child_count=a[0], leaf_count=a[1], show_updated_at=a[2])
    db = digest_show(child_count=b[0], leaf_count=b[1], show_updated_at=b[2])
    assert (da == db) == (a == b)
