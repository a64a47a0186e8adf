"""An HTTP transport for tests that must prove requests are in flight together.

`FirstHeldUntil` answers the first request of a kind only once a later one of the same kind was
sent (or after 10 s). Code that sends those requests one after another cannot release it, so the
test sees `released` False; code that overlaps them sees True, whatever the machine's speed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx

__all__ = ["FirstHeldUntil"]


class FirstHeldUntil(httpx.BaseTransport):
    """Real HTTP, except that the first request `matches` picks waits until the `nth` is sent."""

    def __init__(
        self, inner: httpx.BaseTransport, matches: Callable[[httpx.Request], bool], nth: int
    ) -> None:
        self._inner = inner
        self._matches = matches
        self._nth = nth
        self._lock = threading.Lock()
        self._sent = 0
        self._nth_sent = threading.Event()
        self.released: bool | None = None  # whether the first was released by the nth (not the timeout)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._matches(request):
            with self._lock:
                self._sent += 1
                n = self._sent
            if n == 1:
                self.released = self._nth_sent.wait(timeout=10)
            elif n >= self._nth:
                self._nth_sent.set()
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()
