"""`retrovue login` / `retrovue logout`: sign this install in to a Plex account, or forget it.

A thin shell over `retrovue.account`: create a PIN, print (and, in a desktop session, open) the link
where the user approves it, poll until it is approved or expires, store the checked token. It never
waits for a key press, so it works the same without a terminal; Ctrl-C cancels.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import webbrowser
from typing import Annotated

import typer

from retrovue import account
from retrovue.cli import app
from retrovue.cli.common import console, err_console
from retrovue.errors import SignInExpiredError


def _desktop_session() -> bool:
    """True where a browser can open a window for the user (not over plain SSH, not in cron)."""
    if not sys.stdout.isatty():
        return False
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _open_browser(url: str) -> bool:
    try:
        return bool(webbrowser.open(url, new=2))
    except webbrowser.Error:
        return False


def _minutes(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@app.command("login")
def login(
    token: Annotated[
        str | None,
        typer.Option(
            "--token", help="Store this account token instead of signing in with a code (headless boxes)."
        ),
    ] = None,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Only print the sign-in link; do not open a browser.")
    ] = False,
) -> None:
    """Sign in with your Plex account (a code you approve at app.plex.tv) and keep its token privately."""
    with account.open_plex_tv() as tv:
        if token is None:
            token = _sign_in_with_code(tv, open_browser=not no_browser and _desktop_session())
        saved = account.finish_sign_in(tv, token)
    console.print(f"Signed in to Plex as [bold]{saved.username}[/].")
    console.print(
        f"The account token is in {account.account_path()} (readable only by you; never in the catalog).",
        soft_wrap=True,
    )
    console.print(
        "Next: [bold]retrovue server discover[/], then [bold]retrovue server add --from-account NAME[/]."
    )


def _sign_in_with_code(tv: account.PlexTv, *, open_browser: bool) -> str:
    pending = account.start_sign_in(tv)
    left = pending.expires_at - time.time()
    console.print(f"To sign in, approve the code [bold]{pending.code}[/] at:")
    console.print(pending.url, soft_wrap=True, markup=False)
    if open_browser and _open_browser(pending.url):
        console.print("(opened in your browser)")
    console.print(f"Waiting for approval; the code expires in {_minutes(left)}. Ctrl-C cancels.")
    cancel = threading.Event()
    try:
        result = account.wait_for_approval(tv, pending, cancel=cancel)
    except KeyboardInterrupt:
        cancel.set()
        err_console.print("Sign-in cancelled; nothing was stored.")
        raise typer.Exit(130) from None
    if result.status != account.APPROVED or not result.token:
        raise SignInExpiredError(
            f"the code {pending.code} expired before it was approved; run `retrovue login` again"
        )
    return result.token


@app.command("logout")
def logout() -> None:
    """Forget the Plex account on this install (servers already added keep working)."""
    path = account.account_path()
    if not account.forget_account():
        console.print("No Plex account was signed in on this install.")
        return
    console.print(f"Signed out: deleted the account token ({path}).")
    console.print(
        "Servers added from the account keep their own access tokens in the catalog; "
        "`retrovue server remove NAME` removes one.",
        soft_wrap=True,
    )
