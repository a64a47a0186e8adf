"""Path mappings as the catalog uses them: store them, resolve items, and keep ACTIVE / REMOTE_ONLY true.

`retrovue.paths` holds the pure rules (how a Plex path becomes a local one). This module joins those
rules to the catalog, for the CLI (`retrovue paths …`) and the GUI alike; it imports neither typer nor
Qt. Local paths are never written anywhere: every answer here is computed from the stored mappings
at the moment it is asked for, so a remounted share or an edited mapping takes effect at once.

Why items are re-evaluated here and not only during a sync: whether an item can be played from this
machine depends on this machine's mounts and mappings, not on Plex. After a mapping is added or
removed (or a share is mounted) the answer changes without anything changing in Plex, so
`reevaluate_states` re-decides ACTIVE vs REMOTE_ONLY from the parts already in the catalog, without
contacting the server. Decisions:

* Only ACTIVE and REMOTE_ONLY items move. UNAVAILABLE, MISSING and DELETED are the sync engine's
  verdicts about Plex and are never touched here.
* An item with several Media (versions: a 4K and a 1080p copy, or a Plex "optimized version") is
  ACTIVE when *one* version plays locally, i.e. every part of that version resolves and exists. A
  strict "every part of every version" rule would mark a whole library REMOTE_ONLY because Plex keeps
  optimized versions in a folder the user never mapped.
* When the server's `check_local_files` is off (or `check_files=False`), nothing is read from disk
  and resolution alone decides: a version whose every part resolves counts as present. That is for
  users whose shares are slow or only mounted when playing; they trade accuracy for speed knowingly.
* A file check that cannot answer (a hung mount, permission denied) leaves the item as it was rather
  than flipping thousands of items because a NAS was slow; such items are counted as `unknown`.
* Items without parts are left alone: there is nothing to play locally and the engine judges them.

The work is streamed: items are read in id order, `chunk_size` at a time (keyset pagination, one
short read transaction per chunk), resolved with one Resolver per server, checked on disk with
bounded concurrency outside any transaction, and written back with one UPDATE per target state per
chunk (plus one INSERT … SELECT into item_events for the history). The UPDATE also requires the old
state, so an item that a concurrent sync marked MISSING meanwhile is not overwritten.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath, PurePosixPath, PureWindowsPath

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from retrovue import desktop
from retrovue.errors import BadMappingError, ConfigError
from retrovue.paths import (
    Flavour,
    LocalOS,
    PathMapping,
    Resolution,
    Resolver,
    check_exists,
    detect_flavour,
    playable_state,
    suggest_mappings,
    validate_mapping,
)
from retrovue.states import ItemState
from retrovue.store import registry
from retrovue.store import schema as t
from retrovue.store.registry import ServerRow

__all__ = [
    "CHUNK_SIZE",
    "ItemPath",
    "LibraryCoverage",
    "MappingChange",
    "MappingInfo",
    "PathTest",
    "ReevalResult",
    "Suggestion",
    "UnmappedPrefix",
    "add_mapping",
    "coverage",
    "list_mappings",
    "local_paths",
    "open_item",
    "reevaluate_states",
    "remove_mapping",
    "resolver_for",
    "reveal_item",
    "suggest",
    "test_path",
]

CHUNK_SIZE = 5_000
"""Items per read/check/write round: big enough to amortise statements, small enough for memory."""

EVENT_DETAIL = "path mappings"
"""`item_events.detail` of state changes made here, so history tells them from sync verdicts."""

_MOVABLE = (ItemState.ACTIVE, ItemState.REMOTE_ONLY)
_PRESENT = (ItemState.ACTIVE, ItemState.REMOTE_ONLY, ItemState.UNAVAILABLE)

StatFn = Callable[[str], object]
Progress = Callable[[str, int], None]
"""Called after each chunk with the server name and the number of items examined so far."""


# --------------------------------------------------------------------------------------------------
# Result types: plain frozen data, so the CLI, the GUI and tests format them as they like.


@dataclass(frozen=True, slots=True)
class MappingInfo:
    """A stored mapping, with why it cannot apply on this machine (None when it can)."""

    id: int
    server: str
    plex_prefix: str
    local_prefix: str
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class ReevalResult:
    """What `reevaluate_states` did for one server."""

    server: str
    checked_files: bool
    examined: int = 0
    to_active: int = 0
    to_remote_only: int = 0
    unchanged: int = 0
    unknown: int = 0
    no_parts: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> int:
        return self.to_active + self.to_remote_only

    def describe(self) -> str:
        """One line for people: what moved, and what was deliberately left alone."""
        text = (
            f"{self.server}: re-evaluated {self.examined} items: {self.to_active} became ACTIVE, "
            f"{self.to_remote_only} became REMOTE_ONLY, {self.unchanged} unchanged"
        )
        if self.unknown:
            text += f", {self.unknown} left as they were (file check could not answer)"
        if self.no_parts:
            text += f", {self.no_parts} without files"
        if not self.checked_files:
            text += " (local files not checked: a resolving path counts as present)"
        return text


@dataclass(frozen=True, slots=True)
class MappingChange:
    """An added or removed mapping and, unless deferred, the re-evaluation it caused."""

    mapping: MappingInfo
    reevaluation: ReevalResult | None


@dataclass(frozen=True, slots=True)
class PathTest:
    """`retrovue paths test`: which mapping won for one Plex path, and whether the file is here."""

    server: str
    resolution: Resolution
    exists: bool | None
    checked: bool

    def describe(self) -> str:
        line = self.resolution.describe()
        if self.resolution.local_path is None:
            return line
        if not self.checked:
            return f"{line}; file not checked (local file checks are off for {self.server})"
        state = {True: "exists", False: "does NOT exist", None: "could not be checked (timeout or error)"}
        return f"{line}; the file {state[self.exists]}"


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


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A proposed mapping, the libraries it would cover, and where its prefix is already mapped."""

    mapping: PathMapping
    libraries: tuple[str, ...]
    mapped_to: str | None = None  # the local prefix stored for the same Plex prefix, if any

    @property
    def already_mapped(self) -> bool:
        return self.mapped_to is not None


