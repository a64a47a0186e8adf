"""The Plex library API as a starlette app: routes, auth, content negotiation, paging, filters.

Why it exists: this is the part a client talks to. It reads the catalog under the simulator's
lock, renders through `render`, and answers like Plex: XML unless `Accept: application/json`,
`X-Plex-Token` as header or query parameter (401 with Plex's HTML body otherwise; `/identity` is
open), paging by `X-Plex-Container-Start/Size` (headers or query), HTML 400/404 for bad input.
An outer ASGI layer (`SimASGI`) records every request (token stripped) and applies faults.
"""

from __future__ import annotations

import asyncio
import calendar
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from retrovue.sim import render
from retrovue.sim.catalog import Catalog
from retrovue.sim.faults import Decision, FaultSpec
from retrovue.sim.model import Item, Section
from retrovue.sim.notify import NotificationHub
from retrovue.sim.posters import poster_png
from retrovue.sim.server import abort_connection

P = TypeVar("P")
COLLECTION = 18  # Plex's search type of a collection

__all__ = ["PLEX_VERSION", "SimASGI", "SimState", "build_app", "html_error"]

PLEX_VERSION = "1.41.3.9314-a0bfb8370"
CONTROL_PREFIX = "/_sim/"
_BODY_FAULT = "retrovue.sim.body_fault"  # scope key: this answer's body will be cut or garbled
_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def html_error(status: int) -> Response:
    """Plex's HTML error body (errors are never MediaContainers)."""
    reason = _REASONS.get(status, "Error")
    body = f"<html><head><title>{reason}</title></head><body><h1>{status} {reason}</h1></body></html>"
    return Response(body, status_code=status, media_type="text/html")


class BadRequestError(Exception):
    """A parameter Plex would reject with 400."""


@dataclass
class SimState:
    """Everything the app shares with the `Simulator` object; guarded by `lock`."""

    catalog: Catalog
    token: str
    seed: int = 0
    latency_ms: float = 0.0
    faults: FaultSpec = field(default_factory=FaultSpec)
    hub: NotificationHub = field(default_factory=NotificationHub)
    lock: threading.RLock = field(default_factory=threading.RLock)
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    request_number: int = 0
    faults_base: int = 0  # request number when the current faults were set (for revoke-after)
    revoked: bool = False
    friendly_name: str = "Retrovue Simulator"
    control: Callable[[str, dict[str, Any]], Any] | None = None
    # Tokens accepted besides `token`, as a real server accepts its owner's account token and the
    # per-server access tokens plex.tv issued to the accounts it is shared with.
    other_tokens: set[str] = field(default_factory=set)
    # Every fault the simulator really delivered, by kind: one per disturbed answer (`reset`,
    # `status=503`, `truncate`, `malformed`, `slow`, `latency`, `down`, `revoked`), one per listing
    # page that lied (`listing:total`, `listing:nototal`, `listing:cap`, `listing:shift`,
    # `listing:dup`, `listing:empty`) and one per listing page of an offline section (`offline`).
    # A rule that did not change an answer (a `cap` above the page size) is not counted.
    injected: Counter[str] = field(default_factory=Counter)

    def token_ok(self, token: str | None) -> bool:
        if token is None or self.revoked:
            return False
        return token == self.token or token in self.other_tokens


# -- helpers -------------------------------------------------------------------------------------
_TOKEN_PARAM = re.compile(r"^x-plex-token$", re.IGNORECASE)


def strip_token(query_string: str) -> str:
    """The query string without any X-Plex-Token parameter (order of the rest preserved)."""
    if not query_string:
        return ""
    kept = [p for p in query_string.split("&") if not _TOKEN_PARAM.match(p.split("=", 1)[0])]
    return "&".join(kept)


def _query_token(query_string: str) -> str | None:
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        if _TOKEN_PARAM.match(name):
            return value
    return None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _respond(request: Request, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    if _wants_json(request):
        return Response(render.encode_json(body), media_type="application/json", headers=headers)
    return Response(render.encode_xml(body), media_type="text/xml;charset=utf-8", headers=headers)


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "0") not in ("0", "", "false")


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        raw = request.headers.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise BadRequestError(f"{name} is not an integer") from None
    if value < 0:
        raise BadRequestError(f"{name} is negative")
    return value


