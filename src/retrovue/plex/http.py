"""The HTTP side of the Plex edge: one keep-alive connection pool per server, retries, typed errors.

Every request is an idempotent GET, so connection failures, 5xx answers and unreadable bodies are
retried with backoff (`retry.backoff_delay`). Each failure ends as exactly one `PlexError` subclass
whose one-line message names the server and the request and says what to do; the token is sent only
as a header, never appears in a URL, and is scrubbed from every message and repr.

Every request ends. Per-read timeouts alone do not ensure it: a body trickled a byte at a time never
trips one. So each attempt has a total `deadline` (120 s by default): the body is read as a stream
and the attempt fails, unretried, once the deadline has passed (at most one read timeout late, and
the read timeout is never longer than the deadline). The decoded body is capped (`max_body`, 64 MiB
by default, far above any page Retrovue asks for), so a small gzip body that inflates to gigabytes
is refused after the cap, plus at most one decompressed network chunk, has been read.
"""

from __future__ import annotations

import functools
import os
import random
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from typing import TypedDict, TypeVar
from urllib.parse import urlencode, urlsplit

import httpx

import retrovue
from retrovue.errors import (
    ConfigError,
    NotPlexServerError,
    PlexBadResponseError,
    PlexError,
    PlexNotFoundError,
    PlexTLSError,
    PlexUnauthorizedError,
    PlexUnreachableError,
)
from retrovue.plex.decode import BodyError, MalformedBodyError
from retrovue.plex.retry import backoff_delay
from retrovue.redact import register, scrub, scrub_url

__all__ = ["PRODUCT", "HttpOptions", "PlexHttp", "check_token", "identity_headers"]

R = TypeVar("R")

PRODUCT = "Retrovue Ingest"
DEFAULT_DEADLINE = 120.0
DEFAULT_MAX_BODY = 64 * 1024 * 1024


class HttpOptions(TypedDict, total=False):
    """How requests to a server are made: what `PlexHttp` takes besides the URL and token, so that a
    caller (`PlexClient`, the engine's `client_options`) passes them on without naming each again."""

    verify: bool | str  # certificate checking: True, False, or a CA bundle path
    timeout: float  # seconds per read
    connect_timeout: float
    max_retries: int
    backoff: float  # seconds before the first retry; doubles each time
    transport: httpx.BaseTransport | None  # injected in tests and benchmarks
    client_identifier: str
    sleep: Callable[[float], object]  # waits between retries; returning True stops retrying
    jitter: Callable[[], float]
    deadline: float  # seconds each request may take in all, body included
    max_body: int  # bytes a decoded body may hold


def identity_headers(client_identifier: str) -> dict[str, str]:
    """The headers every Plex endpoint (a server or plex.tv) is told who is asking with."""
    return {
        "Accept": "application/json",
        "X-Plex-Client-Identifier": client_identifier,
        "X-Plex-Product": PRODUCT,
        "X-Plex-Version": retrovue.__version__,
    }


class _RetryableError(Exception):
    """A failed attempt that may succeed if tried again; carries the error to raise if not."""

    def __init__(self, error: PlexError) -> None:
        super().__init__(str(error))
        self.error = error


