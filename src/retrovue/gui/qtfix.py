"""A guard against reference-count bugs of PySide6 6.12 on Python 3.11.

PySide6 6.12.0 gives back `None`, `True` and `False` without owning a reference to them on several
paths: `SignalInstance.emit()` called from Python (its bool result), a Python slot called by a
`QTimer` (its `None` result), `QTimer.singleShot` with a Python callable. Each call takes one
reference away; after a few thousand (a progress bar ticking every second, every engine event
forwarded to the window, every background read) Python 3.11 aborts with "Fatal Python error:
none_dealloc" or "bool_dealloc". From Python 3.12 on these objects are immortal and the missing
references do no harm.

`install()` makes them immortal on 3.11 too, the way 3.12 does: their reference counts are raised
by 2**40, which no session reaches by taking one at a time. They are static objects, never freed,
so a higher count changes nothing else.
"""

from __future__ import annotations

import ctypes
import sys

__all__ = ["PAD", "install"]

PAD = 1 << 40
_installed = False


def install() -> bool:
    """Pad the singletons' counts on Python before 3.12; returns whether it did (once per process)."""
    global _installed
    if _installed or sys.version_info >= (3, 12):
        return _installed
    for obj in (None, True, False):
        count = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt, the first field of every object
        count.value += PAD
    _installed = True
    return True
