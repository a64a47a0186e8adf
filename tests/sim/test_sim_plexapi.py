"""Fidelity proof: python-plexapi, a real Plex client, reads the simulator without noticing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from retrovue.sim import Simulator

plexapi_server = pytest.importorskip("plexapi.server")


def _server(s: Simulator) -> Any:
    return plexapi_server.PlexServer(s.url, s.token, timeout=10)


def _eps(show: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for season in show["seasons"] for e in season["episodes"]]


def test_connect_and_sections(sim: Simulator) -> None:
    plex = _server(sim)
    assert plex.machineIdentifier == sim.machine_identifier
    assert isinstance(plex.version, str)
    assert plex.platform == "Linux"
    sections = plex.library.sections()
    truth = sim.ground_truth()["sections"]
    assert [(s.key, s.type, s.title, s.uuid) for s in sections] == [
        (int(t["key"]), t["type"], t["title"], t["uuid"]) for t in truth
    ]
    assert sections[0].locations == truth[0]["locations"]
    assert isinstance(sections[0].updatedAt, dt.datetime)
    assert sections[1].totalSize == len(truth[1]["movies"])


def test_walk_shows_seasons_episodes(sim: Simulator) -> None:
    plex = _server(sim)
    truth = sim.ground_truth()["sections"][0]["shows"]
    shows = plex.library.sectionByID(1).all()
    assert [s.ratingKey for s in shows] == [int(t["ratingKey"]) for t in truth]
    for show, t in zip(shows, truth, strict=True):
        assert show.title == t["title"]
        assert show.guid == t["guid"]
        assert show.year == t["year"]
        assert show.childCount == t["childCount"]
        assert show.leafCount == t["leafCount"]
        assert isinstance(show.addedAt, dt.datetime)
        seasons = show.seasons()
        assert [s.index for s in seasons] == [s["index"] for s in t["seasons"]]
        for season, ts in zip(seasons, t["seasons"], strict=True):
            assert season.leafCount == ts["leafCount"]
            eps = season.episodes()
            assert [e.ratingKey for e in eps] == [int(e["ratingKey"]) for e in ts["episodes"]]
            for ep, te in zip(eps, ts["episodes"], strict=True):
                assert ep.index == te["index"]
                assert ep.parentIndex == ts["index"]
                assert ep.grandparentTitle == t["title"]
                assert ep.duration == te["duration"]
                assert ep.updatedAt == (
                    dt.datetime.fromtimestamp(te["updatedAt"]) if te["updatedAt"] else None
                )
                files = [p.file for m in ep.media for p in m.parts]
                assert files == [p["file"] for p in te["parts"]]
        assert [e.ratingKey for e in show.episodes()] == [int(e["ratingKey"]) for e in _eps(t)]


def test_movies_media_and_parts_types(sim: Simulator) -> None:
    plex = _server(sim)
    truth = sim.ground_truth()["sections"][1]["movies"]
    movies = plex.library.sectionByID(2).all()
    assert [m.ratingKey for m in movies] == [int(t["ratingKey"]) for t in truth]
    for movie, t in zip(movies, truth, strict=True):
        assert movie.guid == t["guid"]
        parts = [p for m in movie.media for p in m.parts]
        assert [(p.id, p.key, p.file, p.size, p.duration, p.container) for p in parts] == [
            (p["id"], p["key"], p["file"], p["size"], p["duration"], p["container"]) for p in t["parts"]
        ]
        for media in movie.media:
            assert isinstance(media.id, int)
            assert isinstance(media.bitrate, int)
            assert isinstance(media.videoResolution, str)
            assert isinstance(media.aspectRatio, float)
            assert isinstance(media.audioChannels, int)
            assert isinstance(media.width, int)
        assert all(g.id.split("://")[0] in ("imdb", "tmdb", "tvdb") for g in movie.guids)


def test_detail_streams_and_check_files(sim: Simulator) -> None:
    plex = _server(sim)
    truth = next(m for m in sim.ground_truth()["sections"][1]["movies"] if m["parts"])
    movie = plex.fetchItem(int(truth["ratingKey"]))
    part = movie.media[0].parts[0]
    streams = part.streams
    assert {s.streamType for s in streams} >= {1, 2}
    assert movie.videoStreams()[0].codec == movie.media[0].videoCodec
    checked = plex.fetchItem(f"/library/metadata/{truth['ratingKey']}?checkFiles=1")
    assert checked.media[0].parts[0].exists is truth["parts"][0]["exists"]
    assert checked.media[0].parts[0].accessible is truth["parts"][0]["accessible"]


def test_paging_through_a_large_section() -> None:
    with Simulator(seed=9, shows=30, movies=230, seasons_per_show=2, episodes_per_season=4) as s:
        plex = _server(s)
        section = plex.library.sectionByID(2)
        s.reset_requests()
        movies = section.search(libtype="movie", container_size=50)
        assert len(movies) == 230
        assert [m.ratingKey for m in movies] == [
            int(m["ratingKey"]) for m in s.ground_truth()["sections"][1]["movies"]
        ]
        assert len(s.requests) == 5  # 50 + 50 + 50 + 50 + 30
        eps = plex.library.sectionByID(1).search(libtype="episode", container_size=100)
        assert (
            len(eps)
            == len({e.ratingKey for e in eps})
            == sum(len(_eps(show)) for show in s.ground_truth()["sections"][0]["shows"])
        )
        assert plex.library.sectionByID(1).totalViewSize(libtype="episode") == len(eps)


def test_plexapi_unauthorized() -> None:
    unauthorized = pytest.importorskip("plexapi.exceptions").Unauthorized
    with Simulator(seed=1, shows=1, movies=1) as s, pytest.raises(unauthorized):
        plexapi_server.PlexServer(s.url, "wrong-token", timeout=5)


def test_collections_and_their_items() -> None:
    """python-plexapi lists a section's collections (`/all?type=18`) and their items the way it
    does against Plex, as the simulator's truth holds them."""
    with Simulator(seed=5, shows=12, movies=40, seasons_per_show=1, episodes_per_season=1) as s:
        plex = _server(s)
        for section, truth in zip(plex.library.sections(), s.ground_truth()["sections"], strict=True):
            found = section.collections()
            assert [(c.title, c.childCount, str(c.ratingKey)) for c in found] == [
                (t["title"], len(t["members"]), t["ratingKey"]) for t in truth["collections"]
            ]
            for collection, t in zip(found, truth["collections"], strict=True):
                assert [str(i.ratingKey) for i in collection.items()] == t["members"]
                assert isinstance(collection.updatedAt, dt.datetime)
