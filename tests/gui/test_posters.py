"""Posters: the simulator serves generated images at Plex's thumb and photo-transcode endpoints, the
client fetches them, the disk cache keeps them (no token in any path, least recently used out first
past its limit) and the item pane shows them without blocking the window."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from retrovue import servers
from retrovue.catalog import ItemQuery
from retrovue.errors import PlexUnauthorizedError
from retrovue.gui.main_window import MainWindow
from retrovue.gui.posters import POSTER_SIZE, poster_key
from retrovue.plex.client import PlexClient
from retrovue.sim import Simulator
from retrovue.sim.posters import PNG_SIGNATURE
from retrovue.thumbs import ThumbCache, poster_path
from tests.gui.conftest import settle


def test_the_simulator_serves_posters_through_the_photo_transcoder(plex_sim: Simulator) -> None:
    key = plex_sim.add_movie("Poster Movie", year=1999)
    with PlexClient(plex_sim.url, plex_sim.token) as client:
        small = client.photo(poster_path(key), width=40, height=60)
        large = client.photo(poster_path(key), width=80, height=120)
    assert small.startswith(PNG_SIGNATURE)
    assert small != large  # scaled to the size asked for
    direct = httpx.get(
        f"{plex_sim.url}/library/metadata/{key}/thumb/123", headers={"X-Plex-Token": plex_sim.token}
    )
    assert direct.headers["content-type"] == "image/png"
    with PlexClient(plex_sim.url, "not-the-token") as client, pytest.raises(PlexUnauthorizedError):
        client.photo(poster_path(key), width=40, height=60)


def test_the_cache_evicts_the_least_recently_used_past_its_limit(tmp_path: Path) -> None:
    cache = ThumbCache(tmp_path / "thumbs", limit=3000)
    keys = [ThumbCache.key("machine-1", poster_path(str(n)), 160, 240) for n in range(3)]
    for n, key in enumerate(keys):
        cache.put(key, bytes(1000))
        past = time.time() - 100 + n  # written in order, a second apart
        os.utime(cache._path(key), (past, past))
    assert cache.get(keys[0]) is not None  # used now: the most recent
    cache.put(ThumbCache.key("machine-1", poster_path("3"), 160, 240), bytes(1000))
    assert cache.size() <= 3000
    assert cache.get(keys[1]) is None  # the least recently used went first
    assert cache.get(keys[0]) is not None


def test_the_item_pane_shows_the_shows_poster_cached_without_the_token(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine, plex_sim: Simulator, tmp_path: Path
) -> None:
    servers.add_server(engine, "sim", plex_sim.url, plex_sim.token)
    window = make_window(page_size=20)
    with qtbot.waitSignal(window.bus.job_finished, timeout=30_000):
        window.sync_all()
    settle(qtbot, window)
    libraries = window.tree_model.library_ids()
    tv = next(i for i in libraries if window.library.library_kind(i) == "show")
    window.select_library(tv)
    settle(qtbot, window)
    first = window.items_model.rows[0]
    second = next(r for r in window.items_model.rows[1:] if r.show_rating_key == first.show_rating_key)
    window.items.select_item(first.id)
    qtbot.waitUntil(
        lambda: window.detail.poster.pixmap() is not None and not window.detail.poster.pixmap().isNull()
    )
    assert window.detail.poster.pixmap().width() <= POSTER_SIZE[0]
    source = window.posters.source
    assert source.fetched == 1
    window.items.select_item(second.id)  # the same show: the same poster, from the cache
    settle(qtbot, window)
    qtbot.waitUntil(lambda: source.cache.hits >= 1)
    assert source.fetched == 1
    files = source.cache.files()
    assert len(files) == 1
    for path in files:
        assert plex_sim.token not in str(path)
        assert all(c in "0123456789abcdef" for c in path.stem)
    assert str(source.cache.root).startswith(os.environ["RETROVUE_STATE_DIR"])


def test_an_unreachable_server_leaves_the_placeholder(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine
) -> None:
    from tests.gui.conftest import fake_library, fill_items

    server_id, library_id = fake_library(engine)  # http://127.0.0.1:9: nothing answers
    fill_items(engine, server_id, library_id, 2)
    window = make_window()
    window.items.select_item(window.items_model.rows[0].id)
    settle(qtbot, window)
    qtbot.waitUntil(lambda: not window.posters.tasks, timeout=20_000)
    assert window.detail.poster.text() == "no poster"
    assert window.detail.heading.text().endswith("Episode 000000 (1980)")


def test_a_movie_shows_its_summary_and_the_poster_plex_listed(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine, plex_sim: Simulator
) -> None:
    servers.add_server(engine, "sim", plex_sim.url, plex_sim.token)
    window = make_window(page_size=20)
    with qtbot.waitSignal(window.bus.job_finished, timeout=30_000):
        window.sync_all()
    settle(qtbot, window)
    movies = next(i for i in window.tree_model.library_ids() if window.library.library_kind(i) == "movie")
    window.select_library(movies)
    settle(qtbot, window)
    # the table holds what it shows; the item as the read API gives it carries summary and thumb
    page = window.catalog.items(ItemQuery(library_id=movies), limit=1000)
    movie = next(r for r in page.rows if r.summary and r.thumb)
    assert movie.thumb is not None
    assert movie.thumb.startswith(f"/library/metadata/{movie.rating_key}/thumb/")
    window.items.select_item(movie.id)
    settle(qtbot, window)
    assert window.detail.summary.text() == movie.summary  # under the title, as Plex Web shows it
    assert window.detail.summary.isVisibleTo(window)
    qtbot.waitUntil(lambda: not window.detail.poster.pixmap().isNull())
    assert poster_key(movie) == movie.thumb  # the stamped path: a new image is a new cache entry
