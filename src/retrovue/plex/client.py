"""`PlexClient`: the calls the sync engine makes to one Plex Media Server.

Each method is one Plex endpoint (or a paged walk over one) returning typed data from
`retrovue.plex.models`. Listings come as `Page`s so the engine can commit page by page and see the
entries that failed to decode; expansion calls (`show_episodes`, `show_seasons`, `metadata`) gather
their pages into one `Page`. There is no hidden I/O: models hold no reference back to the client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from types import TracebackType
from typing import TypeVar, Unpack
from urllib.parse import quote

import msgspec

from retrovue.errors import PlexBadResponseError
from retrovue.plex.concurrency import map_bounded
from retrovue.plex.decode import (
    ItemError,
    Page,
    UnexpectedShapeError,
    decode_identity,
    decode_items_page,
    decode_page,
    decode_sections_page,
    decode_server_info,
)
from retrovue.plex.http import HttpOptions, PlexHttp
from retrovue.plex.models import (
    Collection,
    Episode,
    Identity,
    Item,
    Member,
    Movie,
    Season,
    Section,
    ServerInfo,
    Show,
)
from retrovue.plex.paging import NotAdvancingError, walk_pages

__all__ = ["PlexClient"]

A = TypeVar("A")
R = TypeVar("R")
S = TypeVar("S", bound=msgspec.Struct)

_NOT_FOUND_MEANS_NOT_PLEX = (
    "every Plex Media Server answers it, so this is not one, or the URL's path prefix is wrong: "
    "check the host, the port (usually 32400) and any path after it"
)

# Plex's numeric listing types for `/library/sections/{key}/all?type=N`.
MOVIE, SHOW, SEASON, EPISODE = 1, 2, 3, 4


def _segment(value: str) -> str:
    """Rating and section keys are opaque: quote them so any value is one path segment."""
    return quote(value, safe="")


class PlexClient:
    """A typed, paged, retrying client for one Plex Media Server.

    Paging is sent as the query parameters `X-Plex-Container-Start`/`X-Plex-Container-Size`;
    see docs/plex-client.md for the paging, retry and error policies.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        page_size: int = 200,
        max_concurrency: int = 4,
        **http: Unpack[HttpOptions],
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.page_size = page_size
        self.max_concurrency = max(1, max_concurrency)
        self._http = PlexHttp(base_url, token, max_connections=self.max_concurrency, **http)

    # --- lifecycle ------------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"PlexClient(server={self.server!r}, page_size={self.page_size})"

    def __enter__(self) -> PlexClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    @property
    def server(self) -> str:
        """The server's base URL, safe to show (token-free)."""
        return self._http.server

    @property
    def deadline(self) -> float:
        """Seconds each request may take in all, body included (see `retrovue.plex.http`)."""
        return self._http.deadline

    @property
    def max_body(self) -> int:
        """Largest decoded body accepted, in bytes."""
        return self._http.max_body

    @property
    def request_count(self) -> int:
        """HTTP requests sent so far, retries included (thread-safe)."""
        return self._http.request_count

    @property
    def bytes_read(self) -> int:
        """Response bytes received so far, retries included (thread-safe)."""
        return self._http.bytes_read

    # --- server and sections --------------------------------------------------------------------

    def identity(self) -> Identity:
        """`GET /identity`; raises `NotPlexServerError` if whatever answered is not Plex."""
        return self._http.get(
            "/identity", decode_identity, shape_means_not_plex=True, not_found=_NOT_FOUND_MEANS_NOT_PLEX
        )

    def server_info(self) -> ServerInfo:
        """`GET /`, the server root (friendly name, platform)."""
        return self._http.get(
            "/", decode_server_info, shape_means_not_plex=True, not_found=_NOT_FOUND_MEANS_NOT_PLEX
        )

    def sections(self) -> list[Section]:
        """`GET /library/sections`: every library of the server.

        A library entry that cannot be decoded fails the call (`PlexBadResponseError`) rather than
        being skipped: a library silently missing from the list would look like a deleted one.
        """
        page = self._http.get("/library/sections", decode_sections_page, not_found=_NOT_FOUND_MEANS_NOT_PLEX)
        if page.errors:
            first = page.errors[0]
            raise PlexBadResponseError(
                f"Plex server {self.server} listed a library that cannot be read "
                f"(key {first.rating_key!r}: {first.message}); update Retrovue or report this"
            )
        return page.items

    # --- section listings (paged) ---------------------------------------------------------------

    def iter_shows(self, section_key: str) -> Iterator[Page[Show]]:
        """Every show of a section, a page at a time (`/all?type=2&includeGuids=1`)."""
        return self._walk(self._section_all(section_key), {"type": str(SHOW), "includeGuids": "1"}, Show)

    def iter_seasons(self, section_key: str) -> Iterator[Page[Season]]:
        """Every season of a section, a page at a time (`/all?type=3`)."""
        return self._walk(self._section_all(section_key), {"type": str(SEASON), "includeGuids": "1"}, Season)

    def iter_episodes(
        self, section_key: str, *, updated_since: int | None = None, added_since: int | None = None
    ) -> Iterator[Page[Episode]]:
        """Every episode of a section with Media and Parts, a page at a time (`/all?type=4`).

        `updated_since`/`added_since` (epoch seconds) become Plex filters `updatedAt>>=`/`addedAt>>=`.
        Note that replacing a file does not move `updatedAt`.
        """
        params = {"type": str(EPISODE), "includeGuids": "1", **_since(updated_since, added_since)}
        return self._walk(self._section_all(section_key), params, Episode)

    def iter_movies(
        self, section_key: str, *, updated_since: int | None = None, added_since: int | None = None
    ) -> Iterator[Page[Movie]]:
        """Every movie of a section with Media and Parts, a page at a time (`/all?type=1`)."""
        params = {"type": str(MOVIE), "includeGuids": "1", **_since(updated_since, added_since)}
        return self._walk(self._section_all(section_key), params, Movie)

    def iter_collections(self, section_key: str) -> Iterator[Page[Collection]]:
        """A section's collections, a page at a time (`/library/sections/{key}/collections`)."""
        return self._walk(f"/library/sections/{_segment(section_key)}/collections", {}, Collection)

    def iter_collection_members(self, collection_key: str) -> Iterator[Page[Member]]:
        """Which movies or shows a collection holds (`/library/collections/{key}/children`)."""
        return self._walk(f"/library/collections/{_segment(collection_key)}/children", {}, Member)

    # --- expansion ------------------------------------------------------------------------------

    def show_episodes(self, show_rating_key: str) -> Page[Episode]:
        """Every episode of one show (`/library/metadata/{rk}/allLeaves`), all pages gathered."""
        path = f"/library/metadata/{_segment(show_rating_key)}/allLeaves"
        return _gather(self._walk(path, {"includeGuids": "1"}, Episode))

    def show_seasons(self, show_rating_key: str) -> Page[Season]:
        """The seasons of one show, without Plex's synthetic "All episodes" entry."""
        path = f"/library/metadata/{_segment(show_rating_key)}/children"
        return _gather(self._walk(path, {"excludeAllLeaves": "1", "includeGuids": "1"}, Season))

    def metadata(
        self, rating_keys: Sequence[str], *, check_files: bool = False, chunk: int = 50
    ) -> Page[Item]:
        """Full details of items, `chunk` keys per request, requests run with bounded concurrency.

        Items come back in server order per chunk, dispatched on their `type` (kinds this project
        does not ingest come as `OtherItem`). A key the server did not return is reported as an
        `ItemError` for that key; a 404 (Plex's answer when no key of a request exists) raises
        `PlexNotFoundError`. `check_files` adds Part `accessible`/`exists`.
        """
        if chunk < 1:
            raise ValueError("chunk must be at least 1")
        keys = list(dict.fromkeys(rating_keys))
        groups = [keys[i : i + chunk] for i in range(0, len(keys), chunk)]
        params = {"includeGuids": "1", **({"checkFiles": "1"} if check_files else {})}

        def fetch(group: list[str]) -> Page[Item]:
            path = "/library/metadata/" + ",".join(_segment(key) for key in group)
            return self._http.get(path, decode_items_page, params)

        merged: Page[Item] = Page(offset=0, total_size=None)
        for group, page in zip(groups, self.map_concurrent(fetch, groups), strict=True):
            merged.items.extend(page.items)
            merged.errors.extend(page.errors)
            returned = {key for key in page.rating_keys() if key is not None}
            merged.errors.extend(
                ItemError(key, "not returned by the server (deleted or re-keyed?)")
                for key in group
                if key not in returned
            )
        return Page(offset=0, total_size=merged.count, items=merged.items, errors=merged.errors)

    def photo(self, thumb: str, *, width: int, height: int) -> bytes:
        """An image of the server's (`thumb`: a Plex path such as `/library/metadata/12/thumb/1700…`)
        through Plex's photo transcoder, scaled to fit `width` × `height`; PNG or JPEG bytes.
        Raises `PlexNotFoundError` when the item has no image."""
        params = {
            "url": thumb,
            "width": str(width),
            "height": str(height),
            "minSize": "1",
            "upscale": "1",
        }
        return self._http.get(
            "/photo/:/transcode", _image, params, not_found="the item has no image on the server"
        )

    def map_concurrent(self, fn: Callable[[A], R], items: Iterable[A]) -> list[R]:
        """Run `fn` over `items` with at most `max_concurrency` in flight; results in input order."""
        return map_bounded(fn, items, self.max_concurrency)

    # --- internals ------------------------------------------------------------------------------

    @staticmethod
    def _section_all(section_key: str) -> str:
        return f"/library/sections/{_segment(section_key)}/all"

    def _walk(self, path: str, params: dict[str, str], item_type: type[S]) -> Iterator[Page[S]]:
        def fetch(start: int, size: int) -> Page[S]:
            paged = {**params, "X-Plex-Container-Start": str(start), "X-Plex-Container-Size": str(size)}
            return self._http.get(path, partial(decode_page, item_type=item_type, start=start), paged)

        def pages() -> Iterator[Page[S]]:
            try:
                yield from walk_pages(fetch, self.page_size)
            except NotAdvancingError as exc:
                raise PlexBadResponseError(
                    f"Plex server {self.server} does not page GET {path} properly ({exc}); "
                    "try a smaller page size, or update the server"
                ) from exc

        return pages()


def _since(updated_since: int | None, added_since: int | None) -> dict[str, str]:
    """Plex filter syntax is `field>>=value`; as a query pair that is key `field>>`, value `value`."""
    filters: dict[str, str] = {}
    if updated_since is not None:
        filters["updatedAt>>"] = str(int(updated_since))
    if added_since is not None:
        filters["addedAt>>"] = str(int(added_since))
    return filters


def _gather(pages: Iterator[Page[S]]) -> Page[S]:
    """Collect a whole walk into one page (offset 0, total = entries received)."""
    items: list[S] = []
    errors: list[ItemError] = []
    for page in pages:
        items.extend(page.items)
        errors.extend(page.errors)
    return Page(offset=0, total_size=len(items) + len(errors), items=items, errors=errors)


_IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF", b"GIF8")


def _image(body: bytes) -> bytes:
    """The body when it is an image (PNG, JPEG, WebP, GIF); UnexpectedShapeError otherwise."""
    if not body.startswith(_IMAGE_SIGNATURES):
        raise UnexpectedShapeError("the photo transcoder did not answer with an image")
    return body
