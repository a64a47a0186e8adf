"""Registering Plex servers: check a server before saving it, and keep its libraries current.

Servers come from a URL and token typed in (`add_server`) or from the signed-in Plex account
(`discover_servers`, `add_from_account`): those keep every address plex.tv lists and the access
token plex.tv issued for them; `retrovue.reach` picks the address at every run.

The engine-level API behind `retrovue server …` and `retrovue libraries …` (and the GUI's server
dialog). Nothing is written unless the server answered `/identity` and `/library/sections` as a
Plex server with a token it accepts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Connection, Engine

from retrovue import redact
from retrovue.account.discovery import AccountServer
from retrovue.errors import ConfigError, PlexError, PlexUnreachableError
from retrovue.plex import PlexClient, Section
from retrovue.plex.http import check_token
from retrovue.redact import scrub_url
from retrovue.store import registry
from retrovue.store.registry import LibraryRow, SectionInfo, ServerRow

__all__ = [
    "ANSWERS",
    "SILENT",
    "STRANGER",
    "AddedServer",
    "DiscoveredServer",
    "PlexError",
    "Probe",
    "ServerCheck",
    "account_servers_now",
    "add_from_account",
    "add_server",
    "check_server",
    "client_for",
    "discover_servers",
    "edit_server",
    "identity_changed",
    "normalize_base_url",
    "probe_identity",
    "refresh_libraries",
    "store_account_server",
]

ClientFactory = Callable[..., PlexClient]


@dataclass(frozen=True)
class ServerCheck:
    """What a successful connection test learned."""

    machine_identifier: str
    version: str
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class AddedServer:
    server: ServerRow
    libraries: tuple[LibraryRow, ...]
    adopted: bool = False  # already in the catalog (added by hand): now it keeps the account's addresses


def normalize_base_url(url: str) -> str:
    """Accept `http(s)://[user:password@]host[:port][/prefix]`; refuse anything else in one line.

    Messages show the URL scrubbed (a password or an `X-Plex-Token` pasted into it is hidden); a
    password is registered with the redaction layer so it is never shown anywhere else either.
    """
    text = url.strip()
    shown = scrub_url(text)
    if "://" not in text:
        host = text.split("/", 1)[0] or "host"
        example = f"http://{host}" if _has_port(host) else f"http://{host}:32400"
        raise ConfigError(f"server URL {shown!r} needs a scheme, e.g. {scrub_url(example)}")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        reason = "has an invalid port" if "port" in str(exc).lower() else f"cannot be read ({exc})"
        raise ConfigError(f"server URL {shown!r} {reason}; use e.g. http://192.168.1.10:32400") from None
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"server URL {shown!r} must start with http:// or https://")
    if not parts.hostname:
        raise ConfigError(f"server URL {shown!r} has no host name")
    if parts.query or parts.fragment:
        raise ConfigError(f"server URL {shown!r} must not carry a query (pass the token with --token)")
    if port == 0:
        raise ConfigError(f"server URL {shown!r} has port 0; Plex listens on 32400 unless changed")
    return text.rstrip("/")


def _has_port(host: str) -> bool:
    """`host:32400` or `[::1]:32400` (a bare IPv6 address has colons but no port)."""
    if host.startswith("["):
        return "]:" in host
    return host.count(":") == 1


def normalize_token(token: str) -> str:
    """The token as it will be stored and sent: whitespace stripped, refused if unusable."""
    return check_token(token)


def normalize_name(name: str) -> str:
    """A server name as stored: stripped; refused when empty or holding control characters."""
    text = name.strip()
    if not text:
        raise ConfigError("a server needs a non-empty name, e.g. 'home'")
    if any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in text):
        raise ConfigError(f"the server name {text!r} holds control characters; pick a plain name")
    return text


def _verify(verify_tls: bool, ca_bundle: str | None) -> bool | str:
    return ca_bundle if (verify_tls and ca_bundle) else verify_tls


def client_for(
    server: ServerRow, *, transport: httpx.BaseTransport | None = None, **options: object
) -> PlexClient:
    """A client for a registered server, honouring its TLS settings."""
    return PlexClient(
        server.base_url,
        server.token,
        verify=_verify(server.verify_tls, server.ca_bundle),
        transport=transport,
        **options,  # type: ignore[arg-type]
    )


def check_server(
    base_url: str,
    token: str,
    *,
    verify_tls: bool = True,
    ca_bundle: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> ServerCheck:
    """Connection test: `/identity` (is it Plex?) then `/library/sections` (does it take the token?)."""
    token = normalize_token(token)
    with PlexClient(
        normalize_base_url(base_url), token, verify=_verify(verify_tls, ca_bundle), transport=transport
    ) as client:
        identity = client.identity()
        sections = client.sections()
    return ServerCheck(identity.machine_identifier, identity.version, tuple(sections))


def _section_infos(sections: tuple[Section, ...]) -> list[SectionInfo]:
    return [
        SectionInfo(
            key=s.key,
            uuid=s.uuid,
            title=s.title,
            kind=s.type,
            agent=s.agent,
            locations=tuple(loc.path for loc in s.locations),
        )
        for s in sections
    ]


def add_server(
    engine: Engine,
    name: str,
    base_url: str,
    token: str,
    *,
    verify_tls: bool = True,
    ca_bundle: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> AddedServer:
    """Check the server, then record it and its movie and show sections (enabled) in one transaction."""
    name = normalize_name(name)
    url = normalize_base_url(base_url)
    token = normalize_token(token)
    registry.validate_server({"name": name, "base_url": url, "token": token, "ca_bundle": ca_bundle})
    with engine.connect() as conn:
        if any(s.name == name for s in registry.list_servers(conn)):
            raise ConfigError(
                f"a server named {name!r} already exists; pick another name or use `server edit`"
            )
    check = check_server(url, token, verify_tls=verify_tls, ca_bundle=ca_bundle, transport=transport)
    now = int(time.time())
    with engine.begin() as conn:
        _refuse_second_copy(conn, check.machine_identifier, url, keep=None)
        server = registry.add_server(
            conn,
            name=name,
            base_url=url,
            token=token,
            now=now,
            machine_identifier=check.machine_identifier,
            version=check.version,
            verify_tls=verify_tls,
            ca_bundle=ca_bundle,
        )
        registry.sync_sections(conn, server.id, _section_infos(check.sections), now=now)
        libraries = registry.list_libraries(conn, server=name)
    return AddedServer(server, tuple(libraries))


def edit_server(
    engine: Engine,
    name: str,
    *,
    new_name: str | None = None,
    base_url: str | None = None,
    token: str | None = None,
    verify_tls: bool | None = None,
    ca_bundle: str | None = None,
    check_local_files: bool | None = None,
    transport: httpx.BaseTransport | None = None,
) -> ServerRow:
    """Change a server's settings; a new URL, token or TLS setting is tested before it is saved."""
    with engine.connect() as conn:
        current = registry.get_server(conn, name)
    changes: dict[str, object] = {}
    if new_name is not None:
        changes["name"] = normalize_name(new_name)
    if base_url is not None:
        changes["base_url"] = normalize_base_url(base_url)
    if token is not None:
        changes["token"] = normalize_token(token)
    if verify_tls is not None:
        changes["verify_tls"] = verify_tls
    if ca_bundle is not None:
        changes["ca_bundle"] = ca_bundle or None
    if check_local_files is not None:
        changes["check_local_files"] = check_local_files
    registry.validate_server(changes)
    if {"base_url", "token", "verify_tls", "ca_bundle"} & changes.keys():
        check = check_server(
            str(changes.get("base_url", current.base_url)),
            str(changes.get("token", current.token)),
            verify_tls=bool(changes.get("verify_tls", current.verify_tls)),
            ca_bundle=changes.get("ca_bundle", current.ca_bundle),  # type: ignore[arg-type]
            transport=transport,
        )
        if current.machine_identifier and check.machine_identifier != current.machine_identifier:
            raise ConfigError(
                f"{changes.get('base_url', current.base_url)} answers as a different Plex server "
                f"(machine {check.machine_identifier}, not {current.machine_identifier}); nothing was "
                f"changed. If {name} was really replaced, `retrovue server remove {name}` and add the "
                "new one"
            )
        changes["machine_identifier"] = check.machine_identifier
        changes["version"] = check.version
    with engine.begin() as conn:
        if "machine_identifier" in changes:
            url = str(changes.get("base_url", current.base_url))
            _refuse_second_copy(conn, str(changes["machine_identifier"]), url, keep=current.id)
        return registry.update_server(conn, name, now=int(time.time()), **changes)