@dataclass(frozen=True, slots=True)
class ItemPath:
    """One part of an item, with its Plex path and what it resolves to right now."""

    media_index: int
    part_index: int
    plex_path: str
    resolution: Resolution

    @property
    def local_path(self) -> str | None:
        return self.resolution.local_path


# --------------------------------------------------------------------------------------------------
# Mappings


def _now() -> int:
    return int(time.time())


def _stored(conn: Connection, server_id: int) -> list[PathMapping]:
    return [PathMapping(m.plex_prefix, m.local_prefix, m.id) for m in registry.list_mappings(conn, server_id)]


def _servers(conn: Connection, server_name: str | None) -> list[ServerRow]:
    if server_name is not None:
        return [registry.get_server(conn, server_name)]
    return registry.list_servers(conn)


def _prefix_key(plex_prefix: str) -> str:
    """What makes two Plex prefixes "the same" (separators, trailing slashes, Windows case).

    `validate_mapping` with a dummy local side gives the canonical spelling, so removal matches by
    the very rules that refused the duplicate on the way in.
    """
    canonical = validate_mapping(plex_prefix, "/", (), local_os="posix").plex_prefix
    return canonical if detect_flavour(canonical) is Flavour.POSIX else canonical.casefold()


def _stored_key(plex_prefix: str) -> str:
    """`_prefix_key` for a stored prefix, which another writer may have left non-canonical."""
    try:
        return _prefix_key(plex_prefix)
    except BadMappingError:
        return plex_prefix


