"""Paging: advance by what came back, follow totalSize, stop on empty pages, never loop forever."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from retrovue.errors import PlexBadResponseError
from retrovue.plex import ItemError, Page, PlexClient
from retrovue.plex.paging import NotAdvancingError, walk_pages
from tests.plex.conftest import FakeListing, Recorder, container, episode, movie


class Keys:
    """A scripted listing of plain keys for the pure walk: `pages[start]` or a slice of `keys`."""

    def __init__(self, keys: list[str], *, cap: int | None = None, total: int | str | None = "auto") -> None:
        self.keys = keys
        self.cap = cap
        self.total = total
        self.calls: list[tuple[int, int]] = []

    def __call__(self, start: int, size: int) -> Page[ItemError]:
        self.calls.append((start, size))
        size = min(size, self.cap) if self.cap else size
        chunk = self.keys[start : start + size]
        total = len(self.keys) if self.total == "auto" else self.total
        assert not isinstance(total, str)
        # ItemErrors stand in for items: the walk only looks at counts and rating keys.
        return Page(offset=start, total_size=total, errors=[ItemError(key, "x") for key in chunk])


def walked(fetch: Keys, page_size: int) -> list[str | None]:
    return [key for page in walk_pages(fetch, page_size) for key in page.rating_keys()]


KEYS = [str(n) for n in range(10)]


def test_exact_pages_confirm_the_end_with_one_empty_page() -> None:
    fetch = Keys(KEYS)
    assert walked(fetch, 5) == KEYS
    # A full page at totalSize does not prove the end (a server may cap pages or under-report its
    # total): one more request must come back empty.
    assert fetch.calls == [(0, 5), (5, 5), (10, 5)]


def test_a_short_last_page_at_the_total_ends_the_walk() -> None:
    fetch = Keys(KEYS)
    assert walked(fetch, 4) == KEYS
    assert fetch.calls == [(0, 4), (4, 4), (8, 4)]  # 2 < 4 and 10 == totalSize: both agree


def test_a_total_that_is_too_low_is_walked_past() -> None:
    """A server announcing 30 entries while serving full pages of 20: the rest is still read."""
    keys = [str(n) for n in range(55)]
    fetch = Keys(keys, total=30)
    assert walked(fetch, 20) == keys
    assert [start for start, _ in fetch.calls] == [0, 20, 40, 55]


def test_pages_capped_without_a_total_are_followed_to_an_empty_page() -> None:
    keys = [str(n) for n in range(150)]
    fetch = Keys(keys, cap=60, total=None)
    assert walked(fetch, 200) == keys
    assert [start for start, _ in fetch.calls] == [0, 60, 120, 150]


def test_short_pages_advance_by_what_came_back() -> None:
    fetch = Keys(KEYS, cap=3)
    assert walked(fetch, 5) == KEYS
    assert [start for start, _ in fetch.calls] == [0, 3, 6, 9]


def test_empty_listing_yields_nothing() -> None:
    fetch = Keys([])
    assert walked(fetch, 5) == []
    assert fetch.calls == [(0, 5)]


def test_empty_page_stops_even_if_total_says_more() -> None:
    fetch = Keys(KEYS[:4], total=100)
    assert walked(fetch, 4) == KEYS[:4]
    assert fetch.calls == [(0, 4), (4, 4)]


def test_without_total_a_short_page_is_not_the_last() -> None:
    fetch = Keys(KEYS, total=None)
    assert walked(fetch, 4) == KEYS
    assert fetch.calls == [(0, 4), (4, 4), (8, 4), (10, 4)]


def test_without_total_a_full_last_page_needs_one_empty_page() -> None:
    fetch = Keys(KEYS[:8], total=None)
    assert walked(fetch, 4) == KEYS[:8]
    assert fetch.calls == [(0, 4), (4, 4), (8, 4)]


def test_total_size_growing_during_the_walk_is_followed() -> None:
    keys = KEYS[:6]
    fetch = Keys(keys)

    def growing(start: int, size: int) -> Page[ItemError]:
        page = fetch(start, size)
        if start == 0:
            keys.extend(["a", "b"])  # added while we walk
        return page

    assert [k for page in walk_pages(growing, 3) for k in page.rating_keys()] == [*KEYS[:6], "a", "b"]


def test_total_size_shrinking_stops_early() -> None:
    keys = list(KEYS)
    fetch = Keys(keys)

    def shrinking(start: int, size: int) -> Page[ItemError]:
        page = fetch(start, size)
        del keys[6:]
        return page

    pages = list(walk_pages(shrinking, 3))
    assert [page.total_size for page in pages] == [10, 6]
    assert len(fetch.calls) == 3  # the page at 6 comes back empty


def test_server_ignoring_start_is_detected_by_offset() -> None:
    def stuck(start: int, size: int) -> Page[ItemError]:
        return Page(offset=0, total_size=100, errors=[ItemError(str(n), "x") for n in range(size)])

    with pytest.raises(NotAdvancingError, match="starting at 0"):
        list(walk_pages(stuck, 10))


def test_server_repeating_a_page_is_detected() -> None:
    def stuck(start: int, size: int) -> Page[ItemError]:
        return Page(offset=start, total_size=None, errors=[ItemError(str(n), "x") for n in range(size)])

    with pytest.raises(NotAdvancingError, match="repeats"):
        list(walk_pages(stuck, 10))


def test_hard_page_cap() -> None:
    def endless(start: int, size: int) -> Page[ItemError]:
        return Page(
            offset=start, total_size=None, errors=[ItemError(str(start + n), "x") for n in range(size)]
        )

    with pytest.raises(NotAdvancingError, match="after 5 pages"):
        list(walk_pages(endless, 2, max_pages=5))


def test_page_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="page_size"):
        list(walk_pages(Keys(KEYS), 0))


# --- through the client ----------------------------------------------------------------------


def test_client_pages_with_query_parameters(make_client: Callable[..., PlexClient]) -> None:
    listing = FakeListing([movie(n) for n in range(5)])
    recorder = Recorder(listing)
    client = make_client(recorder, page_size=2)
    pages = list(client.iter_movies("7"))
    assert [[m.rating_key for m in page.items] for page in pages] == [["0", "1"], ["2", "3"], ["4"]]
    assert [page.offset for page in pages] == [0, 2, 4]
    assert client.request_count == 3
    first = recorder.requests[0].url
    assert first.path == "/library/sections/7/all"
    assert dict(first.params) == {
        "type": "1",
        "includeGuids": "1",
        "X-Plex-Container-Start": "0",
        "X-Plex-Container-Size": "2",
    }


def test_client_follows_a_server_that_caps_pages(make_client: Callable[..., PlexClient]) -> None:
    listing = FakeListing([episode(n) for n in range(7)], max_page=3)
    client = make_client(listing, page_size=200)
    keys = [e.rating_key for page in client.iter_episodes("2") for e in page.items]
    assert keys == [str(n) for n in range(7)]
    assert listing.starts == [0, 3, 6]


def test_client_reports_a_server_that_never_advances(make_client: Callable[..., PlexClient]) -> None:
    def ignores_start(request: httpx.Request) -> httpx.Response:
        return container(size=2, totalSize=10, Metadata=[movie(1), movie(2)])

    client = make_client(ignores_start, page_size=2)
    with pytest.raises(PlexBadResponseError, match=r"does not page GET /library/sections/1/all properly"):
        list(client.iter_movies("1"))
    assert client.request_count == 2
