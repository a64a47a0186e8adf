"""Text from Plex reaches the user's terminal only as text: escapes shown escaped, markup as written.

Download file names carry terminal escapes (`ESC]0;…BEL` retitles the window, `ESC[2J` clears it,
C1 `\\x9b` is CSI on 8-bit terminals) and brackets (`[/]` is rich's closing tag). Written raw they
would reprogram the terminal of whoever runs `retrovue items`, or crash the table.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

import pytest

from retrovue.sim import Simulator
from tests.conftest import CliResult

HOSTILE = {
    "osc": "Title \x1b]0;owned\x07 end",
    "clear": "Clear \x1b[2J\x1b[H me",
    "c1": "Eight-bit \x9b31m red",
    "del-and-bs": "Back\x08\x08space \x7f",
    "markup": "Closing [/] tag [bold]and[/bold] [link=file:///etc/passwd]link[/link]",
}
RAW_CONTROLS = {chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))}


def _retitle(sim: Simulator) -> dict[str, str]:
    movies = [m for sec in sim.ground_truth()["sections"] for m in sec.get("movies", [])]
    keys = {}
    for (name, title), movie in zip(HOSTILE.items(), movies, strict=False):
        sim.edit(movie["ratingKey"], title=title)
        keys[name] = str(movie["ratingKey"])
    return keys


def test_control_characters_in_titles_are_shown_escaped(
    cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # whole titles on one line, to look for them
    with Simulator(seed=2, shows=1, movies=len(HOSTILE), seasons_per_show=1, episodes_per_season=1) as sim:
        _retitle(sim)
        assert cli("server", "add", "home", sim.url, "--token", sim.token).code == 0
        assert cli("sync", "--json").code == 0
        table = cli("items", "--library", "Movies", "--sort", "title")
        assert table.code == 0, table.err
        assert not RAW_CONTROLS & set(table.out), repr(table.out)
        assert "\\x1b]0;owned\\x07" in table.out.replace("\n", "")
        assert "\\x9b31m" in table.out.replace("\n", "")
        assert "[/]" in table.out.replace("\n", "")  # markup shown as written, not a crash
        as_json = cli("items", "--library", "Movies", "--format", "json")
        assert not RAW_CONTROLS & set(as_json.out), "raw control characters in JSON output"
        titles = {row["title"] for row in json.loads(as_json.out)}
        assert set(HOSTILE.values()) <= titles  # JSON escapes are the same strings, nothing lost
        as_csv = cli("items", "--library", "Movies", "--format", "csv")
        rows = list(csv.DictReader(io.StringIO(as_csv.out)))
        assert {r["title"] for r in rows} >= set(HOSTILE.values())  # CSV to a pipe is data, kept whole
        for args in (("libraries", "--no-refresh"), ("runs",), ("sync",), ("paths", "check")):
            result = cli(*args)
            assert not RAW_CONTROLS & set(result.out + result.err), (args, result.out)


def test_an_error_line_never_carries_raw_control_characters(cli: Callable[..., CliResult]) -> None:
    result = cli("items", "--library", "Lib \x1b]0;owned\x07 \x9b2J")
    assert result.code == 2
    assert not RAW_CONTROLS & set(result.err), repr(result.err)
    assert "\\x1b]0;owned" in result.err
