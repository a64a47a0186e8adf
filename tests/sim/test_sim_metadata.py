"""The simulator serves what a scheduler needs where real Plex does: listings carry an item's first
two genres and collections, detail all of them and its labels; collections are objects of their
own; JSON and XML agree."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import httpx

from retrovue.sim import Simulator


def _entries(c: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    return list(c.get(path, params=params).json()["MediaContainer"].get("Metadata", []))


def _tags(entry: dict[str, Any], name: str) -> list[str]:
    return [t["tag"] for t in entry.get(name, [])]


def test_listings_carry_first_genres_and_collections_detail_all_genres_and_labels(
    client_for: Callable[..., httpx.Client],
) -> None:
    with Simulator(seed=5, shows=12, movies=40, seasons_per_show=1, episodes_per_season=2) as s:
        c = client_for(s)
        truth = s.ground_truth()
        by_key = {
            m["ratingKey"]: m for sec in truth["sections"] for m in [*sec["movies"], *sec.get("shows", [])]
        }
        listed = [
            *_entries(c, "/library/sections/2/all", type=1, includeGuids=1),
            *_entries(c, "/library/sections/1/all", type=2, includeGuids=1),
        ]
        assert max(len(e.get("Genre", [])) for e in listed) == 2
        more = [k for k, v in by_key.items() if len(v["genres"]) > 2]
        assert more  # some items have more genres than a listing shows
        assert any(by_key[e["ratingKey"]]["collections"] for e in listed)
        assert any(not by_key[k]["genres"] and not by_key[k]["contentRating"] for k in by_key)  # none at all
        for entry in listed:
            truth_item = by_key[entry["ratingKey"]]
            assert _tags(entry, "Genre") == truth_item["genres"][:2]
            assert _tags(entry, "Collection") == truth_item["collections"]
            assert "Label" not in entry
            assert entry.get("contentRating") == truth_item["contentRating"]
        for key in more[:5]:
            (detail,) = _entries(c, f"/library/metadata/{key}")
            assert _tags(detail, "Genre") == by_key[key]["genres"]
        labelled = [k for k, v in by_key.items() if v["labels"]]
        assert labelled
        (detail,) = _entries(c, f"/library/metadata/{labelled[0]}")
        assert _tags(detail, "Label") == by_key[labelled[0]]["labels"]
        # Episodes: a rating and an air date of their own, no genre or network (their show's).
        episodes = _entries(c, "/library/sections/1/all", type=4, includeGuids=1)
        assert episodes
        assert all("Genre" not in e and "studio" not in e for e in episodes)
        assert all(e["contentRating"] and e["originallyAvailableAt"] for e in episodes)
        # XML says the same.
        xml = ET.fromstring(
            httpx.get(
                f"{s.url}/library/sections/2/all", params={"type": 1}, headers={"X-Plex-Token": s.token}
            ).content
        )
        js = _entries(c, "/library/sections/2/all", type=1)
        for video, entry in zip(xml.findall("Video"), js, strict=True):
            assert [g.get("tag") for g in video.findall("Genre")] == _tags(entry, "Genre")
            assert [g.get("tag") for g in video.findall("Collection")] == _tags(entry, "Collection")
            assert video.get("contentRating") == entry.get("contentRating")


def test_a_collection_change_moves_the_section_not_the_items_updated_at(fresh_sim: Simulator) -> None:
    movie = next(m for m in fresh_sim.ground_truth()["sections"][1]["movies"])
    before = fresh_sim.ground_truth()["sections"][1]
    fresh_sim.set_collections(movie["ratingKey"], ("Halloween Night",))
    after = fresh_sim.ground_truth()["sections"][1]
    moved = next(m for m in after["movies"] if m["ratingKey"] == movie["ratingKey"])
    assert moved["collections"] == ["Halloween Night"]
    assert moved["updatedAt"] == movie["updatedAt"]
    assert after["contentChangedAt"] != before["contentChangedAt"]
    fresh_sim.edit(movie["ratingKey"], genres=("Horror",))  # an edit of the item's own tags moves it
    edited = next(
        m for m in fresh_sim.ground_truth()["sections"][1]["movies"] if m["ratingKey"] == movie["ratingKey"]
    )
    assert edited["genres"] == ["Horror"]
    assert edited["updatedAt"] != movie["updatedAt"]


def test_collections_are_objects_of_their_own_that_either_way_of_joining_moves(
    client_for: Callable[..., httpx.Client],
) -> None:
    """Through the collection, a membership moves the collection's `updatedAt` and `childCount` and
    the section's contentChangedAt, not the item's `updatedAt`; through the item's own edit, the
    item's too. A listing carries an item's first two Collection tags, its detail all of them."""
    with Simulator(seed=5, shows=12, movies=40, seasons_per_show=1, episodes_per_season=2) as s:
        c = client_for(s)

        def collections() -> dict[str, dict[str, Any]]:
            return {e["title"]: e for e in _entries(c, "/library/sections/2/collections")}

        def movie(key: str) -> dict[str, Any]:
            return next(m for m in s.ground_truth()["sections"][1]["movies"] if m["ratingKey"] == key)

        key = s.ground_truth()["sections"][1]["movies"][0]["ratingKey"]
        s.set_collections(key, ("Award Winners", "Halloween Night"))
        before, item = collections(), movie(key)
        changed_at = s.ground_truth()["sections"][1]["contentChangedAt"]
        s.set_collections(key, ("Award Winners", "Halloween Night", "Midnight Movies"))
        after = collections()
        assert movie(key)["updatedAt"] == item["updatedAt"]
        assert after["Midnight Movies"]["childCount"] == 1
        assert after["Award Winners"] == before["Award Winners"]  # its members did not move
        assert s.ground_truth()["sections"][1]["contentChangedAt"] != changed_at
        (listed,) = [e for e in _entries(c, "/library/sections/2/all", type=1) if e["ratingKey"] == key]
        assert _tags(listed, "Collection") == ["Award Winners", "Halloween Night"]  # the first two
        (detail,) = _entries(c, f"/library/metadata/{key}")
        assert _tags(detail, "Collection") == ["Award Winners", "Halloween Night", "Midnight Movies"]
        children = _entries(c, after["Midnight Movies"]["key"])
        assert [e["ratingKey"] for e in children] == [key]

        s.edit(key, collections=("Award Winners",))  # the item's own edit
        edited = collections()
        assert movie(key)["updatedAt"] != item["updatedAt"]
        assert "Midnight Movies" not in edited  # emptied: gone
        assert edited["Halloween Night"]["updatedAt"] != after["Halloween Night"]["updatedAt"]
        assert edited["Award Winners"] == after["Award Winners"]
        # XML says the same: a Directory per collection.
        xml = ET.fromstring(
            httpx.get(f"{s.url}/library/sections/2/collections", headers={"X-Plex-Token": s.token}).content
        )
        assert {d.get("title"): d.get("childCount") for d in xml.findall("Directory")} == {
            t: str(e["childCount"]) for t, e in edited.items()
        }
