"""The small pieces every part of a library's run shares: its options, how it is cancelled, how
its outcome is told, and `one_ahead`, the overlap of reading one page with writing the last.

They live apart from `library_sync` so that the run's parts (`finalize`, `gate`) and their tests
can use them without importing the orchestrator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError

__all__ = ["WRITE_PAGES", "CancelledError", "Outcome", "SyncOptions", "catalog_error", "one_ahead"]

WRITE_PAGES = 5
"""Listing pages written per transaction (`item_pages.ItemPages.flush`). A transaction costs the
same fixed work whatever its size (the fence, a snapshot read, a dozen statements, a commit that
waits for the disk on PostgreSQL and MariaDB): five pages of 200 items each commit 110 times in a
110,000-item first sync, not 560. A run that stops early loses at most these pages' writes, which
the next run makes."""

P = TypeVar("P")
Q = TypeVar("Q")


@dataclass(frozen=True)
class SyncOptions:
    deep: bool = False
    force: bool = False  # finalize even past the library's MISSING threshold
    page_size: int = 200
    detail_chunk: int = 100  # keys per checkFiles request: 2 per listing page of 200
    use_gate: bool = True
    resolve_local: bool = True  # re-decide ACTIVE vs REMOTE_ONLY for written items (path mappings)
    # Listing pages read ahead of the writer (memory stays page-bounded): more than the pages
    # stored per transaction, so the listing keeps arriving while a transaction's pages are written.
    prefetch_pages: int = WRITE_PAGES + 1
    heartbeat_every: float | None = None  # seconds between lock heartbeats (None: the default)


class CancelledError(Exception):
    pass


@dataclass
class Outcome:
    status: str
    reason: str | None = None
    missing: int = 0
    deleted: int = 0
    gated: bool = False
    listed: bool = False  # a complete listing: the library's listing count and stamps move
    verification: bool = False  # listed although the gate held: the verification interval was up


def one_ahead(pages: Iterable[P], prepare: Callable[[P], Q]) -> Iterator[tuple[Q, bool]]:
    """Each page prepared as it arrives (compared with the catalog, its detail requests started),
    handed on one page later with whether another page followed: the caller writes a page while
    the next one's detail is in flight.

    When the listing breaks (the server gone, a lie detected), the page in hand is still handed on
    before the error: a run that ends partial keeps what it was told, so a re-key it saw is matched
    by the next run instead of being taken for a new item and a MISSING one. A cancel hands on
    nothing more."""
    pending: list[Q] = []
    source = iter(pages)
    while True:
        try:
            page = next(source)
        except StopIteration:
            break
        except CancelledError:
            raise
        except Exception:
            if pending:
                yield pending.pop(), False
            raise
        plan = prepare(page)
        if pending:
            yield pending.pop(), True
        pending.append(plan)
    if pending:
        yield pending.pop(), False


def catalog_error(exc: SQLAlchemyError) -> str:
    return f"catalog error: {type(exc).__name__}: {str(exc).splitlines()[0]}"
