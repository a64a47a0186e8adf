"""Choosing the primary guid of an item."""

from __future__ import annotations

import pytest

from retrovue.plex import Guid, Movie, normalize_legacy_guid, primary_guid


def item(guid: str | None, *external: str) -> Movie:
    return Movie(rating_key="1", title="t", guid=guid, guids=tuple(Guid(id=value) for value in external))


@pytest.mark.parametrize(
    ("legacy", "expected"),
    [
        ("com.plexapp.agents.thetvdb://74205/1/1?lang=en", "tvdb://74205/1/1"),
        ("com.plexapp.agents.themoviedb://603?lang=de", "tmdb://603"),
        ("com.plexapp.agents.imdb://tt0133093?lang=en", "imdb://tt0133093"),
        ("com.plexapp.agents.TheTVDB://1", "tvdb://1"),
        ("com.plexapp.agents.hama://anidb-2127?lang=en", "hama://anidb-2127"),
        ("com.plexapp.agents.none://40081?lang=xn", None),
        ("com.plexapp.agents.localmedia://5", None),
        ("com.plexapp.agents.thetvdb://?lang=en", None),
        ("plex://movie/abc", None),
        ("local://12", None),
    ],
)
def test_normalize_legacy_guid(legacy: str, expected: str | None) -> None:
    assert normalize_legacy_guid(legacy) == expected


def test_plex_guid_wins() -> None:
    assert primary_guid(item("plex://movie/5d77", "imdb://tt1", "tmdb://2")) == "plex://movie/5d77"


def test_legacy_guid_beats_external_ids() -> None:
    assert primary_guid(item("com.plexapp.agents.thetvdb://81797?lang=en", "imdb://tt1")) == "tvdb://81797"


def test_external_ids_in_fixed_preference_not_list_order() -> None:
    assert primary_guid(item("local://9", "tvdb://3", "tmdb://2", "imdb://tt1")) == "imdb://tt1"
    assert primary_guid(item(None, "tvdb://3", "tmdb://2")) == "tmdb://2"
    assert primary_guid(item("com.plexapp.agents.none://4", "tvdb://3")) == "tvdb://3"


def test_fallbacks() -> None:
    assert primary_guid(item("local://9")) == "local://9"
    assert primary_guid(item("local://9", "bogus", "mbid://x")) == "local://9"
    assert primary_guid(item(None)) is None
    assert primary_guid(item("")) is None
