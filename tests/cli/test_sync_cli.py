"""`retrovue sync`, `items`, `runs`, `purge` and `demo` end to end, in-process."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

from retrovue.sim import Simulator
from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def _setup(cli: Cli, sim: Simulator) -> None:
    assert cli("server", "add", "home", sim.url, "--token", sim.token).code == 0


def test_sync_json_then_items_and_runs(cli: Cli, plex_sim: Simulator) -> None:
    _setup(cli, plex_sim)
    first = cli("sync", "--json")
    assert first.code == 0, first.err
    summaries = json.loads(first.out)
    assert {s["library_title"]: s["status"] for s in summaries} == {"Movies": "ok", "TV Shows": "ok"}
    assert all(s["changed"] == s["processed"] > 0 for s in summaries)
    again = json.loads(cli("sync", "--json").out)
    assert all(s["gated"] and s["changed"] == 0 for s in again)
    items = json.loads(cli("items", "--library", "Movies", "--format", "json").out)
    assert len(items) == summaries[0]["processed"]
    assert all(i["state"] in ("REMOTE_ONLY", "UNAVAILABLE") for i in items)  # no path mapping yet
    assert all(i["file"] is None or i["file"].startswith("/") for i in items)
    rows = list(csv.DictReader(io.StringIO(cli("items", "--format", "csv", "--state", "remote_only").out)))
    assert rows
    assert {r["state"] for r in rows} == {"REMOTE_ONLY"}
    searched = json.loads(cli("items", "-q", items[0]["title"][:4], "--format", "json").out)
    assert any(i["id"] == items[0]["id"] for i in searched)
    history = json.loads(cli("runs", "--json").out)
    assert len(history) == 4
    assert {r["status"] for r in history} == {"ok"}
    table = cli("items", "--library", "TV Shows", "--limit", "3")
    assert table.code == 0
    assert "3 items" in table.out
    for result in (first, table):
        assert plex_sim.token not in result.out + result.err


def test_sync_progress_output_and_partial_exit_code(cli: Cli, plex_sim: Simulator) -> None:
    _setup(cli, plex_sim)
    shown = cli("sync")
    assert shown.code == 0
    assert "home/TV Shows" in shown.out
    assert "ok" in shown.out
    plex_sim.set_section_offline("1")
    partial = cli("sync", "--library", "TV Shows")
    assert partial.code == 1
    assert "partial" in partial.out
    assert "threshold" in partial.out


def test_purge_removes_only_deleted(cli: Cli, plex_sim: Simulator) -> None:
    _setup(cli, plex_sim)
    cli("sync")
    movie = plex_sim.ground_truth()["sections"][1]["movies"][0]["ratingKey"]
    plex_sim.remove(movie)
    cli("sync")
    assert cli("sync", "--deep", "--json").code == 0  # confirms the 404: DELETED
    deleted = json.loads(cli("items", "--state", "DELETED", "--format", "json").out)
    assert [i["rating_key"] for i in deleted] == [movie]
    assert cli("purge", "--library", "Movies", input="n\n").code == 1
    assert cli("purge", "--library", "Movies", "--yes").code == 0
    assert json.loads(cli("items", "--state", "DELETED", "--format", "json").out) == []
    assert len(json.loads(cli("items", "--library", "Movies", "--format", "json").out)) == 9


def test_bad_arguments_are_one_line_usage_errors(cli: Cli) -> None:
    for args, message in (
        (("items", "--format", "xml"), "unknown --format"),
        (("items", "--state", "GONE"), "unknown state"),
        (("items", "--sort", "colour"), "unknown --sort"),
        (("sync", "--library", "Nope"), "no library 'Nope'"),
        (("sync", "--server", "ghost"), "no server named 'ghost'"),
        (("purge", "--library", "Nope", "--yes"), "no library"),
    ):
        result = cli(*args)
        assert result.code == 2, (args, result)
        assert message in result.err
        assert result.err.count("\n") == 1
    bad_page = cli("sync", "--page-size", "0")
    assert bad_page.code == 2


def test_demo_runs_end_to_end(cli: Cli) -> None:
    result = cli("demo", "--shows", "4", "--movies", "6")
    assert result.code == 0, result.err
    for heading in (
        "1. First sync",
        "2. Sync again, nothing changed — 1 requests",
        "3. Incremental",
        "4. Deep",
    ):
        assert heading in result.out
    assert "Catalog by state" in result.out