def resolver_for(engine: Engine, server_id: int, *, local_os: LocalOS | None = None) -> Resolver:
    """A Resolver over a server's stored mappings; build one per run and reuse it (it caches)."""
    with engine.connect() as conn:
        return Resolver(_stored(conn, server_id), local_os=local_os)


def list_mappings(
    engine: Engine, server_name: str | None = None, *, local_os: LocalOS | None = None
) -> list[MappingInfo]:
    """Every mapping of one server (or all), sorted by prefix, flagging those unusable here.

    A catalog can be shared by several machines, so a mapping written on Windows (`M:\\Media`) is
    kept but reported as unusable on Linux instead of being hidden.
    """
    out: list[MappingInfo] = []
    with engine.connect() as conn:
        for server in _servers(conn, server_name):
            mappings = _stored(conn, server.id)
            problems = {m.id: reason for m, reason in Resolver(mappings, local_os=local_os).skipped}
            for m in sorted(mappings, key=lambda m: (m.plex_prefix.casefold(), m.plex_prefix)):
                assert m.id is not None
                out.append(MappingInfo(m.id, server.name, m.plex_prefix, m.local_prefix, problems.get(m.id)))
    return out


def add_mapping(
    engine: Engine,
    server_name: str,
    plex_prefix: str,
    local_prefix: str,
    *,
    reevaluate: bool = True,
    check_files: bool | None = None,
    local_os: LocalOS | None = None,
    now: int | None = None,
) -> MappingChange:
    """Validate and store a mapping, then re-decide the server's ACTIVE / REMOTE_ONLY items.

    Raises `BadMappingError` (one line) for an empty or relative prefix or one already mapped. The
    canonical form from `validate_mapping` is what is stored. Pass `reevaluate=False` to add several
    mappings and re-evaluate once at the end.
    """
    with engine.begin() as conn:
        server = registry.get_server(conn, server_name)
        mapping = validate_mapping(plex_prefix, local_prefix, _stored(conn, server.id), local_os=local_os)
        new_id = registry.add_mapping(
            conn, server.id, mapping.plex_prefix, mapping.local_prefix, now=_now() if now is None else now
        )
    info = MappingInfo(new_id, server.name, mapping.plex_prefix, mapping.local_prefix)
    result = None
    if reevaluate:
        (result,) = reevaluate_states(engine, server.name, check_files=check_files, local_os=local_os)
    return MappingChange(info, result)


def remove_mapping(
    engine: Engine,
    server_name: str,
    plex_prefix: str,
    *,
    reevaluate: bool = True,
    check_files: bool | None = None,
    local_os: LocalOS | None = None,
) -> MappingChange:
    """Remove the mapping for `plex_prefix` (matched as `add` would match a duplicate), then re-evaluate.

    Raises `BadMappingError` when the server has no such mapping, listing the ones it has.
    """
    key = _prefix_key(plex_prefix)
    with engine.begin() as conn:
        server = registry.get_server(conn, server_name)
        stored = _stored(conn, server.id)
        found = [m for m in stored if _stored_key(m.plex_prefix) == key]
        if not found:
            have = ", ".join(m.plex_prefix for m in stored) or "none"
            raise BadMappingError(
                f"server {server.name!r} has no mapping for {plex_prefix.strip()!r} (mapped: {have}); "
                f"see `retrovue paths list {server.name}`"
            )
        for m in found:
            registry.remove_mapping(conn, server.id, m.plex_prefix)
    gone = found[0]
    assert gone.id is not None
    info = MappingInfo(gone.id, server.name, gone.plex_prefix, gone.local_prefix)
    result = None
    if reevaluate:
        (result,) = reevaluate_states(engine, server.name, check_files=check_files, local_os=local_os)
    return MappingChange(info, result)


