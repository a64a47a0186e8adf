"""`retrovue.account`: the plex.tv side of a Plex account, knowing no screen and no terminal.

Signing in with the PIN flow (`signin`), the account token and this install's client identifier kept
in private files outside the catalog (`storage`), the account's owned and shared servers from
`/api/v2/resources` (`discovery`) and the order in which their addresses are tried (`connections`).
`retrovue.servers` registers discovered servers and `retrovue.reach` reaches them at every run; the
CLI and the GUI only show what these return. See docs/accounts.md.
"""

from __future__ import annotations

import httpx

from retrovue.account.connections import LOCAL, RELAY, REMOTE, Candidate, candidates, classify_url, order
from retrovue.account.discovery import AccountServer, account_servers, pick_server
from retrovue.account.models import Pin, PlexUser, Resource, ResourceConnection
from retrovue.account.plextv import AUTH_APP_URL, PLEX_TV_ENV, PLEX_TV_URL, PlexTv, plex_tv_url
from retrovue.account.signin import (
    APPROVED,
    CANCELLED,
    EXPIRED,
    PendingSignIn,
    SignInResult,
    finish_sign_in,
    start_sign_in,
    wait_for_approval,
)
from retrovue.account.storage import (
    STATE_DIR_ENV,
    SavedAccount,
    account_path,
    client_identifier,
    forget_account,
    load_account,
    save_account,
    state_dir,
)
from retrovue.errors import NotSignedInError

__all__ = [
    "APPROVED",
    "AUTH_APP_URL",
    "CANCELLED",
    "EXPIRED",
    "LOCAL",
    "PLEX_TV_ENV",
    "PLEX_TV_URL",
    "RELAY",
    "REMOTE",
    "STATE_DIR_ENV",
    "AccountServer",
    "Candidate",
    "PendingSignIn",
    "Pin",
    "PlexTv",
    "PlexUser",
    "Resource",
    "ResourceConnection",
    "SavedAccount",
    "SignInResult",
    "account_path",
    "account_servers",
    "candidates",
    "classify_url",
    "client_identifier",
    "discover",
    "finish_sign_in",
    "forget_account",
    "load_account",
    "open_plex_tv",
    "order",
    "pick_server",
    "plex_tv_url",
    "require_account",
    "save_account",
    "start_sign_in",
    "state_dir",
    "wait_for_approval",
]


def open_plex_tv(*, transport: httpx.BaseTransport | None = None, timeout: float = 15.0) -> PlexTv:
    """A plex.tv client for this install (its client identifier, `RETROVUE_PLEX_TV_URL`)."""
    return PlexTv(client_identifier(), transport=transport, timeout=timeout)


def require_account() -> SavedAccount:
    """The signed-in account, or `NotSignedInError` saying how to sign in."""
    account = load_account()
    if account is None:
        raise NotSignedInError(
            "no Plex account is signed in on this machine; run `retrovue login` "
            "(or add a server by hand with `retrovue server add NAME URL --token T`)"
        )
    return account


def discover(tv: PlexTv, account: SavedAccount) -> list[AccountServer]:
    """The account's servers as plex.tv lists them now (one request)."""
    return account_servers(tv.resources(account.token), account.token)
