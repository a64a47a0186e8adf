"""`retrovue demo` never touches the user's catalog: its own throwaway one, named in its last line.

The README tells shared-catalog users to `export DB_URL=…`; a demo run in that shell used to add
servers `demo` and `demo-x` to their real catalog, after which every `retrovue sync` failed. These
tests run the CLI as a user would (no `--db-url` unless the case is about it).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from retrovue import servers
from retrovue.cli import main
from retrovue.sim import Simulator
from retrovue.store import registry
from retrovue.store.db import default_db_url, open_catalog
from tests.conftest import CliResult


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> CliResult:
    capsys.readouterr()
    code = 0
    try:
        main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return CliResult(code, out, err)


def _names(url: str) -> list[str]:
    engine = open_catalog(url)
    try:
        with engine.connect() as conn:
            return [s.name for s in registry.list_servers(conn)]
    finally:
        engine.dispose()


@pytest.fixture
def users_catalog(tmp_path: Path) -> Iterator[str]:
    """A user's shared catalog with their server 'home' in it, exported as DB_URL."""
    url = f"sqlite:///{tmp_path / 'users-catalog.sqlite'}"
    with Simulator(seed=1, shows=1, movies=1, seasons_per_show=1, episodes_per_season=1) as sim:
        engine = open_catalog(url)
        servers.add_server(engine, "home", sim.url, sim.token)
        engine.dispose()
        yield url


DEMO = ("demo", "--shows", "2", "--movies", "3")


def _kept_catalog(result: CliResult) -> Path:
    last = result.out.strip().splitlines()[-1]
    assert "sqlite:///" in last, last
    url = last[last.index("sqlite:///") :].split()[0].rstrip(".;,")
    return Path(make_url(url).database or "")


def test_the_demo_ignores_db_url_from_the_environment(
    capsys: pytest.CaptureFixture[str], users_catalog: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_URL", users_catalog)
    monkeypatch.setenv("COLUMNS", "400")
    result = _run(capsys, *DEMO)
    assert result.code == 0, result.err
    assert _names(users_catalog) == ["home"]  # the user's catalog is as it was
    kept = _kept_catalog(result)
    assert kept.is_file()
    assert str(kept) not in users_catalog
    assert _names(f"sqlite:///{kept}") == ["demo"]
    assert not Path(make_url(default_db_url()).database or "").exists()  # nor the default one


def test_the_demo_cleans_up_when_asked(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    kept = _kept_catalog(_run(capsys, *DEMO))
    assert kept.is_file()
    result = _run(capsys, *DEMO, "--clean")
    assert result.code == 0, result.err
    last = result.out.strip().splitlines()[-1]
    assert "removed" in last, last
    folder = Path(last.split("removed", 1)[1].strip().split()[0].rstrip(".;,"))
    assert folder.name.startswith("retrovue-demo-")
    assert not folder.exists()


def test_an_explicit_db_url_is_used(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    url = f"sqlite:///{tmp_path / 'chosen.sqlite'}"
    result = _run(capsys, "--db-url", url, *DEMO, "--clean")
    assert result.code == 0, result.err
    assert _names(url) == ["demo"]
    assert url in result.out.strip().splitlines()[-1]  # named, and kept: the user chose it
    assert Path(tmp_path / "chosen.sqlite").is_file()


def test_make_demo_ignores_an_exported_db_url(users_catalog: str, tmp_path: Path) -> None:
    """The console script in a fresh process, as `make demo` runs it."""
    import subprocess

    env = {**os.environ, "DB_URL": users_catalog, "COLUMNS": "400"}
    proc = subprocess.run(
        [sys.executable, "-m", "retrovue.cli", *DEMO, "--clean"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert _names(users_catalog) == ["home"]
