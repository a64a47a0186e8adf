"""Which addresses to try for a server, in which order: pure functions over plain data.

plex.tv lists each server's connections: local ones (its LAN addresses), remote ones (its public
address) and a relay (Plex's own forwarding service: slow and bandwidth-capped, a last resort). With
`includeHttps=1` a connection's `uri` is an `https://…plex.direct` name with a public certificate;
the same server also answers plain HTTP at `address:port`, unless it requires secure connections.

The order tried at every run is local HTTPS, local HTTP, remote HTTPS, remote HTTP, relay last:
the nearest first, encrypted before plain at each distance.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from retrovue.account.models import ResourceConnection

__all__ = ["KINDS", "LOCAL", "RELAY", "REMOTE", "Candidate", "candidates", "classify_url", "order"]

LOCAL, REMOTE, RELAY = "local", "remote", "relay"
KINDS = (LOCAL, REMOTE, RELAY)
_SCHEMES = ("https", "http")


@dataclass(frozen=True)
class Candidate:
    """One address to try: a base URL (no token) and how it reaches the server."""

    uri: str
    kind: str  # local | remote | relay

    @property
    def scheme(self) -> str:
        return urlsplit(self.uri).scheme

    @property
    def rank(self) -> tuple[int, int]:
        scheme = self.scheme
        return (KINDS.index(self.kind), _SCHEMES.index(scheme) if scheme in _SCHEMES else len(_SCHEMES))


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address and not address.startswith("[") else address


def candidates(connections: Iterable[ResourceConnection], *, https_required: bool = False) -> list[Candidate]:
    """Every address of a server, best first, without duplicates.

    An https connection also yields `http://address:port` (the same server, unencrypted) unless the
    server requires secure connections; a relay is used only as listed.
    """
    found: list[Candidate] = []
    for conn in connections:
        kind = RELAY if conn.relay else LOCAL if conn.local else REMOTE
        uri = conn.uri.strip().rstrip("/")
        if uri:
            found.append(Candidate(uri, kind))
        plain_too = conn.protocol == "https" or urlsplit(uri).scheme == "https"
        if plain_too and kind != RELAY and not https_required and conn.address and conn.port:
            found.append(Candidate(f"http://{_host(conn.address)}:{conn.port}", kind))
    return order(found)


def order(found: Iterable[Candidate]) -> list[Candidate]:
    """Sort by preference (stable within a rank) and drop repeated URIs."""
    seen: set[str] = set()
    unique = []
    for cand in found:
        if cand.uri not in seen:
            seen.add(cand.uri)
            unique.append(cand)
    return sorted(unique, key=lambda c: c.rank)


def classify_url(url: str) -> str:
    """LOCAL or REMOTE for an address typed by hand: private, loopback and .local hosts are local."""
    host = (urlsplit(url).hostname or "").lower()
    if host.endswith(".plex.direct"):
        host = host.split(".", 1)[0].replace("-", ".")  # 192-168-1-10.<hash>.plex.direct
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        local_name = host == "localhost" or host.endswith((".local", ".lan", ".home.arpa"))
        return LOCAL if local_name or "." not in host else REMOTE
    return LOCAL if (ip.is_private or ip.is_loopback or ip.is_link_local) else REMOTE
