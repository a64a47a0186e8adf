"""Mapping roots: is each mapping's local folder there, and is it the same folder as last time?

A run stats each of this machine's mapping roots (a handful of calls, whatever the library size) to
notice what no Plex listing can tell: a share mounted or unmounted since the last run. A root is

    present     a folder with something in it; its signature is its device and inode numbers
    empty       a folder with nothing in it: what a mount point looks like with its share unmounted
    missing     not there at all (or not a folder)
    unreadable  the check failed or did not answer in time (permission denied, a hung share)

Anything but `present` is "down": files under a down root are not checked one by one, and items
that already have a verdict keep it, so an unmounted share never flips a library to REMOTE_ONLY en
masse; the run reports the root instead. The signature is the device and inode, not the mtime: a
remount or a different disk changes them, while a new file deep in the tree (which the mtime of the
root would not show anyway) is found by the next listing that re-decides every item.
"""

from __future__ import annotations

import os
import stat as stat_mod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from retrovue.existence import pool_for, uses_the_real_file_system

__all__ = ["RootProbe", "RootStatus", "probe_root", "probe_roots"]


class RootStatus(StrEnum):
    PRESENT = "present"
    EMPTY = "empty"
    MISSING = "missing"
    UNREADABLE = "unreadable"


@dataclass(frozen=True, slots=True)
class RootProbe:
    """What one root looked like: its status, and for a present root its device:inode signature."""

    status: RootStatus
    signature: str | None = None

    @property
    def down(self) -> bool:
        return self.status is not RootStatus.PRESENT


ProbeFn = Callable[[str], RootProbe]


def probe_root(path: str) -> RootProbe:
    """Look at one local folder (blocking; `probe_roots` bounds the wait)."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return RootProbe(RootStatus.MISSING)
    except (OSError, ValueError):
        return RootProbe(RootStatus.UNREADABLE)
    if not stat_mod.S_ISDIR(st.st_mode):
        return RootProbe(RootStatus.MISSING)
    try:
        with os.scandir(path) as entries:
            empty = next(entries, None) is None
    except OSError:
        return RootProbe(RootStatus.UNREADABLE)
    if empty:
        return RootProbe(RootStatus.EMPTY)
    return RootProbe(RootStatus.PRESENT, f"{st.st_dev}:{st.st_ino}")


def probe_roots(
    paths: Sequence[str], *, probe: ProbeFn = probe_root, timeout: float = 2.0
) -> dict[str, RootProbe]:
    """Probe every root on the bounded, reused pool of `retrovue.existence`; a root that has not
    answered in `timeout` seconds is `unreadable`, and stays so without a new probe until its stuck
    one returns (a hung mount must neither hang the run nor add a thread per run)."""

    def safe(path: str) -> RootProbe:
        try:
            return probe(path)
        except Exception:  # an injected probe that fails is a root we cannot read
            return RootProbe(RootStatus.UNREADABLE)

    return pool_for(probe).map(
        safe, paths, default=RootProbe(RootStatus.UNREADABLE), timeout=timeout, root_of=lambda p: p
    )


uses_the_real_file_system(probe_root)
