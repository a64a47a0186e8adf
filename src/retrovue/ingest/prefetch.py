"""Read a listing ahead of the writer: the next pages arrive while the current one is written.

A first sync is a loop of "fetch a page, decode it, compare it, write it". Run in one thread, the
network waits and the database writes add up; here a background thread walks the listing into a
small bounded queue, so at most `depth` decoded pages wait in memory whatever the library size.
Errors raised by the walk (a failed page, a bad response) reach the consumer in order, at the page
where they happened; closing the consumer (cancel, an error while writing) stops the walk.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar, cast

__all__ = ["prefetch"]

T = TypeVar("T")


class _End:
    pass


_END = _End()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetch(source: Iterable[T], depth: int = 2, *, name: str = "prefetch") -> Iterator[T]:
    """Yield `source`'s items, produced by a background thread at most `depth` items ahead."""
    buffer: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in source:
                if not put(item):
                    return
            put(_END)
        except BaseException as exc:  # handed to the consumer, which raises it where it belongs
            put(_Failure(exc))

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield cast(T, item)
    finally:
        stop.set()
        thread.join()
