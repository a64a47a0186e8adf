"""`ServerCheck`: one server's connection test on the pool; the answer goes out as `UiBus.server_checked`.

The status names the problem in words a user can act on: a rejected token (sign in again, or edit
the server's token) is not an unreachable server (check the address, the network, that Plex runs).
"""

from __future__ import annotations

from PySide6.QtCore import QRunnable

from retrovue import servers
from retrovue.errors import (
    NotPlexServerError,
    PlexTLSError,
    PlexUnauthorizedError,
    PlexUnreachableError,
)
from retrovue.gui.bus import UiBus
from retrovue.gui.tasks import error_text
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
    def __init__(self, bus: UiBus, server: ServerRow) -> None:
        super().__init__()
        self.bus = bus
        self.server = server

    def run(self) -> None:
        s = self.server
        try:
            check = servers.check_server(s.base_url, s.token, verify_tls=s.verify_tls, ca_bundle=s.ca_bundle)
        except Exception as exc:
            self.bus.server_checked.emit(s.id, problem(exc), error_text(exc))
        else:
            self.bus.server_checked.emit(s.id, ONLINE, f"Plex {check.version}")
