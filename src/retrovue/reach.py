"""Reaching a registered Plex server at every run, through whichever of its addresses answers as it.

A server added from the Plex account has several addresses (`server_connections`: local, remote,
relay; HTTPS and HTTP). `servers.base_url` is the one that worked last and is tried first, with the
usual retries, and checked the way every run checks a server: its libraries' uuids must still be
there (`servers.identity_changed`, at no extra request). When it does not answer, or answers as
another Plex server (a DHCP lease handed its address to another machine), the other addresses are
tried in order (local HTTPS, local HTTP, remote HTTPS, remote HTTP, relay last). Every one of them
must first say, at `/identity`, that it is the server's machine identifier: an address that answers
as another server is refused and never used. The first that passes becomes `base_url` (remembered,
so the next run starts there), and the run summary names it. An address better than the remembered
one (local, when the run had fallen back to remote or the relay) is tried first again once it has
not been tried for an hour (`RETRY_BETTER_S`), so a server whose LAN address answers again is
reached there again.

A 401 at an address that is the server means its token is no longer good (plex.tv rotated a shared
server's access token, or the owner stopped sharing). With an account signed in on this machine,
the server's current token and addresses are read from plex.tv's `/api/v2/resources` once and the
run goes on with them; without one, or when plex.tv no longer lists the server, the error says what
to do. When no address answers at all, the addresses are refreshed from plex.tv once the same way
(a new ISP address, a moved NAS). A server added by hand has no account-listed addresses: it is
reached at its `base_url` exactly as before, with the same errors.

Tokens are never printed: every one read here is registered with `retrovue.redact`.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import httpx
import sqlalchemy as sa

from retrovue import redact
from retrovue.account.connections import Candidate, classify_url
from retrovue.account.discovery import AccountServer
from retrovue.errors import (
    AccountError,
    NotPlexServerError,
    PlexBadResponseError,
    PlexError,
    PlexNotFoundError,
    PlexTLSError,
    PlexUnauthorizedError,
    PlexUnreachableError,
)
from retrovue.plex import PlexClient, Section
from retrovue.servers import client_for, identity_changed, store_account_server
from retrovue.store import registry
from retrovue.store.registry import ServerRow

__all__ = ["AccountListing", "Reached", "candidates_for", "lookup_in_account", "reach"]

# An address that fails with one of these is not the way to the server now: try the next one.
_WRONG_ADDRESS = (
    PlexUnreachableError,
    PlexTLSError,
    NotPlexServerError,
    PlexNotFoundError,
    PlexBadResponseError,
)

AccountLookup = Callable[[ServerRow], AccountServer | None]
"""The account's current view of a server (token, addresses) by machine identifier, or None."""


@dataclass(frozen=True)
class Reached:
    """A server reached: an open client at the address that answered as it, and its sections."""

    server: ServerRow  # as stored now (a new base_url or token when this run changed them)
    client: PlexClient = field(repr=False)  # open: the caller closes it
    sections: tuple[Section, ...]
    address: str
    connection: str  # local | remote | relay
    fell_back: bool = False  # the remembered address did not work; `address` is the new one
    token_renewed: bool = False
    refused: tuple[str, ...] = ()  # addresses tried first, and why they were not used

    @property
    def via(self) -> str:
        """How the run reached the server, for a summary: e.g. "relay https://…"."""
        return f"{self.connection} {self.address}"


def candidates_for(server: ServerRow, connections: Iterable[registry.ConnectionRow]) -> list[Candidate]:
    """The addresses to try, the remembered one (`base_url`) first, then the listed ones in order."""
    listed = [Candidate(c.uri, c.kind) for c in connections]
    kinds = {c.uri: c.kind for c in listed}
    first = Candidate(server.base_url, kinds.get(server.base_url, classify_url(server.base_url)))
    rest = sorted((c for c in listed if c.uri != server.base_url), key=lambda c: c.rank)
    return [first, *rest]


class _Attempt:
    """One pass over a server's addresses with one token."""

    def __init__(
        self,
        server: ServerRow,
        known_uuids: Iterable[str | None],
        transport: httpx.BaseTransport | None,
        options: dict[str, object],
    ) -> None:
        self.server = server
        self.known = list(known_uuids)
        self.transport = transport
        self.options = options
        self.refused: list[tuple[Candidate, str]] = []
        self.first_error: PlexError | None = None

    def _client(self, uri: str, **extra: object) -> PlexClient:
        row = dataclasses.replace(self.server, base_url=uri)
        return client_for(row, transport=self.transport, **{**self.options, **extra})

    def try_address(
        self, cand: Candidate, *, remembered: bool
    ) -> tuple[PlexClient, tuple[Section, ...]] | None:
        """The open client and sections at `cand` if the server answers there as itself, else None
        (the reason kept in `refused`); `PlexUnauthorizedError` when it is the server and refuses the
        token."""
        server = self.server
        client = self._client(cand.uri)
        try:
            if not remembered and server.machine_identifier:
                with self._client(cand.uri, max_retries=0, connect_timeout=3.0) as probe:
                    ident = probe.identity()
                if ident.machine_identifier != server.machine_identifier:
                    self._refuse(
                        cand,
                        f"answers as another Plex server (machine {ident.machine_identifier})",
                        None,
                    )
                    client.close()
                    return None
            sections = tuple(client.sections())
        except PlexUnauthorizedError:
            client.close()
            raise
        except _WRONG_ADDRESS as exc:
            client.close()
            self._refuse(cand, _short(str(exc)), exc)
            return None
        except BaseException:
            client.close()
            raise
        row = dataclasses.replace(server, base_url=cand.uri)
        reason = identity_changed(row, self.known, sections)
        if reason is not None:
            client.close()
            self._refuse(
                cand, "answers as another Plex server (none of its libraries is there)", PlexError(reason)
            )
            return None
        return client, sections

    def _refuse(self, cand: Candidate, why: str, exc: PlexError | None) -> None:
        self.refused.append((cand, why))
        if self.first_error is None and exc is not None:
            self.first_error = exc


