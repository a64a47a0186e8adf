"""Plex's wire shapes: catalog items as MediaContainer dicts, encoded as JSON or XML.

Why it exists: one builder per item kind produces a plain dict shaped like real Plex JSON (typed
scalars, nested lists named like XML elements); the XML encoder derives the XML form from that same
dict (scalars become attributes, lists of dicts become child elements, listing items become `<Video>`
or `<Directory>` by type). So JSON and XML can never disagree about content.
"""

from __future__ import annotations

from typing import Any

import msgspec

from retrovue.sim.model import Collection, Item, Media, Part, Section

__all__ = [
    "collection_dict",
    "container",
    "encode_json",
    "encode_xml",
    "item_dict",
    "section_dict",
]

MEDIA_TAG_PREFIX = "/system/bundle/media/flags/"
MEDIA_TAG_VERSION = 1734362201
IDENTIFIER = "com.plexapp.plugins.library"

_JSON = msgspec.json.Encoder()
_XML_TAG_BY_TYPE = {"movie": "Video", "episode": "Video", "show": "Directory", "season": "Directory"}
_XML_ESCAPE = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
)


def encode_json(body: dict[str, Any]) -> bytes:
    return _JSON.encode(body)


def _xml_value(value: Any) -> str:
    if value is True:
        return "1"
    if value is False:
        return "0"
    return str(value).translate(_XML_ESCAPE)


def _xml_element(tag: str, data: dict[str, Any], out: list[str]) -> None:
    attrs: list[str] = []
    children: list[tuple[str, dict[str, Any]]] = []
    for name, value in data.items():
        if isinstance(value, list):
            for child in value:
                if isinstance(child, dict):
                    child_tag = (
                        _XML_TAG_BY_TYPE.get(child.get("type", ""), "Directory")
                        if name == "Metadata"
                        else name
                    )
                    children.append((child_tag, child))
        elif isinstance(value, dict):
            children.append((name, value))
        elif value is not None:
            attrs.append(f' {name}="{_xml_value(value)}"')
    out.append(f"<{tag}{''.join(attrs)}")
    if not children:
        out.append("/>")
        return
    out.append(">")
    for child_tag, child in children:
        _xml_element(child_tag, child, out)
    out.append(f"</{tag}>")


def encode_xml(body: dict[str, Any]) -> bytes:
    """XML for a `{"MediaContainer": {...}}` body, as Plex sends it."""
    out: list[str] = ['<?xml version="1.0" encoding="UTF-8"?>\n']
    for root, data in body.items():
        _xml_element(root, data, out)
    out.append("\n")
    return "".join(out).encode("utf-8")


