"""One server's notification websocket, in a thread of its own, with reconnects.

Why a thread per server with the blocking `websockets.sync` client rather than asyncio: the syncs it
triggers are blocking anyway (httpx + SQLAlchemy), a user has a handful of servers, a thread per
server keeps one misbehaving server from delaying another, and `recv(timeout=…)` plus
`threading.Event.wait` make a prompt, clean stop trivial — no event loop to marshal into from the
GUI, the CLI's signal handler or a test.

The listener only *reports*: `on_up()`, `on_sections(keys)`, `on_dropped(count, reason)`,
`on_down(reason, unavailable, retry_in)`. What to sync, and when, is the watcher's business.

It never storms. The reconnect backoff is reset only by a connection that has *proven itself* — stayed
open `proven_after` seconds — not by every successful open, so a server that accepts and at once
closes (or sends a message too large to take) is retried at growing intervals. A message that
cannot be read is dropped, not a reason to drop the connection; the first is told at once, then at
most one notice a minute counts the rest (`DropCounter`). The token travels only in the URL handed to
`websockets`; every message built here goes through `redact()`, and the `websockets` logger gets a
filter that redacts too (its debug log would print the request line).
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.sync.client import connect as ws_connect

from retrovue.errors import redact
from retrovue.store.registry import ServerRow
from retrovue.watch.notifications import Backoff, NotificationError, changed_sections, notifications_url

__all__ = ["Connection", "Connector", "DropCounter", "ServerListener"]

RECV_POLL = 0.25  # how often a quiet socket checks the stop event (bounds the stop latency)
MAX_MESSAGE = 16 * 1024 * 1024  # a scan of a big show is one large timeline message
TOO_BIG = 1009  # the close code websockets sends when a message exceeds MAX_MESSAGE


class Connection(Protocol):
    """The part of `websockets.sync.client.ClientConnection` the listener uses."""

    def __enter__(self) -> Connection: ...
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    def recv(self, timeout: float | None = None) -> str | bytes: ...
    def close(self) -> None: ...


Connector = Callable[..., Connection]
"""`websockets.sync.client.connect`'s signature; injectable for tests of the listener itself."""


def _default_connect(url: str, **options: Any) -> Connection:
    connection: Connection = ws_connect(url, **options)
    return connection


class _RedactingLogger(logging.LoggerAdapter[logging.Logger]):
    """What `websockets` logs through: formats each message and removes the token before logging."""

    def __init__(self, logger: logging.Logger, secret: str) -> None:
        super().__init__(logger, {})
        self.secret = secret

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            text = str(msg) % args if args else str(msg)
            for key in ("extra", "exc_info", "stack_info"):  # a traceback could quote the URL
                kwargs.pop(key, None)
            self.logger.log(level, "%s", redact(text, self.secret), **kwargs)


def _ssl_context(server: ServerRow) -> ssl.SSLContext | None:
    if not server.base_url.startswith("https"):
        return None
    if not server.verify_tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    return ssl.create_default_context(cafile=server.ca_bundle)


def _reason(exc: BaseException, token: str) -> tuple[str, bool]:
    """A one-line, token-free reason, and whether the server refused notifications as such."""
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        return f"handshake rejected (HTTP {status})", 400 <= status < 500
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused", False
    if isinstance(exc, ConnectionClosed):
        if exc.sent is not None and exc.sent.code == TOO_BIG:
            return f"a notification larger than {MAX_MESSAGE // 2**20} MiB was refused", False
        code = exc.rcvd.code if exc.rcvd is not None else None
        return ("connection closed" + (f" (code {code})" if code is not None else "")), False
    if isinstance(exc, TimeoutError):
        return "timed out", False
    if isinstance(exc, InvalidURI):
        return "invalid server URL", True
    if isinstance(exc, InvalidHandshake):
        return redact(f"handshake failed: {exc}", token), False
    text = str(exc) or type(exc).__name__
    return redact(f"{type(exc).__name__}: {text}", token).splitlines()[0][:200], False


