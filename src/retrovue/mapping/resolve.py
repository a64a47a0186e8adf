"""This machine's resolver for a server: the one way every reader turns a Plex path into a local one.

Mappings belong to a machine profile (`retrovue.machine`): the resolver of server S on machine M is
built from M's mappings of S only, so machine B's mapping of a prefix never changes what machine A
resolves. Everything that needs a local path (re-deciding states, `paths test`, the read API's
`playable`, the GUI's local-path column, open and reveal) comes through here.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from retrovue import machine as machines
from retrovue.paths import LocalOS, PathMapping, Resolver
from retrovue.store import registry
from retrovue.store.registry import ServerRow

__all__ = ["Resolvers", "resolver_for", "stored_mappings"]


def stored_mappings(conn: Connection, server_id: int, machine: str) -> list[PathMapping]:
    """One machine's mappings of a server, as the pure rules take them (ids kept for reports)."""
    return [
        PathMapping(m.plex_prefix, m.local_prefix, m.id)
        for m in registry.list_mappings(conn, server_id, machine)
    ]


def resolver_for(
    engine: Engine, server_id: int, *, machine: str | None = None, local_os: LocalOS | None = None
) -> Resolver:
    """A Resolver over one machine's (default: this one's) mappings of a server; build one per run."""
    with engine.connect() as conn:
        return Resolver(stored_mappings(conn, server_id, machine or machines.current()), local_os=local_os)


def servers(conn: Connection, server_name: str | None) -> list[ServerRow]:
    """One named server (UnknownServerError if there is none) or every server, by name."""
    if server_name is not None:
        return [registry.get_server(conn, server_name)]
    return registry.list_servers(conn)


class Resolvers:
    """Resolvers per server for one machine, built on first use: what a reader of many servers keeps.

    `forget()` after mappings changed; `invalidate()` to drop cached answers but keep the mappings.
    """

    def __init__(
        self, engine: Engine, *, machine: str | None = None, local_os: LocalOS | None = None
    ) -> None:
        self.engine = engine
        self.machine = machine or machines.current()
        self.local_os = local_os
        self._by_server: dict[int, Resolver] = {}

    def __call__(self, server_id: int) -> Resolver:
        found = self._by_server.get(server_id)
        if found is None:
            found = resolver_for(self.engine, server_id, machine=self.machine, local_os=self.local_os)
            self._by_server[server_id] = found
        return found

    def forget(self) -> None:
        self._by_server.clear()

    def invalidate(self) -> None:
        for resolver in self._by_server.values():
            resolver.invalidate()
