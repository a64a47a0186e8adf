"""Every request ends: a total deadline, a cap on the decoded body, and messages that say what is wrong.

A real socket server in a thread plays a hostile Plex: a body trickled one byte at a time (each
read is quick, so per-read timeouts never fire), a small gzip body that inflates to hundreds of
megabytes, JSON labelled as HTML, a 404 for the section list.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from retrovue.errors import NotPlexServerError, PlexBadResponseError, PlexError, PlexNotFoundError
from retrovue.plex import PlexClient

TOKEN = "Limits-Test-Token-5v8w"
IDENTITY = json.dumps(
    {"MediaContainer": {"size": 0, "machineIdentifier": "m1", "version": "1.41.0"}}
).encode()

Answer = Callable[[socket.socket, str], None]


class RawServer:
    """Accepts connections and lets `answer(sock, path)` write whatever bytes it likes."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.requests = 0
        threading.Thread(target=self._serve, name="raw-plex", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            self.requests += 1
            path = data.split(b" ", 2)[1].decode()
            with contextlib.suppress(OSError):
                self.answer(conn, path)

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def respond(conn: socket.socket, body: bytes, *, status: str = "200 OK", **headers: str) -> None:
    fields = {"Content-Type": "application/json", "Content-Length": str(len(body)), **headers}
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in fields.items())
    conn.sendall(head.encode() + b"\r\n" + body)


@pytest.fixture
def serve() -> Iterator[Callable[[Answer], RawServer]]:
    servers: list[RawServer] = []

    def start(answer: Answer) -> RawServer:
        servers.append(RawServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_a_trickled_body_ends_at_the_deadline(serve: Callable[[Answer], RawServer]) -> None:
    def trickle(conn: socket.socket, _path: str) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
        while True:  # one byte every 50 ms: every read is quick, the body never ends
            conn.sendall(b" ")
            time.sleep(0.05)

    server = serve(trickle)
    with PlexClient(server.url, TOKEN, timeout=30.0, deadline=1.0, max_retries=3, backoff=0) as client:
        started = time.monotonic()
        with pytest.raises(PlexError) as caught:
            client.identity()
        took = time.monotonic() - started
    message = str(caught.value)
    assert "1 s" in message or "deadline" in message, message
    assert "\n" not in message
    assert took < 10, took  # not 30 s of read timeout, not four attempts of it
    assert server.requests == 1  # a server that trickles is not asked again at once


def test_every_request_has_a_deadline_by_default() -> None:
    with PlexClient("http://127.0.0.1:9", TOKEN) as client:
        assert 0 < client.deadline <= 300


def _gzip_bomb(decoded: int) -> bytes:
    head = b'{"MediaContainer": {"size": 0, "machineIdentifier": "m1", "pad": "'
    return gzip.compress(head + b" " * decoded + b'"}}', compresslevel=9)


def test_a_body_inflating_past_the_cap_is_refused(serve: Callable[[Answer], RawServer]) -> None:
    bomb = _gzip_bomb(20 * 1024 * 1024)
    assert len(bomb) < 100 * 1024

    server = serve(lambda conn, _path: respond(conn, bomb, Content_Encoding="gzip"))
    client = PlexClient(server.url, TOKEN, max_body=1024 * 1024, max_retries=0)
    with client, pytest.raises(PlexBadResponseError) as caught:
        client.identity()
    message = str(caught.value)
    assert "1 MiB" in message, message
    assert "\n" not in message


def test_the_default_cap_refuses_a_400_mb_gzip_body(serve: Callable[[Answer], RawServer]) -> None:
    bomb = _gzip_bomb(400 * 1024 * 1024)  # about 400 KB on the wire
    server = serve(lambda conn, _path: respond(conn, bomb, Content_Encoding="gzip"))
    with PlexClient(server.url, TOKEN, max_retries=0) as client:
        assert client.max_body <= 256 * 1024 * 1024
        with pytest.raises(PlexBadResponseError) as caught:
            client.identity()
    assert "decompressed" in str(caught.value) or "larger than" in str(caught.value)


def test_a_body_within_the_cap_is_read(serve: Callable[[Answer], RawServer]) -> None:
    body = gzip.compress(IDENTITY)
    server = serve(lambda conn, _path: respond(conn, body, Content_Encoding="gzip"))
    with PlexClient(server.url, TOKEN, max_body=len(IDENTITY), max_retries=0) as client:
        assert client.identity().machine_identifier == "m1"


def test_json_labelled_as_html_is_read_as_json(serve: Callable[[Answer], RawServer]) -> None:
    server = serve(lambda conn, _path: respond(conn, IDENTITY, Content_Type="text/html; charset=utf-8"))
    with PlexClient(server.url, TOKEN, max_retries=0) as client:
        assert client.identity().machine_identifier == "m1"


def test_a_real_web_page_is_still_not_plex(serve: Callable[[Answer], RawServer]) -> None:
    page = b"<!doctype html><html><body>router login</body></html>"
    server = serve(lambda conn, _path: respond(conn, page, Content_Type="text/html"))
    with PlexClient(server.url, TOKEN, max_retries=0) as client, pytest.raises(NotPlexServerError):
        client.identity()


def test_a_404_for_the_section_list_does_not_blame_a_deleted_library(
    serve: Callable[[Answer], RawServer],
) -> None:
    def answer(conn: socket.socket, path: str) -> None:
        if path.startswith("/identity"):
            respond(conn, IDENTITY)
        else:
            respond(conn, b"", status="404 Not Found")

    server = serve(answer)
    with PlexClient(server.url, TOKEN, max_retries=0) as client, pytest.raises(PlexError) as caught:
        client.sections()
    message = str(caught.value)
    assert "deleted" not in message, message
    assert "/library/sections" in message
    assert "Plex Media Server" in message or "path prefix" in message, message
    assert not isinstance(caught.value, PlexNotFoundError) or "URL" in message
