"""Plex's item detail (`/library/metadata/{k1,k2,…}`), batched and in flight while the run goes on.

New and changed items need detail for Part `accessible`/`exists` (`checkFiles=1`), their streams and
their full tag lists; new and changed shows need it for their full tag lists (a listing carries only
the first genres). A page's detail requests are started as soon as the page is compared with the
catalog and collected only when the page is written, so they overlap with the next page's listing
and comparison. A failed batch is not fatal: its items are stored with `detail_pending` and the
next run (gated or not) checks them; its shows are left for the next listing (`LibrarySync`).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from retrovue.errors import PlexBadResponseError, PlexNotFoundError, PlexUnreachableError
from retrovue.plex import Page, PlexClient
from retrovue.plex.models import Episode, Movie, Show

__all__ = ["DetailFetch", "DetailResult", "ShowDetailFetch"]

D = TypeVar("D", Episode | Movie, Show)


@dataclass
class DetailResult(Generic[D]):
    details: dict[str, D] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)  # keys whose request failed (retry them)

    def unchecked(self, keys: Sequence[str]) -> list[str]:
        """Keys that got no detail, whether their request failed or Plex did not return them."""
        return [k for k in keys if k not in self.details]


class _Fetch(Generic[D]):
    """Detail for `keys`, `chunk` per request, submitted to `executor` at once; `result()` waits.
    Only entries of `kinds` are kept (a key re-used by another kind of item is not this one)."""

    def __init__(
        self,
        client: PlexClient,
        executor: Executor | None,
        keys: Sequence[str],
        chunk: int,
        *,
        kinds: tuple[type[D], ...],
        check_files: bool,
    ) -> None:
        self.keys = list(keys)
        self._kinds: tuple[type[D], ...] = kinds
        self._check_files = check_files
        groups = [self.keys[i : i + chunk] for i in range(0, len(self.keys), chunk)]
        self._client = client
        self._futures: list[tuple[list[str], Future[Page[object] | None]]] = []
        self._inline: list[tuple[list[str], Page[object] | None]] = []
        for group in groups:
            if executor is None:
                self._inline.append((group, self._fetch(group)))
            else:
                self._futures.append((group, executor.submit(self._fetch, group)))

    def _fetch(self, group: list[str]) -> Page[object] | None:
        try:
            page = self._client.metadata(group, check_files=self._check_files, chunk=len(group))
            return page  # type: ignore[return-value]
        except PlexNotFoundError:  # none of the group exists any more: nothing to check
            return Page(offset=0, total_size=0)
        except (PlexBadResponseError, PlexUnreachableError):
            return None

    def result(self) -> DetailResult[D]:
        out: DetailResult[D] = DetailResult()
        done = self._inline + [(group, future.result()) for group, future in self._futures]
        for group, page in done:
            if page is None:
                out.failed.update(group)
                continue
            for item in page.items:
                if isinstance(item, self._kinds):
                    out.details[item.rating_key] = item
        return out


class DetailFetch(_Fetch[Episode | Movie]):
    """Episodes' and movies' detail with Plex's file check (`checkFiles=1`)."""

    def __init__(
        self, client: PlexClient, executor: Executor | None, keys: Sequence[str], chunk: int
    ) -> None:
        super().__init__(client, executor, keys, chunk, kinds=(Episode, Movie), check_files=True)


class ShowDetailFetch(_Fetch[Show]):
    """Shows' detail (every genre, collection and label; the external ids a show listing lacks)."""

    def __init__(
        self, client: PlexClient, executor: Executor | None, keys: Sequence[str], chunk: int
    ) -> None:
        super().__init__(client, executor, keys, chunk, kinds=(Show,), check_files=False)