def test_path(
    engine: Engine,
    server_name: str,
    plex_path: str,
    *,
    check_files: bool | None = None,  # noqa: PT028 (ruff takes `test_*` for a pytest test)
    timeout: float = 2.0,  # noqa: PT028
    local_os: LocalOS | None = None,  # noqa: PT028
) -> PathTest:
    """Which mapping wins for `plex_path`, what it becomes, and whether that file exists here.

    The file is checked with a timeout (a hung share answers "unknown", not a hang), and only when
    the server's `check_local_files` is on, unless `check_files` says otherwise.
    """
    with engine.connect() as conn:
        server = registry.get_server(conn, server_name)
        resolver = Resolver(_stored(conn, server.id), local_os=local_os)
    resolution = resolver.explain(plex_path)
    checked = server.check_local_files if check_files is None else check_files
    exists: bool | None = None
    if checked and resolution.local_path is not None:
        exists = check_exists([resolution.local_path], timeout=timeout)[resolution.local_path]
    return PathTest(server.name, resolution, exists, checked)


test_path.__test__ = False  # type: ignore[attr-defined]  # not a pytest test, despite its name


def suggest(
    engine: Engine,
    server_name: str,
    local_roots: Sequence[str],
    *,
    check_disk: bool = True,
    timeout: float = 2.0,
    local_os: LocalOS | None = None,
) -> list[Suggestion]:
    """Propose mappings from the server's library Locations and local folders the user named.

    With `check_disk` a proposal is only made when the library's folder exists at the proposed place
    (checked with a timeout, so a dead share cannot hang the prompt). Proposals already stored are
    returned with the stored local prefix rather than dropped, so the user sees they were considered.
    """
    with engine.connect() as conn:
        server = registry.get_server(conn, server_name)
        libraries = registry.list_libraries(conn, server=server.name)
        stored = {_stored_key(m.plex_prefix): m.local_prefix for m in _stored(conn, server.id)}
    if not local_roots:
        raise ConfigError("name at least one local folder where the server's files are mounted")

    def is_dir(path: str) -> bool:
        return check_exists([path], timeout=timeout, stat=os.stat)[path] is True

    locations = [loc for lib in libraries for loc in lib.locations]
    proposals = suggest_mappings(
        locations, local_roots, local_os=local_os, exists=is_dir if check_disk else None
    )
    out: list[Suggestion] = []
    for proposal in proposals:
        one = Resolver([proposal], local_os=local_os)
        covers = tuple(
            lib.title for lib in libraries if any(one.resolve(loc) is not None for loc in lib.locations)
        )
        out.append(Suggestion(proposal, covers, stored.get(_stored_key(proposal.plex_prefix))))
    return out


# --------------------------------------------------------------------------------------------------
# Streaming items with their parts


@dataclass(slots=True)
class _Item:
    id: int
    library_id: int
    state: ItemState
    versions: dict[int, list[str]] = field(default_factory=dict)  # media_index -> files, part order


