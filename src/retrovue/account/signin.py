"""Signing in with a Plex account: the PIN flow for native apps, knowing no screen and no terminal.

    pending = start_sign_in(tv)             # POST /api/v2/pins: a code and the link to approve it at
    ...show pending.url, open a browser...  # the CLI prints it, the GUI shows it with a Cancel button
    result = wait_for_approval(tv, pending, cancel=event)   # GET /api/v2/pins/{id} once a second
    if result.status == APPROVED: account = finish_sign_in(tv, result.token)   # checks it, stores it

Waiting ends when the user approves (plex.tv fills in the PIN's `authToken`), when the PIN expires
(plex.tv forgets it: 404, or its `expiresAt` has passed), or when `cancel` is set; it never needs a
key press. Sleeping is `cancel.wait`, so a cancel ends the wait at once. A few failed polls in a row
(plex.tv briefly unreachable) are tolerated; more end the wait with `PlexTvUnreachableError`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from retrovue.account.models import Pin
from retrovue.account.plextv import PlexTv
from retrovue.account.storage import SavedAccount, save_account
from retrovue.errors import ConfigError, PlexTvUnreachableError

__all__ = [
    "APPROVED",
    "CANCELLED",
    "EXPIRED",
    "PendingSignIn",
    "SignInResult",
    "finish_sign_in",
    "start_sign_in",
    "wait_for_approval",
]

APPROVED, EXPIRED, CANCELLED = "approved", "expired", "cancelled"
POLL_INTERVAL_S = 1.0  # plex.tv asks native apps to check a PIN about once a second
MAX_FAILED_POLLS = 5


@dataclass(frozen=True)
class PendingSignIn:
    """A PIN waiting for the user: the code, where to approve it, and when it stops working."""

    pin_id: int
    code: str
    url: str
    expires_at: float  # epoch seconds, by this machine's clock


@dataclass(frozen=True)
class SignInResult:
    status: str  # approved | expired | cancelled
    token: str | None = field(default=None, repr=False)
    polls: int = 0


def _expiry(pin: Pin, now: float) -> float:
    """When the PIN lapses: `expiresIn` from now (immune to clock skew), else `expiresAt`, else 15 min."""
    if pin.expires_in is not None and pin.expires_in >= 0:
        return now + pin.expires_in
    if pin.expires_at:
        try:
            return datetime.fromisoformat(pin.expires_at.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return now + 900


def start_sign_in(tv: PlexTv, *, clock: Callable[[], float] = time.time) -> PendingSignIn:
    """Create a PIN and the address where the user approves it."""
    pin = tv.create_pin(strong=True)
    return PendingSignIn(pin.id, pin.code, tv.auth_url(pin.code), _expiry(pin, clock()))


def wait_for_approval(
    tv: PlexTv,
    pending: PendingSignIn,
    *,
    cancel: threading.Event | None = None,
    interval: float = POLL_INTERVAL_S,
    clock: Callable[[], float] = time.time,
    on_poll: Callable[[int, float], None] | None = None,
) -> SignInResult:
    """Poll the PIN until it is approved, expires, or `cancel` is set.

    `on_poll(polls, seconds_left)` is called after every check (a UI may show a countdown).
    """
    stop = cancel or threading.Event()
    polls = failures = 0
    while True:
        if stop.is_set():
            return SignInResult(CANCELLED, polls=polls)
        if clock() >= pending.expires_at:
            return SignInResult(EXPIRED, polls=polls)
        try:
            pin = tv.check_pin(pending.pin_id)
        except PlexTvUnreachableError:
            failures += 1
            if failures >= MAX_FAILED_POLLS:
                raise
            pin = Pin(pending.pin_id, pending.code)  # not approved yet, as far as we know
        else:
            failures = 0
        polls += 1
        if pin is None:
            return SignInResult(EXPIRED, polls=polls)
        if pin.auth_token:
            return SignInResult(APPROVED, pin.auth_token, polls)
        if on_poll is not None:
            on_poll(polls, max(0.0, pending.expires_at - clock()))
        stop.wait(interval)


def finish_sign_in(
    tv: PlexTv,
    token: str,
    *,
    directory: Path | None = None,
    clock: Callable[[], float] = time.time,
) -> SavedAccount:
    """Check `token` with plex.tv (`/api/v2/user`) and store it as this install's account.

    Also the whole of `retrovue login --token T`: a token that plex.tv refuses is never stored.
    """
    token = token.strip()
    if not token:
        raise ConfigError("the account token is empty; run `retrovue login` without --token to sign in")
    user = tv.user(token)
    account = SavedAccount(token, user.id, user.display_name, user.uuid, int(clock()))
    save_account(account, directory)
    return account