class PlexHttp:
    """GETs against one Plex server, returning parsed bodies or raising one typed `PlexError`."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        verify: bool | str = True,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_connections: int = 4,
        transport: httpx.BaseTransport | None = None,
        client_identifier: str = "retrovue-ingest",
        sleep: Callable[[float], object] = time.sleep,
        jitter: Callable[[], float] = random.random,
        deadline: float = DEFAULT_DEADLINE,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        if not deadline > 0 or max_body < 1:
            raise ValueError("deadline and max_body must be positive")
        self.deadline = deadline
        self.max_body = max_body
        token = check_token(token)
        self._token = token
        self._base_url = _check_base_url(base_url)
        self.server = scrub(scrub_url(self._base_url), token)
        self._max_retries = max(0, max_retries)
        self._backoff = backoff
        self._sleep = sleep
        self._jitter = jitter
        self._count = 0
        self._bytes = 0
        self._count_lock = threading.Lock()
        headers = {**identity_headers(client_identifier), "X-Plex-Token": token}
        self._client = httpx.Client(
            base_url=self._base_url,
            headers=headers,
            timeout=httpx.Timeout(min(timeout, deadline), connect=min(connect_timeout, deadline)),
            limits=httpx.Limits(
                max_connections=max(1, max_connections), max_keepalive_connections=max(1, max_connections)
            ),
            transport=transport,
            verify=_ssl_context(verify, tls=self._base_url.lower().startswith("https:"))
            if transport is None
            else True,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"PlexHttp(server={self.server!r})"

    @property
    def request_count(self) -> int:
        """HTTP requests handed to the transport so far, retries included."""
        with self._count_lock:
            return self._count

    @property
    def bytes_read(self) -> int:
        """Response body bytes received so far (as sent, before decompression)."""
        with self._count_lock:
            return self._bytes

    def close(self) -> None:
        self._client.close()

    def get(
        self,
        path: str,
        parse: Callable[[bytes], R],
        params: Mapping[str, str] | None = None,
        *,
        shape_means_not_plex: bool = False,
        not_found: str | None = None,
    ) -> R:
        """GET `path` and return `parse(body)`, retrying what may be transient.

        `parse` raises `MalformedBodyError` for a body that is not JSON (retried: often a truncated
        transfer) and `UnexpectedShapeError` for JSON of the wrong shape (not retried). With
        `shape_means_not_plex`, a wrong shape means whatever answered is not a Plex server.
        `not_found` is what a 404 means for this path (default: the library or item was deleted).
        """
        target = path + (f"?{urlencode(params)}" if params else "")
        where = scrub(f"GET {target}", self._token)
        attempt = 0
        while True:
            try:
                return self._attempt(path, params, parse, where, attempt + 1, shape_means_not_plex, not_found)
            except _RetryableError as failure:
                if attempt >= self._max_retries:
                    raise failure.error from failure.__cause__
                delay = backoff_delay(attempt, self._backoff, self._jitter)
                # A `sleep` that returns True was cut short by a cancel (`threading.Event.wait`):
                # the user asked to stop, so no further attempt is made.
                if delay > 0 and self._sleep(delay):
                    raise failure.error from failure.__cause__
            attempt += 1

    # --- one attempt ----------------------------------------------------------------------------

    def _attempt(
        self,
        path: str,
        params: Mapping[str, str] | None,
        parse: Callable[[bytes], R],
        where: str,
        attempts: int,
        shape_means_not_plex: bool,
        not_found: str | None,
    ) -> R:
        with self._count_lock:
            self._count += 1
        tries = f"after {attempts} attempt{'s' if attempts > 1 else ''}"
        ends = time.monotonic() + self.deadline
        try:
            with self._client.stream("GET", path, params=params) as response:
                try:
                    self._raise_for_status(response, where, tries, not_found)
                    body = self._read(response, where, ends)
                finally:
                    with self._count_lock:
                        self._bytes += response.num_bytes_downloaded
        except httpx.TransportError as exc:
            if time.monotonic() >= ends:
                raise self._overdue(where) from exc
            raise self._transport_failure(exc, where, tries) from exc
        except httpx.DecodingError as exc:
            raise _RetryableError(
                PlexBadResponseError(
                    f"Plex server {self.server} sent a body that could not be decompressed for {where} "
                    f"{tries} ({self._line(exc)}); try again, or check for a proxy in between"
                )
            ) from exc
        return self._parse(body, response.headers, parse, where, tries, shape_means_not_plex)

    def _read(self, response: httpx.Response, where: str, ends: float) -> bytes:
        """The decoded body, refused past `max_body` bytes or the attempt's deadline."""
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_body:
                raise PlexBadResponseError(
                    f"Plex server {self.server} sent an answer to {where} larger than {_mib(self.max_body)} "
                    "decompressed, and it was refused to protect memory; check for a proxy in between, "
                    "or sync with a smaller --page-size"
                )
            chunks.append(chunk)
            if time.monotonic() >= ends:
                raise self._overdue(where)
        return b"".join(chunks)

    def _overdue(self, where: str) -> PlexBadResponseError:
        return PlexBadResponseError(
            f"Plex server {self.server} did not finish answering {where} within {self.deadline:g} s "
            "(the request's deadline); the server may be overloaded or the network very slow: try again later"
        )

    def _transport_failure(self, exc: httpx.TransportError, where: str, tries: str) -> Exception:
        reason = f"{type(exc).__name__}: {self._line(exc)}" if str(exc) else type(exc).__name__
        if _is_tls_failure(exc):
            return PlexTLSError(
                f"TLS with Plex server {self.server} failed for {where} ({reason}); check http vs https, "
                "or give the server's CA bundle as `verify`, or use its plex.direct address"
            )
        if isinstance(exc, httpx.LocalProtocolError):  # nothing was sent: trying again changes nothing
            return PlexBadResponseError(
                f"the request {where} to Plex server {self.server} could not be sent ({reason}); "
                "check the server's URL and token"
            )
        if isinstance(exc, httpx.RemoteProtocolError):
            return _RetryableError(
                PlexBadResponseError(
                    f"Plex server {self.server} broke off its answer to {where} {tries} ({reason}); "
                    "the server may be overloaded: try again later"
                )
            )
        return _RetryableError(
            PlexUnreachableError(
                f"Cannot reach Plex server {self.server} for {where} {tries} ({reason}); "
                "is the server running and the URL right?"
            )
        )

    def _raise_for_status(
        self, response: httpx.Response, where: str, tries: str, not_found: str | None = None
    ) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        if status in (401, 403):
            raise PlexUnauthorizedError(
                f"Plex server {self.server} refused the token for {where} (HTTP {status}); check the token: "
                "it may be wrong, expired or revoked, or lack access to this server"
            )
        if status == 404 and not_found is not None:
            raise PlexNotFoundError(f"Plex server {self.server} has no {where} (HTTP 404); {not_found}")
        if status == 404:
            raise PlexNotFoundError(
                f"Plex server {self.server} has nothing at {where} (HTTP 404); the library or item may "
                "have been deleted: refresh the library list and sync again"
            )
        if 300 <= status < 400:
            location = self._line(response.headers.get("location", "?"))
            raise PlexBadResponseError(
                f"Plex server {self.server} redirected {where} to {location} (HTTP {status}); "
                "use that address as the server URL"
            )
        if status >= 500 or status == 429:
            raise _RetryableError(
                PlexBadResponseError(
                    f"Plex server {self.server} failed {where} with HTTP {status} {tries}; "
                    "check the server's logs and try again later"
                )
            )
        raise PlexBadResponseError(
            f"Plex server {self.server} rejected {where} with HTTP {status}; "
            "the server may be too old or too new for Retrovue"
        )

    def _parse(
        self,
        body: bytes,
        headers: httpx.Headers,
        parse: Callable[[bytes], R],
        where: str,
        tries: str,
        shape_means_not_plex: bool,
    ) -> R:
        content_type = headers.get("content-type", "").lower()
        head = body.lstrip()[:64]
        looks_like_json = head[:1] in (b"{", b"[")  # whatever the label says (proxies relabel)
        if not looks_like_json and ("xml" in content_type or head.startswith((b"<?xml", b"<MediaContainer"))):
            raise PlexBadResponseError(
                f"Plex server {self.server} answered {where} in XML although JSON was asked for; "
                "the server may be too old for Retrovue: update Plex Media Server"
            )
        if not looks_like_json and ("html" in content_type or head[:1] == b"<"):
            raise NotPlexServerError(
                f"{self.server} answered {where} with a web page, not Plex JSON; it is not a Plex Media "
                "Server: check the host and port (usually 32400)"
            )
        try:
            return parse(body)
        except MalformedBodyError as exc:
            raise _RetryableError(
                PlexBadResponseError(
                    f"Plex server {self.server} sent an unreadable answer to {where} {tries} "
                    f"({self._line(exc)}); try again, or check for a proxy in between"
                )
            ) from exc
        except BodyError as exc:
            if shape_means_not_plex:
                raise NotPlexServerError(
                    f"{self.server} answered {where}, but not like a Plex Media Server ({self._line(exc)}); "
                    "check the host and port (usually 32400)"
                ) from exc
            raise PlexBadResponseError(
                f"Plex server {self.server} sent an unexpected answer to {where} ({self._line(exc)}); "
                "the server may be too old or too new for Retrovue"
            ) from exc

    def _line(self, value: object, limit: int = 200) -> str:
        """One redacted line of at most `limit` characters, safe to put in a message."""
        text = scrub(" ".join(str(value).split()), self._token)
        return text if len(text) <= limit else text[: limit - 1] + "…"


