"""`PlexTv`: the plex.tv calls Retrovue makes, over httpx, typed at the edge.

Four endpoints, as plex.tv documents them for native apps: create a PIN (`POST /api/v2/pins`), check
it (`GET /api/v2/pins/{id}`), ask who a token belongs to (`GET /api/v2/user`) and list the account's
devices with their connections and access tokens (`GET /api/v2/resources`). Every request carries
this install's `X-Plex-Client-Identifier` and the product name the Plex client already sends, so the
user sees one "Retrovue Ingest" device in their authorized devices.

The base URL is `https://plex.tv` unless `RETROVUE_PLEX_TV_URL` says otherwise (the stand-in in
`retrovue.sim.plextv` is reached that way). Tokens travel only as headers, never in a URL, and no
message carries one. Failures are one `AccountError` each: `PlexTvUnreachableError` when plex.tv
did not answer usefully, `NotSignedInError` when it refused the token.
"""

from __future__ import annotations

import os
import platform
import socket
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar
from urllib.parse import quote, urlencode, urlsplit

import httpx
import msgspec

from retrovue.account.models import Pin, PlexUser, Resource, decode_pin, decode_resources, decode_user
from retrovue.errors import AccountError, ConfigError, NotSignedInError, PlexTvUnreachableError, redact
from retrovue.plex.http import PRODUCT, identity_headers

__all__ = ["AUTH_APP_URL", "PLEX_TV_ENV", "PLEX_TV_URL", "PlexTv", "plex_tv_url"]

PLEX_TV_URL = "https://plex.tv"
PLEX_TV_ENV = "RETROVUE_PLEX_TV_URL"
AUTH_APP_URL = "https://app.plex.tv/auth"

R = TypeVar("R")


def plex_tv_url(explicit: str | None = None) -> str:
    """The plex.tv base URL in force: `explicit`, else `RETROVUE_PLEX_TV_URL`, else https://plex.tv."""
    url = (explicit or os.environ.get(PLEX_TV_ENV, "") or PLEX_TV_URL).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"{PLEX_TV_ENV}={url!r} is not an http(s) base URL, e.g. https://plex.tv")
    return url


class PlexTv:
    """A client for plex.tv (or its stand-in), for one install (`client_identifier`)."""

    def __init__(
        self,
        client_identifier: str,
        *,
        base_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 15.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self.base_url = plex_tv_url(base_url)
        self.client_identifier = client_identifier
        self._count = 0
        self._client = httpx.Client(
            base_url=self.base_url,
            headers={
                **identity_headers(client_identifier),
                "X-Plex-Device-Name": _device_name(),
                "X-Plex-Platform": platform.system() or "Unknown",
            },
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"PlexTv(base_url={self.base_url!r})"

    def __enter__(self) -> PlexTv:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    @property
    def request_count(self) -> int:
        return self._count

    @property
    def is_real(self) -> bool:
        """True when talking to the real plex.tv (not a stand-in)."""
        return self.base_url == PLEX_TV_URL

    # -- the four calls ---------------------------------------------------------------------------
    def create_pin(self, *, strong: bool = True) -> Pin:
        """A new sign-in code. `strong` codes are long and live longer: meant for a link, not typing."""
        params = {"strong": "true"} if strong else None
        return self._decode(self._send("POST", "/api/v2/pins", params=params), decode_pin)

    def check_pin(self, pin_id: int) -> Pin | None:
        """The PIN as it stands now, or None once plex.tv has forgotten it (expired)."""
        response = self._send("GET", f"/api/v2/pins/{int(pin_id)}", missing_ok=True)
        return None if response is None else self._decode(response, decode_pin)

    def user(self, token: str) -> PlexUser:
        """Who `token` belongs to; `NotSignedInError` when plex.tv refuses it."""
        return self._decode(self._send("GET", "/api/v2/user", token=token), decode_user)

    def resources(self, token: str) -> list[Resource]:
        """The account's devices with every connection (https, relay and IPv6 included)."""
        params = {"includeHttps": "1", "includeRelay": "1", "includeIPv6": "1"}
        response = self._send("GET", "/api/v2/resources", params=params, token=token)
        return self._decode(response, decode_resources)

    def auth_url(self, code: str) -> str:
        """Where the user approves `code`: app.plex.tv's auth page (the stand-in's own, for a stand-in).

        The parameters go in the URL fragment, which browsers never send to a server.
        """
        base = AUTH_APP_URL if self.is_real else f"{self.base_url}/auth"
        query = urlencode(
            {"clientID": self.client_identifier, "code": code, "context[device][product]": PRODUCT},
            quote_via=quote,
        )
        return f"{base}#?{query}"

    # -- plumbing ---------------------------------------------------------------------------------
    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        token: str | None = None,
        missing_ok: bool = False,
    ) -> httpx.Response | None:
        where = f"{method} {path}"
        headers = {"X-Plex-Token": token} if token else None
        self._count += 1
        try:
            response = self._client.request(method, path, params=params, headers=headers)
        except httpx.TransportError as exc:
            reason = redact(" ".join(str(exc).split()), token)[:200] or type(exc).__name__
            raise PlexTvUnreachableError(
                f"cannot reach plex.tv at {self.base_url} for {where} ({type(exc).__name__}: {reason}); "
                f"check this machine's internet connection (or {PLEX_TV_ENV}) and try again"
            ) from None
        status = response.status_code
        if status == 404 and missing_ok:
            return None
        if status in (401, 403) and token is not None:
            raise NotSignedInError(
                f"plex.tv refused the account's token for {where} (HTTP {status}); "
                "sign in again with `retrovue login`"
            )
        if status >= 500 or status == 429:
            raise PlexTvUnreachableError(
                f"plex.tv failed {where} with HTTP {status}; it may be down or busy: try again later"
            )
        if not 200 <= status < 300:
            raise AccountError(f"plex.tv rejected {where} with HTTP {status}; update Retrovue or report this")
        return response

    @staticmethod
    def _decode(response: httpx.Response | None, parse: Callable[[bytes], R]) -> R:
        assert response is not None  # only check_pin allows a missing answer, and handles it
        try:
            return parse(response.content)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            where = f"{response.request.method} {response.request.url.path}"
            raise AccountError(
                f"plex.tv sent an unexpected answer to {where} ({str(exc)[:200]}); "
                "update Retrovue or report this"
            ) from None


def _device_name() -> str:
    try:
        return socket.gethostname() or "Retrovue"
    except OSError:
        return "Retrovue"