def _short(message: str) -> str:
    """The reason part of a Plex error line, short enough to list several of them in one line."""
    text = " ".join(message.split())
    if "(" in text and ")" in text:
        inner = text[text.find("(") + 1 : text.find(")")]
        if inner:
            return inner[:120]
    return text[:120]


def reach(
    engine: sa.Engine,
    server: ServerRow,
    known_uuids: Iterable[str | None],
    *,
    transport: httpx.BaseTransport | None = None,
    client_options: dict[str, object] | None = None,
    account_lookup: AccountLookup | None = None,
    clock: Callable[[], float] = time.time,
) -> Reached:
    """Reach `server` (see the module's doc); raises one `PlexError` with a one-line reason."""
    options = dict(client_options or {})
    lookup = account_lookup or lookup_in_account
    known = list(known_uuids)
    with engine.connect() as conn:
        stored = registry.list_connections(conn, server.id)
    from_account = bool(stored) or server.owner is not None
    cands = _better_first(candidates_for(server, stored), stored, int(clock()))
    renewed = refreshed = False
    refused: list[tuple[Candidate, str]] = []
    while True:
        attempt = _Attempt(server, known, transport, options)
        try:
            found = _first_answer(attempt, cands)
        except PlexUnauthorizedError as exc:
            _remember(engine, server, None, attempt.refused, clock)
            if renewed:
                raise PlexUnauthorizedError(
                    f"Plex server {server.name} refused the token plex.tv lists for it now (HTTP 401); "
                    "sign in again with `retrovue login`, then run `retrovue server discover`"
                ) from None
            fresh = _renewal(server, lookup, from_account=from_account)
            if fresh is None:
                raise exc from None
            server, cands = _store(engine, server, fresh, clock, token=True)
            renewed = True
            continue
        refused.extend(attempt.refused)
        if found is not None:
            cand, client, sections = found
            fell_back = cand.uri != server.base_url
            server = _remember(engine, server, cand, attempt.refused, clock)
            return Reached(
                server,
                client,
                sections,
                cand.uri,
                cand.kind,
                fell_back=fell_back,
                token_renewed=renewed,
                refused=tuple(f"{c.kind} {c.uri}: {why}" for c, why in refused),
            )
        _remember(engine, server, None, attempt.refused, clock)
        if from_account and not refreshed:  # the account lists its addresses: they may have changed
            refreshed = True
            try:
                fresh = lookup(server)
            except AccountError:
                fresh = None
            if fresh is not None:
                tried = {c.uri for c in cands}
                server, new_cands = _store(engine, server, fresh, clock, token=False)
                cands = [c for c in new_cands if c.uri not in tried]
                if cands:
                    continue
        raise _unreachable(server, attempt, refused)


RETRY_BETTER_S = 3600
"""How often a better address than the remembered one (local when a run fell back to remote or the
relay) is tried again first: a laptop back home goes back to its LAN address within the hour, and
the runs between cost no extra request."""


def _better_first(
    cands: list[Candidate], stored: Iterable[registry.ConnectionRow], now: int
) -> list[Candidate]:
    """Better-ranked addresses not tried in the last `RETRY_BETTER_S` seconds go before the
    remembered one; the order is otherwise `candidates_for`'s."""
    remembered, rest = cands[0], cands[1:]
    failed = {c.uri: c.last_failed_at for c in stored}
    better = [
        c
        for c in rest
        if c.rank < remembered.rank
        and (failed.get(c.uri) is None or now - (failed[c.uri] or 0) >= RETRY_BETTER_S)
    ]
    return [*better, remembered, *(c for c in rest if c not in better)]


def _first_answer(
    attempt: _Attempt, cands: list[Candidate]
) -> tuple[Candidate, PlexClient, tuple[Section, ...]] | None:
    for cand in cands:
        got = attempt.try_address(cand, remembered=cand.uri == attempt.server.base_url)
        if got is not None:
            return cand, got[0], got[1]
    return None


