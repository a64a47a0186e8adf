"""`retrovue login` / `logout` against the plex.tv stand-in, run the way users run them."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from retrovue import account
from retrovue.sim.plextv import PlexTvSim, free_port
from tests.conftest import CliResult


@pytest.fixture
def plextv(monkeypatch: pytest.MonkeyPatch) -> Iterator[PlexTvSim]:
    with PlexTvSim(approve_after_polls=2) as tv:
        monkeypatch.setenv("RETROVUE_PLEX_TV_URL", tv.url)
        yield tv


def _no_token(result: CliResult, tv: PlexTvSim) -> None:
    assert tv.token not in result.out + result.err


def test_login_prints_the_link_polls_and_stores_the_token(
    cli: Callable[..., CliResult], plextv: PlexTvSim, state_dir: Path
) -> None:
    result = cli("login")
    assert result.code == 0, result.err
    (pin,) = plextv.pins.values()
    assert f"approve the code {pin.code} at:" in result.out
    assert f"{plextv.url}/auth#?clientID=" in result.out
    assert f"code={pin.code}" in result.out.replace("\n", "")  # the link is never wrapped
    assert "expires in 30 minutes" in result.out
    assert "Signed in to Plex as retrovue-fan." in result.out
    assert pin.polls == 2
    _no_token(result, plextv)
    path = state_dir / "plex-account.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert account.load_account() is not None


def test_login_that_expires_stores_nothing(
    cli: Callable[..., CliResult], plextv: PlexTvSim, state_dir: Path
) -> None:
    plextv.approve_after_polls = None
    plextv.pin_lifetime_s = 1.5
    result = cli("login", "--no-browser")
    assert result.code == 1
    (line,) = result.err.strip().splitlines()
    assert line.startswith("error: the code ")
    assert line.endswith("expired before it was approved; run `retrovue login` again")
    assert not (state_dir / "plex-account.json").exists()


def test_login_cancelled_with_ctrl_c_stores_nothing(
    plextv: PlexTvSim, state_dir: Path, tmp_path: Path
) -> None:
    plextv.approve_after_polls = None
    out = tmp_path / "out.txt"
    with out.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "retrovue.cli", "login"],
            stdin=subprocess.DEVNULL,  # never waits for a key press
            stdout=sink,
            stderr=subprocess.PIPE,
            text=True,
        )
    deadline = time.monotonic() + 60
    while not any(p.polls for p in plextv.pins.values()):
        assert proc.poll() is None, out.read_text()
        assert time.monotonic() < deadline, out.read_text()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err.strip() == "Sign-in cancelled; nothing was stored."
    assert "Waiting for approval" in out.read_text()
    assert not (state_dir / "plex-account.json").exists()


def test_login_with_a_token_and_logout(
    cli: Callable[..., CliResult], plextv: PlexTvSim, state_dir: Path
) -> None:
    refused = cli("login", "--token", "wrong-token")
    assert refused.code == 1
    assert refused.err.strip() == (
        "error: plex.tv refused the account's token for GET /api/v2/user (HTTP 401); "
        "sign in again with `retrovue login`"
    )
    assert "wrong-token" not in refused.out + refused.err
    assert not (state_dir / "plex-account.json").exists()
    ok = cli("login", "--token", plextv.token)
    assert ok.code == 0
    assert plextv.pins == {}  # no PIN needed
    _no_token(ok, plextv)
    out = cli("logout")
    assert (out.code, "Signed out" in out.out) == (0, True)
    assert not (state_dir / "plex-account.json").exists()
    assert "No Plex account was signed in" in cli("logout").out


def test_login_when_plex_tv_is_unreachable(
    cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RETROVUE_PLEX_TV_URL", f"http://127.0.0.1:{free_port()}")
    result = cli("login")
    assert result.code == 1
    (line,) = result.err.strip().splitlines()
    assert line.startswith("error: cannot reach plex.tv at http://127.0.0.1:")
    assert "check this machine's internet connection" in line
