"""Serving: auth, negotiation, endpoints, paging, ordering, filters, errors — over real HTTP."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from retrovue.sim import Simulator
from retrovue.sim.catalog import natural_key

UNAUTHORIZED = "<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>"


def mc(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()["MediaContainer"]
    return body


def test_identity_needs_no_token(sim: Simulator) -> None:
    r = httpx.get(f"{sim.url}/identity", headers={"Accept": "application/json"})
    body = mc(r)
    assert body["machineIdentifier"] == sim.machine_identifier
    assert body["claimed"] is True
    assert isinstance(body["version"], str)


@pytest.mark.parametrize("path", ["/", "/library", "/library/sections", "/library/sections/1/all", "/nope"])
def test_missing_or_bad_token_is_401_html(sim: Simulator, path: str) -> None:
    for headers in ({}, {"X-Plex-Token": "wrong"}):
        r = httpx.get(f"{sim.url}{path}", headers=headers)
        assert r.status_code == 401
        assert r.text == UNAUTHORIZED
        assert r.headers["content-type"].startswith("text/html")


def test_token_as_query_parameter(sim: Simulator) -> None:
    r = httpx.get(f"{sim.url}/library/sections", params={"X-Plex-Token": sim.token})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(r.content)
    assert root.tag == "MediaContainer"
    assert [d.get("type") for d in root.findall("Directory")] == ["show", "movie"]


def test_request_log_strips_token(sim: Simulator) -> None:
    sim.reset_requests()
    httpx.get(f"{sim.url}/library/sections/1/all", params={"type": "2", "X-Plex-Token": sim.token})
    assert sim.requests == [("GET", "/library/sections/1/all", "type=2")]
    assert sim.request_count == 1
    assert sim.token not in repr(sim.requests)


def test_server_root_and_library(client: httpx.Client, sim: Simulator) -> None:
    root = mc(client.get("/"))
    assert root["machineIdentifier"] == sim.machine_identifier
    assert root["friendlyName"]
    assert root["platform"]
    assert root["version"]
    lib = mc(client.get("/library"))
    assert lib["title1"] == "Plex Library"
    assert {d["key"] for d in lib["Directory"]} >= {"sections"}


def test_sections_shape(client: httpx.Client, sim: Simulator) -> None:
    dirs = mc(client.get("/library/sections"))["Directory"]
    truth = sim.ground_truth()["sections"]
    assert [d["key"] for d in dirs] == [s["key"] for s in truth]
    for d, t in zip(dirs, truth, strict=True):
        assert d["uuid"] == t["uuid"]
        assert d["type"] == t["type"]
        assert d["title"] == t["title"]
        assert isinstance(d["contentChangedAt"], int)
        for name in ("updatedAt", "createdAt", "scannedAt"):
            assert isinstance(d[name], int)
        assert d["Location"][0]["path"] == t["locations"][0]
        assert isinstance(d["Location"][0]["id"], int)


def _titles(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [natural_key(i.get("titleSort") or i["title"]) for i in items]


def test_listings_sorted_by_title(client: httpx.Client) -> None:
    shows = mc(client.get("/library/sections/1/all", params={"type": 2}))["Metadata"]
    movies = mc(client.get("/library/sections/2/all", params={"type": 1}))["Metadata"]
    assert _titles(shows) == sorted(_titles(shows))
    assert _titles(movies) == sorted(_titles(movies))
    assert all(s["type"] == "show" and isinstance(s["leafCount"], int) for s in shows)


def test_episode_listing_order_and_counts(client: httpx.Client, sim: Simulator) -> None:
    truth = sim.ground_truth()["sections"][0]["shows"]
    expected = [e["ratingKey"] for show in truth for season in show["seasons"] for e in season["episodes"]]
    eps = mc(client.get("/library/sections/1/all", params={"type": 4}))["Metadata"]
    assert [e["ratingKey"] for e in eps] == expected
    leaves = mc(client.get("/library/sections/1/allLeaves"))["Metadata"]
    assert [e["ratingKey"] for e in leaves] == expected
    seasons = mc(client.get("/library/sections/1/all", params={"type": 3}))["Metadata"]
    assert [s["ratingKey"] for s in seasons] == [s["ratingKey"] for show in truth for s in show["seasons"]]


@pytest.mark.parametrize("as_headers", [True, False])
def test_paging(client: httpx.Client, as_headers: bool) -> None:
    full = mc(client.get("/library/sections/1/all", params={"type": 4}))["Metadata"]
    seen: list[str] = []
    start = 0
    while True:
        paging = {"X-Plex-Container-Start": str(start), "X-Plex-Container-Size": "5"}
        r = (
            client.get("/library/sections/1/all", params={"type": 4}, headers=paging)
            if as_headers
            else client.get("/library/sections/1/all", params={"type": 4, **paging})
        )
        body = mc(r)
        assert body["totalSize"] == len(full)
        assert body["offset"] == start
        assert r.headers["X-Plex-Container-Start"] == str(start)
        assert r.headers["X-Plex-Container-Total-Size"] == str(len(full))
        page = body.get("Metadata", [])
        assert body["size"] == len(page)
        if not page:
            break
        seen += [e["ratingKey"] for e in page]
        start += len(page)
    assert seen == [e["ratingKey"] for e in full]


def test_size_zero_counts_and_past_end_is_empty(client: httpx.Client) -> None:
    body = mc(
        client.get(
            "/library/sections/2/all", params={"X-Plex-Container-Start": 0, "X-Plex-Container-Size": 0}
        )
    )
    assert body["size"] == 0
    assert body["totalSize"] == 12
    assert "Metadata" not in body
    body = mc(
        client.get(
            "/library/sections/2/all", params={"X-Plex-Container-Start": 500, "X-Plex-Container-Size": 10}
        )
    )
    assert body["size"] == 0
    assert body["totalSize"] == 12


def test_unpaged_listing_has_no_total(client: httpx.Client) -> None:
    body = mc(client.get("/library/sections/2/all", params={"type": 1}))
    assert body["size"] == 12
    assert "totalSize" not in body


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/library/sections/9/all", {}, 404),
        ("/library/metadata/999999999", {}, 404),
        ("/library/metadata/abc", {}, 400),
        ("/library/sections/1/all", {"type": "1"}, 400),
        ("/library/sections/1/all", {"type": "x"}, 400),
        ("/library/sections/1/all", {"X-Plex-Container-Start": "-1"}, 400),
        ("/library/sections/1/all", {"X-Plex-Container-Size": "ten"}, 400),
        ("/library/sections/1/all", {"bogus>>": "1"}, 400),
        ("/library/sections/1/all", {"addedAt>>": "yesterday"}, 400),
        ("/library/sections/1/all", {"sort": "nonsense"}, 400),
        ("/library/sections/2/allLeaves", {}, 400),
        ("/no/such/path", {}, 404),
    ],
)
def test_errors_are_html(client: httpx.Client, path: str, params: dict[str, str], status: int) -> None:
    r = client.get(path, params=params)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("text/html")
    assert r.text.startswith("<html>")
    assert str(status) in r.text


def test_item_detail_streams_guids_and_check_files(client: httpx.Client, sim: Simulator) -> None:
    movie = sim.ground_truth()["sections"][1]["movies"][0]
    item = mc(client.get(f"/library/metadata/{movie['ratingKey']}"))["Metadata"][0]
    part = item["Media"][0]["Part"][0]
    assert "accessible" not in part
    assert {s["streamType"] for s in part["Stream"]} >= {1, 2}
    item = mc(client.get(f"/library/metadata/{movie['ratingKey']}", params={"checkFiles": 1}))["Metadata"][0]
    part = item["Media"][0]["Part"][0]
    assert part["accessible"] is movie["parts"][0]["accessible"]
    assert part["exists"] is movie["parts"][0]["exists"]
    assert item["librarySectionID"] == 2
    assert item["librarySectionKey"] == "/library/sections/2"


def test_include_guids_only_when_asked(client: httpx.Client) -> None:
    plain = mc(client.get("/library/sections/2/all", params={"type": 1}))["Metadata"]
    assert not any("Guid" in m for m in plain)
    withg = mc(client.get("/library/sections/2/all", params={"type": 1, "includeGuids": 1}))["Metadata"]
    assert any("Guid" in m for m in withg)
    assert all(g["id"].split("://")[0] in ("imdb", "tmdb", "tvdb") for m in withg for g in m.get("Guid", []))


def test_several_items_at_once(client: httpx.Client, sim: Simulator) -> None:
    keys = [m["ratingKey"] for m in sim.ground_truth()["sections"][1]["movies"][:3]]
    items = mc(client.get(f"/library/metadata/{','.join(keys)}"))["Metadata"]
    assert [i["ratingKey"] for i in items] == keys


def test_children_and_all_leaves(client: httpx.Client, sim: Simulator) -> None:
    show = sim.ground_truth()["sections"][0]["shows"][0]
    kids = mc(client.get(f"/library/metadata/{show['ratingKey']}/children"))["Metadata"]
    assert kids[0]["title"] == "All episodes"
    assert "ratingKey" not in kids[0]
    kids = mc(client.get(f"/library/metadata/{show['ratingKey']}/children", params={"excludeAllLeaves": 1}))
    assert [k["ratingKey"] for k in kids["Metadata"]] == [s["ratingKey"] for s in show["seasons"]]
    assert all(k["type"] == "season" for k in kids["Metadata"])
    season = show["seasons"][-1]
    eps = mc(client.get(f"/library/metadata/{season['ratingKey']}/children"))["Metadata"]
    assert [e["ratingKey"] for e in eps] == [e["ratingKey"] for e in season["episodes"]]
    leaves = mc(client.get(f"/library/metadata/{show['ratingKey']}/allLeaves"))["Metadata"]
    assert [e["ratingKey"] for e in leaves] == [
        e["ratingKey"] for s in show["seasons"] for e in s["episodes"]
    ]


def test_added_and_updated_filters(client: httpx.Client, sim: Simulator) -> None:
    movies = sim.ground_truth()["sections"][1]["movies"]
    cut = sorted(m["addedAt"] for m in movies)[len(movies) // 2]
    after = mc(client.get("/library/sections/2/all", params={"type": 1, "addedAt>>": cut}))
    assert {m["ratingKey"] for m in after.get("Metadata", [])} == {
        m["ratingKey"] for m in movies if m["addedAt"] > cut
    }
    before = mc(client.get("/library/sections/2/all", params={"type": 1, "addedAt<<": cut}))
    assert {m["ratingKey"] for m in before.get("Metadata", [])} == {
        m["ratingKey"] for m in movies if m["addedAt"] < cut
    }
    eps = [
        e for s in sim.ground_truth()["sections"][0]["shows"] for se in s["seasons"] for e in se["episodes"]
    ]
    upd = mc(client.get("/library/sections/1/all", params={"type": 4, "updatedAt>>": 0}))
    assert {e["ratingKey"] for e in upd.get("Metadata", [])} == {
        e["ratingKey"] for e in eps if e["updatedAt"]
    }
    recent = mc(client.get("/library/sections/2/all", params={"type": 1, "addedAt>>": "-100y"}))
    assert recent["size"] == len(movies)


def test_type_scoped_filter_on_shows(client: httpx.Client, sim: Simulator) -> None:
    shows = sim.ground_truth()["sections"][0]["shows"]
    newest = max(e["addedAt"] for s in shows for se in s["seasons"] for e in se["episodes"])
    body = mc(client.get("/library/sections/1/all", params={"type": 2, "episode.addedAt>>": newest - 1}))
    expected = {
        s["ratingKey"]
        for s in shows
        if any(e["addedAt"] > newest - 1 for se in s["seasons"] for e in se["episodes"])
    }
    assert {s["ratingKey"] for s in body["Metadata"]} == expected


def test_json_and_xml_agree(client: httpx.Client, xml_client: httpx.Client) -> None:
    params = {"type": 4, "includeGuids": 1}
    js = mc(client.get("/library/sections/1/all", params=params))["Metadata"]
    root = ET.fromstring(xml_client.get("/library/sections/1/all", params=params).content)
    videos = root.findall("Video")
    assert [v.get("ratingKey") for v in videos] == [e["ratingKey"] for e in js]
    for v, e in zip(videos, js, strict=True):
        assert v.get("title") == e["title"]
        parts_xml = [p.get("file") for p in v.iter("Part")]
        parts_json = [p["file"] for m in e.get("Media", []) for p in m["Part"]]
        assert parts_xml == parts_json


def test_same_seed_same_library() -> None:
    a = Simulator(seed=3, shows=3, movies=3).ground_truth()
    b = Simulator(seed=3, shows=3, movies=3).ground_truth()
    c = Simulator(seed=4, shows=3, movies=3).ground_truth()
    assert a == b
    assert a != c


def test_windows_paths(client_for: Callable[..., httpx.Client]) -> None:
    with Simulator(seed=2, shows=2, movies=3, windows_paths=True) as s:
        c = client_for(s)
        dirs = mc(c.get("/library/sections"))["Directory"]
        assert dirs[0]["Location"][0]["path"].startswith("D:\\")
        assert dirs[1]["Location"][0]["path"].startswith("\\\\")
        eps = mc(c.get("/library/sections/1/all", params={"type": 4}))["Metadata"]
        files = [p["file"] for e in eps for m in e.get("Media", []) for p in m["Part"]]
        assert files
        assert all(f.startswith("D:\\Media\\TV Shows\\") and "/" not in f for f in files)


def test_hidden_seasons(client_for: Callable[..., httpx.Client]) -> None:
    with Simulator(seed=5, shows=2, movies=0, hidden_seasons_fraction=1.0) as s:
        c = client_for(s)
        show = s.ground_truth()["sections"][0]["shows"][0]
        assert show["hiddenSeasons"] is True
        kids = mc(c.get(f"/library/metadata/{show['ratingKey']}/children"))["Metadata"]
        assert all(k["type"] == "episode" for k in kids)
        assert all("parentRatingKey" not in k and "parentKey" not in k for k in kids)
        assert all(k["grandparentRatingKey"] == show["ratingKey"] for k in kids)


def test_rich_catalog_features() -> None:
    """Specials, multi-part movies, items without media, missing files, absent updatedAt all occur."""
    truth = Simulator(seed=1, shows=40, movies=200).ground_truth()
    shows, movies = truth["sections"][0]["shows"], truth["sections"][1]["movies"]
    eps = [e for s in shows for se in s["seasons"] for e in se["episodes"]]
    assert any(se["index"] == 0 for s in shows for se in s["seasons"])
    assert any(len(m["parts"]) > 1 for m in movies)
    assert any(not e["parts"] for e in eps + movies)
    assert any(not p["exists"] for e in eps + movies for p in e["parts"])
    assert any(e["updatedAt"] is None for e in eps)
    assert any(any(ord(ch) > 127 for ch in m["title"]) for m in movies + shows)
    keys = [int(x["ratingKey"]) for s in shows for x in [s, *s["seasons"]]]
    assert len(set(keys)) == len(keys)