def _refuse_second_copy(conn: Connection, machine_identifier: str, url: str, *, keep: int | None) -> None:
    """One catalog server per Plex server: two would sync the same items into two copies, and each
    would mark the other's items MISSING whenever the addresses got mixed up."""
    for other in registry.list_servers(conn):
        if other.id != keep and other.machine_identifier == machine_identifier:
            raise ConfigError(
                f"{url} is Plex server {other.name!r} already in the catalog (machine "
                f"{machine_identifier}); change its address with `retrovue server edit {other.name} "
                "--url …` instead"
            )


def identity_changed(
    server: ServerRow, known_uuids: Iterable[str | None], sections: Iterable[Section]
) -> str | None:
    """Why the server at `server`'s address is no longer the Plex server the catalog mirrors, or None.

    Section uuids are unique per Plex server and survive restarts and upgrades; when the catalog
    knows some and none of them is on the server any more, whatever answers at the stored address
    is another server (a DHCP swap, a mistyped URL). Syncing it would mark every item MISSING and
    add a stranger's: its libraries are refused, at no extra request.
    """
    stored = {u for u in known_uuids if u}
    current = {s.uuid for s in sections if s.uuid}
    if not stored or not current or stored & current:
        return None
    return (
        f"server {server.name} at {server.base_url} now answers as a different Plex server (none of "
        f"its libraries is there); nothing was changed — check the address with `retrovue server edit "
        f"{server.name} --url …`"
    )


