"""Fixtures for the Plex client tests: captured real responses and a scriptable fake server.

The fake is an `httpx.MockTransport` handler, not the simulator: these tests pin the client's own
behaviour (paging, retries, errors) one request at a time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from retrovue.plex import PlexClient

TOKEN = "s3cr3t-T0KEN-xyz"
BASE_URL = "http://plex.test:32400"

REFERENCE_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "plex-responses"

Handler = Callable[[httpx.Request], httpx.Response]


def reference_files() -> list[Path]:
    """Captured real Plex responses, or none when the reference folder is not checked out."""
    return sorted(REFERENCE_DIR.glob("*.json")) if REFERENCE_DIR.is_dir() else []


def reference_body(path: Path) -> bytes:
    """The `response` of one captured file, re-encoded as the bytes a server would send."""
    return json.dumps(json.loads(path.read_text(encoding="utf-8"))["response"]).encode()


@pytest.fixture
def reference() -> Callable[[str], bytes]:
    """Load one captured response by file name; skips when the reference folder is absent."""
    if not REFERENCE_DIR.is_dir():
        pytest.skip(f"captured Plex responses not found at {REFERENCE_DIR} (../shared/reference is absent)")

    def load(name: str) -> bytes:
        return reference_body(REFERENCE_DIR / name)

    return load


def container(**fields: Any) -> httpx.Response:
    """A 200 JSON response wrapping `fields` in a MediaContainer."""
    return httpx.Response(200, json={"MediaContainer": fields})


def movie(rk: int | str, **extra: Any) -> dict[str, Any]:
    """A minimal valid movie entry."""
    return {"ratingKey": str(rk), "type": "movie", "title": f"Movie {rk}", **extra}


def episode(rk: int | str, show: int | str = 1, **extra: Any) -> dict[str, Any]:
    """A minimal valid episode entry."""
    return {
        "ratingKey": str(rk),
        "type": "episode",
        "title": f"Ep {rk}",
        "grandparentRatingKey": str(show),
        **extra,
    }


class FakeListing:
    """Serves a list of entries with Plex paging semantics, optionally capping the page size."""

    def __init__(self, entries: list[dict[str, Any]], *, max_page: int | None = None) -> None:
        self.entries = entries
        self.max_page = max_page
        self.starts: list[int] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        start = int(request.url.params.get("X-Plex-Container-Start", "0"))
        size = int(request.url.params.get("X-Plex-Container-Size", str(len(self.entries))))
        if self.max_page is not None:
            size = min(size, self.max_page)
        self.starts.append(start)
        chunk = self.entries[start : start + size]
        return container(size=len(chunk), totalSize=len(self.entries), offset=start, Metadata=chunk)


class Recorder:
    """Wraps a handler and keeps every request it saw."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)


@pytest.fixture
def make_client() -> Iterator[Callable[..., PlexClient]]:
    """Build a PlexClient over a MockTransport handler; no waiting between retries by default."""
    clients: list[PlexClient] = []

    def make(handler: Handler, **options: Any) -> PlexClient:
        options.setdefault("backoff", 0.0)
        client = PlexClient(BASE_URL, TOKEN, transport=httpx.MockTransport(handler), **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