class DropCounter:
    """Counts dropped messages; says when to tell: the first at once, then at most every `every` s."""

    def __init__(self, every: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self.clock = clock
        self.untold = 0
        self.told_at: float | None = None

    def dropped(self, reason: str) -> tuple[int, str] | None:
        """Record one drop; returns (drops since the last notice, reason) when a notice is due."""
        self.untold += 1
        now = self.clock()
        if self.told_at is not None and now - self.told_at < self.every:
            return None
        count, self.untold, self.told_at = self.untold, 0, now
        return count, reason


class ServerListener(threading.Thread):
    """Listens to one server until `stop` is set; reconnects with `backoff` after any failure."""

    def __init__(
        self,
        server: ServerRow,
        stop: threading.Event,
        *,
        on_up: Callable[[], None],
        on_sections: Callable[[set[str]], None],
        on_down: Callable[[str, bool, float], None],
        backoff: Backoff,
        on_dropped: Callable[[int, str], None] = lambda _count, _reason: None,
        proven_after: float = 30.0,
        open_timeout: float = 5.0,
        connect: Connector | None = None,
        reread: Callable[[], ServerRow] | None = None,
    ) -> None:
        super().__init__(name=f"retrovue-watch-{server.name}", daemon=True)
        self.server = server
        # Re-reads the server's row before each reconnect: a sync may have moved it to another of its
        # addresses or renewed its token (a server added from the Plex account, `retrovue.reach`).
        self.reread = reread
        self.stop = stop
        self.on_up = on_up
        self.on_sections = on_sections
        self.on_down = on_down
        self.on_dropped = on_dropped
        self.drops = DropCounter()
        self.proven_after = proven_after
        self.backoff = backoff
        self.open_timeout = open_timeout
        self._connect: Connector = connect or _default_connect
        self._logger = _RedactingLogger(logging.getLogger("retrovue.watch.ws"), server.token)
        self._current: Connection | None = None
        self._lock = threading.Lock()

    def run(self) -> None:
        token = self.server.token
        url = notifications_url(self.server.base_url, token)
        while not self.stop.is_set():
            if self.reread is not None:
                try:
                    self.server = self.reread()
                except Exception:  # the catalog is busy or the server was removed: keep what we had
                    logging.getLogger(__name__).debug("watch: could not re-read server %s", self.server.name)
                token = self.server.token
                self._logger.secret = token
                url = notifications_url(self.server.base_url, token)
            try:
                ws = self._open(url)
            except Exception as exc:  # any failure to connect: report, back off, try again
                reason, unavailable = _reason(exc, token)
            else:
                reason, unavailable = self._listen(ws, token)
            if self.stop.is_set():
                break
            delay = self.backoff.next(at_cap=unavailable)
            self.on_down(reason, unavailable, delay)
            self.stop.wait(delay)

    def close(self) -> None:
        """Close the open socket (if any) from another thread, to cut a stop short."""
        with self._lock:
            ws = self._current
        if ws is not None:
            with contextlib.suppress(Exception):  # closing a socket that is already broken
                ws.close()

    def _open(self, url: str) -> Connection:
        options: dict[str, Any] = {
            "open_timeout": self.open_timeout,
            "close_timeout": 0.5,
            "max_size": MAX_MESSAGE,
            "logger": self._logger,
        }
        context = _ssl_context(self.server)
        if context is not None:
            options["ssl"] = context
        return self._connect(url, **options)

    def _listen(self, ws: Connection, token: str) -> tuple[str, bool]:
        """Read messages until the stop event or a drop; returns why it ended.

        The connection is used as a context manager (websockets ≥ 17.1 warns otherwise), which also
        closes it on the way out.
        """
        with self._lock:
            self._current = ws
        opened, proven = time.monotonic(), False
        try:
            with ws:
                self.on_up()
                while not self.stop.is_set():
                    if not proven and time.monotonic() - opened >= self.proven_after:
                        self.backoff.reset()  # this connection has proven itself
                        proven = True
                    try:
                        message = ws.recv(timeout=RECV_POLL)
                    except TimeoutError:
                        continue
                    try:
                        keys = changed_sections(message)
                    except NotificationError as exc:
                        notice = self.drops.dropped(str(exc))
                        if notice is not None:
                            self.on_dropped(*notice)
                        continue
                    if keys:
                        self.on_sections(keys)
            return "stopped", False
        except Exception as exc:  # the connection dropped (server restart, network, keepalive timeout)
            return _reason(exc, token)
        finally:
            with self._lock:
                self._current = None