def _stream_items(
    engine: Engine,
    server_id: int,
    states: Sequence[ItemState],
    chunk_size: int,
    *,
    library_id: int | None = None,
    scanned_since: int | None = None,
) -> Iterator[list[_Item]]:
    """A server's items in `states`, with their part files, `chunk_size` items at a time, by id.

    Keyset pagination (`id > last`) keeps every read cheap however deep into the catalog it is, and
    each chunk is read in its own short transaction that is closed before the caller checks files,
    so a slow share never holds a database lock.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    c, p = t.media_items.c, t.media_parts.c
    wanted = [s.value for s in states]
    scope = sa.and_(c.server_id == server_id, c.state.in_(wanted))
    if library_id is not None:
        scope = sa.and_(scope, c.library_id == library_id)
    if scanned_since is not None:
        scope = sa.and_(scope, c.last_scan_at >= scanned_since)
    last = -1
    while True:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(c.id, c.library_id, c.state)
                .where(scope, c.id > last)
                .order_by(c.id)
                .limit(chunk_size)
            ).all()
            if not rows:
                return
            items = {r.id: _Item(r.id, r.library_id, ItemState(r.state)) for r in rows}
            low, high = rows[0].id, rows[-1].id
            parts = conn.execute(
                sa.select(p.item_id, p.media_index, p.file)
                .join(t.media_items, c.id == p.item_id)
                .where(scope, p.item_id >= low, p.item_id <= high)
                .order_by(p.item_id, p.media_index, p.part_index)
            )
            for part in parts:
                item = items.get(part.item_id)
                if item is not None:
                    item.versions.setdefault(part.media_index, []).append(part.file or "")
        yield list(items.values())
        if len(rows) < chunk_size:
            return
        last = high


def _existence(
    items: Iterable[_Item],
    resolver: Resolver,
    check: bool,
    *,
    max_workers: int,
    timeout: float,
    stat: StatFn,
) -> Callable[[str], bool | None]:
    """An existence lookup for every resolvable part of a chunk, checked in one bounded batch."""
    if not check:
        return _assume_present
    local = [
        path
        for item in items
        for files in item.versions.values()
        for plex_path in files
        if (path := resolver.resolve(plex_path)) is not None
    ]
    return check_exists(local, max_workers=max_workers, timeout=timeout, stat=stat).get


def _assume_present(_path: str) -> bool:
    return True


def _verdict(item: _Item, resolver: Resolver, exists: Callable[[str], bool | None]) -> ItemState | None:
    """ACTIVE if some version plays locally, REMOTE_ONLY if none can, None when it cannot be told.

    `playable_state` from REMOTE_ONLY answers ACTIVE only when everything resolved and exists; from
    ACTIVE it stays ACTIVE unless something is known to be missing. The two together separate
    "missing" from "could not check" without re-implementing the rule.
    """
    unknown = False
    for files in item.versions.values():
        if playable_state(ItemState.REMOTE_ONLY, files, resolver, exists) is ItemState.ACTIVE:
            return ItemState.ACTIVE
        if playable_state(ItemState.ACTIVE, files, resolver, exists) is ItemState.ACTIVE:
            unknown = True
    return None if unknown else ItemState.REMOTE_ONLY


# --------------------------------------------------------------------------------------------------
# Re-evaluation


def reevaluate_states(
    engine: Engine,
    server_name: str | None = None,
    *,
    check_files: bool | None = None,
    chunk_size: int = CHUNK_SIZE,
    max_workers: int = 8,
    timeout: float = 2.0,
    stat: StatFn = os.stat,
    local_os: LocalOS | None = None,
    now: int | None = None,
    progress: Progress | None = None,
    library_id: int | None = None,
    scanned_since: int | None = None,
) -> list[ReevalResult]:
    """Re-decide ACTIVE vs REMOTE_ONLY for one server's items (or every server's), without Plex.

    `library_id` narrows it to one library, and `scanned_since` to the items a sync wrote (their
    `last_scan_at` is the run's stamp): what a sync calls, so a one-item change re-decides one item.

    `check_files` None follows each server's `check_local_files` setting; True or False overrides
    it. Returns one result per server, in name order. See the module docstring for the rules and
    the statement budget (one UPDATE per target state per chunk, plus one history INSERT).
    """
    with engine.connect() as conn:
        servers = _servers(conn, server_name)
    stamp = _now() if now is None else now
    return [
        _reevaluate_server(
            engine,
            server,
            check=server.check_local_files if check_files is None else check_files,
            chunk_size=chunk_size,
            max_workers=max_workers,
            timeout=timeout,
            stat=stat,
            local_os=local_os,
            now=stamp,
            progress=progress,
            library_id=library_id,
            scanned_since=scanned_since,
        )
        for server in servers
    ]


def _reevaluate_server(
    engine: Engine,
    server: ServerRow,
    *,
    check: bool,
    chunk_size: int,
    max_workers: int,
    timeout: float,
    stat: StatFn,
    local_os: LocalOS | None,
    now: int,
    progress: Progress | None,
    library_id: int | None = None,
    scanned_since: int | None = None,
) -> ReevalResult:
    started = time.monotonic()
    resolver = resolver_for(engine, server.id, local_os=local_os)
    counts: Counter[str] = Counter()
    for chunk in _stream_items(
        engine, server.id, _MOVABLE, chunk_size, library_id=library_id, scanned_since=scanned_since
    ):
        exists = _existence(chunk, resolver, check, max_workers=max_workers, timeout=timeout, stat=stat)
        moves: dict[ItemState, list[int]] = {ItemState.ACTIVE: [], ItemState.REMOTE_ONLY: []}
        for item in chunk:
            counts["examined"] += 1
            if not item.versions:
                counts["no_parts"] += 1
                continue
            verdict = _verdict(item, resolver, exists)
            if verdict is None:
                counts["unknown"] += 1
            elif verdict is item.state:
                counts["unchanged"] += 1
            else:
                moves[verdict].append(item.id)
        if moves[ItemState.ACTIVE] or moves[ItemState.REMOTE_ONLY]:
            with engine.begin() as conn:
                moved = _apply_moves(conn, moves, now=now)
            counts["to_active"] += moved[ItemState.ACTIVE]
            counts["to_remote_only"] += moved[ItemState.REMOTE_ONLY]
        resolver.invalidate()  # bound memory: the cache would otherwise hold every path of the server
        if progress is not None:
            progress(server.name, counts["examined"])
    return ReevalResult(
        server=server.name,
        checked_files=check,
        examined=counts["examined"],
        to_active=counts["to_active"],
        to_remote_only=counts["to_remote_only"],
        unchanged=counts["unchanged"],
        unknown=counts["unknown"],
        no_parts=counts["no_parts"],
        seconds=time.monotonic() - started,
    )


def _apply_moves(conn: Connection, moves: dict[ItemState, list[int]], *, now: int) -> dict[ItemState, int]:
    """Write one chunk's state changes: per target state, one history INSERT … SELECT and one UPDATE.

    Ids are rendered inline (`literal_execute`): they are integers we read ourselves, and inlining
    keeps a 5,000-id chunk to one statement on every backend whatever its bound-parameter limit.
    Both statements also require the old state, so only items still in it move and get a history row.
    """
    c = t.media_items.c
    moved = {ItemState.ACTIVE: 0, ItemState.REMOTE_ONLY: 0}
    for new, ids in moves.items():
        if not ids:
            continue
        old = ItemState.REMOTE_ONLY if new is ItemState.ACTIVE else ItemState.ACTIVE
        where = sa.and_(
            c.id.in_(sa.bindparam("ids", ids, expanding=True, literal_execute=True)),
            c.state == old.value,
        )
        history = sa.select(
            c.id,
            sa.literal(None, sa.Integer),
            sa.literal(now, sa.BigInteger),
            sa.literal("state"),
            c.state,
            sa.literal(new.value),
            sa.literal(EVENT_DETAIL),
        ).where(where)
        conn.execute(
            t.item_events.insert().from_select(
                ["item_id", "run_id", "at", "event", "old_value", "new_value", "detail"], history
            )
        )
        moved[new] = int(conn.execute(t.media_items.update().where(where).values(state=new.value)).rowcount)
    return moved


# --------------------------------------------------------------------------------------------------
# Coverage


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
    local_os: LocalOS | None = None,
) -> list[LibraryCoverage]:
    """Per library: present items, how many resolve, how many exist here, and what is unmapped.

    Unresolved part files are grouped by the library Location that holds them (or, outside every
    Location, by their top two folders) so the user sees which single mapping would fix the most.
    Read-only: states are reported as stored; `reevaluate_states` is what changes them.
    """
    with engine.connect() as conn:
        servers = _servers(conn, server_name)
        libraries = {s.id: registry.list_libraries(conn, server=s.name) for s in servers}
    out: list[LibraryCoverage] = []
    for server in servers:
        check = server.check_local_files if check_files is None else check_files
        libs = libraries[server.id]
        tallies = {lib.id: _Tally() for lib in libs}
        matchers = {lib.id: _location_matcher(lib.locations) for lib in libs}
        resolver = resolver_for(engine, server.id, local_os=local_os)
        for chunk in _stream_items(engine, server.id, _PRESENT, chunk_size):
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


def _count_item(
    tally: _Tally,
    item: _Item,
    resolver: Resolver,
    exists: Callable[[str], bool | None],
    matcher: Resolver,
) -> None:
    tally.items += 1
    tally.active += item.state is ItemState.ACTIVE
    tally.remote_only += item.state is ItemState.REMOTE_ONLY
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


# --------------------------------------------------------------------------------------------------
# Items for the GUI: their local paths, open, reveal


def local_paths(engine: Engine, item_id: int, *, local_os: LocalOS | None = None) -> list[ItemPath]:
    """Every part of an item with what it resolves to now, in media then part order.

    Raises `ConfigError` for an unknown item id.
    """
    c, p = t.media_items.c, t.media_parts.c
    with engine.connect() as conn:
        server_id = conn.execute(sa.select(c.server_id).where(c.id == item_id)).scalar()
        if server_id is None:
            raise ConfigError(f"no item with id {item_id} in the catalog")
        rows = conn.execute(
            sa.select(p.media_index, p.part_index, p.file)
            .where(p.item_id == item_id)
            .order_by(p.media_index, p.part_index)
        ).all()
        resolver = Resolver(_stored(conn, int(server_id)), local_os=local_os)
    return [ItemPath(r.media_index, r.part_index, r.file or "", resolver.explain(r.file or "")) for r in rows]


def _path_to_open(
    engine: Engine, item_id: int, action: str, exists: Callable[[str], bool], local_os: LocalOS | None
) -> str:
    """The first part of the first version that resolves completely, preferring one that exists.

    Raises `DesktopActionError` naming the Plex path that did not resolve and how to fix it.
    """
    parts = local_paths(engine, item_id, local_os=local_os)
    if not parts:
        raise desktop.DesktopActionError(f"cannot {action} item {item_id}: Plex lists no files for it")
    versions: dict[int, list[ItemPath]] = {}
    for part in parts:
        versions.setdefault(part.media_index, []).append(part)
    complete = [v for v in versions.values() if all(p.local_path is not None for p in v)]
    if not complete:
        first_bad = next(p for p in parts if p.local_path is None)
        raise desktop.DesktopActionError(f"cannot {action} item {item_id}: {first_bad.resolution.describe()}")
    for version in complete:
        path = version[0].local_path
        if path is not None and exists(path):
            return path
    path = complete[0][0].local_path
    assert path is not None
    return path  # desktop reports it as "no such file on this machine", with the fix


def open_item(
    engine: Engine,
    item_id: int,
    runner: desktop.Runner = desktop.launch_detached,
    *,
    platform: str | None = None,
    exists: Callable[[str], bool] = os.path.exists,
    local_os: LocalOS | None = None,
) -> list[str]:
    """Open an item's file in its default application; returns the argv that was run.

    A multi-part item opens its first part (players continue from there or the user picks the
    next). Raises `DesktopActionError` when no mapping covers the item or the file is absent.
    """
    path = _path_to_open(engine, item_id, "open", exists, local_os)
    return desktop.open_file(path, runner, platform=platform, exists=exists)


def reveal_item(
    engine: Engine,
    item_id: int,
    runner: desktop.Runner = desktop.launch_detached,
    *,
    platform: str | None = None,
    exists: Callable[[str], bool] = os.path.exists,
    local_os: LocalOS | None = None,
) -> list[str]:
    """Show an item's file in the file manager; returns the argv that was run."""
    path = _path_to_open(engine, item_id, "show", exists, local_os)
    return desktop.reveal_file(path, runner, platform=platform, exists=exists)