def _remember(
    engine: sa.Engine,
    server: ServerRow,
    cand: Candidate | None,
    refused: list[tuple[Candidate, str]],
    clock: Callable[[], float],
) -> ServerRow:
    """Record what a pass learned; nothing at all when the remembered address simply worked."""
    switch = cand is not None and cand.uri != server.base_url
    if not refused and not switch:
        return server
    now = int(clock())
    with engine.begin() as conn:
        for bad, _why in refused:
            registry.set_connection_result(conn, server.id, bad.uri, ok=False, now=now)
        if cand is not None and switch:
            registry.set_connection_result(conn, server.id, cand.uri, ok=True, now=now)
            return registry.update_server(conn, server.name, now=now, base_url=cand.uri)
    return server


def _unreachable(server: ServerRow, attempt: _Attempt, refused: list[tuple[Candidate, str]]) -> PlexError:
    """One line for a server reached at none of its addresses: the original error for a lone one."""
    if len(refused) <= 1 and attempt.first_error is not None:
        return attempt.first_error
    tried = "; ".join(f"{c.kind} {c.uri}: {why}" for c, why in refused)
    return PlexUnreachableError(
        f"Plex server {server.name} did not answer as itself at any of its {len(refused)} addresses "
        f"({tried}); is it running? `retrovue server discover` shows what plex.tv lists for it now"
    )


def _signed_in() -> bool:
    from retrovue.account import load_account

    try:
        return load_account() is not None
    except AccountError:
        return False


def _renewal(server: ServerRow, lookup: AccountLookup, *, from_account: bool) -> AccountServer | None:
    """The account's current listing of a server that refused its token (one plex.tv request).

    None when the refusal is not the account's business (a server added by hand that the account
    does not list): the caller raises the original error. Otherwise a one-line error on failure.
    """
    refusal = f"Plex server {server.name} refused its token (HTTP 401)"
    if not _signed_in():
        if not from_account:
            return None
        raise PlexUnauthorizedError(
            f"{refusal}: plex.tv rotated or revoked its access token, or the owner stopped sharing it; "
            "sign in with `retrovue login` so the next run renews it"
        )
    try:
        fresh = lookup(server)
    except AccountError as err:
        if not from_account:  # plex.tv's trouble does not change what a typed-in token's refusal means
            return None
        raise PlexUnauthorizedError(
            f"{refusal} and renewing it from the Plex account failed: {err}"
        ) from None
    if fresh is None:
        if not from_account:
            return None
        who = f"{server.owner} stopped sharing it" if server.owner else "it is no longer on the account"
        raise PlexUnauthorizedError(
            f"{refusal} and the signed-in Plex account no longer lists it ({who}); "
            f"`retrovue server remove {server.name}` drops it from the catalog"
        )
    if not fresh.access_token or fresh.access_token == server.token:
        raise PlexUnauthorizedError(
            f"{refusal} although plex.tv lists that same token for it; sign in again with `retrovue login`"
        )
    return fresh


def lookup_in_account(server: ServerRow) -> AccountServer | None:
    """The signed-in account's current listing of `server` (by machine identifier), or None when no
    account is signed in or the account does not list it. Raises `AccountError` when plex.tv fails."""
    from retrovue.account import discover, load_account, open_plex_tv

    if not server.machine_identifier:
        return None
    account = load_account()
    if account is None:
        return None
    with open_plex_tv() as tv:
        found = discover(tv, account)
    for candidate in found:
        if candidate.machine_identifier == server.machine_identifier:
            redact.register(candidate.access_token)
            return candidate
    return None


class AccountListing:
    """`lookup_in_account` that asks plex.tv at most once: what one sync run uses for all its servers,
    so a rotated token on several servers, or plex.tv being down, costs one request, not one each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._found: list[AccountServer] | None = None
        self._error: AccountError | None = None

    def __call__(self, server: ServerRow) -> AccountServer | None:
        from retrovue.account import discover, load_account, open_plex_tv

        if not server.machine_identifier:
            return None
        with self._lock:
            if self._error is not None:
                raise self._error
            if self._found is None:
                account = load_account()
                if account is None:
                    return None
                try:
                    with open_plex_tv() as tv:
                        self._found = discover(tv, account)
                except AccountError as exc:
                    self._error = exc
                    raise
            found = self._found
        for candidate in found:
            if candidate.machine_identifier == server.machine_identifier:
                redact.register(candidate.access_token)
                return candidate
        return None


def _store(
    engine: sa.Engine, server: ServerRow, fresh: AccountServer, clock: Callable[[], float], *, token: bool
) -> tuple[ServerRow, list[Candidate]]:
    """Keep what plex.tv lists for the server now: its addresses, and (`token`) its access token."""
    now = int(clock())
    with engine.begin() as conn:
        store_account_server(conn, server, fresh, now=now, token=token)
        server = registry.get_server_by_id(conn, server.id)
        connections = registry.list_connections(conn, server.id)
    return server, candidates_for(server, connections)
