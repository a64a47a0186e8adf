"""Mutations change what the server serves the way real Plex changes, and the ground truth follows."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from retrovue.sim import Simulator


def mc(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()["MediaContainer"]
    return body


def detail(c: httpx.Client, rk: str, **params: Any) -> dict[str, Any]:
    item: dict[str, Any] = mc(c.get(f"/library/metadata/{rk}", params=params))["Metadata"][0]
    return item


def section_counter(c: httpx.Client, key: str) -> int:
    dirs = mc(c.get("/library/sections"))["Directory"]
    return int(next(d for d in dirs if d["key"] == key)["contentChangedAt"])


def first_show(s: Simulator) -> dict[str, Any]:
    show: dict[str, Any] = s.ground_truth()["sections"][0]["shows"][0]
    return show


def test_add_episode_updates_parent_counts_and_counter(
    fresh_sim: Simulator, client_for: Callable[..., httpx.Client]
) -> None:
    c = client_for(fresh_sim)
    show = first_show(fresh_sim)
    before = detail(c, show["ratingKey"])
    counter = section_counter(c, "1")
    season_rk = show["seasons"][-1]["ratingKey"]
    rk = fresh_sim.add_episode(season_rk, title="Brand New")
    after = detail(c, show["ratingKey"])
    assert after["leafCount"] == before["leafCount"] + 1
    assert after["childCount"] == before["childCount"]
    assert after.get("updatedAt") == before.get("updatedAt")  # default: parents' updatedAt does not move
    assert section_counter(c, "1") != counter
    ep = detail(c, rk)
    assert ep["title"] == "Brand New"
    assert ep["parentRatingKey"] == season_rk
    assert ep["addedAt"] > max(e["addedAt"] for s in show["seasons"] for e in s["episodes"]) - 1
    # a new season bumps childCount
    fresh_sim.add_episode(show["ratingKey"], season_index=9)
    assert detail(c, show["ratingKey"])["childCount"] == before["childCount"] + 1


def test_parent_updated_at_can_follow_children(client_for: Callable[..., httpx.Client]) -> None:
    with Simulator(seed=3, shows=2, movies=0, parent_updated_at_follows_children=True) as s:
        c = client_for(s)
        show = first_show(s)
        s.add_episode(show["seasons"][0]["ratingKey"])
        assert detail(c, show["ratingKey"])["updatedAt"] > (show["updatedAt"] or 0)


def test_edit_sets_new_updated_at_and_resorts(
    fresh_sim: Simulator, client_for: Callable[..., httpx.Client]
) -> None:
    c = client_for(fresh_sim)
    movies = fresh_sim.ground_truth()["sections"][1]["movies"]
    last = movies[-1]
    fresh_sim.edit(last["ratingKey"], title="AAAA first now")
    listing = mc(c.get("/library/sections/2/all", params={"type": 1}))["Metadata"]
    assert listing[0]["ratingKey"] == last["ratingKey"]
    assert listing[0]["updatedAt"] > (last["updatedAt"] or 0)
    with pytest.raises(ValueError, match="cannot edit"):
        fresh_sim.edit(last["ratingKey"], added_at=5)


def test_replace_file_keeps_updated_at(fresh_sim: Simulator, client_for: Callable[..., httpx.Client]) -> None:
    c = client_for(fresh_sim)
    movie = next(m for m in fresh_sim.ground_truth()["sections"][1]["movies"] if m["parts"])
    before = detail(c, movie["ratingKey"])
    fresh_sim.replace_file(movie["ratingKey"], size=123456789)
    after = detail(c, movie["ratingKey"])
    p0, p1 = before["Media"][0]["Part"][0], after["Media"][0]["Part"][0]
    assert p1["size"] == 123456789
    assert p1["id"] == p0["id"]
    assert p1["file"] == p0["file"]
    assert p1["key"] != p0["key"]
    assert p1["key"].startswith(f"/library/parts/{p0['id']}/")
    assert after["updatedAt"] == before["updatedAt"]
    # an updatedAt filter cannot see the replacement
    since = mc(c.get("/library/sections/2/all", params={"type": 1, "updatedAt>>": before["updatedAt"]}))
    assert movie["ratingKey"] not in {m["ratingKey"] for m in since.get("Metadata", [])}


def test_rematch_gives_new_rating_key(fresh_sim: Simulator, client_for: Callable[..., httpx.Client]) -> None:
    c = client_for(fresh_sim)
    movie = next(m for m in fresh_sim.ground_truth()["sections"][1]["movies"] if m["parts"])
    new = fresh_sim.rematch(movie["ratingKey"])
    assert int(new) > int(movie["ratingKey"])
    assert c.get(f"/library/metadata/{movie['ratingKey']}").status_code == 404
    item = detail(c, new)
    assert item["Media"][0]["Part"][0]["file"] == movie["parts"][0]["file"]
    assert item["guid"] != movie["guid"]


def test_remove_and_empty_parents(fresh_sim: Simulator, client_for: Callable[..., httpx.Client]) -> None:
    c = client_for(fresh_sim)
    show = first_show(fresh_sim)
    season = show["seasons"][-1]
    for ep in season["episodes"]:
        fresh_sim.remove(ep["ratingKey"])
    assert c.get(f"/library/metadata/{season['ratingKey']}").status_code == 404
    assert detail(c, show["ratingKey"])["childCount"] == len(show["seasons"]) - 1
    fresh_sim.remove(show["ratingKey"])
    shows = mc(c.get("/library/sections/1/all", params={"type": 2}))["Metadata"]
    assert show["ratingKey"] not in {s["ratingKey"] for s in shows}


def test_move_episode_to_another_show(fresh_sim: Simulator, client_for: Callable[..., httpx.Client]) -> None:
    c = client_for(fresh_sim)
    shows = fresh_sim.ground_truth()["sections"][0]["shows"]
    ep = shows[0]["seasons"][-1]["episodes"][0]
    fresh_sim.move_episode(ep["ratingKey"], show_rk=shows[1]["ratingKey"], season_index=7, index=3)
    item = detail(c, ep["ratingKey"])
    assert item["grandparentRatingKey"] == shows[1]["ratingKey"]
    assert item["parentIndex"] == 7
    assert item["index"] == 3
    assert shows[1]["title"] in item["Media"][0]["Part"][0]["file"] if item.get("Media") else True


def test_move_file(fresh_sim: Simulator, client_for: Callable[..., httpx.Client]) -> None:
    c = client_for(fresh_sim)
    movie = next(m for m in fresh_sim.ground_truth()["sections"][1]["movies"] if m["parts"])
    part = movie["parts"][0]
    fresh_sim.move_file(part["id"], "/elsewhere/film.mkv")
    assert detail(c, movie["ratingKey"])["Media"][0]["Part"][0]["file"] == "/elsewhere/film.mkv"


def test_unavailable_show_and_part(fresh_sim: Simulator, client_for: Callable[..., httpx.Client]) -> None:
    c = client_for(fresh_sim)
    show = first_show(fresh_sim)
    fresh_sim.set_unavailable(show["ratingKey"])
    eps = mc(c.get(f"/library/metadata/{show['ratingKey']}/allLeaves"))["Metadata"]
    assert len(eps) == show["leafCount"]  # still listed (trash not emptied)
    for ep in eps:
        for media in detail(c, ep["ratingKey"], checkFiles=1).get("Media", []):
            assert all(p["exists"] is False and p["accessible"] is False for p in media["Part"])
    fresh_sim.set_unavailable(show["ratingKey"], unavailable=False)
    movie = next(m for m in fresh_sim.ground_truth()["sections"][1]["movies"] if m["parts"])
    fresh_sim.set_unavailable(part_id=movie["parts"][0]["id"])
    truth = next(
        m for m in fresh_sim.ground_truth()["sections"][1]["movies"] if m["ratingKey"] == movie["ratingKey"]
    )
    assert truth["parts"][0]["exists"] is False


def test_section_offline_and_back(fresh_sim: Simulator, client_for: Callable[..., httpx.Client]) -> None:
    c = client_for(fresh_sim)
    fresh_sim.set_section_offline("2")
    body = mc(
        c.get("/library/sections/2/all", params={"X-Plex-Container-Start": 0, "X-Plex-Container-Size": 10})
    )
    assert body["totalSize"] == 0
    assert "Metadata" not in body
    fresh_sim.set_section_offline(2, offline=False)
    assert mc(c.get("/library/sections/2/all"))["size"] == 6


def test_insert_during_paged_walk_shifts_pages(
    fresh_sim: Simulator, client_for: Callable[..., httpx.Client]
) -> None:
    c = client_for(fresh_sim)
    page = {"X-Plex-Container-Size": "3"}
    first = mc(c.get("/library/sections/2/all", params={**page, "X-Plex-Container-Start": 0}))["Metadata"]
    fresh_sim.add_movie("!!! Sorts first")
    second = mc(c.get("/library/sections/2/all", params={**page, "X-Plex-Container-Start": 3}))["Metadata"]
    assert second[0]["ratingKey"] == first[-1]["ratingKey"]  # the insert pushed the last item down


def test_add_show_and_movie_in_ground_truth(fresh_sim: Simulator) -> None:
    show_rk = fresh_sim.add_show("Zeta Nueva", seasons=2, episodes=2)
    movie_rk = fresh_sim.add_movie("Ωmega", parts=2)
    truth = fresh_sim.ground_truth()["sections"]
    show = next(s for s in truth[0]["shows"] if s["ratingKey"] == show_rk)
    assert show["childCount"] == 2
    assert show["leafCount"] == 4
    movie = next(m for m in truth[1]["movies"] if m["ratingKey"] == movie_rk)
    assert len(movie["parts"]) == 2
    assert all(p["exists"] for p in movie["parts"])
    assert fresh_sim.sections()[0]["shows"] == 5


def test_random_mutations_are_deterministic_and_served(client_for: Callable[..., httpx.Client]) -> None:
    results = []
    for _ in range(2):
        with Simulator(seed=4, shows=3, movies=4) as s:
            done = s.random_mutations(25, random.Random(1))
            assert len(done) == 25
            c = client_for(s)
            truth = s.ground_truth()
            served = [e["ratingKey"] for e in mc(c.get("/library/sections/1/allLeaves")).get("Metadata", [])]
            expected = [
                e["ratingKey"]
                for sh in truth["sections"][0]["shows"]
                for se in sh["seasons"]
                for e in se["episodes"]
            ]
            assert served == expected
            results.append((done, truth))
    assert results[0] == results[1]


def test_unknown_items_raise(fresh_sim: Simulator) -> None:
    with pytest.raises(KeyError):
        fresh_sim.remove(1)
    with pytest.raises(ValueError, match="expected show"):
        fresh_sim.add_season(fresh_sim.ground_truth()["sections"][1]["movies"][0]["ratingKey"])
