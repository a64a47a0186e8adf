"""Running a handful of independent requests to one server at once.

Expanding changed shows and fetching item details are many small, independent GETs; a few in flight
hide the network round trip without loading the Plex server (which serialises much of its database
work anyway). httpx.Client is thread-safe, so plain threads over one keep-alive client suffice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import TypeVar

__all__ = ["map_bounded"]

A = TypeVar("A")
R = TypeVar("R")


def map_bounded(fn: Callable[[A], R], items: Iterable[A], max_workers: int) -> list[R]:
    """Apply `fn` to every item with at most `max_workers` calls in flight; results in input order.

    On the first failure, calls not yet started are cancelled, calls already running are allowed to
    finish (their results are dropped), and the failure is raised. With one worker or one item
    everything runs in the calling thread.
    """
    work = list(items)
    if max_workers <= 1 or len(work) <= 1:
        return [fn(item) for item in work]
    with ThreadPoolExecutor(max_workers=min(max_workers, len(work)), thread_name_prefix="plex") as pool:
        futures: list[Future[R]] = [pool.submit(fn, item) for item in work]
        done, _pending = wait(futures, return_when=FIRST_EXCEPTION)
        failed = [future for future in futures if future in done and future.exception() is not None]
        if failed:
            for future in futures:
                future.cancel()
            # The earliest failure in input order among those already finished: deterministic when
            # several fail together.
            error = failed[0].exception()
            assert error is not None
            raise error
        return [future.result() for future in futures]