def container(
    attrs: dict[str, Any], items_key: str | None = None, items: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Wrap attributes (and an item list under `Metadata`/`Directory`) in a MediaContainer."""
    mc: dict[str, Any] = dict(attrs)
    if items_key is not None and items:
        mc[items_key] = items
    return {"MediaContainer": mc}


# -- sections ----------------------------------------------------------------------------------
def section_dict(section: Section) -> dict[str, Any]:
    return {
        "allowSync": True,
        "art": f"/:/resources/{section.kind}-fanart.jpg",
        "composite": f"/library/sections/{section.key}/composite/{section.updated_at}",
        "filters": True,
        "refreshing": False,
        "thumb": f"/:/resources/{section.kind}.png",
        "key": str(section.key),
        "type": section.kind,
        "title": section.title,
        "agent": section.agent,
        "scanner": section.scanner,
        "language": section.language,
        "uuid": section.uuid,
        "updatedAt": section.updated_at,
        "createdAt": section.created_at,
        "scannedAt": section.scanned_at,
        "content": True,
        "directory": True,
        "contentChangedAt": section.content_changed_at,
        "hidden": 0,
        "Location": [{"id": loc_id, "path": path} for loc_id, path in section.locations],
    }


def section_container_attrs(section: Section, title2: str) -> dict[str, Any]:
    """MediaContainer attributes Plex hoists onto a section listing."""
    attrs: dict[str, Any] = {
        "allowSync": True,
        "art": f"/:/resources/{section.kind}-fanart.jpg",
        "content": "secondary",
        "identifier": IDENTIFIER,
        "librarySectionID": section.key,
        "librarySectionTitle": section.title,
        "librarySectionUUID": section.uuid,
        "mediaTagPrefix": MEDIA_TAG_PREFIX,
        "mediaTagVersion": MEDIA_TAG_VERSION,
        "thumb": f"/:/resources/{section.kind}.png",
        "title1": section.title,
        "title2": title2,
        "viewGroup": section.kind,
    }
    if section.kind == "show":
        attrs["nocache"] = True
    return attrs


# -- media ---------------------------------------------------------------------------------------
def _streams(media: Media, part: Part) -> list[dict[str, Any]]:
    height = media.height
    video_title = (
        f"{media.video_resolution.upper() if media.video_resolution in ('sd', '4k') else f'{height}p'}"
    )
    streams: list[dict[str, Any]] = [
        {
            "id": part.id * 10 + 1,
            "streamType": 1,
            "default": True,
            "codec": media.video_codec,
            "index": 0,
            "bitrate": max(media.bitrate - 640, 100),
            "height": media.height,
            "width": media.width,
            "frameRate": 23.976,
            "profile": media.video_profile,
            "displayTitle": f"{video_title} ({media.video_codec.upper()})",
            "extendedDisplayTitle": f"{video_title} ({media.video_codec.upper()})",
        },
        {
            "id": part.id * 10 + 2,
            "streamType": 2,
            "selected": True,
            "default": True,
            "codec": media.audio_codec,
            "index": 1,
            "channels": media.audio_channels,
            "bitrate": 640 if media.audio_channels > 2 else 192,
            "language": "English",
            "languageTag": "en",
            "languageCode": "eng",
            "audioChannelLayout": "5.1(side)" if media.audio_channels > 2 else "stereo",
            "samplingRate": 48000,
            "displayTitle": f"English ({media.audio_codec.upper()})",
            "extendedDisplayTitle": f"English ({media.audio_codec.upper()})",
        },
    ]
    if part.id % 3 == 0:
        streams.append(
            {
                "id": part.id * 10 + 3,
                "streamType": 3,
                "codec": "srt",
                "index": 2,
                "language": "Español",
                "languageTag": "es",
                "languageCode": "spa",
                "displayTitle": "Español (SRT)",
                "extendedDisplayTitle": "Español (SRT)",
            }
        )
    return streams


def _part_dict(media: Media, part: Part, detail: bool, check_files: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if check_files:
        out["accessible"] = part.accessible
        out["exists"] = part.exists
    out.update(
        {
            "id": part.id,
            "key": part.key,
            "duration": part.duration,
            "file": part.file,
            "size": part.size,
            "container": part.container,
            "videoProfile": media.video_profile,
        }
    )
    if detail:
        out["Stream"] = _streams(media, part)
    return out


def _media_dict(media: Media, detail: bool, check_files: bool) -> dict[str, Any]:
    return {
        "id": media.id,
        "duration": media.duration,
        "bitrate": media.bitrate,
        "width": media.width,
        "height": media.height,
        "aspectRatio": media.aspect_ratio,
        "audioChannels": media.audio_channels,
        "audioCodec": media.audio_codec,
        "videoCodec": media.video_codec,
        "videoResolution": media.video_resolution,
        "container": media.container,
        "videoFrameRate": media.video_frame_rate,
        "videoProfile": media.video_profile,
        "Part": [_part_dict(media, p, detail, check_files) for p in media.parts],
    }


# -- items ---------------------------------------------------------------------------------------
def _thumb(item: Item) -> str:
    return f"/library/metadata/{item.rating_key}/thumb/{item.updated_at or item.added_at}"


def item_dict(
    item: Item,
    *,
    detail: bool = False,
    include_guids: bool = False,
    check_files: bool = False,
    deleted_at: bool = False,
    listing_tags: int = 2,
) -> dict[str, Any]:
    """One item as Plex renders it in a listing (or, with `detail`, in `/library/metadata/{rk}`)."""
    rk = item.rating_key
    out: dict[str, Any] = {"ratingKey": str(rk)}
    kind = item.kind
    if kind in ("show", "season"):
        out["key"] = f"/library/metadata/{rk}/children"
    else:
        out["key"] = f"/library/metadata/{rk}"
    season = item.parent if kind == "episode" else None
    show = item.show
    hidden = show is not None and show.hidden_seasons and kind == "episode"
    if kind == "season" and show is not None:
        out["parentRatingKey"] = str(show.rating_key)
    elif kind == "episode" and season is not None and show is not None:
        if not hidden:
            out["parentRatingKey"] = str(season.rating_key)
        out["grandparentRatingKey"] = str(show.rating_key)
    out["guid"] = item.guid
    if kind == "season" and show is not None:
        out["parentGuid"] = show.guid
    elif kind == "episode" and season is not None and show is not None:
        out["parentGuid"] = season.guid
        out["grandparentGuid"] = show.guid
    if item.studio is not None:
        out["studio"] = item.studio
    out["type"] = kind
    out["title"] = item.title
    if item.title_sort:
        out["titleSort"] = item.title_sort
    if kind == "season" and show is not None:
        out["parentKey"] = f"/library/metadata/{show.rating_key}"
        out["parentTitle"] = show.title
    elif kind == "episode" and season is not None and show is not None:
        out["grandparentKey"] = f"/library/metadata/{show.rating_key}"
        if not hidden:
            out["parentKey"] = f"/library/metadata/{season.rating_key}"
        out["grandparentTitle"] = show.title
        out["parentTitle"] = season.title
    if detail:
        out["librarySectionTitle"] = item.section.title
        out["librarySectionID"] = item.section.key
        out["librarySectionKey"] = f"/library/sections/{item.section.key}"
    if item.content_rating is not None:
        out["contentRating"] = item.content_rating
    if item.summary:
        out["summary"] = item.summary
    if item.index is not None:
        out["index"] = item.index
    if kind == "episode" and season is not None:
        out["parentIndex"] = season.index
    elif kind == "season" and show is not None:
        out["parentIndex"] = 1
        out["parentYear"] = show.year
    if item.year is not None and kind != "season":
        out["year"] = item.year
    out["thumb"] = _thumb(item)
    if show is not None:
        out["art"] = f"/library/metadata/{show.rating_key}/art/{show.updated_at or show.added_at}"
        if kind == "episode" and season is not None:
            out["parentThumb"] = _thumb(season)
            out["grandparentThumb"] = _thumb(show)
            out["grandparentArt"] = out["art"]
    else:
        out["art"] = f"/library/metadata/{rk}/art/{item.updated_at or item.added_at}"
    if item.duration is not None:
        out["duration"] = item.duration
    if item.originally_available_at is not None and kind != "season":
        out["originallyAvailableAt"] = item.originally_available_at
    if kind in ("show", "season"):
        leaves = sum(1 for _ in item.leaves())
        out["leafCount"] = leaves
        out["viewedLeafCount"] = 0
        if kind == "show":
            out["childCount"] = len(item.children)
    out["addedAt"] = item.added_at
    if item.updated_at is not None:
        out["updatedAt"] = item.updated_at
    if deleted_at and item.media and all(not p.exists for m in item.media for p in m.parts):
        out["deletedAt"] = max(p.changestamp for m in item.media for p in m.parts)
    if item.media:
        out["Media"] = [_media_dict(m, detail, check_files) for m in item.media]
    if (include_guids or detail) and item.external_ids:
        out["Guid"] = [{"id": g} for g in item.external_ids]
    # Real listings carry an item's first two genres, detail all of them (captured responses);
    # collections the same (`listing_tags`, unverified); labels on detail (no captured item has one).
    genres = item.genres if detail else item.genres[:listing_tags]
    if genres:
        out["Genre"] = [{"tag": g} for g in genres]
    collections = item.collections if detail else item.collections[:listing_tags]
    if collections:
        out["Collection"] = [{"tag": c} for c in collections]
    if item.labels and detail:
        out["Label"] = [{"tag": label} for label in item.labels]
    if item.rating is not None:
        out["rating"] = item.rating
    if item.audience_rating is not None:
        out["audienceRating"] = item.audience_rating
    if detail and kind == "show":
        out["Location"] = [{"path": _show_folder(item)}]
    return out


def collection_dict(collection: Collection, child_count: int) -> dict[str, Any]:
    """A collection as `/library/sections/{key}/collections` lists it (a `Directory` in XML)."""
    rk = collection.rating_key
    return {
        "ratingKey": str(rk),
        "key": f"/library/collections/{rk}/children",
        "guid": f"collection://{collection.section.uuid}-{rk}",
        "type": "collection",
        "title": collection.title,
        "subtype": "movie" if collection.section.kind == "movie" else "show",
        "librarySectionID": collection.section.key,
        "thumb": f"/library/collections/{rk}/composite/{collection.updated_at}",
        "smart": False,
        "childCount": child_count,
        "addedAt": collection.added_at,
        "updatedAt": collection.updated_at,
    }


def _show_folder(show: Item) -> str:
    """The show's folder, derived from an episode's file (or the section root if it has none)."""
    root = show.section.locations[0][1]
    for part in show.parts():
        sep = "\\" if "\\" in root else "/"
        if part.file.startswith(root + sep):
            rest = part.file[len(root) + 1 :]
            return root + sep + rest.split(sep, 1)[0]
    return root


def all_leaves_entry(show: Item) -> dict[str, Any]:
    """The "All episodes" directory Plex prepends to a show's children without excludeAllLeaves."""
    return {
        "leafCount": sum(1 for _ in show.leaves()),
        "thumb": _thumb(show),
        "viewedLeafCount": 0,
        "key": f"/library/metadata/{show.rating_key}/allLeaves",
        "title": "All episodes",
    }
