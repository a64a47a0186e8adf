"""Signing in with the PIN flow against the plex.tv stand-in: approved, expired, cancelled, refused."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from retrovue import account
from retrovue.account import APPROVED, CANCELLED, EXPIRED, PlexTv
from retrovue.errors import AccountError, ConfigError, NotSignedInError, PlexTvUnreachableError
from retrovue.sim.plextv import PlexTvSim, free_port


def test_approved_sign_in_stores_the_token_privately_outside_the_catalog(
    plextv: PlexTvSim, tv_client: PlexTv, state_dir: Path
) -> None:
    plextv.approve_after_polls = 3
    pending = account.start_sign_in(tv_client)
    assert pending.url.startswith(f"{plextv.url}/auth#?clientID=")
    assert f"code={pending.code}" in pending.url
    result = account.wait_for_approval(tv_client, pending, interval=0.01)
    assert (result.status, result.polls) == (APPROVED, 3)
    assert account.load_account() is None  # nothing stored before the token is checked
    saved = account.finish_sign_in(tv_client, result.token or "")
    assert saved.username == "retrovue-fan"
    assert account.load_account() == saved
    path = account.account_path()
    assert path.parent == state_dir
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert plextv.token not in repr(saved) + repr(result)
    # one PIN, three checks, one /user: nothing else asked of plex.tv
    assert [r[1] for r in plextv.requests] == ["/api/v2/pins"] + [f"/api/v2/pins/{pending.pin_id}"] * 3 + [
        "/api/v2/user"
    ]


def test_every_request_names_this_install_and_the_product(plextv: PlexTvSim, tv_client: PlexTv) -> None:
    first = account.start_sign_in(tv_client)
    with PlexTv(account.client_identifier(), base_url=plextv.url) as again:
        second = account.start_sign_in(again)
    pins = {p.id: p for p in plextv.pins.values()}
    assert pins[first.pin_id].client_identifier == pins[second.pin_id].client_identifier
    assert pins[first.pin_id].client_identifier == account.client_identifier()
    assert pins[first.pin_id].product == "Retrovue Ingest"  # what the Plex client sends as X-Plex-Product
    # a PIN can be checked only by the install that made it
    with PlexTv("someone-else", base_url=plextv.url) as other:
        assert other.check_pin(first.pin_id) is None


def test_a_pin_that_lapses_ends_the_wait_as_expired(tv_client: PlexTv, plextv: PlexTvSim) -> None:
    plextv.pin_lifetime_s = 0.3
    pending = account.start_sign_in(tv_client)
    result = account.wait_for_approval(tv_client, pending, interval=0.05)
    assert result.status == EXPIRED
    assert result.token is None
    assert account.load_account() is None


def test_a_pin_plex_tv_forgot_ends_the_wait_as_expired(tv_client: PlexTv, plextv: PlexTvSim) -> None:
    pending = account.start_sign_in(tv_client)
    seen: list[int] = []

    def on_poll(polls: int, _left: float) -> None:
        seen.append(polls)
        if polls == 2:
            plextv.expire(pending.pin_id)  # plex.tv answers 404 from now on

    result = account.wait_for_approval(tv_client, pending, interval=0.01, on_poll=on_poll)
    assert (result.status, result.polls, seen) == (EXPIRED, 3, [1, 2])


def test_cancel_ends_the_wait_at_once(tv_client: PlexTv, plextv: PlexTvSim) -> None:
    pending = account.start_sign_in(tv_client)
    cancel = threading.Event()

    def on_poll(polls: int, _left: float) -> None:
        # the user presses Cancel (another thread) while the wait sleeps before its next check
        threading.Timer(0.1, cancel.set).start()

    # An hour between checks: returning at all proves the cancel cut the sleep short.
    result = account.wait_for_approval(tv_client, pending, cancel=cancel, interval=3600, on_poll=on_poll)
    assert (result.status, result.polls) == (CANCELLED, 1)
    assert account.load_account() is None


def test_login_with_a_token_checks_it_first(tv_client: PlexTv, plextv: PlexTvSim) -> None:
    with pytest.raises(NotSignedInError, match="retrovue login"):
        account.finish_sign_in(tv_client, "not-the-token")
    assert account.load_account() is None
    with pytest.raises(ConfigError, match="empty"):
        account.finish_sign_in(tv_client, "  ")
    saved = account.finish_sign_in(tv_client, f" {plextv.token}\n")
    assert saved.token == plextv.token
    assert account.forget_account() is True
    assert account.forget_account() is False
    assert account.load_account() is None


def test_unreachable_plex_tv_is_one_clear_line() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with PlexTv("install", base_url=dead) as client, pytest.raises(PlexTvUnreachableError) as info:
        client.create_pin()
    message = str(info.value)
    assert "\n" not in message
    assert "cannot reach plex.tv" in message
    assert dead in message


def test_plex_tv_base_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RETROVUE_PLEX_TV_URL")
    assert account.plex_tv_url() == "https://plex.tv"
    with PlexTv("install") as real:
        assert real.auth_url("abc").startswith("https://app.plex.tv/auth#?clientID=install&code=abc&")
    monkeypatch.setenv("RETROVUE_PLEX_TV_URL", "http://127.0.0.1:8123/")
    assert account.plex_tv_url() == "http://127.0.0.1:8123"
    monkeypatch.setenv("RETROVUE_PLEX_TV_URL", "ftp://plex")
    with pytest.raises(ConfigError, match="RETROVUE_PLEX_TV_URL"):
        account.plex_tv_url()


def test_a_damaged_or_loose_sign_in_file(state_dir: Path) -> None:
    path = account.account_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    with pytest.raises(AccountError, match=r"damaged.*retrovue login"):
        account.load_account()
    account.save_account(account.SavedAccount("tok-123456", 1, "me", signed_in_at=5))
    os.chmod(path, 0o644)  # copied around with loose modes
    assert account.load_account() == account.SavedAccount("tok-123456", 1, "me", signed_in_at=5)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_client_identifier_is_created_once(state_dir: Path) -> None:
    first = account.client_identifier()
    assert account.client_identifier() == first
    assert (state_dir / "client-id").read_text().strip() == first
