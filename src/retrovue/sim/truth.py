"""The simulator's ground truth: the whole simulated library as plain data, for tests to compare with.

Tests check a catalog against what the server really holds (`Simulator.ground_truth`), never against
what the client decoded, so a bug shared by the client and the renderer cannot hide.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from retrovue.sim.model import Item

if TYPE_CHECKING:
    from retrovue.sim.catalog import Catalog

__all__ = ["ground_truth"]


def ground_truth(catalog: Catalog) -> dict[str, Any]:
    """Plain-data snapshot of the whole catalog (shape documented on `Simulator.ground_truth`)."""
    sections = []
    for section in catalog.sections.values():
        entry: dict[str, Any] = {
            "key": str(section.key),
            "uuid": section.uuid,
            "type": section.kind,
            "title": section.title,
            "offline": section.offline,
            "contentChangedAt": section.content_changed_at,
            "locations": [path for _, path in section.locations],
            "shows": [],
            "movies": [],
        }
        for item in catalog.top_level(section):
            if item.kind == "movie":
                entry["movies"].append(_truth_leaf(item))
            else:
                entry["shows"].append(_truth_show(item))
        entry["collections"] = [
            {
                "ratingKey": str(c.rating_key),
                "title": c.title,
                "addedAt": c.added_at,
                "updatedAt": c.updated_at,
                "members": [str(i.rating_key) for i in catalog.members(c)],
            }
            for c in catalog.collections_of(section)
        ]
        sections.append(entry)
    return {"machineIdentifier": catalog.machine_identifier, "sections": sections}


def _truth_common(item: Item) -> dict[str, Any]:
    return {
        "ratingKey": str(item.rating_key),
        "guid": item.guid,
        "title": item.title,
        "titleSort": item.title_sort,
        "year": item.year,
        "index": item.index,
        "addedAt": item.added_at,
        "updatedAt": item.updated_at,
        "summary": item.summary or None,
        "contentRating": item.content_rating,
        "studio": item.studio,
        "originallyAvailableAt": item.originally_available_at,
        "genres": list(item.genres),
        "collections": list(item.collections),
        "labels": list(item.labels),
        "externalIds": list(item.external_ids),
    }


def _truth_show(show: Item) -> dict[str, Any]:
    out = _truth_common(show)
    out["hiddenSeasons"] = show.hidden_seasons
    out["childCount"] = len(show.children)
    out["leafCount"] = sum(1 for _ in show.leaves())
    out["seasons"] = []
    for season in show.children:
        s = _truth_common(season)
        s["leafCount"] = len(season.children)
        s["episodes"] = [_truth_leaf(ep) for ep in season.children]
        out["seasons"].append(s)
    return out


def _truth_leaf(item: Item) -> dict[str, Any]:
    out = _truth_common(item)
    out["duration"] = item.duration
    if item.kind == "episode":
        out["parentIndex"] = item.parent.index if item.parent else None
    out["parts"] = [
        {
            "id": part.id,
            "mediaId": media.id,
            "key": part.key,
            "file": part.file,
            "size": part.size,
            "duration": part.duration,
            "container": part.container,
            "accessible": part.accessible,
            "exists": part.exists,
        }
        for media in item.media
        for part in media.parts
    ]
    return out