def check_token(token: str) -> str:
    """The token without surrounding whitespace; ConfigError when no HTTP header could carry it.

    A token pasted from a file written on Windows ends in `\\r`; one copied from a web page can
    carry a non-breaking space. Sent as they are, the first fails inside the HTTP library (with the
    token in its message) and the second cannot be encoded at all.
    """
    text = token.strip()
    register(token, text)
    if not text:
        raise ConfigError("the Plex token is empty; find it as described in the README (X-Plex-Token)")
    for position, char in enumerate(text, 1):
        if not " " <= char <= "~":
            what = "a control character" if ord(char) < 32 or ord(char) == 127 else "a non-ASCII character"
            raise ConfigError(
                f"the Plex token holds {what} (character {position} of {len(text)}), which no HTTP header "
                "can carry; copy the token again (Plex tokens are ASCII letters, digits, - and _)"
            )
    return text


def _mib(size: int) -> str:
    return f"{size / 2**20:g} MiB"


def _check_base_url(base_url: str) -> str:
    url = base_url.strip().rstrip("/")
    shown = scrub_url(url)
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as exc:
        raise ConfigError(
            f"Plex server URL {shown!r} cannot be read ({exc}); use e.g. http://[::1]:32400"
        ) from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"Plex server URL {shown!r} is not an http(s) URL; use e.g. http://192.168.1.10:32400"
        )
    if parts.query or parts.fragment:
        raise ConfigError(
            f"Plex server URL {shown!r} must not carry a query or fragment; "
            "give only scheme, host, port (and path prefix, if behind a proxy)"
        )
    return url


