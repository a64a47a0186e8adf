"""Coverage: per library, how much of it plays from this machine, and which folder to map next.

Read-only. Unresolved part files are grouped by the library Location that holds them (or, outside
every Location, by their top two folders) so the user sees which single mapping would fix the most.
States are reported as this machine's readers see them; `reevaluate_states` is what changes them.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath, PurePosixPath, PureWindowsPath

from sqlalchemy import Engine

from retrovue import machine as machines
from retrovue.mapping.local import CHUNK_SIZE, StatFn
from retrovue.mapping.resolve import resolver_for, servers
from retrovue.paths import Flavour, LocalOS, PathMapping, Resolver, check_exists, detect_flavour
from retrovue.states import ItemState
from retrovue.store import local as store
from retrovue.store import registry
from retrovue.store.local import LocalItem

__all__ = ["LibraryCoverage", "UnmappedPrefix", "coverage"]

_PRESENT = (ItemState.ACTIVE.value, ItemState.REMOTE_ONLY.value, ItemState.UNAVAILABLE.value)


@dataclass(frozen=True, slots=True)
class UnmappedPrefix:
    """A folder under which part files do not resolve: the mapping the user should consider adding."""

    prefix: str
    reason: str  # an `Outcome` value: no-mapping, escapes, not-absolute, unrepresentable
    parts: int
    example: str


@dataclass(frozen=True, slots=True)
class LibraryCoverage:
    """How much of one library is playable from this machine, and what to map to improve it."""

    server: str
    library_id: int
    library: str
    locations: tuple[str, ...]
    items: int  # present items: ACTIVE, REMOTE_ONLY or UNAVAILABLE
    resolved: int  # items with a version whose every part resolves to a local path
    exist: int | None  # ... and whose files exist here; None when file checks are off
    active: int
    remote_only: int
    unmapped: tuple[UnmappedPrefix, ...] = ()


def _display_dir(plex_path: str, depth: int = 2) -> str:
    """The top `depth` folders of a path, written in its own flavour: a mapping worth suggesting."""
    if not plex_path:
        return "(no file path from Plex)"
    flavour = detect_flavour(plex_path)
    if flavour is None:
        return "(not an absolute path)"
    pure: PurePath = PurePosixPath(plex_path) if flavour is Flavour.POSIX else PureWindowsPath(plex_path)
    folders = pure.parts[:-1]
    return str(type(pure)(*folders[: 1 + depth])) if folders else str(pure)


def _location_matcher(locations: Sequence[str]) -> Resolver:
    """Locations as mappings, so the resolver's own rules say which Location holds a path."""
    return Resolver([PathMapping(loc, "/") for loc in locations], local_os="posix")


@dataclass
class _Tally:
    items: int = 0
    resolved: int = 0
    exist: int = 0
    active: int = 0
    remote_only: int = 0
    unmapped: Counter[tuple[str, str]] = field(default_factory=Counter)
    examples: dict[tuple[str, str], str] = field(default_factory=dict)


def coverage(
    engine: Engine,
    server_name: str | None = None,
    *,
    check_files: bool | None = None,
    top: int = 5,
    chunk_size: int = CHUNK_SIZE,
    max_workers: int = 8,
    timeout: float = 2.0,
    stat: StatFn = os.stat,
    machine: str | None = None,
    local_os: LocalOS | None = None,
) -> list[LibraryCoverage]:
    """Per library: present items, how many resolve, how many exist here, and what is unmapped.

    Unresolved part files are grouped by the library Location that holds them (or, outside every
    Location, by their top two folders) so the user sees which single mapping would fix the most.
    Read-only: states are reported as stored; `reevaluate_states` is what changes them.
    """
    owner = machine or machines.current()
    with engine.connect() as conn:
        chosen = servers(conn, server_name)
        libraries = {s.id: registry.list_libraries(conn, server=s.name) for s in chosen}
    out: list[LibraryCoverage] = []
    for server in chosen:
        check = server.check_local_files if check_files is None else check_files
        libs = libraries[server.id]
        tallies = {lib.id: _Tally() for lib in libs}
        matchers = {lib.id: _location_matcher(lib.locations) for lib in libs}
        resolver = resolver_for(engine, server.id, machine=owner, local_os=local_os)
        for chunk in store.stream_local_items(
            engine, owner, server_id=server.id, states=_PRESENT, chunk_size=chunk_size
        ):
            exists = _existence(chunk, resolver, check, max_workers=max_workers, timeout=timeout, stat=stat)
            for item in chunk:
                tally = tallies.setdefault(item.library_id, _Tally())
                matcher = matchers.get(item.library_id) or _location_matcher(())
                _count_item(tally, item, resolver, exists, matcher)
            resolver.invalidate()
        for lib in libs:
            tally = tallies[lib.id]
            ranked = sorted(tally.unmapped.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
            out.append(
                LibraryCoverage(
                    server=server.name,
                    library_id=lib.id,
                    library=lib.title,
                    locations=lib.locations,
                    items=tally.items,
                    resolved=tally.resolved,
                    exist=tally.exist if check else None,
                    active=tally.active,
                    remote_only=tally.remote_only,
                    unmapped=tuple(
                        UnmappedPrefix(prefix, reason, n, tally.examples[(prefix, reason)])
                        for (prefix, reason), n in ranked
                    ),
                )
            )
    return out


def _existence(
    items: Sequence[LocalItem],
    resolver: Resolver,
    check: bool,
    *,
    max_workers: int,
    timeout: float,
    stat: StatFn,
) -> Callable[[str], bool | None]:
    if not check:
        return lambda _path: True
    local = [
        path
        for item in items
        for files in item.versions.values()
        for plex_path in files
        if (path := resolver.resolve(plex_path)) is not None
    ]
    return check_exists(local, max_workers=max_workers, timeout=timeout, stat=stat).get


def _count_item(
    tally: _Tally,
    item: LocalItem,
    resolver: Resolver,
    exists: Callable[[str], bool | None],
    matcher: Resolver,
) -> None:
    tally.items += 1
    state = item.reader_state
    tally.active += state == ItemState.ACTIVE.value
    tally.remote_only += state == ItemState.REMOTE_ONLY.value
    resolved = present = False
    for files in item.versions.values():
        locals_ = [resolver.resolve(f) for f in files]
        if all(path is not None for path in locals_):
            resolved = True
            present = present or all(exists(path) is True for path in locals_ if path is not None)
        for plex_path, local in zip(files, locals_, strict=True):
            if local is None:
                outcome = resolver.explain(plex_path).outcome
                hit = matcher.explain(plex_path).mapping if plex_path else None
                key = (hit.plex_prefix if hit is not None else _display_dir(plex_path), outcome.value)
                tally.unmapped[key] += 1
                tally.examples.setdefault(key, plex_path)
    tally.resolved += resolved
    tally.exist += present
