"""Messages that say what is wrong: no misleading advice, and scripts get JSON whatever happens."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import Engine

from retrovue.sim import Simulator
from retrovue.store import locks, registry
from retrovue.store.db import open_catalog
from tests.conftest import CliResult

TOKEN = "Messages-Test-Token-4h2"


def _error_line(result: CliResult) -> str:
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    return lines[0]


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("127.0.0.1:32411", "http://127.0.0.1:32411"),
        ("nas.local", "http://nas.local:32400"),
        ("[::1]:32411", "http://[::1]:32411"),
    ],
)
def test_a_url_without_a_scheme_gets_a_usable_suggestion(
    cli: Callable[..., CliResult], typed: str, suggested: str
) -> None:
    result = cli("server", "add", "x", typed, "--token", TOKEN)
    assert result.code == 2
    line = _error_line(result)
    assert line.endswith(f"e.g. {suggested}"), line


def test_a_404_for_the_section_list_names_the_url_not_a_deleted_library(
    cli: Callable[..., CliResult],
) -> None:
    with Simulator(seed=1, shows=1, movies=1, token=TOKEN) as sim:
        sim.set_faults("status=404@/library/sections")
        result = cli("server", "add", "home", sim.url, "--token", TOKEN)
    assert result.code == 1
    line = _error_line(result)
    assert "deleted" not in line, line
    assert "/library/sections" in line


def test_sync_json_prints_json_when_the_library_is_locked(
    cli: Callable[..., CliResult], tmp_path: object
) -> None:
    with Simulator(seed=1, shows=1, movies=2, seasons_per_show=1, episodes_per_season=1, token=TOKEN) as sim:
        assert cli("server", "add", "home", sim.url, "--token", TOKEN).code == 0
        engine: Engine = open_catalog(f"sqlite:///{tmp_path}/cli.sqlite")
        try:
            with engine.connect() as conn:
                movies = registry.get_library(conn, "Movies")
            owner = locks.acquire_lock(engine, movies.id)
            try:
                result = cli("sync", "--library", "Movies", "--json")
                everything = cli("sync", "--json")
            finally:
                locks.release_lock(engine, movies.id, owner)
        finally:
            engine.dispose()
    assert result.code == 1
    (entry,) = json.loads(result.out)  # the JSON is there for scripts, whatever happened
    assert entry["status"] == "failed"
    assert entry["library_title"] == "Movies"
    assert entry["server_name"] == "home"
    assert "being synced" in entry["reason"]
    assert "being synced" in _error_line(result)
    assert everything.code == 1
    statuses = {s["library_title"]: s["status"] for s in json.loads(everything.out)}
    assert statuses == {"Movies": "failed", "TV Shows": "ok"}


def test_sync_json_prints_json_when_the_catalog_cannot_be_opened(cli: Callable[..., CliResult]) -> None:
    result = cli("sync", "--json", db_url="nosuchdialect://x/y")
    assert result.code == 2
    (entry,) = json.loads(result.out)
    assert entry["status"] == "failed"
    assert "dialect" in entry["reason"]
