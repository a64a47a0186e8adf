"""Every captured real Plex response decodes without a single item error, with the right values."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from retrovue.plex import (
    Episode,
    Movie,
    OtherItem,
    Show,
    decode_items_page,
    decode_page,
    primary_guid,
)
from tests.plex.conftest import REFERENCE_DIR, reference_body, reference_files

FILES = reference_files()

# Which model each listing in the reference folder holds (file name prefix -> model).
LISTING_TYPES: dict[str, type[Movie] | type[Show] | type[Episode] | None] = {
    "library__sectionId__get-library-details": None,  # the section's sub-directories, no Metadata
    "library__sectionId__get-library-items": Movie,
    "library__sectionKey__get-library-all-0": Movie,
    "library__sectionKey__get-library-all-1": Show,
    "library__sectionKey__get-library-all-2": Episode,
    "library__sectionKey__get-library-all-3": None,  # a music section: albums
    "library__sectionKey__get-library-all-4": Movie,
    "library__sectionKey__get-library-all-5": Movie,
    "library__sectionKey__get-library-items-0": Movie,
    "library__sectionKey__get-library-items-1": Movie,
    "library__sectionKey__get-library-items-2": Episode,
    "library__sectionKey__get-library-items-3": Show,
    "library__sectionKey__get-library-items-4": Show,
    "library_metadata__ratingKey__get-media-meta-data": None,  # mixed: dispatch on type
}


def _listing_type(path: Path) -> type[Movie] | type[Show] | type[Episode] | None:
    for prefix, kind in LISTING_TYPES.items():
        if path.stem.startswith(prefix):
            return kind
    raise AssertionError(f"no expectation for {path.name}: add it to LISTING_TYPES")


def test_reference_folder_is_present_or_skipped() -> None:
    if not FILES:
        pytest.skip(f"captured Plex responses not found at {REFERENCE_DIR} (../shared/reference is absent)")
    assert len(FILES) >= 20


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_every_entry_decodes_by_type_dispatch(path: Path) -> None:
    body = reference_body(path)
    page = decode_items_page(body)
    assert page.errors == []
    assert page.count == len(json.loads(body)["MediaContainer"].get("Metadata", []))


SINGLE_TYPE = [path for path in FILES if _listing_type(path) is not None]


@pytest.mark.parametrize("path", SINGLE_TYPE, ids=[path.stem for path in SINGLE_TYPE])
def test_every_listing_decodes_as_its_model(path: Path) -> None:
    kind = _listing_type(path)
    assert kind is not None
    page = decode_page(reference_body(path), kind)
    assert page.errors == []
    assert page.items
    assert all(isinstance(item, kind) for item in page.items)
    assert all(item.rating_key and item.title for item in page.items)


def test_movie_listing_values(reference: Callable[[str], bytes]) -> None:
    page = decode_page(reference("library__sectionKey__get-library-all-5.json"), Movie)
    assert (page.offset, page.total_size, page.count) == (0, 341, 341)
    first = page.items[0]
    assert first.rating_key == "28550"
    assert first.title == "4 for Texas"
    assert (first.year, first.duration, first.added_at, first.updated_at) == (
        1963,
        6908735,
        1586886369,
        1733633798,
    )
    assert primary_guid(first) == "plex://movie/5d776841103a2d001f56a97b"
    (media,) = first.media
    assert (media.id, media.video_resolution, media.container, media.audio_channels) == (
        31687,
        "sd",
        "avi",
        1,
    )
    (part,) = media.parts
    assert part.id == 47070
    assert part.file == "/Movies/4 for Texas (1963)/4 for Texas (1963).avi"
    assert part.size == 1468592128
    assert part.key == "/library/parts/47070/1586877036/file.avi"
    assert (part.accessible, part.exists, part.streams) == (None, None, ())


def test_episode_page_with_offset_and_missing_updated_at(reference: Callable[[str], bytes]) -> None:
    page = decode_page(reference("library__sectionKey__get-library-items-2.json"), Episode)
    assert (page.offset, page.total_size, len(page.items)) == (0, 3438, 10)
    # Real data: only 3 of these 10 episodes carry updatedAt.
    assert sum(episode.updated_at is None for episode in page.items) == 7
    assert all(len(episode.guids) == 3 for episode in page.items)

    shifted = decode_page(reference("library__sectionKey__get-library-all-2.json"), Episode)
    assert (shifted.offset, shifted.total_size) == (12, 479)
    first = shifted.items[0]
    assert (first.rating_key, first.parent_rating_key, first.grandparent_rating_key) == (
        "103488",
        "103479",
        "103160",
    )
    assert (first.grandparent_title, first.parent_index, first.index) == ("South Park", 20, 9)
    assert first.originally_available_at == "2016-11-30"


def test_show_listings_and_legacy_guids(reference: Callable[[str], bytes]) -> None:
    unpaged = decode_page(reference("library__sectionKey__get-library-all-1.json"), Show)
    assert (unpaged.total_size, len(unpaged.items)) == (None, 266)
    show = unpaged.items[0]
    assert (show.rating_key, show.key, show.child_count, show.leaf_count) == (
        "103797",
        "/library/metadata/103797/children",
        1,
        6,
    )

    anime = {
        s.title: s
        for s in decode_page(reference("library__sectionKey__get-library-items-3.json"), Show).items
    }
    assert primary_guid(anime["Cowboy Bebop"]) == "tvdb://76885"
    assert primary_guid(anime["Mushrambo"]) == "hama://anidb-2127"
    # The personal-media agent's ids are local to the server: kept raw, as a last resort.
    assert primary_guid(anime["Naruto Kai"]) == "com.plexapp.agents.none://40081?lang=xn"


def test_music_listing_comes_back_as_other_items(reference: Callable[[str], bytes]) -> None:
    page = decode_items_page(reference("library__sectionKey__get-library-all-3.json"))
    assert len(page.items) == 99
    assert all(isinstance(item, OtherItem) and item.type == "album" for item in page.items)


def test_detail_responses(reference: Callable[[str], bytes]) -> None:
    def one(index: int) -> object:
        (item,) = decode_items_page(
            reference(f"library_metadata__ratingKey__get-media-meta-data-{index}.json")
        ).items
        return item

    show = one(0)
    assert isinstance(show, Show)
    assert show.title == "Better Call Saul"

    movie = one(1)
    assert isinstance(movie, Movie)
    assert movie.rating_key == "134703"
    (part,) = movie.media[0].parts
    assert (part.size, part.accessible, part.exists, len(part.streams)) == (30649952104, True, True, 6)
    assert movie.media[0].video_resolution == "4k"
    assert {stream.stream_type for stream in part.streams} >= {1, 2}

    unmatched = one(4)
    assert isinstance(unmatched, Movie)
    assert primary_guid(unmatched) == "local://56939"

    legacy_episode = one(5)
    assert isinstance(legacy_episode, Episode)
    assert primary_guid(legacy_episode) == "tvdb://74205/1/1"
    assert legacy_episode.media[0].parts[0].exists is True
