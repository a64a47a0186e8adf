"""Path mappings as the catalog keeps them: add, remove, list, test one path, suggest.

Mappings belong to a server and a machine profile (`retrovue.machine`): machine B may map a prefix
that machine A mapped, and neither sees the other's in its resolver. The pure rules (validation,
resolution, suggestions) are in `retrovue.paths`; adding or removing a mapping re-decides the server's
items for this machine (`mapping.local.reevaluate_states`) unless deferred.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from retrovue import machine as machines
from retrovue.errors import BadMappingError, ConfigError
from retrovue.mapping.local import LocalOptions, ReevalResult, reevaluate_states
from retrovue.mapping.resolve import servers, stored_mappings
from retrovue.paths import (
    Flavour,
    LocalOS,
    PathMapping,
    Resolution,
    Resolver,
    check_exists,
    detect_flavour,
    suggest_mappings,
    validate_mapping,
)
from retrovue.store import registry

__all__ = [
    "MappingChange",
    "MappingInfo",
    "PathTest",
    "Suggestion",
    "add_mapping",
    "list_mappings",
    "remove_mapping",
    "suggest",
    "test_path",
]


@dataclass(frozen=True, slots=True)
class MappingInfo:
    """A stored mapping, with why it cannot apply on this machine (None when it can)."""

    id: int
    server: str
    plex_prefix: str
    local_prefix: str
    problem: str | None = None
    machine: str = ""


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
class Suggestion:
    """A proposed mapping, the libraries it would cover, and where its prefix is already mapped."""

    mapping: PathMapping
    libraries: tuple[str, ...]
    mapped_to: str | None = None  # the local prefix stored for the same Plex prefix, if any

    @property
    def already_mapped(self) -> bool:
        return self.mapped_to is not None


def _now() -> int:
    return int(time.time())


def _prefix_key(plex_prefix: str, server_paths: Sequence[str] = ()) -> str:
    """What makes two Plex prefixes "the same" (separators, trailing slashes, Windows case).

    `validate_mapping` with a dummy local side gives the canonical spelling, so removal matches by
    the very rules that refused the duplicate on the way in.
    """
    canonical = validate_mapping(
        plex_prefix, "/", (), local_os="posix", server_paths=server_paths
    ).plex_prefix
    return canonical if detect_flavour(canonical) is Flavour.POSIX else canonical.casefold()


def _server_paths(conn: Connection, server_name: str) -> list[str]:
    """The server's library folders as Plex reports them (they tell what `//x/y` means)."""
    return [loc for lib in registry.list_libraries(conn, server=server_name) for loc in lib.locations]


def _stored_key(plex_prefix: str) -> str:
    """`_prefix_key` for a stored prefix, which another writer may have left non-canonical."""
    try:
        return _prefix_key(plex_prefix)
    except BadMappingError:
        return plex_prefix


def list_mappings(
    engine: Engine,
    server_name: str | None = None,
    *,
    machine: str | None = None,
    all_machines: bool = False,
    local_os: LocalOS | None = None,
) -> list[MappingInfo]:
    """One machine's (default: this one's) mappings of one server (or all), sorted by prefix.

    Mappings that cannot apply here (`M:\\Media` on Linux, say) are listed with the reason rather
    than hidden. `all_machines` lists every machine's, each with its profile name, sorted by it.
    """
    name = None if all_machines else (machine or machines.current())
    out: list[MappingInfo] = []
    with engine.connect() as conn:
        for server in servers(conn, server_name):
            by_machine: dict[str, list[PathMapping]] = {}
            for row in registry.list_mappings(conn, server.id, name):
                by_machine.setdefault(row.machine, []).append(
                    PathMapping(row.plex_prefix, row.local_prefix, row.id)
                )
            for owner in sorted(by_machine):
                mappings = by_machine[owner]
                problems = {m.id: reason for m, reason in Resolver(mappings, local_os=local_os).skipped}
                for m in sorted(mappings, key=lambda m: (m.plex_prefix.casefold(), m.plex_prefix)):
                    assert m.id is not None
                    problem = problems.get(m.id)
                    out.append(MappingInfo(m.id, server.name, m.plex_prefix, m.local_prefix, problem, owner))
    return out


