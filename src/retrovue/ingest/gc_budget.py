"""Fewer and shorter cycle-collector passes while a library syncs.

CPython starts a collection every 700 new container objects, and a sync makes millions that cannot
form cycles (a page's rows, the driver's parameter tuples): a first sync of 110,595 items ran 2,400
collections, 19 of them over every object of the process, 2.7 s of its CPU for no garbage. While a
library syncs:
- what existed before is frozen (`gc.freeze`): the oldest generation's passes walk only what the
  sync made, not the program's modules, SQLAlchemy's metadata and the GUI's objects;
- the youngest generation is collected every `SYNC_GEN0_THRESHOLD` new objects instead of 700.
Together 0.6 s instead of 2.7. Cycles are still collected, in fewer passes: at most a few
thousand objects wait, so memory stays flat (`tests/ingest/test_memory.py`). Both settings are
the interpreter's: the first of concurrent syncs changes them and the last puts them back, and a
collector the program turned off (threshold 0) stays off, and objects it froze stay frozen."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["SYNC_GEN0_THRESHOLD", "fewer_collections"]

SYNC_GEN0_THRESHOLD = 5_000

_lock = threading.Lock()
_active = 0
_saved: tuple[int, ...] = ()
_froze = False


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect the youngest generation every `SYNC_GEN0_THRESHOLD` objects until the block ends."""
    global _active, _saved, _froze
    with _lock:
        if _active == 0:
            _saved = gc.get_threshold()
            if 0 < _saved[0] < SYNC_GEN0_THRESHOLD:
                gc.set_threshold(SYNC_GEN0_THRESHOLD, *_saved[1:])
            _froze = gc.get_freeze_count() == 0  # a program that froze objects itself keeps them so
            if _froze:
                gc.freeze()
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                gc.set_threshold(*_saved)
                if _froze:
                    gc.unfreeze()
