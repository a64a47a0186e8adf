"""Run the simulator's ASGI app under uvicorn, in a background thread or in the foreground.

Why it exists: tests and the demo need a real HTTP server on an ephemeral port that starts in
milliseconds and stops cleanly; the CLI needs the same server in the foreground. The access log is
off (URLs can carry the token). The HTTP protocol class also records each connection's transport by
peer address, so the fault layer can reset a connection for real (`transport_for`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["ServerThread", "abort_connection", "transport_for"]

_TRANSPORTS: dict[tuple[str, int], asyncio.Transport] = {}


class _TrackingH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus a registry of live transports keyed by peer address."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.client is not None:
            _TRANSPORTS[self.client] = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self.client is not None:
            _TRANSPORTS.pop(self.client, None)
        super().connection_lost(exc)


def transport_for(client: tuple[str, int] | None) -> asyncio.Transport | None:
    return _TRANSPORTS.get(client) if client else None


def abort_connection(client: tuple[str, int] | None) -> bool:
    """Reset the connection to `client` (RST, not FIN). Returns False if it is already gone."""
    transport = transport_for(client)
    if transport is None:
        return False
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    return True


def make_config(app: Any, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=_TrackingH11Protocol,
        ws="websockets-sansio",
        lifespan="off",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=1,
    )


class ServerThread:
    """uvicorn serving `app` in a daemon thread; `on_loop` receives the server's event loop."""

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        on_loop: Callable[[asyncio.AbstractEventLoop | None], None] | None = None,
    ) -> None:
        self._server = uvicorn.Server(make_config(app, host, port))
        self._host = host
        self._on_loop = on_loop
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    async def _serve(self) -> None:
        if self._on_loop is not None:
            self._on_loop(asyncio.get_running_loop())
        try:
            await self._server.serve()
        finally:
            if self._on_loop is not None:
                self._on_loop(None)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start()
            self._error = exc

    def start(self, timeout: float = 10.0) -> None:
        self._thread = threading.Thread(target=self._run, name="retrovue-sim", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"simulator failed to start: {self._error!r}")
            time.sleep(0.005)

    @property
    def port(self) -> int:
        for server in self._server.servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        raise RuntimeError("server is not listening")

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)
        self._thread = None