def add_mapping(
    engine: Engine,
    server_name: str,
    plex_prefix: str,
    local_prefix: str,
    *,
    machine: str | None = None,
    reevaluate: bool = True,
    check_files: bool | None = None,
    local_os: LocalOS | None = None,
    now: int | None = None,
) -> MappingChange:
    """Validate and store a mapping for this machine, then re-decide the server's items here.

    Raises `BadMappingError` (one line) for an empty or relative prefix or one this machine already
    mapped (another machine's mapping of the same prefix is no obstacle). The canonical form from
    `validate_mapping` is what is stored. Pass `reevaluate=False` to add several mappings and
    re-evaluate once at the end.
    """
    owner = machine or machines.current()
    with engine.begin() as conn:
        server = registry.get_server(conn, server_name)
        mapping = validate_mapping(
            plex_prefix,
            local_prefix,
            stored_mappings(conn, server.id, owner),
            local_os=local_os,
            server_paths=_server_paths(conn, server.name),
        )
        new_id = registry.add_mapping(
            conn,
            server.id,
            mapping.plex_prefix,
            mapping.local_prefix,
            machine=owner,
            now=_now() if now is None else now,
        )
    info = MappingInfo(new_id, server.name, mapping.plex_prefix, mapping.local_prefix, machine=owner)
    return _changed(engine, info, reevaluate, check_files, local_os)


def remove_mapping(
    engine: Engine,
    server_name: str,
    plex_prefix: str,
    *,
    machine: str | None = None,
    reevaluate: bool = True,
    check_files: bool | None = None,
    local_os: LocalOS | None = None,
) -> MappingChange:
    """Remove this machine's mapping for `plex_prefix` (matched as `add` matches a duplicate), then
    re-evaluate. Raises `BadMappingError` when there is no such mapping, listing the ones there are.
    """
    owner = machine or machines.current()
    with engine.begin() as conn:
        server = registry.get_server(conn, server_name)
        key = _prefix_key(plex_prefix, _server_paths(conn, server.name))
        stored = stored_mappings(conn, server.id, owner)
        found = [m for m in stored if _stored_key(m.plex_prefix) == key]
        if not found:
            have = ", ".join(m.plex_prefix for m in stored) or "none"
            raise BadMappingError(
                f"server {server.name!r} has no mapping for {plex_prefix.strip()!r} (mapped: {have}); "
                f"see `retrovue paths list {server.name}`"
            )
        for m in found:
            registry.remove_mapping(conn, server.id, m.plex_prefix, machine=owner)
    gone = found[0]
    assert gone.id is not None
    info = MappingInfo(gone.id, server.name, gone.plex_prefix, gone.local_prefix, machine=owner)
    return _changed(engine, info, reevaluate, check_files, local_os)


def _changed(
    engine: Engine, info: MappingInfo, reevaluate: bool, check_files: bool | None, local_os: LocalOS | None
) -> MappingChange:
    """A mapping was added or removed: re-decide its server's items on its machine, unless deferred."""
    result = None
    if reevaluate:
        options = LocalOptions(machine=info.machine, check_files=check_files, local_os=local_os)
        (result,) = reevaluate_states(engine, info.server, options)
    return MappingChange(info, result)


def test_path(
    engine: Engine,
    server_name: str,
    plex_path: str,
    *,
    machine: str | None = None,  # noqa: PT028 (ruff takes `test_*` for a pytest test)
    check_files: bool | None = None,  # noqa: PT028
    timeout: float = 2.0,  # noqa: PT028
    local_os: LocalOS | None = None,  # noqa: PT028
) -> PathTest:
    """Which of this machine's mappings wins for `plex_path`, what it becomes, and whether that file
    exists here: checked with a timeout (a hung share answers "unknown", not a hang), and only when
    the server's `check_local_files` is on, unless `check_files` says otherwise."""
    owner = machine or machines.current()
    with engine.connect() as conn:
        server = registry.get_server(conn, server_name)
        resolver = Resolver(stored_mappings(conn, server.id, owner), local_os=local_os)
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
    machine: str | None = None,
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
        owned = stored_mappings(conn, server.id, machine or machines.current())
        stored = {_stored_key(m.plex_prefix): m.local_prefix for m in owned}
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
