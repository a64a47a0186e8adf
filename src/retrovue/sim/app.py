"""The Plex library API as starlette routes: server info, sections, listings, metadata, children,
collections, posters and the notification websocket.

Why it exists: this is the part a client talks to. Each handler reads the catalog under the
simulator's lock and renders through `render`; `web` holds how Plex answers (XML or JSON, HTML
errors, parameters), `query` its filters and sorting, and `asgi` the layer in front that logs
requests, checks tokens and delivers faults. Paging follows `X-Plex-Container-Start/Size`, with
the listing lies a test asked for (`faults`).
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from retrovue.sim import render
from retrovue.sim.asgi import CONTROL_PREFIX, SimASGI, strip_token
from retrovue.sim.model import Item, Section
from retrovue.sim.posters import poster_png
from retrovue.sim.query import apply_sort, build_filters
from retrovue.sim.state import PLEX_VERSION, SimState
from retrovue.sim.web import BODY_FAULT, BadRequestError, flag, html_error, int_param, respond

P = TypeVar("P")
COLLECTION = 18  # Plex's search type of a collection

# Re-exported: the simulator and its stand-ins build on these.
__all__ = ["CONTROL_PREFIX", "PLEX_VERSION", "SimASGI", "SimState", "build_app", "html_error", "strip_token"]


class _PlexRoutes:
    """The Plex library API's handlers over one `SimState`: each reads the catalog under the state's
    lock and renders through `render`."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.cat = state.catalog

    def page(self, request: Request, items: list[P]) -> tuple[list[P], dict[str, Any], dict[str, str]]:
        start = int_param(request, "X-Plex-Container-Start")
        size = int_param(request, "X-Plex-Container-Size")
        total = len(items)
        if start is None and size is None:
            return items, {"size": total}, {}
        start = start or 0
        with self.state.lock:
            lies = self.state.faults.listing(request.url.path, request.query_params.get("type"))
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
        if told and not request.scope.get(BODY_FAULT):  # a mangled body tells no lie
            with self.state.lock:
                self.state.injected.update(f"listing:{lie}" for lie in told)
        return chunk, attrs, headers

    def render_items(
        self, request: Request, items: list[Item], *, detail: bool = False
    ) -> list[dict[str, Any]]:
        guids = flag(request, "includeGuids")
        show_guids = guids and self.cat.config.guids_in_show_listings
        check = detail and flag(request, "checkFiles")
        deleted = self.cat.config.deleted_at_on_unavailable
        return [
            render.item_dict(
                i,
                detail=detail,
                include_guids=show_guids if i.kind == "show" else guids,
                check_files=check,
                deleted_at=deleted,
                listing_tags=self.cat.config.listing_tags,
            )
            for i in items
        ]

    def root(self, request: Request) -> Response:
        with self.state.lock:
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
                "friendlyName": self.state.friendly_name,
                "hubSearch": True,
                "itemClusters": True,
                "livetv": 7,
                "machineIdentifier": self.cat.machine_identifier,
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
                "updatedAt": self.cat.now,
                "updater": False,
                "version": PLEX_VERSION,
                "voiceSearch": True,
            }
        return respond(request, render.container(attrs, "Directory", sections))

    def identity(self, request: Request) -> Response:
        attrs = {
            "size": 0,
            "apiVersion": "1.1.1",
            "claimed": True,
            "machineIdentifier": self.cat.machine_identifier,
            "version": PLEX_VERSION,
        }
        return respond(request, render.container(attrs))

    def library(self, request: Request) -> Response:
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
        return respond(request, render.container(attrs, "Directory", dirs))

    def sections(self, request: Request) -> Response:
        with self.state.lock:
            dirs = [render.section_dict(s) for s in self.cat.sections.values()]
        attrs = {"size": len(dirs), "allowSync": False, "title1": "Plex Library"}
        return respond(request, render.container(attrs, "Directory", dirs))

    def _section(self, request: Request) -> Section:
        try:
            return self.cat.section(request.path_params["key"])
        except KeyError:
            raise HTTPException(404) from None

    def section_detail(self, request: Request) -> Response:
        """The browse directories of one section (`/library/sections/{key}`)."""
        with self.state.lock:
            section = self._section(request)
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
        return respond(request, render.container(attrs, "Directory", dirs))

    def section_all(self, request: Request) -> Response:
        with self.state.lock:
            section = self._section(request)
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
                return self.section_collections(request)
            return self._listing(request, section, type_number, {1: "All Movies", 2: "All Shows"})

    def section_all_leaves(self, request: Request) -> Response:
        with self.state.lock:
            section = self._section(request)
            if section.kind != "show":
                raise BadRequestError("allLeaves needs a show section")
            return self._listing(request, section, 4, {})

    def _listing(
        self, request: Request, section: Section, type_number: int, titles: dict[int, str]
    ) -> Response:
        items = [] if section.offline else self.cat.listing(section, type_number)
        if section.offline and not request.scope.get(BODY_FAULT):
            self.state.injected["offline"] += 1
        filters = build_filters(request, self.cat.now, self.cat.config.filter_inclusive)
        if filters:
            items = [i for i in items if all(f(i) for f in filters)]
        items = apply_sort(request, items)
        chunk, paging, headers = self.page(request, items)
        attrs = {**paging, **render.section_container_attrs(section, titles.get(type_number, "All Episodes"))}
        if type_number in (3, 4):
            attrs["viewGroup"] = "season" if type_number == 3 else "episode"
        body = render.container(attrs, "Metadata", self.render_items(request, chunk))
        return respond(request, body, headers)

    def section_collections(self, request: Request) -> Response:
        """`/library/sections/{key}/collections` (or `/all?type=18`): the section's collections,
        each with its own `updatedAt` and `childCount`, paged like a listing."""
        with self.state.lock:
            section = self._section(request)
            found = [] if section.offline else self.cat.collections_of(section)
            chunk, paging, headers = self.page(request, found)
            entries = [render.collection_dict(c, len(self.cat.members(c))) for c in chunk]
            attrs = {**paging, **render.section_container_attrs(section, "All Collections")}
            return respond(request, render.container(attrs, "Metadata", entries), headers)

    def collection_children(self, request: Request) -> Response:
        """`/library/collections/{key}/children`: the movies or shows a collection holds, rendered
        as a listing renders them, paged."""
        with self.state.lock:
            try:
                collection = self.cat.collection(request.path_params["key"])
            except KeyError:
                raise HTTPException(404) from None
            chunk, paging, headers = self.page(request, self.cat.members(collection))
            attrs = {**paging, **render.section_container_attrs(collection.section, collection.title)}
            body = render.container(attrs, "Metadata", self.render_items(request, chunk))
            return respond(request, body, headers)

    def _items_from_path(self, raw: str) -> list[Item]:
        keys = [k for k in raw.split(",") if k]
        if not keys or not all(k.isascii() and k.isdigit() for k in keys):
            raise BadRequestError("rating keys must be integers")
        found = [self.cat.by_rk[int(k)] for k in keys if int(k) in self.cat.by_rk]
        if not found:
            raise HTTPException(404)
        return found

    def metadata(self, request: Request) -> Response:
        with self.state.lock:
            items = self._items_from_path(request.path_params["keys"])
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
            body = render.container(attrs, "Metadata", self.render_items(request, items, detail=True))
        return respond(request, body)

    def _parent_attrs(self, item: Item, title2: str, view_group: str) -> dict[str, Any]:
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

    def children(self, request: Request) -> Response:
        with self.state.lock:
            item = self._items_from_path(request.path_params["key"])[0]
            if item.kind == "show" and item.hidden_seasons:
                kids = list(item.leaves())
                view_group = "episode"
            else:
                kids = list(item.children)
                view_group = "season" if item.kind == "show" else "episode"
            chunk, paging, headers = self.page(request, kids)
            rendered = self.render_items(request, chunk)
            extra = (
                item.kind == "show"
                and not item.hidden_seasons
                and not flag(request, "excludeAllLeaves")
                and paging.get("offset", 0) == 0
                and len(item.children) > 0
            )
            if extra:
                rendered.insert(0, render.all_leaves_entry(item))
                paging["size"] = len(rendered)
            attrs = {**paging, **self._parent_attrs(item, item.title, view_group)}
            body = render.container(attrs, "Metadata", rendered)
        return respond(request, body, headers)

    def item_all_leaves(self, request: Request) -> Response:
        with self.state.lock:
            item = self._items_from_path(request.path_params["key"])[0]
            leaves = list(item.leaves()) if item.kind in ("show", "season") else []
            chunk, paging, headers = self.page(request, leaves)
            attrs = {**paging, **self._parent_attrs(item, "All episodes", "episode")}
            body = render.container(attrs, "Metadata", self.render_items(request, chunk))
        return respond(request, body, headers)

    async def notifications(self, websocket: WebSocket) -> None:
        await websocket.accept()
        queue = self.state.hub.subscribe()
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
            self.state.hub.unsubscribe(queue)

    def _poster(self, key: str, width: int | None, height: int | None) -> Response:
        with self.state.lock:
            try:
                item = self.cat.item(key)
            except KeyError:
                return html_error(404)
            seed = f"{item.rating_key}:{item.title}"
        return Response(poster_png(seed, width, height), media_type="image/png")

    def thumb(self, request: Request) -> Response:
        """`/library/metadata/{key}/thumb[/{stamp}]`: the item's poster, full size."""
        return self._poster(request.path_params["key"], None, None)

    def photo_transcode(self, request: Request) -> Response:
        """`/photo/:/transcode?url=/library/metadata/{key}/thumb/…&width=&height=`: scaled."""
        url = request.query_params.get("url", "")
        parts = url.split("?")[0].strip("/").split("/")
        if len(parts) < 4 or parts[:2] != ["library", "metadata"] or parts[3] != "thumb":
            return html_error(400)
        return self._poster(parts[2], int_param(request, "width"), int_param(request, "height"))

    def routes(self) -> list[Any]:
        return [
            Route("/", self.root),
            Route("/photo/:/transcode", self.photo_transcode),
            Route("/library/metadata/{key}/thumb", self.thumb),
            Route("/library/metadata/{key}/thumb/{stamp}", self.thumb),
            Route("/identity", self.identity),
            Route("/library", self.library),
            Route("/library/", self.library),
            Route("/library/sections", self.sections),
            Route("/library/sections/", self.sections),
            Route("/library/sections/{key}", self.section_detail),
            Route("/library/sections/{key}/all", self.section_all),
            Route("/library/sections/{key}/allLeaves", self.section_all_leaves),
            Route("/library/sections/{key}/collections", self.section_collections),
            Route("/library/collections/{key}/children", self.collection_children),
            Route("/library/metadata/{key}/children", self.children),
            Route("/library/metadata/{key}/allLeaves", self.item_all_leaves),
            Route("/library/metadata/{keys}", self.metadata),
            WebSocketRoute("/:/websockets/notifications", self.notifications),
        ]


def build_app(state: SimState, control_routes: list[Route] | None = None) -> Starlette:
    """The starlette app serving `state`'s catalog (and the simulator's control routes, if given)."""
    return Starlette(
        routes=[*_PlexRoutes(state).routes(), *(control_routes or [])],
        exception_handlers={BadRequestError: _bad_request, HTTPException: _http_error},
    )


async def _bad_request(request: Request, exc: Exception) -> Response:
    return html_error(400)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    return html_error(status)
