"""Plex's file check (`checkFiles=1` item detail), batched and in flight while the run goes on.

New and changed items need detail for Part `accessible`/`exists` and their streams. A page's detail
requests are started as soon as the page is compared with the catalog and collected only when the
page is written, so they overlap with the next page's listing and comparison. A failed batch is not
fatal: its items are stored with `detail_pending` and the next run (gated or not) checks them.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field

from retrovue.errors import PlexBadResponseError, PlexNotFoundError, PlexUnreachableError
from retrovue.plex import Page, PlexClient
from retrovue.plex.models import Episode, Movie

__all__ = ["DetailFetch", "DetailResult"]


@dataclass
class DetailResult:
    details: dict[str, Episode | Movie] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)  # keys whose request failed (retry them)

    def unchecked(self, keys: Sequence[str]) -> list[str]:
        """Keys that got no detail, whether their request failed or Plex did not return them."""
        return [k for k in keys if k not in self.details]


class DetailFetch:
    """Detail for `keys`, `chunk` per request, submitted to `executor` at once; `result()` waits."""

    def __init__(
        self, client: PlexClient, executor: Executor | None, keys: Sequence[str], chunk: int
    ) -> None:
        self.keys = list(keys)
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
            page = self._client.metadata(group, check_files=True, chunk=len(group))
            return page  # type: ignore[return-value]
        except PlexNotFoundError:  # none of the group exists any more: nothing to check
            return Page(offset=0, total_size=0)
        except (PlexBadResponseError, PlexUnreachableError):
            return None

    def result(self) -> DetailResult:
        out = DetailResult()
        done = self._inline + [(group, future.result()) for group, future in self._futures]
        for group, page in done:
            if page is None:
                out.failed.update(group)
                continue
            for item in page.items:
                if isinstance(item, Episode | Movie):
                    out.details[item.rating_key] = item
        return out
