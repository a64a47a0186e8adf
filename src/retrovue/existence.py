"""Checking local files without ever being held up by a share that does not answer.

A `stat()` on a hung NFS or SMB mount can block for minutes, or for ever on a hard mount, and a
thread blocked in it cannot be cancelled. So checks run on a pool of daemon worker threads that is
*bounded and reused* for the life of the process: a worker stuck in a hung `stat` stays stuck, but
it is one of the pool's few workers, never a new thread per check (which is how `retrovue watch`
once grew from 4 to 22 threads over 18 changes, and ten re-evaluations from 1 to 721).

Each path belongs to a *root* (the folder a share is mounted on: by default the first two
components of the path, `/mnt/nas`, `D:/Media`, `//nas/share`; callers that know the mapping's
local folder pass it). When a check under a root overruns its timeout the root gets a verdict, *not
answering*: later checks under it are answered "unknown" (None) at once, without a `stat`, until one
of the stuck checks returns (the share answered after all). At most half the workers may be busy
with one root, so a hung share cannot starve the checks of the others. The caller waits at most
about `timeout` for a check that hangs, and never longer than it takes the healthy checks to run.

Answers are three-valued: True (exists), False (certainly absent), None (cannot tell: a hung share,
permission denied, an I/O error). "Cannot tell" never means present, and never means absent.
Workers idle for `idle_exit` seconds end; a stuck one ends when its `stat` returns.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = [
    "ExistencePool",
    "default_root",
    "exists_now",
    "pool_for",
    "probe",
    "roots_by_folder",
    "shared_pool",
    "uses_the_real_file_system",
]

T = TypeVar("T")
R = TypeVar("R")
StatFn = Callable[[str], object]

DEFAULT_SIZE = 8


def default_root(path: str) -> str:
    """The folder a share is most likely mounted on: the first two folders of the path's parent."""
    text = path.replace("\\", "/")
    if text.startswith("//"):
        return "//" + "/".join(text[2:].split("/")[:2]).lower()
    if len(text) > 1 and text[1] == ":":
        folders = [p for p in text[2:].split("/") if p][:-1]
        return (text[:2] + "/" + "/".join(folders[:1])).lower()
    folders = [p for p in text.split("/") if p][:-1]
    return "/" + "/".join(folders[:2])


def roots_by_folder() -> Callable[[str], str]:
    """`default_root`, its answers kept by folder (for one batch: many files share a folder).

    Exact: for a path whose name follows a separator and whose folder holds at least two
    characters, `default_root` reads only the folder (the folders it keeps are the parent's; the
    drive letter's colon is at index 1), so paths of one folder share an answer. A share path
    (`//host/share/...`) is always computed: a file directly in `//host` is its own root."""
    seen: dict[str, str] = {}

    def root_of(path: str) -> str:
        cut = max(path.rfind("/"), path.rfind("\\"))
        if cut < 1 or cut == len(path) - 1 or (path[0] in "/\\" and path[1] in "/\\"):
            return default_root(path)
        folder = path[: cut + 1]
        root = seen.get(folder)
        if root is None:
            root = seen[folder] = default_root(path)
        return root

    return root_of


def probe(stat: StatFn, path: str) -> bool | None:
    """True if the path exists, False if it certainly does not, None if the answer is unknown."""
    try:
        stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except ValueError:  # embedded NUL or similar: no such file can exist
        return False
    except OSError:  # permission denied, stale handle, I/O error: we cannot tell
        return None
    return True


@dataclass(eq=False)
class _Job(Generic[T, R]):
    item: T
    root: str
    fn: Callable[[T], R]
    batch: _Batch[T, R]
    started: float | None = None
    answered: bool = False


@dataclass(eq=False)
class _Batch(Generic[T, R]):
    default: R
    results: dict[T, R] = field(default_factory=dict)
    remaining: int = 0