def refresh_libraries(
    engine: Engine, server_name: str, *, transport: httpx.BaseTransport | None = None
) -> list[LibraryRow]:
    """Re-read the server's sections: new movie/show sections become enabled libraries.

    The server is reached as a sync reaches it (`retrovue.reach`): a server added from the Plex
    account at whichever of its addresses answers as it; one whose libraries are all gone from
    whatever answers is refused (`identity_changed`).
    """
    from retrovue.reach import reach  # reach builds on this module

    with engine.connect() as conn:
        server = registry.get_server(conn, server_name)
        known = [lib.section_uuid for lib in registry.list_libraries(conn, server=server_name)]
    got = reach(engine, server, known, transport=transport)
    got.client.close()
    sections = got.sections
    with engine.begin() as conn:
        registry.sync_sections(conn, server.id, _section_infos(sections), now=int(time.time()))
        return registry.list_libraries(conn, server=server_name)


# -- servers of the signed-in Plex account ------------------------------------------------------

ANSWERS, SILENT, STRANGER = "answers", "no answer", "another server"


@dataclass(frozen=True)
class Probe:
    """Whether a server answers at one of its addresses now, as itself."""

    uri: str
    kind: str  # local | remote | relay
    status: str  # answers | no answer | another server
    detail: str = ""  # why not, one short phrase


@dataclass(frozen=True)
class DiscoveredServer:
    """A server of the account, each address probed, and its name in the catalog if it is there."""

    server: AccountServer
    probes: tuple[Probe, ...]
    in_catalog: str | None

    @property
    def answering(self) -> Probe | None:
        return next((p for p in self.probes if p.status == ANSWERS), None)


def probe_identity(
    uri: str,
    machine_identifier: str,
    kind: str = "",
    *,
    verify: bool | str = True,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 5.0,
) -> Probe:
    """Ask `uri` who it is (`/identity`, no token, no retry): the server itself, someone else, or nobody."""
    try:
        with PlexClient(
            uri,
            "probe",
            verify=verify,
            transport=transport,
            max_retries=0,
            timeout=timeout,
            connect_timeout=3.0,
        ) as client:
            ident = client.identity()
    except PlexError as exc:
        text = " ".join(str(exc).split())
        inner = text[text.find("(") + 1 : text.find(")")] if "(" in text and ")" in text else text
        return Probe(uri, kind, SILENT, inner[:120])
    if ident.machine_identifier != machine_identifier:
        return Probe(uri, kind, STRANGER, f"machine {ident.machine_identifier}")
    return Probe(uri, kind, ANSWERS)


def _probe_all(found: list[AccountServer], transport: httpx.BaseTransport | None) -> list[tuple[Probe, ...]]:
    """Every address of every server asked `/identity` at once: one slow address costs its timeout
    once, not once per address before it."""
    jobs = [(i, s, c) for i, s in enumerate(found) for c in s.connections]
    out: list[list[Probe]] = [[] for _ in found]
    if not jobs:
        return [()] * len(found)
    with ThreadPoolExecutor(max_workers=min(8, len(jobs))) as pool:
        results = list(
            pool.map(
                lambda job: probe_identity(
                    job[2].uri, job[1].machine_identifier, job[2].kind, transport=transport
                ),
                jobs,
            )
        )
    for (index, _srv, _conn), probe in zip(jobs, results, strict=True):
        out[index].append(probe)
    return [tuple(p) for p in out]


def account_servers_now() -> list[AccountServer]:
    """The signed-in account's servers as plex.tv lists them now (`NotSignedInError` when nobody is)."""
    from retrovue import account

    saved = account.require_account()
    with account.open_plex_tv() as tv:
        return account.discover(tv, saved)


def discover_servers(
    engine: Engine,
    *,
    found: list[AccountServer] | None = None,
    probe: bool = True,
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], float] = time.time,
) -> list[DiscoveredServer]:
    """The signed-in account's servers from plex.tv, each address probed now (in parallel).

    Servers of the catalog that were added from the account get plex.tv's current addresses and
    token written back (an address that changed, a token that was rotated): this is the refresh.
    """
    servers_now = found if found is not None else account_servers_now()
    probes = _probe_all(servers_now, transport) if probe else [()] * len(servers_now)
    now = int(clock())
    out = []
    with engine.begin() as conn:
        catalog = {s.machine_identifier: s for s in registry.list_servers(conn) if s.machine_identifier}
        for srv, probed in zip(servers_now, probes, strict=True):
            row = catalog.get(srv.machine_identifier)
            if row is not None and (row.owner is not None or registry.list_connections(conn, row.id)):
                store_account_server(conn, row, srv, now=now)
            out.append(
                DiscoveredServer(
                    srv,
                    probed,
                    row.name if row is not None else None,
                )
            )
    return out


