"""Bytes in, typed pages out: the JSON side of the Plex edge, with no HTTP in it.

A listing is first decoded whole, in one pass, as a page of items of one kind: what nearly every
response is. When that fails, it is decoded in two steps: the `MediaContainer` with its items left
as `msgspec.Raw`, then every item on its own. One malformed item therefore becomes an `ItemError` in
its page while its neighbours decode; only a body that is not JSON (`MalformedBodyError`, probably
truncated: worth a retry) or not a MediaContainer (`UnexpectedShapeError`) fails the whole response.
The one-pass decode reads each byte once instead of three times (container, item type, item): a
first sync decodes 1,700 responses, and the two-step decode of every one of them cost twice as long.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Generic, TypeVar

import msgspec

from retrovue.plex.models import (
    Episode,
    Identity,
    Item,
    Movie,
    OtherItem,
    Season,
    Section,
    ServerInfo,
    Show,
)

__all__ = [
    "BodyError",
    "ItemError",
    "MalformedBodyError",
    "Page",
    "UnexpectedShapeError",
    "decode_identity",
    "decode_items_page",
    "decode_page",
    "decode_sections_page",
    "decode_server_info",
]

T = TypeVar("T")
S = TypeVar("S", bound=msgspec.Struct)

ITEM_TYPES: dict[str, type[Movie | Show | Season | Episode]] = {
    "movie": Movie,
    "show": Show,
    "season": Season,
    "episode": Episode,
}
"""How `decode_items_page` dispatches on an item's `type`; any other type becomes `OtherItem`."""


class BodyError(ValueError):
    """A response body could not be read as the MediaContainer we asked for."""


class MalformedBodyError(BodyError):
    """Not JSON at all: truncated, cut off by a proxy, or an HTML page."""


class UnexpectedShapeError(BodyError):
    """Valid JSON, but not the MediaContainer this endpoint returns."""


@dataclass(frozen=True, slots=True)
class ItemError:
    """One listing entry that could not be decoded; its neighbours were.

    `rating_key` is the entry's `ratingKey` (a section's `key`) when it could still be read.
    """

    rating_key: str | None
    message: str


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """The decoded items of one response, plus the entries that failed to decode.

    `offset` is where this page starts in the whole listing; `total_size` is the server's count of
    the whole listing at the time of this response (None when the server did not page).
    """

    offset: int
    total_size: int | None
    items: list[T] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)

    @property
    def count(self) -> int:
        """Entries the server sent: decoded items plus failed ones. Paging advances by this."""
        return len(self.items) + len(self.errors)

    def rating_keys(self) -> tuple[str | None, ...]:
        """Rating keys in server order (failed entries included), to recognise a repeated page."""
        keys: list[str | None] = [getattr(item, "rating_key", None) for item in self.items]
        keys.extend(error.rating_key for error in self.errors)
        return tuple(keys)


# --- containers ---------------------------------------------------------------------------------


class _ListingContainer(msgspec.Struct, rename="camel"):
    size: int | None = None
    total_size: int | None = None
    offset: int | None = None
    metadata: list[msgspec.Raw] = msgspec.field(name="Metadata", default_factory=list)
    directory: list[msgspec.Raw] = msgspec.field(name="Directory", default_factory=list)


class _Listing(msgspec.Struct):
    container: _ListingContainer = msgspec.field(name="MediaContainer")


class _IdentityEnvelope(msgspec.Struct):
    container: Identity = msgspec.field(name="MediaContainer")


class _ServerInfoEnvelope(msgspec.Struct):
    container: ServerInfo = msgspec.field(name="MediaContainer")


class _Probe(msgspec.Struct, rename="camel"):
    """What can usually still be read from an item that failed to decode."""

    rating_key: str | int | None = None
    key: str | int | None = None
    type: str | None = None


@cache
def _decoder(kind: type[Any]) -> msgspec.json.Decoder[Any]:
    # strict=False: numbers sent as strings ("42") and booleans as 0/1 are accepted.
    return msgspec.json.Decoder(kind, strict=False)


def _decode_whole(raw: bytes, kind: type[S], what: str) -> S:
    try:
        result: S = _decoder(kind).decode(raw)
    except msgspec.ValidationError as exc:
        # Validation runs while parsing, so a broken body can fail validation first: tell them apart.
        _require_json(raw)
        raise UnexpectedShapeError(f"not a {what} MediaContainer ({exc})") from exc
    except msgspec.DecodeError as exc:
        raise MalformedBodyError(f"body is not valid JSON ({exc})") from exc
    return result


def _require_json(raw: bytes) -> None:
    try:
        msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise MalformedBodyError(f"body is not valid JSON ({exc})") from exc


