"""Servers, libraries and path mappings: the part of the catalog the user edits by hand.

Plain functions over a SQLAlchemy `Connection`, returning frozen dataclasses, so the CLI, the GUI and
the sync engine share one way of reading and writing them. The caller owns the transaction.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import Connection

from retrovue import redact
from retrovue.errors import ConfigError, LockHeldError, UnknownLibraryError, UnknownServerError
from retrovue.store import feed
from retrovue.store import schema as t
from retrovue.store.fit import fit_row, require_fit

__all__ = [
    "ConnectionRow",
    "LibraryRow",
    "MappingRow",
    "SectionInfo",
    "ServerRow",
    "add_mapping",
    "add_server",
    "get_library",
    "get_server",
    "list_connections",
    "list_libraries",
    "list_mappings",
    "list_servers",
    "remove_mapping",
    "remove_server",
    "replace_connections",
    "set_connection_result",
    "set_library_enabled",
    "sync_sections",
    "update_server",
]


@dataclass(frozen=True)
class ServerRow:
    id: int
    name: str
    base_url: str
    token: str = field(repr=False)
    machine_identifier: str | None
    version: str | None
    friendly_name: str | None
    verify_tls: bool
    ca_bundle: str | None
    check_local_files: bool
    created_at: int
    updated_at: int
    owner: str | None = None  # who shared it with the signed-in account; None: one's own or typed in

    @property
    def shared(self) -> bool:
        return self.owner is not None

    @property
    def masked_token(self) -> str:
        """What a screen may show of the token: enough to tell two apart, too little to use."""
        return mask_token(self.token)


def mask_token(token: str) -> str:
    return "****" if len(token) < 8 else f"{token[:2]}…{token[-2:]}"


@dataclass(frozen=True)
class LibraryRow:
    id: int
    server_id: int
    server_name: str
    section_key: str
    section_uuid: str | None
    title: str
    kind: str
    agent: str | None
    locations: tuple[str, ...]
    enabled: bool
    content_changed_at: str | None
    retention_days: int
    missing_threshold_pct: int
    last_synced_at: int | None
    last_sync_status: str | None
    verified_at: int | None = None  # when a run last proved the library current
    listed_at: int | None = None  # the last complete listing
    listings: int = 0  # complete listings so far
    verify_hours: int = 24  # list at least this often even when the change gate holds (0: always)
    pending_detail: int = 0  # items stored without their file check, owed one


@dataclass(frozen=True)
class SectionInfo:
    """What the registry keeps of a Plex library section (decoupled from the client's models)."""

    key: str
    uuid: str | None
    title: str
    kind: str
    agent: str | None
    locations: tuple[str, ...] = ()


@dataclass(frozen=True)
class MappingRow:
    id: int
    server_id: int
    plex_prefix: str
    local_prefix: str
    machine: str


_SERVER_FIELDS = {
    "name": "server name",
    "base_url": "server URL",
    "token": "token",
    "ca_bundle": "CA bundle path",
    "owner": "owner name",
    "machine_identifier": "machine identifier",
    "version": "Plex version",
    "friendly_name": "friendly name",
}


def validate_server(values: dict[str, object]) -> None:
    """Refuse (ConfigError) server settings the catalog cannot hold as given (too long, NUL)."""
    require_fit(t.servers, values, _SERVER_FIELDS)


def _server(row: sa.Row[tuple[object, ...]]) -> ServerRow:
    m = row._mapping
    redact.register(m["token"])  # any token read from the catalog is scrubbed from every output
    redact.scrub_url(m["base_url"])  # … and so is a password in the server's URL
    return ServerRow(
        id=m["id"],
        name=m["name"],
        base_url=m["base_url"],
        token=m["token"],
        machine_identifier=m["machine_identifier"],
        version=m["version"],
        friendly_name=m["friendly_name"],
        verify_tls=bool(m["verify_tls"]),
        ca_bundle=m["ca_bundle"],
        check_local_files=bool(m["check_local_files"]),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        owner=m["owner"],
    )


def list_servers(conn: Connection) -> list[ServerRow]:
    return [_server(r) for r in conn.execute(sa.select(t.servers).order_by(t.servers.c.name))]


def get_server(conn: Connection, name: str) -> ServerRow:
    row = conn.execute(sa.select(t.servers).where(t.servers.c.name == name)).first()
    if row is None:
        known = ", ".join(s.name for s in list_servers(conn)) or "none yet"
        raise UnknownServerError(
            f"no server named {name!r} (known: {known}); add it with `retrovue server add`"
        )
    return _server(row)


def get_server_by_id(conn: Connection, server_id: int) -> ServerRow:
    row = conn.execute(sa.select(t.servers).where(t.servers.c.id == server_id)).first()
    if row is None:
        raise UnknownServerError(f"no server with id {server_id}")
    return _server(row)


def add_server(
    conn: Connection,
    *,
    name: str,
    base_url: str,
    token: str,
    now: int,
    machine_identifier: str | None = None,
    version: str | None = None,
    friendly_name: str | None = None,
    verify_tls: bool = True,
    ca_bundle: str | None = None,
    owner: str | None = None,
) -> ServerRow:
    if not name.strip():
        raise ConfigError("a server needs a non-empty name")
    redact.register(token)
    validate_server({"name": name, "base_url": base_url, "token": token, "ca_bundle": ca_bundle})
    exists = conn.execute(sa.select(t.servers.c.id).where(t.servers.c.name == name)).first()
    if exists is not None:
        raise ConfigError(f"a server named {name!r} already exists; pick another name or use `server edit`")
    conn.execute(
        t.servers.insert().values(
            name=name,
            base_url=base_url,
            token=token,
            machine_identifier=machine_identifier,
            version=version,
            friendly_name=friendly_name,
            verify_tls=verify_tls,
            ca_bundle=ca_bundle,
            check_local_files=True,
            created_at=now,
            updated_at=now,
            owner=owner,
        )
    )
    return get_server(conn, name)


def update_server(conn: Connection, name: str, /, *, now: int, **changes: object) -> ServerRow:
    """Change a server's settings; `changes` are column names of `servers` (e.g. base_url, token)."""
    server = get_server(conn, name)
    allowed = {c.name for c in t.servers.columns} - {"id", "created_at", "updated_at"}
    unknown = set(changes) - allowed
    if unknown:
        raise ConfigError(f"unknown server setting(s): {', '.join(sorted(unknown))}")
    if not changes:
        return server
    if isinstance(changes.get("token"), str):
        redact.register(str(changes["token"]))
    validate_server(changes)
    new_name = changes.get("name")
    if isinstance(new_name, str) and new_name != name:
        clash = conn.execute(sa.select(t.servers.c.id).where(t.servers.c.name == new_name)).first()
        if clash is not None:
            raise ConfigError(f"a server named {new_name!r} already exists")
    conn.execute(t.servers.update().where(t.servers.c.id == server.id).values(**changes, updated_at=now))
    return get_server_by_id(conn, server.id)


def _refuse_while_syncing(conn: Connection, server: ServerRow) -> None:
    """LockHeldError while a sync holds one of the server's libraries: removing the rows under a
    running sync would kill it (a foreign-key error on its next write) and lose its run's record.

    A held lock is first looked for with a plain read, before anything is locked: on MariaDB the
    running sync's page writes hold shared locks on its library and server rows (their foreign
    keys), so taking the server row first would deadlock with it. Then the server row is written
    and its libraries read `FOR UPDATE`, and the locks read again, so a sync cannot take a
    library's lock between this check and the delete: on SQLite the write takes the database's
    write lock, on PostgreSQL and MariaDB a lock insert waits for the library rows and then fails
    its foreign key, before the sync has begun. A lock left by a sync that died is cleared by the
    next `retrovue sync` of that library.
    """
    _raise_if_held(conn, server, _server_libraries(conn, server, for_update=False))
    conn.execute(
        t.servers.update().where(t.servers.c.id == server.id).values(updated_at=t.servers.c.updated_at)
    )
    _raise_if_held(conn, server, _server_libraries(conn, server, for_update=True))


def _server_libraries(conn: Connection, server: ServerRow, *, for_update: bool) -> dict[int, str]:
    query = sa.select(t.libraries.c.id, t.libraries.c.title).where(t.libraries.c.server_id == server.id)
    return {lib.id: lib.title for lib in conn.execute(query.with_for_update() if for_update else query)}


def _raise_if_held(conn: Connection, server: ServerRow, titles: Mapping[int, str]) -> None:
    held = conn.execute(
        sa.select(t.library_locks).where(t.library_locks.c.library_id.in_(list(titles)))
    ).first()
    if held is not None:
        lock = held._mapping
        library = f"{server.name}/{titles[lock['library_id']]}"
        raise LockHeldError(
            f"server {server.name!r} cannot be removed while library {library} is being synced (pid "
            f"{lock['pid']} on {lock['host']}); wait for the sync to finish, then remove it (a sync that "
            "died leaves its lock until the next `retrovue sync` of that library)"
        )


def remove_server(conn: Connection, name: str) -> None:
    """Remove a server with its libraries, items, parts, mappings and runs (foreign-key cascade).

    Refused (`LockHeldError`) while a sync holds one of its libraries.

    Children are deleted explicitly as well, so the result does not depend on the database honouring
    ON DELETE CASCADE (SQLite only does with foreign keys switched on).
    """
    server = get_server(conn, name)
    _refuse_while_syncing(conn, server)
    lib_ids = sa.select(t.libraries.c.id).where(t.libraries.c.server_id == server.id)
    item_ids = sa.select(t.media_items.c.id).where(t.media_items.c.server_id == server.id)
    held = t.media_items.c.server_id == server.id
    if conn.execute(sa.select(t.media_items.c.id).where(held).limit(1)).first() is not None:
        feed.record_select(conn, held, feed.PURGED, now=int(time.time()))  # the feed outlives them
    conn.execute(t.media_parts.delete().where(t.media_parts.c.item_id.in_(item_ids)))
    conn.execute(t.item_events.delete().where(t.item_events.c.item_id.in_(item_ids)))
    conn.execute(t.local_verdicts.delete().where(t.local_verdicts.c.item_id.in_(item_ids)))
    conn.execute(t.media_items.delete().where(t.media_items.c.server_id == server.id))
    for table in (t.shows, t.seasons, t.sync_runs, t.library_locks, t.local_roots, t.local_checks):
        conn.execute(table.delete().where(table.c.library_id.in_(lib_ids)))
    conn.execute(t.libraries.delete().where(t.libraries.c.server_id == server.id))
    conn.execute(t.path_mappings.delete().where(t.path_mappings.c.server_id == server.id))
    conn.execute(t.server_connections.delete().where(t.server_connections.c.server_id == server.id))
    conn.execute(t.servers.delete().where(t.servers.c.id == server.id))


def _library(m: sa.RowMapping) -> LibraryRow:
    return LibraryRow(
        id=m["id"],
        server_id=m["server_id"],
        server_name=m["server_name"],
        section_key=m["section_key"],
        section_uuid=m["section_uuid"],
        title=m["title"],
        kind=m["kind"],
        agent=m["agent"],
        locations=tuple(json.loads(m["locations"] or "[]")),
        enabled=bool(m["enabled"]),
        content_changed_at=m["content_changed_at"],
        retention_days=m["retention_days"],
        missing_threshold_pct=m["missing_threshold_pct"],
        last_synced_at=m["last_synced_at"],
        last_sync_status=m["last_sync_status"],
        verified_at=m["verified_at"],
        listed_at=m["listed_at"],
        listings=m["listings"],
        verify_hours=m["verify_hours"],
        pending_detail=m["pending_detail"],
    )


def _library_query() -> sa.Select[tuple[object, ...]]:
    return (
        sa.select(t.libraries, t.servers.c.name.label("server_name"))
        .join(t.servers, t.servers.c.id == t.libraries.c.server_id)
        .order_by(t.servers.c.name, t.libraries.c.title, t.libraries.c.section_key)
    )


def list_libraries(
    conn: Connection, *, server: str | None = None, enabled_only: bool = False
) -> list[LibraryRow]:
    query = _library_query()
    if server is not None:
        query = query.where(t.libraries.c.server_id == get_server(conn, server).id)
    if enabled_only:
        query = query.where(t.libraries.c.enabled.is_(True))
    return [_library(r._mapping) for r in conn.execute(query)]


def get_library_by_id(conn: Connection, library_id: int) -> LibraryRow:
    row = conn.execute(_library_query().where(t.libraries.c.id == library_id)).first()
    if row is None:
        raise UnknownLibraryError(f"no library with id {library_id}")
    return _library(row._mapping)


def get_library(conn: Connection, spec: str, *, server: str | None = None) -> LibraryRow:
    """Find one library by title, section key or numeric id, optionally within one server.

    A title shared by libraries of two servers is ambiguous and must be narrowed with the server.
    """
    candidates = list_libraries(conn, server=server)
    matches = [lib for lib in candidates if spec in (lib.title, str(lib.id))]
    if not matches:
        matches = [lib for lib in candidates if lib.title.casefold() == spec.casefold()]
    if not matches and server is not None:
        matches = [lib for lib in candidates if lib.section_key == spec]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        known = ", ".join(f"{lib.server_name}/{lib.title}" for lib in candidates) or "none yet"
        raise UnknownLibraryError(
            f"no library {spec!r} (known: {known}); list them with `retrovue libraries`"
        )
    where = ", ".join(f"{lib.server_name}/{lib.title} (id {lib.id})" for lib in matches)
    raise UnknownLibraryError(f"library {spec!r} is ambiguous ({where}); add --server or use the id")


def sync_sections(
    conn: Connection, server_id: int, sections: Iterable[SectionInfo], *, now: int
) -> tuple[int, int]:
    """Record a server's movie and show sections as libraries; returns (added, updated).

    New sections are enabled, so a plain sync right after `server add` covers them. Sections that
    vanished from the server are kept (with their items) rather than deleted: a section list can be
    wrong for a moment, and the catalog is the user's record.
    """
    existing = {
        r.section_key: r.id
        for r in conn.execute(
            sa.select(t.libraries.c.section_key, t.libraries.c.id).where(t.libraries.c.server_id == server_id)
        )
    }
    added = updated = 0
    for sec in sections:
        if sec.kind not in ("movie", "show"):
            continue
        values = {
            "section_uuid": sec.uuid,
            "title": sec.title,
            "kind": sec.kind,
            "agent": sec.agent,
            "locations": json.dumps(list(sec.locations)),
            "updated_at": now,
        }
        values = fit_row(t.libraries, values)
        if sec.key in existing:
            conn.execute(t.libraries.update().where(t.libraries.c.id == existing[sec.key]).values(**values))
            updated += 1
        else:
            conn.execute(
                t.libraries.insert().values(
                    server_id=server_id,
                    section_key=sec.key,
                    enabled=True,
                    retention_days=30,
                    missing_threshold_pct=50,
                    created_at=now,
                    **values,
                )
            )
            added += 1
    return added, updated


def record_library_run(conn: Connection, library_id: int, **values: object) -> None:
    """Store a finished run's outcome on its library (`last_synced_at`, `last_sync_status`, stamps)."""
    conn.execute(t.libraries.update().where(t.libraries.c.id == library_id).values(**values))


def set_library_enabled(conn: Connection, library_id: int, enabled: bool) -> None:
    conn.execute(t.libraries.update().where(t.libraries.c.id == library_id).values(enabled=enabled))


MAX_RETENTION_DAYS = 36_500
"""A century: more is a typo, and a day count must stay far from any integer limit."""
MAX_VERIFY_HOURS = 8760
"""A year: a library is listed at least this often even when Plex reports no change."""


def set_library_options(
    conn: Connection,
    library_id: int,
    *,
    retention_days: int | None = None,
    missing_threshold_pct: int | None = None,
    verify_hours: int | None = None,
) -> None:
    values: dict[str, int] = {}
    if retention_days is not None:
        if not 0 <= retention_days <= MAX_RETENTION_DAYS:
            raise ConfigError(f"retention days must be from 0 to {MAX_RETENTION_DAYS:,} (100 years)")
        values["retention_days"] = retention_days
    if missing_threshold_pct is not None:
        if not 0 <= missing_threshold_pct <= 100:
            raise ConfigError("the missing threshold is a percentage from 0 to 100")
        values["missing_threshold_pct"] = missing_threshold_pct
    if verify_hours is not None:
        if not 0 <= verify_hours <= MAX_VERIFY_HOURS:
            raise ConfigError(
                f"verify hours must be from 0 (list on every run) to {MAX_VERIFY_HOURS} (a year)"
            )
        values["verify_hours"] = verify_hours
    if values:
        conn.execute(t.libraries.update().where(t.libraries.c.id == library_id).values(**values))


def list_mappings(conn: Connection, server_id: int, machine: str | None = None) -> list[MappingRow]:
    """A server's mappings for one machine profile (None: every machine's), oldest first."""
    c = t.path_mappings.c
    query = sa.select(t.path_mappings).where(c.server_id == server_id)
    if machine is not None:
        query = query.where(c.machine == machine)
    rows = conn.execute(query.order_by(c.id))
    return [MappingRow(r.id, r.server_id, r.plex_prefix, r.local_prefix, r.machine) for r in rows]


def add_mapping(
    conn: Connection, server_id: int, plex_prefix: str, local_prefix: str, *, machine: str, now: int
) -> int:
    require_fit(
        t.path_mappings,
        {"plex_prefix": plex_prefix, "local_prefix": local_prefix},
        {"plex_prefix": "Plex prefix", "local_prefix": "local prefix"},
    )
    result = conn.execute(
        t.path_mappings.insert().values(
            server_id=server_id,
            machine=machine,
            plex_prefix=plex_prefix,
            local_prefix=local_prefix,
            created_at=now,
        )
    )
    key: Sequence[int] | None = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def remove_mapping(conn: Connection, server_id: int, plex_prefix: str, *, machine: str) -> int:
    """Remove one machine's mapping of `plex_prefix` (as stored); its root observations go with it."""
    c = t.path_mappings.c
    doomed = sa.and_(c.server_id == server_id, c.machine == machine, c.plex_prefix == plex_prefix)
    conn.execute(t.local_roots.delete().where(t.local_roots.c.mapping_id.in_(sa.select(c.id).where(doomed))))
    return conn.execute(t.path_mappings.delete().where(doomed)).rowcount


@dataclass(frozen=True)
class ConnectionRow:
    """One address of a server, as plex.tv listed it (`server_connections`)."""

    id: int
    server_id: int
    position: int
    uri: str
    kind: str  # local | remote | relay
    protocol: str  # http | https
    last_ok_at: int | None
    last_failed_at: int | None


def list_connections(conn: Connection, server_id: int) -> list[ConnectionRow]:
    """A server's addresses in the order they are tried (none for a server added by hand)."""
    c = t.server_connections.c
    rows = conn.execute(
        sa.select(t.server_connections).where(c.server_id == server_id).order_by(c.position, c.id)
    )
    return [
        ConnectionRow(
            r.id, r.server_id, r.position, r.uri, r.kind, r.protocol, r.last_ok_at, r.last_failed_at
        )
        for r in rows
    ]


def replace_connections(
    conn: Connection, server_id: int, connections: Iterable[tuple[str, str]], *, now: int
) -> list[ConnectionRow]:
    """Store a server's addresses as plex.tv lists them now: (uri, kind) pairs, best first.

    What is known about an address that stays (when it last answered) is kept; addresses no longer
    listed go. A URI too long for the column is left out rather than cut (a cut URI is another one).
    """
    c = t.server_connections.c
    before = {row.uri: row for row in list_connections(conn, server_id)}
    limit = getattr(t.server_connections.c.uri.type, "length", None) or 1024
    wanted: list[tuple[str, str]] = []
    for uri, kind in connections:
        if len(uri) <= limit and "\x00" not in uri and uri not in {u for u, _ in wanted}:
            wanted.append((uri, kind))
    conn.execute(t.server_connections.delete().where(c.server_id == server_id))
    for position, (uri, kind) in enumerate(wanted):
        old = before.get(uri)
        conn.execute(
            t.server_connections.insert().values(
                server_id=server_id,
                position=position,
                uri=uri,
                kind=kind,
                protocol=uri.split(":", 1)[0].lower(),
                last_ok_at=old.last_ok_at if old else None,
                last_failed_at=old.last_failed_at if old else None,
                updated_at=now,
            )
        )
    return list_connections(conn, server_id)


def set_connection_result(conn: Connection, server_id: int, uri: str, *, ok: bool, now: int) -> None:
    """Remember that the server did (`ok`) or did not answer as itself at `uri`."""
    c = t.server_connections.c
    values = {"last_ok_at": now} if ok else {"last_failed_at": now}
    conn.execute(t.server_connections.update().where(c.server_id == server_id, c.uri == uri).values(**values))