class ExistencePool:
    """At most `size` daemon workers, started when needed and kept for the next call."""

    def __init__(
        self,
        size: int = DEFAULT_SIZE,
        *,
        idle_exit: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if size < 1:
            raise ValueError("an existence pool needs at least one worker")
        self.size = size
        self.idle_exit = idle_exit
        self.per_root = max(1, size // 2)
        self._clock = clock
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._queues: dict[str, deque[_Job[object, object]]] = {}
        self._inflight: Counter[str] = Counter()
        self._running: dict[int, _Job[object, object]] = {}
        self._silent: dict[str, float] = {}
        self._workers = 0
        self._idle = 0

    # --- what callers use -----------------------------------------------------------------------

    def check(
        self,
        paths: Iterable[str],
        *,
        timeout: float = 2.0,
        stat: StatFn = os.stat,
        root_of: Callable[[str], str] = default_root,
    ) -> dict[str, bool | None]:
        """Whether each path exists: True, False or None (see the module)."""
        if root_of is default_root:
            root_of = roots_by_folder()
        return self.map(lambda path: probe(stat, path), paths, default=None, timeout=timeout, root_of=root_of)

    def map(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        default: R,
        timeout: float,
        root_of: Callable[[T], str],
    ) -> dict[T, R]:
        """`fn(item)` for each item on the pool; `default` for one that overran `timeout`, whose root
        was not answering, or that could not be started because every worker is stuck."""
        batch: _Batch[T, R] = _Batch(default)
        with self._lock:
            now = self._clock()
            for item in dict.fromkeys(items):
                root = root_of(item)
                if root in self._silent:
                    batch.results[item] = default
                    continue
                job: _Job[T, R] = _Job(item, root, fn, batch)
                self._queues.setdefault(root, deque()).append(job)  # type: ignore[arg-type]
                batch.remaining += 1
            self._grow()
            self._wake.notify_all()
            while batch.remaining:
                self._wake.wait(min(timeout, 0.05) if timeout > 0 else 0.05)
                now = self._clock()
                self._expire(now, timeout)
                if self._all_stuck(now, timeout):
                    self._give_up(batch)
        return batch.results

    def not_answering(self) -> dict[str, float]:
        """Roots with a check stuck past its timeout, and since when (this process's monotonic clock)."""
        with self._lock:
            return dict(self._silent)

    @property
    def threads(self) -> int:
        """Worker threads alive (stuck ones included): never more than `size`."""
        with self._lock:
            return self._workers

    # --- inside (the lock is held) --------------------------------------------------------------

    def _grow(self) -> None:
        waiting = sum(len(q) for q in self._queues.values())
        while self._workers < self.size and waiting > self._idle:
            self._workers += 1
            waiting -= 1
            threading.Thread(target=self._work, name="retrovue-exists", daemon=True).start()

    def _answer(self, job: _Job[T, R], value: R) -> None:
        if not job.answered:
            job.answered = True
            job.batch.results[job.item] = value
            job.batch.remaining -= 1
            if job.batch.remaining == 0:
                self._wake.notify_all()

    def _expire(self, now: float, timeout: float) -> None:
        for job in self._running.values():
            if job.started is not None and now - job.started >= timeout and not job.answered:
                self._silent.setdefault(job.root, now)
                self._answer(job, job.batch.default)
        for root in list(self._silent):
            queue = self._queues.pop(root, None)
            for job in queue or ():
                self._answer(job, job.batch.default)

    def _all_stuck(self, now: float, timeout: float) -> bool:
        if self._workers < self.size or self._idle:
            return False
        return all(j.started is not None and now - j.started >= timeout for j in self._running.values())

    def _give_up(self, batch: _Batch[T, R]) -> None:
        for queue in self._queues.values():
            for job in queue:
                if job.batch is batch:
                    self._answer(job, batch.default)

    def _next_job(self) -> _Job[object, object] | None:
        for root, queue in list(self._queues.items()):
            while queue and queue[0].answered:
                queue.popleft()
            if not queue:
                del self._queues[root]
                continue
            if self._inflight[root] < self.per_root:
                return queue.popleft()
        return None

    def _work(self) -> None:
        me = threading.get_ident()
        while True:
            with self._lock:
                job = self._next_job()
                while job is None:
                    self._idle += 1
                    woken = self._wake.wait(self.idle_exit)
                    self._idle -= 1
                    job = self._next_job()
                    if job is None and not woken:  # idle for a while: the next burst starts another
                        self._workers -= 1
                        return
                job.started = self._clock()
                self._running[me] = job
                self._inflight[job.root] += 1
            try:
                value = job.fn(job.item)
                failed = False
            except Exception:  # an injected probe that fails: the default answer, "cannot tell"
                value, failed = job.batch.default, True
            with self._lock:
                del self._running[me]
                self._inflight[job.root] -= 1
                if not failed:
                    self._silent.pop(job.root, None)  # it answered, however late
                self._answer(job, value)
                self._wake.notify_all()


_shared: ExistencePool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> ExistencePool:
    """The process's one pool for the real file system (created on first use)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ExistencePool()
        return _shared


_pools: weakref.WeakKeyDictionary[Callable[..., object], ExistencePool] = weakref.WeakKeyDictionary()


def pool_for(fn: Callable[..., object], size: int = DEFAULT_SIZE) -> ExistencePool:
    """The pool for a file-system function: the shared one for the real `os.stat` (and anything in
    `real`), one per injected function otherwise, so a test's simulated hang stays its own."""
    if fn is os.stat or fn in _real:
        return shared_pool()
    with _shared_lock:
        try:
            pool = _pools.get(fn)
            if pool is None:
                pool = _pools[fn] = ExistencePool(size)
        except TypeError:  # cannot be weakly referenced: a pool of its own
            pool = ExistencePool(size)
    return pool


_real: set[Callable[..., object]] = set()


def uses_the_real_file_system(fn: Callable[..., object]) -> None:
    """Declare a probe that touches the real file system: it shares the process's pool."""
    _real.add(fn)


def exists_now(path: str, *, timeout: float = 1.0, root: str | None = None) -> bool | None:
    """One path on the shared pool: True, False, or None when its share does not answer in time."""
    return shared_pool().check([path], timeout=timeout, root_of=lambda _p: root or default_root(path))[path]