# -- filters and sorting ---------------------------------------------------------------------------
_FILTER_KEY = re.compile(r"^(?:(movie|show|season|episode)\.)?([A-Za-z]+)(>>|<<)$")
_RELATIVE = re.compile(r"^-(\d+)(s|m|h|d|w|mon|y)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "mon": 30 * 86400, "y": 365 * 86400}
_FILTER_FIELDS: dict[str, Callable[[Item], int | None]] = {
    "addedAt": lambda i: i.added_at,
    "updatedAt": lambda i: i.updated_at,
    "year": lambda i: i.year,
    "index": lambda i: i.index,
    "duration": lambda i: i.duration,
}
_SORT_FIELDS: dict[str, Callable[[Item], Any]] = {
    "titleSort": lambda i: (i.sort_key, i.rating_key),
    "title": lambda i: (i.sort_key, i.rating_key),
    "addedAt": lambda i: (i.added_at, i.rating_key),
    "updatedAt": lambda i: (i.updated_at or 0, i.rating_key),
    "year": lambda i: (i.year or 0, i.rating_key),
    "originallyAvailableAt": lambda i: (i.originally_available_at or "", i.rating_key),
    "duration": lambda i: (i.duration or 0, i.rating_key),
    "index": lambda i: (i.index or 0, i.rating_key),
}


def _filter_value(raw: str, now: int) -> int:
    raw = raw.strip()
    m = _RELATIVE.match(raw)
    if m:
        return now - int(m.group(1)) * _UNITS[m.group(2)]
    if re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        return calendar.timegm(time.strptime(raw, "%Y-%m-%d"))
    raise BadRequestError(f"bad filter value {raw!r}")


def _related(item: Item, kind: str) -> list[Item]:
    """Items of `kind` related to `item`: itself, its ancestor of that kind, or its descendants."""
    if item.kind == kind:
        return [item]
    node: Item | None = item.parent
    while node is not None:
        if node.kind == kind:
            return [node]
        node = node.parent
    if kind == "episode":
        return list(item.leaves())
    if kind == "season" and item.kind == "show":
        return list(item.children)
    return []


def _build_filters(request: Request, now: int, inclusive: bool) -> list[Callable[[Item], bool]]:
    filters: list[Callable[[Item], bool]] = []
    for name, value in parse_qsl(request.url.query, keep_blank_values=True):
        if not (name.endswith(">>") or name.endswith("<<")):
            continue
        m = _FILTER_KEY.match(name)
        if not m or m.group(2) not in _FILTER_FIELDS:
            raise BadRequestError(f"unknown filter {name}")
        scope_kind, field_name, op = m.group(1), m.group(2), m.group(3)
        getter = _FILTER_FIELDS[field_name]
        bound = _filter_value(value, now)

        def test(v: int | None, bound: int = bound, op: str = op) -> bool:
            if v is None:
                return False
            if op == ">>":
                return v >= bound if inclusive else v > bound
            return v <= bound if inclusive else v < bound

        def check(
            item: Item, getter: Callable[[Item], int | None] = getter, scope: str | None = scope_kind
        ) -> bool:
            targets = [item] if scope is None else _related(item, scope)
            return any(test(getter(t)) for t in targets)

        filters.append(check)
    return filters


def _apply_sort(request: Request, items: list[Item]) -> list[Item]:
    raw = request.query_params.get("sort")
    if not raw:
        return items
    keys = []
    for chunk in reversed(raw.split(",")):
        name, _, direction = chunk.partition(":")
        if name not in _SORT_FIELDS or direction not in ("", "asc", "desc"):
            raise BadRequestError(f"bad sort {raw}")
        keys.append((_SORT_FIELDS[name], direction == "desc"))
    out = list(items)
    for key, desc in keys:
        out.sort(key=key, reverse=desc)
    return out


# -- the app -----------------------------------------------------------------------------------
def build_app(state: SimState, control_routes: list[Route] | None = None) -> Starlette:
    """The starlette app serving `state`'s catalog."""
    cat = state.catalog

    def page(request: Request, items: list[P]) -> tuple[list[P], dict[str, Any], dict[str, str]]:
        start = _int_param(request, "X-Plex-Container-Start")
        size = _int_param(request, "X-Plex-Container-Size")
        total = len(items)
        if start is None and size is None:
            return items, {"size": total}, {}
        start = start or 0
        with state.lock:
            lies = state.faults.listing(request.url.path, request.query_params.get("type"))
        told: list[str] = []  # the lies this page really tells
        if lies.empty:
            told += ["empty"] if items else []
            items = []
        if lies.shift and start > 0:  # entries moved to the end after the first page was served
            shifted = items[lies.shift :] + items[: lies.shift]
            told += ["shift"] if shifted != items else []
            items = shifted
        if lies.cap is not None:
            capped = lies.cap if size is None else min(size, lies.cap)
            told += ["cap"] if capped != size and len(items) - start > capped else []
            size = capped
        first = max(0, start - lies.dup) if start > 0 else start  # later pages repeat `dup` entries
        told += ["dup"] if first < start < len(items) else []
        chunk = items[first : first + size] if size is not None else items[first:]
        total = lies.total if lies.total is not None else len(items)
        told += ["total"] if total != len(items) else []
        attrs: dict[str, Any] = {"size": len(chunk), "totalSize": total, "offset": start}
        headers = {"X-Plex-Container-Start": str(start), "X-Plex-Container-Total-Size": str(total)}
        if lies.nototal:
            del attrs["totalSize"], headers["X-Plex-Container-Total-Size"]
            told.append("nototal")
        if told and not request.scope.get(_BODY_FAULT):  # a mangled body tells no lie
            with state.lock:
                state.injected.update(f"listing:{lie}" for lie in told)
        return chunk, attrs, headers

    def render_items(request: Request, items: list[Item], *, detail: bool = False) -> list[dict[str, Any]]:
        guids = _flag(request, "includeGuids")
        show_guids = guids and cat.config.guids_in_show_listings
        check = detail and _flag(request, "checkFiles")
        deleted = cat.config.deleted_at_on_unavailable
        return [
            render.item_dict(
                i,
                detail=detail,
                include_guids=show_guids if i.kind == "show" else guids,
                check_files=check,
                deleted_at=deleted,
                listing_tags=cat.config.listing_tags,
            )
            for i in items
        ]

    def root(request: Request) -> Response:
        with state.lock:
            sections = [{"count": 1, "key": "library", "title": "library"}]
            attrs: dict[str, Any] = {
                "size": len(sections),
                "allowCameraUpload": False,
                "allowChannelAccess": True,
                "allowMediaDeletion": True,
                "allowSharing": True,
                "allowSync": False,
                "backgroundProcessing": True,
                "certificate": False,
                "companionProxy": True,
                "countryCode": "usa",
                "diagnostics": "logs,databases,streaminglogs",
                "eventStream": True,
                "friendlyName": state.friendly_name,
                "hubSearch": True,
                "itemClusters": True,
                "livetv": 7,
                "machineIdentifier": cat.machine_identifier,
                "mediaProviders": True,
                "multiuser": True,
                "myPlex": False,
                "myPlexMappingState": "unknown",
                "myPlexSigninState": "none",
                "myPlexSubscription": False,
                "myPlexUsername": "",
                "offlineTranscode": 1,
                "ownerFeatures": "",
                "platform": "Linux",
                "platformVersion": "6.1.0",
                "pluginHost": True,
                "pushNotifications": False,
                "readOnlyLibraries": False,
                "streamingBrainABRVersion": 3,
                "streamingBrainVersion": 2,
                "sync": True,
                "transcoderActiveVideoSessions": 0,
                "transcoderAudio": True,
                "transcoderLyrics": True,
                "transcoderPhoto": True,
                "transcoderSubtitles": True,
                "transcoderVideo": True,
                "transcoderVideoBitrates": "64,96,208,320,720,1500,2000,3000,4000,8000,10000,12000,20000",
                "transcoderVideoQualities": "0,1,2,3,4,5,6,7,8,9,10,11,12",
                "transcoderVideoResolutions": "128,128,160,240,320,480,768,720,720,1080,1080,1080,1080",
                "updatedAt": cat.now,
                "updater": False,
                "version": PLEX_VERSION,
                "voiceSearch": True,
            }
        return _respond(request, render.container(attrs, "Directory", sections))

    def identity(request: Request) -> Response:
        attrs = {
            "size": 0,
            "apiVersion": "1.1.1",
            "claimed": True,
            "machineIdentifier": cat.machine_identifier,
            "version": PLEX_VERSION,
        }
        return _respond(request, render.container(attrs))

    def library(request: Request) -> Response:
        dirs = [
            {"key": "sections", "title": "Library Sections"},
            {"key": "recentlyAdded", "title": "Recently Added Content"},
            {"key": "onDeck", "title": "On Deck Content"},
        ]
        attrs = {
            "size": len(dirs),
            "allowSync": False,
            "art": "/:/resources/library-art.png",
            "content": "",
            "identifier": render.IDENTIFIER,
            "mediaTagPrefix": render.MEDIA_TAG_PREFIX,
            "mediaTagVersion": render.MEDIA_TAG_VERSION,
            "title1": "Plex Library",
            "title2": "",
        }
        return _respond(request, render.container(attrs, "Directory", dirs))

    def sections(request: Request) -> Response:
        with state.lock:
            dirs = [render.section_dict(s) for s in cat.sections.values()]
        attrs = {"size": len(dirs), "allowSync": False, "title1": "Plex Library"}
        return _respond(request, render.container(attrs, "Directory", dirs))

    def _section(request: Request) -> Section:
        try:
            return cat.section(request.path_params["key"])
        except KeyError:
            raise HTTPException(404) from None

    def section_detail(request: Request) -> Response:
        """The browse directories of one section (`/library/sections/{key}`)."""
        with state.lock:
            section = _section(request)
            names = [("all", "All"), ("unwatched", "Unwatched"), ("newest", "Recently Released"),
                     ("recentlyAdded", "Recently Added"), ("genre", "By Genre"), ("year", "By Year"),
                     ("folder", "By Folder")]  # fmt: skip
            dirs: list[dict[str, Any]] = [{"key": k, "title": t} for k, t in names]
            for d in dirs[4:6]:
                d["secondary"] = True
            dirs.append({"key": "search?type=1" if section.kind == "movie" else "search?type=2",
                         "title": "Search...", "prompt": "Search", "search": True})  # fmt: skip
            attrs = {
                "size": len(dirs),
                "allowSync": False,
                "art": f"/:/resources/{section.kind}-fanart.jpg",
                "content": "secondary",
                "identifier": render.IDENTIFIER,
                "librarySectionID": section.key,
                "mediaTagPrefix": render.MEDIA_TAG_PREFIX,
                "mediaTagVersion": render.MEDIA_TAG_VERSION,
                "thumb": f"/:/resources/{section.kind}.png",
                "title1": section.title,
                "viewGroup": "secondary",
            }
        return _respond(request, render.container(attrs, "Directory", dirs))

    def section_all(request: Request) -> Response:
        with state.lock:
            section = _section(request)
            raw_type = request.query_params.get("type")
            if raw_type is None or raw_type == "":
                type_number = 1 if section.kind == "movie" else 2
            else:
                try:
                    type_number = int(raw_type)
                except ValueError:
                    raise BadRequestError("type is not an integer") from None
                allowed = (1, COLLECTION) if section.kind == "movie" else (2, 3, 4, COLLECTION)
                if type_number not in allowed:
                    raise BadRequestError(f"type {type_number} does not apply to this section")
            if type_number == COLLECTION:  # python-plexapi's way to the section's collections
                return section_collections(request)
            return _listing(request, section, type_number, {1: "All Movies", 2: "All Shows"})

    def section_all_leaves(request: Request) -> Response:
        with state.lock:
            section = _section(request)
            if section.kind != "show":
                raise BadRequestError("allLeaves needs a show section")
            return _listing(request, section, 4, {})

    def _listing(request: Request, section: Section, type_number: int, titles: dict[int, str]) -> Response:
        items = [] if section.offline else cat.listing(section, type_number)
        if section.offline and not request.scope.get(_BODY_FAULT):
            state.injected["offline"] += 1
        filters = _build_filters(request, cat.now, cat.config.filter_inclusive)
        if filters:
            items = [i for i in items if all(f(i) for f in filters)]
        items = _apply_sort(request, items)
        chunk, paging, headers = page(request, items)
        attrs = {**paging, **render.section_container_attrs(section, titles.get(type_number, "All Episodes"))}
        if type_number in (3, 4):
            attrs["viewGroup"] = "season" if type_number == 3 else "episode"
        body = render.container(attrs, "Metadata", render_items(request, chunk))
        return _respond(request, body, headers)

    def section_collections(request: Request) -> Response:
        """`/library/sections/{key}/collections` (or `/all?type=18`): the section's collections,
        each with its own `updatedAt` and `childCount`, paged like a listing."""
        with state.lock:
            section = _section(request)
            found = [] if section.offline else cat.collections_of(section)
            chunk, paging, headers = page(request, found)
            entries = [render.collection_dict(c, len(cat.members(c))) for c in chunk]
            attrs = {**paging, **render.section_container_attrs(section, "All Collections")}
            return _respond(request, render.container(attrs, "Metadata", entries), headers)

    def collection_children(request: Request) -> Response:
        """`/library/collections/{key}/children`: the movies or shows a collection holds, rendered
        as a listing renders them, paged."""
        with state.lock:
            try:
                collection = cat.collection(request.path_params["key"])
            except KeyError:
                raise HTTPException(404) from None
            chunk, paging, headers = page(request, cat.members(collection))
            attrs = {**paging, **render.section_container_attrs(collection.section, collection.title)}
            body = render.container(attrs, "Metadata", render_items(request, chunk))
            return _respond(request, body, headers)

    def _items_from_path(raw: str) -> list[Item]:
        keys = [k for k in raw.split(",") if k]
        if not keys or not all(k.isdigit() for k in keys):
            raise BadRequestError("rating keys must be integers")
        found = [cat.by_rk[int(k)] for k in keys if int(k) in cat.by_rk]
        if not found:
            raise HTTPException(404)
        return found

    def metadata(request: Request) -> Response:
        with state.lock:
            items = _items_from_path(request.path_params["keys"])
            section = items[0].section
            attrs: dict[str, Any] = {
                "size": len(items),
                "allowSync": True,
                "identifier": render.IDENTIFIER,
                "librarySectionID": section.key,
                "librarySectionTitle": section.title,
                "librarySectionUUID": section.uuid,
                "mediaTagPrefix": render.MEDIA_TAG_PREFIX,
                "mediaTagVersion": render.MEDIA_TAG_VERSION,
            }
            body = render.container(attrs, "Metadata", render_items(request, items, detail=True))
        return _respond(request, body)

    def _parent_attrs(item: Item, title2: str, view_group: str) -> dict[str, Any]:
        section = item.section
        attrs: dict[str, Any] = {
            "allowSync": True,
            "art": f"/library/metadata/{item.rating_key}/art/{item.updated_at or item.added_at}",
            "identifier": render.IDENTIFIER,
            "key": str(item.rating_key),
            "librarySectionID": section.key,
            "librarySectionTitle": section.title,
            "librarySectionUUID": section.uuid,
            "mediaTagPrefix": render.MEDIA_TAG_PREFIX,
            "mediaTagVersion": render.MEDIA_TAG_VERSION,
            "nocache": True,
        }
        if item.kind == "show":
            attrs.update({"parentIndex": 1, "parentTitle": item.title, "parentYear": item.year})
        elif item.kind == "season" and item.parent is not None:
            attrs.update(
                {
                    "grandparentRatingKey": item.parent.rating_key,
                    "grandparentTitle": item.parent.title,
                    "parentIndex": item.index,
                    "parentTitle": item.parent.title,
                }
            )
        attrs.update({"title1": item.parent.title if item.parent else section.title, "title2": title2})
        attrs["viewGroup"] = view_group
        return attrs

    def children(request: Request) -> Response:
        with state.lock:
            item = _items_from_path(request.path_params["key"])[0]
            if item.kind == "show" and item.hidden_seasons:
                kids = list(item.leaves())
                view_group = "episode"
            else:
                kids = list(item.children)
                view_group = "season" if item.kind == "show" else "episode"
            chunk, paging, headers = page(request, kids)
            rendered = render_items(request, chunk)
            extra = (
                item.kind == "show"
                and not item.hidden_seasons
                and not _flag(request, "excludeAllLeaves")
                and paging.get("offset", 0) == 0
                and len(item.children) > 0
            )
            if extra:
                rendered.insert(0, render.all_leaves_entry(item))
                paging["size"] = len(rendered)
            attrs = {**paging, **_parent_attrs(item, item.title, view_group)}
            body = render.container(attrs, "Metadata", rendered)
        return _respond(request, body, headers)

    def item_all_leaves(request: Request) -> Response:
        with state.lock:
            item = _items_from_path(request.path_params["key"])[0]
            leaves = list(item.leaves()) if item.kind in ("show", "season") else []
            chunk, paging, headers = page(request, leaves)
            attrs = {**paging, **_parent_attrs(item, "All episodes", "episode")}
            body = render.container(attrs, "Metadata", render_items(request, chunk))
        return _respond(request, body, headers)

    async def notifications(websocket: WebSocket) -> None:
        await websocket.accept()
        queue = state.hub.subscribe()
        receiver = asyncio.ensure_future(websocket.receive())
        try:
            while True:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
                if receiver in done:
                    getter.cancel()
                    message = receiver.result()
                    if message["type"] == "websocket.disconnect":
                        return
                    receiver = asyncio.ensure_future(websocket.receive())
                    continue
                await websocket.send_text(render.encode_json(getter.result()).decode())
        except (WebSocketDisconnect, RuntimeError):
            return
        finally:
            receiver.cancel()
            state.hub.unsubscribe(queue)

    async def bad_request(request: Request, exc: Exception) -> Response:
        return html_error(400)

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        return html_error(status)

    def _poster(key: str, width: int | None, height: int | None) -> Response:
        with state.lock:
            try:
                item = cat.item(key)
            except KeyError:
                return html_error(404)
            seed = f"{item.rating_key}:{item.title}"
        return Response(poster_png(seed, width, height), media_type="image/png")

    def thumb(request: Request) -> Response:
        """`/library/metadata/{key}/thumb[/{stamp}]`: the item's poster, full size."""
        return _poster(request.path_params["key"], None, None)

    def photo_transcode(request: Request) -> Response:
        """`/photo/:/transcode?url=/library/metadata/{key}/thumb/…&width=&height=`: scaled."""
        url = request.query_params.get("url", "")
        parts = url.split("?")[0].strip("/").split("/")
        if len(parts) < 4 or parts[:2] != ["library", "metadata"] or parts[3] != "thumb":
            return html_error(400)
        return _poster(parts[2], _int_param(request, "width"), _int_param(request, "height"))

    routes: list[Any] = [
        Route("/", root),
        Route("/photo/:/transcode", photo_transcode),
        Route("/library/metadata/{key}/thumb", thumb),
        Route("/library/metadata/{key}/thumb/{stamp}", thumb),
        Route("/identity", identity),
        Route("/library", library),
        Route("/library/", library),
        Route("/library/sections", sections),
        Route("/library/sections/", sections),
        Route("/library/sections/{key}", section_detail),
        Route("/library/sections/{key}/all", section_all),
        Route("/library/sections/{key}/allLeaves", section_all_leaves),
        Route("/library/sections/{key}/collections", section_collections),
        Route("/library/collections/{key}/children", collection_children),
        Route("/library/metadata/{key}/children", children),
        Route("/library/metadata/{key}/allLeaves", item_all_leaves),
        Route("/library/metadata/{keys}", metadata),
        WebSocketRoute("/:/websockets/notifications", notifications),
        *(control_routes or []),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={BadRequestError: bad_request, HTTPException: http_error},
    )


def _delivered(decision: Decision, authorized: bool, gone: bool) -> str | None:
    """The fault an answer really carries (the first that applies, in the order they are served)."""
    if gone:
        return "down"
    if decision.reset:
        return "reset"
    if decision.status is not None:
        return f"status={decision.status}"
    if not authorized:
        return None
    if decision.malformed:
        return "malformed"
    if decision.truncate:
        return "truncate"
    if decision.slow > 0:
        return "slow"
    if decision.latency > 0:
        return "latency"
    return None


class SimASGI:
    """Outer ASGI layer: request log, token check, faults; then the starlette app."""

    def __init__(self, state: SimState, app: ASGIApp) -> None:
        self.state = state
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = self.state
        path: str = scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        token = _header(scope, b"x-plex-token") or _query_token(query)
        if path.startswith(CONTROL_PREFIX):
            if not (token is not None and token == state.token):
                await html_error(401)(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        with state.lock:
            state.request_number += 1
            number = state.request_number
            method = "WEBSOCKET" if scope["type"] == "websocket" else scope["method"]
            state.requests.append((method, path, strip_token(query)))
            limit = state.faults.revoke_after()
            if limit is not None and number - state.faults_base > limit:
                state.revoked = True
            decision = state.faults.decide(state.seed, number, path) if state.faults else Decision()
            down = state.faults.down_after()
            gone = down is not None and number - state.faults_base > down
            if gone:
                decision = Decision(reset=True)
            latency = state.latency_ms / 1000.0 + decision.latency
            authorized = path == "/identity" or state.token_ok(token)
            if scope["type"] == "http":
                kind = _delivered(decision, authorized, gone)
                if kind is None and not authorized and state.revoked:
                    kind = "revoked"  # a valid token refused: revoke-after or revoke_token()
                if kind is not None:
                    state.injected[kind] += 1
        if scope["type"] == "websocket":
            if not authorized:
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        if latency > 0:
            await asyncio.sleep(latency)
        if decision.reset:
            await self._reset(scope, receive)
            return
        if decision.status is not None:
            await html_error(decision.status)(scope, receive, send)
            return
        if not authorized:
            await html_error(401)(scope, receive, send)
            return
        if decision.touches_body:
            await self._faulty_body(
                {**scope, _BODY_FAULT: decision.malformed or decision.truncate}, receive, send, decision
            )
            return
        await self.app(scope, receive, send)

    @staticmethod
    async def _wait_disconnect(receive: Receive) -> None:
        try:
            async with asyncio.timeout(5):
                while (await receive())["type"] != "http.disconnect":
                    pass
        except TimeoutError:
            pass

    async def _reset(self, scope: Scope, receive: Receive) -> None:
        abort_connection(scope.get("client"))
        await self._wait_disconnect(receive)

    async def _faulty_body(self, scope: Scope, receive: Receive, send: Send, decision: Decision) -> None:
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        assert start is not None
        body = b"".join(chunks)
        if decision.malformed:
            cut = body[: max(1, len(body) // 2)] + b"\x00<<garbled"
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(cut)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": cut})
            return
        await send(start)
        if decision.truncate:
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            await asyncio.sleep(0.01)
            await self._reset(scope, receive)
            return
        step = max(1, -(-len(body) // 10))
        chunks = [body[offset : offset + step] for offset in range(0, len(body), step)] or [b""]
        for chunk in chunks:
            await asyncio.sleep(decision.slow / len(chunks))
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
