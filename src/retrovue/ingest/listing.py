"""Can this paged listing be trusted as complete? The checks finalize needs before marking anything.

A listing is the only evidence that an item is gone, so finalize runs only after one that is
consistent with itself. `ListingCheck` watches the pages of one listing (shows, episodes or movies)
as they are consumed and, at the end, names the first reason not to trust it:

- an entry without a rating key (it cannot be matched to the catalog, so it might be anything);
- a rating key seen twice (pages shifted under the walk: an insert or delete moved entries across a
  page boundary, which also means some other entry may have been skipped);
- a `totalSize` that changed between pages, or entries received that disagree with it (too few: a
  short read; too many: a server whose total is wrong).

The walk itself (`plex.paging.walk_pages`) reads until an empty page confirms the end whenever the
pages and the total do not agree, so a capped or under-reported listing is read to its end here
and then refused, rather than taken for complete.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from itertools import pairwise
from typing import Any, TypeVar

from retrovue.plex import Page

__all__ = ["IncompleteListingError", "ListingCheck", "checked"]

T = TypeVar("T")


class IncompleteListingError(Exception):
    """The run cannot prove the listing complete: keep what was written, mark nothing missing."""


class ListingCheck:
    """Consistency of one listing, page by page: `record()` each page, then `raise_if_incomplete()`.

    Rating keys are remembered as 64-bit hashes in a flat array (8 bytes each, sorted once at the
    end), so a 100,000-entry listing costs under a megabyte. A hash collision can only make a
    listing look repeated, which marks nothing missing: the safe direction.
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self.hashes = array("q")
        self.unreadable = 0
        self.received = 0
        self.first_total: int | None = None
        self.last_total: int | None = None
        self.pages = 0
        self._repeated: int | None = None

    def record(self, page: Page[Any]) -> None:
        if self.pages == 0:
            self.first_total = page.total_size
        self.pages += 1
        self.last_total = page.total_size
        self.received += page.count
        self.hashes.extend(hash(key) for key in page.rating_keys() if key is not None)
        self.unreadable += sum(1 for e in page.errors if e.rating_key is None)
        self._repeated = None

    @property
    def repeated(self) -> int:
        """How many entries repeated a rating key already listed."""
        if self._repeated is None:
            ordered = sorted(self.hashes)
            self._repeated = sum(1 for a, b in pairwise(ordered) if a == b)
        return self._repeated

    def problem(self) -> str | None:
        """Why this listing cannot be taken as complete, or None when it can."""
        if self.unreadable:
            return f"{self.unreadable} {self.what} listing entries could not be read (no rating key)"
        if self.repeated:
            return f"the {self.what} listing repeated {self.repeated} entries: it shifted while it was read"
        if self.first_total != self.last_total:
            return (
                f"the {self.what} listing changed size while it was read "
                f"({self.first_total} → {self.last_total} entries)"
            )
        if self.last_total is not None and self.received != self.last_total:
            return (
                f"the {self.what} listing announced {self.last_total} entries but {self.received} came back"
            )
        return None

    def raise_if_incomplete(self) -> None:
        if (reason := self.problem()) is not None:
            raise IncompleteListingError(f"{reason}; nothing was marked missing, run sync again")


def checked(pages: Iterable[Page[T]], check: ListingCheck) -> Iterator[Page[T]]:
    """The pages of a listing, each recorded in `check` as it goes by."""
    for page in pages:
        check.record(page)
        yield page
