"""Posters and thumbnails from the Plex server, cached on disk with a size limit.

`ThumbCache` keeps images as files named by a hash of (the Plex server's identity, the image's Plex
path, the size asked for): no token, no title, nothing secret in any path. Reading a file marks it
used; when the cache grows past its limit (200 MB by default) the least recently used files go
first. `PosterSource` fetches what is not cached through the Plex client (`PlexClient.photo`, the
server's photo transcoder, token sent as a header and never logged) and stores it.

Nothing here imports Qt: the window calls `PosterSource.poster` on a worker thread.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from retrovue.account.storage import state_dir
from retrovue.plex.client import PlexClient
from retrovue.store import registry

__all__ = ["DEFAULT_LIMIT", "PosterSource", "ThumbCache", "default_root", "poster_path"]

DEFAULT_LIMIT = 200 * 1024 * 1024


def default_root() -> Path:
    """`thumbs/` in the state directory (`RETROVUE_STATE_DIR`, else the platform's)."""
    return state_dir() / "thumbs"


def poster_path(rating_key: str) -> str:
    """The Plex path of an item's poster (the server redirects it to the current image)."""
    return f"/library/metadata/{rating_key}/thumb"


class ThumbCache:
    def __init__(self, root: Path | None = None, *, limit: int = DEFAULT_LIMIT) -> None:
        self.root = root or default_root()
        self.limit = limit
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()

    @staticmethod
    def key(server: str, thumb: str, width: int, height: int) -> str:
        return hashlib.sha256(f"{server}\n{thumb}\n{width}x{height}".encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.img"

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            data = path.read_bytes()
            os.utime(path)  # used now: the last to be evicted
        except OSError:
            self.misses += 1
            return None
        self.hits += 1
        return data

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError:
            return  # a cache that cannot be written costs the cache, never the window
        self.trim()

    def files(self) -> list[Path]:
        return [p for p in self.root.glob("*/*.img") if p.is_file()]

    def size(self) -> int:
        return sum(_size(p) for p in self.files())

    def trim(self) -> None:
        """Least recently used out first, until the cache fits its limit."""
        with self._lock:
            entries = []
            for path in self.files():
                try:
                    st = path.stat()
                except OSError:
                    continue
                entries.append((st.st_mtime_ns, st.st_size, path))
            total = sum(size for _m, size, _p in entries)
            for _mtime, size, path in sorted(entries, key=lambda e: e[0]):
                if total <= self.limit:
                    break
                try:
                    path.unlink()
                except OSError:
                    continue
                total -= size


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


@dataclass(frozen=True)
class _Server:
    identity: str
    client: PlexClient


class PosterSource:
    """Posters by rating key for the catalog's servers: from the cache, else from Plex (stored)."""

    def __init__(
        self,
        engine: Engine,
        cache: ThumbCache | None = None,
        *,
        client_factory: Callable[..., PlexClient] = PlexClient,
    ) -> None:
        self.engine = engine
        self.cache = cache or ThumbCache()
        self.client_factory = client_factory
        self._servers: dict[int, _Server] = {}
        self._lock = threading.Lock()
        self.fetched = 0  # images read from Plex (not the cache)

    def _server(self, server_id: int) -> _Server:
        with self._lock:
            found = self._servers.get(server_id)
            if found is None:
                with self.engine.connect() as conn:
                    row = registry.get_server_by_id(conn, server_id)
                verify: bool | str = row.ca_bundle or row.verify_tls
                client = self.client_factory(row.base_url, row.token, verify=verify, max_retries=1)
                found = _Server(row.machine_identifier or f"server-{row.id}", client)
                self._servers[server_id] = found
            return found

    def poster(self, server_id: int, thumb: str, width: int, height: int) -> bytes:
        """The image at the Plex path `thumb` (`poster_path(rating_key)`, or a thumb Plex listed)
        scaled to `width` × `height`: cached, or fetched and cached."""
        server = self._server(server_id)
        key = ThumbCache.key(server.identity, thumb, width, height)
        data = self.cache.get(key)
        if data is None:
            data = server.client.photo(thumb, width=width, height=height)
            self.fetched += 1
            self.cache.put(key, data)
        return data

    def close(self) -> None:
        with self._lock:
            for server in self._servers.values():
                server.client.close()
            self._servers.clear()
