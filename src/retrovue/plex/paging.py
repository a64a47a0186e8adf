"""Walking a paged Plex listing to its end, and refusing to loop forever.

Plex pages with `X-Plex-Container-Start`/`-Size` and reports the whole listing's `totalSize` in each
response. The server may send fewer entries than asked, so the walk advances by what came back, not
by what it asked for. The walk is a pure loop over a `fetch(start, size)` function, so its rules are
tested without HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from retrovue.plex.decode import Page

__all__ = ["MAX_PAGES", "NotAdvancingError", "walk_pages"]

T = TypeVar("T")

MAX_PAGES = 100_000
"""Hard stop for a walk, far above any real library (20 million entries at the default size)."""


class NotAdvancingError(Exception):
    """The server answers, but the walk would never reach the end of the listing."""


def walk_pages(
    fetch: Callable[[int, int], Page[T]], page_size: int, *, max_pages: int = MAX_PAGES
) -> Iterator[Page[T]]:
    """Yield every non-empty page of a listing, in order, until its end is confirmed.

    Rules, in the order they are checked after each response:

    * an empty page ends the walk (past the end, or the listing shrank under us);
    * a page whose echoed offset is not the one asked for, or that repeats the previous page's
      entries exactly (by rating key), means the server ignores the start parameter: `NotAdvancingError`;
    * otherwise the page is yielded and the start advances by the entries received;
    * the walk ends without another request only when the entries received reach the latest
      `totalSize` exactly *and* the page was shorter than asked: the two agree that this is the end.
      A full page at the announced total, a total already passed (a server whose `totalSize` is
      too low), or a listing without a total, is followed by further requests until an empty page
      confirms the end. A short page alone proves nothing: servers may cap pages (Plex may send
      fewer entries than asked).

    Inserts or deletes during the walk shift later pages (listings are sorted by title); callers
    that need a complete listing compare what they received with the pages' `total_size` and look
    for repeated rating keys (see `ingest.listing`).
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    start = 0
    previous: tuple[str | None, ...] | None = None
    for _ in range(max_pages):
        page = fetch(start, page_size)
        if page.count == 0:
            return
        if page.offset != start:
            raise NotAdvancingError(f"asked for entries from {start}, got a page starting at {page.offset}")
        keys = page.rating_keys()
        if keys == previous and any(key is not None for key in keys):
            raise NotAdvancingError(f"the page at {start} repeats the previous page")
        previous = keys
        yield page
        start += page.count
        if page.total_size is not None and start == page.total_size and page.count < page_size:
            return
    raise NotAdvancingError(f"still not at the end after {max_pages} pages")