def _listing(raw: bytes) -> _ListingContainer:
    return _decode_whole(raw, _Listing, "listing").container


def _probe(raw: msgspec.Raw) -> _Probe:
    try:
        probe: _Probe = _decoder(_Probe).decode(raw)
    except msgspec.MsgspecError:
        return _Probe()
    return probe


def _item_error(raw: msgspec.Raw, kind: type[Any], message: str) -> ItemError:
    probe = _probe(raw)
    # Sections are identified by `key`; for items `key` is a path and `ratingKey` the identity.
    key = probe.key if kind is Section else probe.rating_key
    return ItemError(None if key is None else str(key), message)


def _decode_one(raw: msgspec.Raw, kind: type[S]) -> S | ItemError:
    try:
        item: S = _decoder(kind).decode(raw)
    except msgspec.ValidationError as exc:
        return _item_error(raw, kind, f"{kind.__name__}: {exc}")
    return item


def _build_page(
    container: _ListingContainer,
    entries: Sequence[msgspec.Raw],
    start: int,
    one: Callable[[msgspec.Raw], T | ItemError],
) -> Page[T]:
    page: Page[T] = Page(
        offset=start if container.offset is None else container.offset, total_size=container.total_size
    )
    for raw in entries:
        result = one(raw)
        if isinstance(result, ItemError):
            page.errors.append(result)
        else:
            page.items.append(result)
    return page


# --- public decoders ----------------------------------------------------------------------------


@cache
def _typed_listing(kind: type[S]) -> msgspec.json.Decoder[Any]:
    """A decoder of a whole listing whose `Metadata` entries are all `kind`."""
    entries = msgspec.defstruct(
        f"_{kind.__name__}Container",
        [
            ("size", int | None, None),
            ("total_size", int | None, None),
            ("offset", int | None, None),
            ("metadata", list[kind], msgspec.field(name="Metadata", default_factory=list)),  # type: ignore[valid-type]
        ],
        rename="camel",
    )
    envelope = msgspec.defstruct(
        f"_{kind.__name__}Listing", [("container", entries, msgspec.field(name="MediaContainer"))]
    )
    return msgspec.json.Decoder(envelope, strict=False)


def _one_pass(raw: bytes, kind: type[S], start: int, tag: str | None = None) -> Page[S] | None:
    """`raw` decoded in one pass as a page of `kind` (of `type` `tag`, when given: a page holding
    another type is not one), or None when it is not that (the two-step decode then tells why)."""
    try:
        container = _typed_listing(kind).decode(raw).container
    except msgspec.MsgspecError:
        return None
    items = container.metadata
    if tag is not None and any(item.type != tag for item in items):
        return None
    offset = start if container.offset is None else container.offset
    return Page(offset=offset, total_size=container.total_size, items=items)


def decode_page(raw: bytes, item_type: type[S], *, start: int = 0) -> Page[S]:
    """Decode a listing's `Metadata` entries as `item_type`.

    `start` is the offset that was asked for; the container's own `offset` wins when present, so a
    caller can tell when a server did not honour it.
    """
    page = _one_pass(raw, item_type, start)
    if page is not None:
        return page
    container = _listing(raw)
    return _build_page(container, container.metadata, start, lambda entry: _decode_one(entry, item_type))


def decode_items_page(raw: bytes, *, start: int = 0) -> Page[Item]:
    """Decode a listing whose entries may be of any kind, dispatching on each entry's `type`."""
    container = _listing(raw)
    if container.metadata:  # a page of one kind, the first entry's, is decoded in one pass
        tag = _probe(container.metadata[0]).type or ""
        kind = ITEM_TYPES.get(tag)
        page: Page[Any] | None = None if kind is None else _one_pass(raw, kind, start, tag)
        if page is not None:
            return page

    def one(entry: msgspec.Raw) -> Item | ItemError:
        kind: type[Item] = ITEM_TYPES.get(_probe(entry).type or "", OtherItem)
        return _decode_one(entry, kind)

    return _build_page(container, container.metadata, start, one)


def decode_sections_page(raw: bytes) -> Page[Section]:
    """Decode `GET /library/sections`: one `Directory` entry per library."""
    container = _listing(raw)
    return _build_page(container, container.directory, 0, lambda entry: _decode_one(entry, Section))


def decode_identity(raw: bytes) -> Identity:
    """Decode `GET /identity`; `UnexpectedShapeError` means whatever answered is not a Plex server."""
    return _decode_whole(raw, _IdentityEnvelope, "/identity").container


def decode_server_info(raw: bytes) -> ServerInfo:
    """Decode `GET /`, the server root."""
    return _decode_whole(raw, _ServerInfoEnvelope, "server root").container
