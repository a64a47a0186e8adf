"""What a scheduler needs (ratings, air dates, studios, genres, collections, labels, external ids),
decoded from every captured real Plex response exactly as sent, and where real Plex sends it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from retrovue.plex import Episode, Movie, Show, decode_items_page
from retrovue.plex.guids import external_ids
from retrovue.plex.models import Guid, aired
from tests.plex.conftest import REFERENCE_DIR, reference_body, reference_files

FILES = reference_files()


def _raw_entries(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(reference_body(path))["MediaContainer"].get("Metadata", []))


def _tags(raw: dict[str, Any], name: str) -> list[str]:
    return [t["tag"] for t in raw.get(name, [])]


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_every_captured_entry_keeps_its_metadata_as_sent(path: Path) -> None:
    page = decode_items_page(reference_body(path))
    raws = {str(r["ratingKey"]): r for r in _raw_entries(path)}
    checked = 0
    for item in page.items:
        if not isinstance(item, Movie | Show | Episode):
            continue
        raw = raws[item.rating_key]
        assert item.summary == raw.get("summary")
        assert item.content_rating == raw.get("contentRating")
        assert item.studio == raw.get("studio")
        assert item.originally_available_at == raw.get("originallyAvailableAt")
        assert aired(item.originally_available_at) == raw.get("originallyAvailableAt")  # all YYYY-MM-DD
        assert item.thumb == raw.get("thumb")
        assert item.art == raw.get("art")
        assert item.rating == raw.get("rating")
        assert item.audience_rating == raw.get("audienceRating")
        assert [t.tag for t in item.genres] == _tags(raw, "Genre")
        assert [t.tag for t in item.collections] == _tags(raw, "Collection")
        assert [t.tag for t in item.labels] == _tags(raw, "Label")
        ids = external_ids(item)
        for entry in raw.get("Guid", []):
            scheme, _, value = entry["id"].partition("://")
            assert ids[scheme] == value
        checked += 1
    if not any(r.get("type") in ("movie", "show", "episode") for r in raws.values()):
        pytest.skip(f"{path.name} holds no movie, show or episode")
    assert checked


def test_listings_carry_the_first_genres_and_detail_all_of_them(reference: Callable[[str], bytes]) -> None:
    """Real listings hold at most two `Genre` tags per item; detail holds the whole list."""
    listed = [
        len(item.genres)
        for name in (
            "library__sectionKey__get-library-all-5.json",
            "library__sectionKey__get-library-all-1.json",
        )
        for item in decode_items_page(reference(name)).items
        if isinstance(item, Movie | Show)
    ]
    assert max(listed) == 2
    assert min(listed) >= 1
    detail = decode_items_page(reference("library_metadata__ratingKey__get-media-meta-data-1.json")).items[0]
    assert isinstance(detail, Movie)
    assert len(detail.genres) > 2
    assert detail.content_rating == "PG"
    assert external_ids(detail) == {"imdb": "tt1262426", "tmdb": "402431", "tvdb": "136493"}


def test_episode_listings_have_no_genre_or_studio_of_their_own(reference: Callable[[str], bytes]) -> None:
    """An episode's genres and network are its show's: real episode listings carry neither."""
    episodes = [
        item
        for item in decode_items_page(reference("library__sectionKey__get-library-all-2.json")).items
        if isinstance(item, Episode)
    ]
    assert episodes
    assert all(not e.genres and e.studio is None for e in episodes)
    assert all(e.content_rating and aired(e.originally_available_at) for e in episodes)


def test_legacy_agent_guids_give_external_ids(reference: Callable[[str], bytes]) -> None:
    shows = [
        item
        for item in decode_items_page(reference("library__sectionKey__get-library-items-3.json")).items
        if isinstance(item, Show)
    ]
    tvdb = [s for s in shows if (s.guid or "").startswith("com.plexapp.agents.thetvdb://")]
    assert tvdb
    for show in tvdb:
        assert external_ids(show)["tvdb"] == show.guid.split("://")[1].split("?")[0]  # type: ignore[union-attr]
    hama = [s for s in shows if (s.guid or "").startswith("com.plexapp.agents.hama://")]
    assert hama
    assert all(external_ids(s) == {} for s in hama)  # anidb ids are not kept
    movie = Movie(rating_key="1", title="x", guid="com.plexapp.agents.imdb://tt1272878?lang=en")
    assert external_ids(movie) == {"imdb": "tt1272878"}
    episode = Episode(
        rating_key="2",
        grandparent_rating_key="1",
        title="y",
        guid="com.plexapp.agents.thetvdb://74205/1/1?lang=en",
        guids=(Guid("tvdb://8830735"),),
    )
    assert external_ids(episode) == {"tvdb": "8830735"}  # the path names the show, not the episode


def test_air_dates_are_days_or_nothing() -> None:
    assert aired("2008-03-05") == "2008-03-05"
    assert aired("2008-03-05 00:00:00") == "2008-03-05"
    assert aired("²⁰⁰⁸-03-05") is None  # digits to str.isdigit(), not to int(): no crash
    assert aired("") is None
    assert aired(None) is None
    assert aired("2008-13-05") is None
    assert aired("March 2008") is None


def test_reference_folder_is_there() -> None:
    if not REFERENCE_DIR.is_dir():
        pytest.skip(f"captured Plex responses not found at {REFERENCE_DIR} (../shared/reference is absent)")
    assert FILES