def store_account_server(
    conn: Connection, server: ServerRow, fresh: AccountServer, *, now: int, token: bool = True
) -> None:
    """Write what the account lists for a catalog server: its addresses, owner and (`token`) token."""
    registry.replace_connections(conn, server.id, ((c.uri, c.kind) for c in fresh.connections), now=now)
    changes: dict[str, object] = {}
    if fresh.owner != server.owner:
        changes["owner"] = fresh.owner
    if token and fresh.access_token and fresh.access_token != server.token:
        redact.register(fresh.access_token)
        changes["token"] = fresh.access_token
    if changes:
        registry.update_server(conn, server.name, now=now, **changes)


def add_from_account(
    engine: Engine,
    plex_name: str,
    *,
    as_name: str | None = None,
    found: list[AccountServer] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> AddedServer:
    """Register one of the account's servers (by its Plex name or machine identifier).

    It is stored with the access token plex.tv lists for it (never the account token of another
    owner's server) and every address, the first that answers as the server (its machine identifier
    checked) in use; then its libraries are read as `add_server` does. A server already in the
    catalog because it was added by hand keeps its name and address and takes on the account's
    addresses and token (`adopted`); one added from the account already is refused.
    """
    from retrovue.account import pick_server

    servers_now = found if found is not None else account_servers_now()
    target = pick_server(servers_now, plex_name)
    name = normalize_name(as_name or target.name)
    if not target.access_token:
        raise ConfigError(
            f"plex.tv lists no access token of this account for {target.name!r}; "
            "ask its owner to share it again"
        )
    token = normalize_token(target.access_token)
    redact.register(token)
    with engine.connect() as conn:
        rows = registry.list_servers(conn)
        existing = next((r for r in rows if r.machine_identifier == target.machine_identifier), None)
        if existing is not None and (
            existing.owner is not None or registry.list_connections(conn, existing.id)
        ):
            raise ConfigError(
                f"{target.name!r} is already in the catalog as {existing.name!r}; "
                "`retrovue server discover` refreshes its addresses and token"
            )
    # A server added by hand takes on the account's addresses and token, under its own name.
    if existing is None and any(r.name == name for r in rows):
        raise ConfigError(f"a server named {name!r} already exists; add this one with --as ANOTHER_NAME")
    if not target.connections:
        raise PlexUnreachableError(f"plex.tv lists no address for {target.name!r}; is it signed in to Plex?")
    tried = []
    check = None
    chosen = None
    for cand in target.connections:
        probe = probe_identity(cand.uri, target.machine_identifier, cand.kind, transport=transport)
        if probe.status != ANSWERS:
            tried.append(
                f"{cand.kind} {cand.uri}: {probe.status}" + (f" ({probe.detail})" if probe.detail else "")
            )
            continue
        check = check_server(cand.uri, token, transport=transport)
        chosen = cand
        break
    if check is None or chosen is None:
        offline = "" if target.online else "plex.tv says it is offline; "
        raise PlexUnreachableError(
            f"{target.name!r} did not answer as itself at any of its {len(tried)} addresses "
            f"({'; '.join(tried)}); {offline}start it or try again later"
        )
    now = int(time.time())
    if existing is not None:
        with engine.begin() as conn:
            store_account_server(conn, existing, target, now=now)
            registry.set_connection_result(conn, existing.id, chosen.uri, ok=True, now=now)
            registry.sync_sections(conn, existing.id, _section_infos(check.sections), now=now)
            server = registry.get_server_by_id(conn, existing.id)
            libraries = registry.list_libraries(conn, server=server.name)
        return AddedServer(server, tuple(libraries), adopted=True)
    with engine.begin() as conn:
        _refuse_second_copy(conn, check.machine_identifier, chosen.uri, keep=None)
        server = registry.add_server(
            conn,
            name=name,
            base_url=chosen.uri,
            token=token,
            now=now,
            machine_identifier=check.machine_identifier,
            version=check.version,
            owner=target.owner,
        )
        registry.replace_connections(conn, server.id, ((c.uri, c.kind) for c in target.connections), now=now)
        registry.set_connection_result(conn, server.id, chosen.uri, ok=True, now=now)
        registry.sync_sections(conn, server.id, _section_infos(check.sections), now=now)
        libraries = registry.list_libraries(conn, server=name)
    return AddedServer(server, tuple(libraries))