@functools.cache
def _default_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """httpx's default trust (certifi, or SSL_CERT_FILE / SSL_CERT_DIR), loaded once per process
    and setting (it takes ~0.2 s) and shared by every client: an SSLContext may serve many
    connections and threads."""
    del cert_file, cert_dir  # the cache key: httpx reads them from the environment itself
    return httpx.create_ssl_context()


@functools.cache
def _unused_context() -> ssl.SSLContext:
    """For a plain-HTTP server (redirects are not followed, so TLS is never reached): verifying,
    with no CA loaded, so it fails closed should it ever be used. Costs nothing to make."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _ssl_context(verify: bool | str, *, tls: bool = True) -> bool | ssl.SSLContext:
    """httpx 0.28 wants an SSLContext, not a path, for a custom CA bundle. The system trust store
    is loaded only for an https server, once per process."""
    if verify is True:
        if not tls:
            return _unused_context()
        return _default_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    if isinstance(verify, bool):
        return verify
    try:
        return ssl.create_default_context(cafile=verify)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot read CA bundle {verify!r}: {exc}") from exc


def _is_tls_failure(exc: BaseException) -> bool:
    """True if a transport error comes from TLS (certificate, handshake), which retrying won't fix."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return True
        text = str(current)
        if "CERTIFICATE_VERIFY_FAILED" in text or "[SSL" in text:
            return True
        current = current.__cause__ or current.__context__
    return False
