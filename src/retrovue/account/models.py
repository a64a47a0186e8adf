"""Typed, frozen views of what plex.tv says, decoded at the edge (msgspec).

One place knows plex.tv's JSON shapes: a PIN (`/api/v2/pins`), the signed-in user (`/api/v2/user`)
and the account's devices (`/api/v2/resources`, the `PlexDevice` schema with its connections).
Field names are the wire names in snake_case, as in `retrovue.plex.models`. Decoding is lenient:
only what sign-in and discovery cannot work without is required; unknown attributes are ignored.

Two fields are secrets: a PIN's `authToken` (the account token, once approved) and a device's
`accessToken` (the token that server takes from this account). Neither ever shows in a `repr`, so a
model can be logged or put in a message without leaking anything. `/api/v2/user` also carries the
account token; `PlexUser` does not decode it at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import msgspec
from msgspec import field

__all__ = [
    "Pin",
    "PlexUser",
    "Resource",
    "ResourceConnection",
    "decode_pin",
    "decode_resources",
    "decode_user",
]


class _Wire(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=False):
    """Immutable, camelCase wire names, unknown attributes ignored; `SECRET` fields never shown."""

    SECRET: ClassVar[frozenset[str]] = frozenset()

    def _shown(self) -> Iterator[tuple[str, Any]]:
        for name in self.__struct_fields__:
            yield name, ("***" if name in self.SECRET and getattr(self, name) else getattr(self, name))

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={value!r}" for name, value in self._shown())
        return f"{type(self).__name__}({inner})"

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        return list(self._shown())


class Pin(_Wire, frozen=True):
    """`POST /api/v2/pins` and `GET /api/v2/pins/{id}`: a sign-in code waiting for approval.

    `auth_token` stays null until the user approves the code at app.plex.tv; then it is the account
    token. `expires_in` counts down in seconds; plex.tv forgets the PIN when it reaches zero.
    """

    SECRET: ClassVar[frozenset[str]] = frozenset({"auth_token"})

    id: int
    code: str
    expires_in: int | None = None
    expires_at: str | None = None
    auth_token: str | None = None
    client_identifier: str | None = None
    trusted: bool = False


class PlexUser(_Wire, frozen=True):
    """`GET /api/v2/user`: who the account token belongs to (its `authToken` is not decoded)."""

    id: int
    uuid: str = ""
    username: str = ""
    title: str = ""
    email: str = ""
    friendly_name: str = ""

    @property
    def display_name(self) -> str:
        return self.username or self.title or self.friendly_name or self.email or f"account {self.id}"


class ResourceConnection(_Wire, frozen=True):
    """One address a device can be reached at (a `PlexDevice` connection)."""

    uri: str
    protocol: str = "http"
    address: str = ""
    port: int = 32400
    local: bool = False
    relay: bool = False
    ipv6: bool = field(name="IPv6", default=False)


class Resource(_Wire, frozen=True):
    """`GET /api/v2/resources`: one device of the account (servers, players, …).

    `owned` is false for a server shared with the account; then `source_title` names its owner and
    `access_token` is the token that server issued for this account (the account token is refused
    there). `presence` is plex.tv's idea of whether the device is online now.
    """

    SECRET: ClassVar[frozenset[str]] = frozenset({"access_token"})

    name: str
    client_identifier: str
    provides: str = ""
    product: str = ""
    product_version: str = ""
    platform: str | None = None
    owned: bool = False
    home: bool = False
    owner_id: int | None = None
    source_title: str | None = None
    access_token: str | None = None
    presence: bool = False
    https_required: bool = False
    public_address_matches: bool = False
    connections: tuple[ResourceConnection, ...] = ()

    @property
    def is_server(self) -> bool:
        return "server" in {part.strip() for part in self.provides.split(",")}


_pin = msgspec.json.Decoder(Pin, strict=False)
_user = msgspec.json.Decoder(PlexUser, strict=False)
_resources = msgspec.json.Decoder(list[msgspec.Raw])
_resource = msgspec.json.Decoder(Resource, strict=False)


def decode_pin(body: bytes) -> Pin:
    return _pin.decode(body)


def decode_user(body: bytes) -> PlexUser:
    return _user.decode(body)


def decode_resources(body: bytes) -> list[Resource]:
    """Every device that decodes; one plex.tv lists in a shape we cannot read is skipped.

    A player or an old device with a missing field must not hide the servers beside it.
    """
    out = []
    for raw in _resources.decode(body):
        try:
            out.append(_resource.decode(raw))
        except msgspec.ValidationError:
            continue
    return out
