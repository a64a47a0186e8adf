"""Fixtures for the path-mapping tests: a slow file system and a recording desktop runner."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

import pytest


class SlowStat:
    """A `stat` stand-in: paths in `hang` block until released, others answer from `present`.

    It also records the highest number of checks running at once, so tests can see the bound on
    concurrency without timing assumptions.
    """

    def __init__(self, present: set[str], hang: set[str], errors: dict[str, OSError] | None = None) -> None:
        self.present, self.hang, self.errors = present, hang, errors or {}
        self.release = threading.Event()
        self._lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.calls: list[str] = []

    def __call__(self, path: str) -> os.stat_result:
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.calls.append(path)
        try:
            if path in self.hang:
                self.release.wait(30)
            else:
                time.sleep(0.001)  # long enough for checks to overlap
            if path in self.errors:
                raise self.errors[path]
            if path not in self.present:
                raise FileNotFoundError(path)
            return os.stat(os.curdir)
        finally:
            with self._lock:
                self.running -= 1


@pytest.fixture
def slow_stat() -> Iterator[Callable[..., SlowStat]]:
    """Build SlowStat instances; every hung call is released when the test ends."""
    made: list[SlowStat] = []

    def make(
        present: Iterable[str], hang: Iterable[str] = (), errors: dict[str, OSError] | None = None
    ) -> SlowStat:
        stat = SlowStat(set(present), set(hang), errors)
        made.append(stat)
        return stat

    yield make
    for stat in made:
        stat.release.set()


class Recorder:
    """A desktop runner that records argv lists instead of starting programs."""

    def __init__(self, error: OSError | None = None) -> None:
        self.calls: list[list[str]] = []
        self.error = error

    def __call__(self, argv: Sequence[str]) -> None:
        self.calls.append(list(argv))
        if self.error is not None:
            raise self.error


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()
