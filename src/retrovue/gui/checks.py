"""`ServerCheck`: one server's connection test on the pool; the answer goes out as `UiBus.server_checked`.

The status names the problem in words a user can act on: a rejected token (sign in again, or edit
the server's token) is not an unreachable server (check the address, the network, that Plex runs).
"""

from __future__ import annotations

from PySide6.QtCore import QRunnable
from sqlalchemy import Engine

from retrovue import servers
from retrovue.errors import (
    NotPlexServerError,
    PlexTLSError,
    PlexUnauthorizedError,
    PlexUnreachableError,
)
from retrovue.gui.bus import UiBus
from retrovue.gui.tasks import error_text
from retrovue.reach import reach
from retrovue.store import registry
from retrovue.store.registry import ServerRow

__all__ = ["ONLINE", "ServerCheck", "problem"]

ONLINE = "online"


def problem(exc: BaseException) -> str:
    """A failed check in two words, for the tree's status column."""
    if isinstance(exc, PlexUnauthorizedError):
        return "token rejected"
    if isinstance(exc, PlexTLSError):
        return "TLS problem"
    if isinstance(exc, NotPlexServerError):
        return "not Plex"
    if isinstance(exc, PlexUnreachableError):
        return "unreachable"
    return "error"


class ServerCheck(QRunnable):
    """With `engine`, the server is reached as a sync reaches it (`retrovue.reach`): a server added
    from the Plex account is online when any of its addresses answers as it (remembered for the
    next run), and the detail names the address."""

    def __init__(self, bus: UiBus, server: ServerRow, engine: Engine | None = None) -> None:
        super().__init__()
        self.bus = bus
        self.server = server
        self.engine = engine

    def run(self) -> None:
        s = self.server
        try:
            detail = self._check()
        except Exception as exc:
            self.bus.server_checked.emit(s.id, problem(exc), error_text(exc))
        else:
            self.bus.server_checked.emit(s.id, ONLINE, detail)

    def _check(self) -> str:
        s = self.server
        try:
            check = servers.check_server(s.base_url, s.token, verify_tls=s.verify_tls, ca_bundle=s.ca_bundle)
        except (PlexUnreachableError, PlexTLSError, NotPlexServerError):
            if self.engine is None or not self._has_other_addresses():
                raise
        else:
            return f"Plex {check.version}"
        assert self.engine is not None
        got = reach(self.engine, s, ())  # the other addresses, each proven to be this server
        got.client.close()
        return f"Plex {got.server.version or '?'} via {got.connection} {got.address}"

    def _has_other_addresses(self) -> bool:
        assert self.engine is not None
        with self.engine.connect() as conn:
            return any(c.uri != self.server.base_url for c in registry.list_connections(conn, self.server.id))
