"""Decoding untidy data: leniency where Plex is messy, item-level errors where it is broken."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retrovue.plex import (
    Episode,
    ItemError,
    Movie,
    OtherItem,
    Season,
    Show,
    decode_identity,
    decode_items_page,
    decode_page,
    decode_sections_page,
    decode_server_info,
)
from retrovue.plex import decode as decode_mod
from retrovue.plex.decode import MalformedBodyError, UnexpectedShapeError
from retrovue.plex.models import MAX_SIZE
from tests.plex.conftest import episode, movie


def body(**container: Any) -> bytes:
    return json.dumps({"MediaContainer": container}).encode()


def test_unknown_attributes_are_ignored_and_optional_ones_default() -> None:
    page = decode_page(body(Metadata=[movie(1, brandNew={"x": [1]}, Genre=[{"tag": "Drama"}])]), Movie)
    (item,) = page.items
    assert (item.updated_at, item.guid, item.media, item.guids) == (None, None, (), ())


def test_numbers_sent_as_strings_are_accepted() -> None:
    entry = movie(7, year="1999", duration="5400000", addedAt="1700000000")
    entry["Media"] = [{"id": "3", "Part": [{"id": "4", "size": "1234"}]}]
    (item,) = decode_page(body(Metadata=[entry], totalSize="1"), Movie).items
    assert (item.year, item.duration, item.added_at) == (1999, 5_400_000, 1_700_000_000)
    assert item.media[0].parts[0].size == 1234


def test_episode_without_parent_rating_key_hidden_seasons() -> None:
    (item,) = decode_page(body(Metadata=[episode(5, show=2)]), Episode).items
    assert item.parent_rating_key is None
    assert item.grandparent_rating_key == "2"


def test_items_without_media_decode() -> None:
    (item,) = decode_page(body(Metadata=[episode(5)]), Episode).items
    assert item.media == ()


@pytest.mark.parametrize(
    ("size", "expected"),
    [(-1, None), (0, 0), (10, 10), (MAX_SIZE, MAX_SIZE), (MAX_SIZE + 1, None), (2**70, None)],
)
def test_implausible_sizes_are_clamped_to_unknown(size: int, expected: int | None) -> None:
    entry = movie(1, duration=-5, Media=[{"id": 1, "duration": -1, "Part": [{"id": 2, "size": size}]}])
    (item,) = decode_page(body(Metadata=[entry]), Movie).items
    assert item.media[0].parts[0].size == expected
    assert item.duration is None
    assert item.media[0].duration is None


def test_opaque_values_stay_strings() -> None:
    sections = decode_sections_page(
        body(
            Directory=[
                {"key": "1", "type": "show", "title": "TV", "contentChangedAt": 18446744073709551615000},
                {"key": "2", "type": "movie", "title": "Films", "contentChangedAt": "7726555702310039813"},
                {"key": "3", "type": "movie", "title": "Empty"},
            ]
        )
    )
    assert [section.content_changed_at for section in sections.items] == [
        "18446744073709551615000",
        "7726555702310039813",
        None,
    ]
    entry = movie(1, Media=[{"id": 1, "videoResolution": 1080}, {"id": 2, "videoResolution": "4k"}])
    (item,) = decode_page(body(Metadata=[entry]), Movie).items
    assert [media.video_resolution for media in item.media] == ["1080", "4k"]


def test_section_fields_and_locations() -> None:
    entry = {
        "key": "2",
        "type": "show",
        "title": "TV Shows",
        "agent": "tv.plex.agents.series",
        "scanner": "Plex TV Series",
        "language": "en-US",
        "uuid": "abc",
        "updatedAt": 1,
        "scannedAt": 2,
        "refreshing": 0,
        "hidden": 1,
        "Location": [{"id": 3, "path": "/tv"}, {"id": 4, "path": "/tv2"}],
    }
    (section,) = decode_sections_page(body(Directory=[entry])).items
    assert (section.key, section.type, section.scanned_at, section.refreshing, section.hidden) == (
        "2",
        "show",
        2,
        False,
        True,
    )
    assert [(loc.id, loc.path) for loc in section.locations] == [(3, "/tv"), (4, "/tv2")]


def test_one_bad_item_is_an_item_error_and_the_rest_decode() -> None:
    entries = [
        movie(1),
        {"ratingKey": "2", "type": "movie"},  # no title
        movie(3, Media=[{"id": "not-a-number"}]),
        {"title": "no key"},
        "not even an object",
        movie(6),
    ]
    page = decode_page(body(Metadata=entries, totalSize=6), Movie)
    assert [item.rating_key for item in page.items] == ["1", "6"]
    assert [error.rating_key for error in page.errors] == ["2", "3", None, None]
    assert "title" in page.errors[0].message
    assert "Media" in page.errors[1].message
    assert page.count == 6


def test_type_dispatch() -> None:
    entries = [
        movie(1),
        {"ratingKey": "2", "type": "show", "title": "S"},
        {"ratingKey": "3", "type": "season", "parentRatingKey": "2", "index": 0},
        episode(4, show=2),
        {"ratingKey": "5", "type": "track", "title": "Song"},
        {"ratingKey": "6", "type": "episode", "title": "no show"},
    ]
    page = decode_items_page(body(Metadata=entries))
    assert [type(item) for item in page.items] == [Movie, Show, Season, Episode, OtherItem]
    assert page.errors == [ItemError("6", page.errors[0].message)]
    assert "grandparentRatingKey" in page.errors[0].message


def test_models_are_frozen_and_hashable() -> None:
    entry = movie(1, Media=[{"id": 1, "Part": [{"id": 2, "Stream": [{"id": 3, "streamType": 1}]}]}])
    (item,) = decode_page(body(Metadata=[entry]), Movie).items
    with pytest.raises(AttributeError):
        item.title = "x"  # type: ignore[misc]
    assert hash(item) == hash(decode_page(body(Metadata=[entry]), Movie).items[0])


@pytest.mark.parametrize("raw", [b"", b'{"MediaContainer": {"Metadata": [', b"\x00\xff", b"null garbage"])
def test_malformed_bodies(raw: bytes) -> None:
    with pytest.raises(MalformedBodyError):
        decode_page(raw, Movie)


@pytest.mark.parametrize(
    "raw", [b"{}", b"[]", b'{"MediaContainer": []}', b'{"MediaContainer": {"Metadata": {"a": 1}}}', b"3"]
)
def test_wrong_shapes(raw: bytes) -> None:
    with pytest.raises(UnexpectedShapeError):
        decode_page(raw, Movie)


def test_identity_and_server_root() -> None:
    identity = decode_identity(body(size=0, claimed=True, machineIdentifier="abc", version="1.40.0"))
    assert (identity.machine_identifier, identity.version, identity.claimed) == ("abc", "1.40.0", True)
    info = decode_server_info(
        body(friendlyName="Den", machineIdentifier="abc", version="1.4", platform="Linux")
    )
    assert (info.friendly_name, info.machine_identifier, info.platform) == ("Den", "abc", "Linux")
    with pytest.raises(UnexpectedShapeError):
        decode_identity(body(version="1"))


# --- property: junk never crashes a page ---------------------------------------------------------

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10,
)
FIELDS = st.sampled_from(
    [
        "ratingKey",
        "title",
        "type",
        "grandparentRatingKey",
        "parentRatingKey",
        "index",
        "year",
        "duration",
        "addedAt",
        "updatedAt",
        "guid",
        "Guid",
        "Media",
        "leafCount",
        "childCount",
    ]
)
JUNK_ITEMS = st.one_of(JSON_VALUES, st.dictionaries(FIELDS, JSON_VALUES, max_size=8))
MEDIA_JUNK = st.fixed_dictionaries(
    {
        "id": JSON_VALUES,
        "Part": st.lists(st.dictionaries(st.sampled_from(["id", "size", "file", "Stream"]), JSON_VALUES)),
    }
)


@settings(max_examples=150, deadline=None)
@given(junk=st.lists(JUNK_ITEMS, max_size=4), media=MEDIA_JUNK)
def test_junk_items_never_crash_the_page(junk: list[Any], media: dict[str, Any]) -> None:
    good = [episode(1001), episode(1002)]
    entries = [good[0], *junk, episode(1003, Media=[media]), good[1]]
    raw = msgspec.json.encode({"MediaContainer": {"totalSize": len(entries), "Metadata": entries}})
    for decode in (lambda: decode_page(raw, Episode), lambda: decode_items_page(raw)):
        page = decode()
        assert page.count == len(entries)
        keys = [getattr(item, "rating_key", None) for item in page.items]
        assert keys[0] == "1001"
        assert keys[-1] == "1002"
        assert all(isinstance(error.message, str) and error.message for error in page.errors)


def _item_by_item(raw: bytes, kind: type[Any] | None) -> Any:
    """The two-step decode (container, then each entry) that a page falls back to."""
    container = decode_mod._listing(raw)
    if kind is None:
        return decode_mod._build_page(
            container,
            container.metadata,
            0,
            lambda e: decode_mod._decode_one(
                e, decode_mod.ITEM_TYPES.get(decode_mod._probe(e).type or "", OtherItem)
            ),
        )
    return decode_mod._build_page(container, container.metadata, 0, lambda e: decode_mod._decode_one(e, kind))


@settings(max_examples=150, deadline=None)
@given(
    junk=st.lists(JUNK_ITEMS, max_size=2),
    media=MEDIA_JUNK,
    shape=st.sampled_from([(episode, Episode), (movie, Movie)]),
)
def test_a_page_decoded_in_one_pass_is_the_page_decoded_item_by_item(
    junk: list[Any], media: dict[str, Any], shape: tuple[Any, type[Any]]
) -> None:
    """Most pages are decoded in one pass (`decode._one_pass`); whether it is taken or not, the
    page is the same, errors included."""
    make, kind = shape
    entries = [make(1001), *junk, make(1003, Media=[media]), make(1002)]
    raw = msgspec.json.encode(
        {"MediaContainer": {"totalSize": len(entries), "offset": 0, "Metadata": entries}}
    )
    assert decode_page(raw, kind) == _item_by_item(raw, kind)
    assert decode_items_page(raw) == _item_by_item(raw, None)


def test_a_page_of_one_kind_is_decoded_in_one_pass() -> None:
    raw = body(Metadata=[episode(1, show=9), episode(2, show=9)], totalSize=2, offset=0)
    assert decode_mod._one_pass(raw, Episode, 0, "episode") == decode_items_page(raw)
    assert decode_mod._one_pass(raw, Movie, 0, "movie") is None  # an episode is not a movie
