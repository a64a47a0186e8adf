"""Every command, given bad arguments, answers with one clear error line and exit code 2.

Table-driven over all commands; a guard test fails when a command is added without a row here.
Usage errors detected by the option parser (typer/click) print the usual `Usage:` / `Try … --help`
hint lines around their single `Error:` line; errors found by Retrovue print `error: …` alone.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import typer

from retrovue.cli import _register_commands, app
from tests.conftest import CliResult

CASES: list[tuple[str, list[str]]] = [
    # sync
    ("sync", ["sync", "--server", "nope"]),
    ("sync", ["sync", "--library", "nope"]),
    ("sync", ["sync", "--page-size", "0"]),
    ("sync", ["sync", "--page-size", "many"]),
    ("sync", ["sync", "--bogus"]),
    # demo / gui / sim
    ("demo", ["demo", "--shows", "0"]),
    ("demo", ["demo", "--seed", "x"]),
    ("gui", ["gui", "--bogus"]),
    ("sim", ["sim", "--fault", "bogus"]),
    ("sim", ["sim", "--fault", "status=700"]),
    ("sim", ["sim", "--shows", "-1"]),
    ("sim", ["sim", "--port", "http"]),
    ("sim", ["sim", "--plex-tv", "--approve-after", "-1"]),
    ("sim", ["sim", "--plex-tv", "--plex-tv-port", "70000"]),
    # login / logout
    ("login", ["login", "--token", " "]),
    ("login", ["login", "--bogus"]),
    ("logout", ["logout", "now"]),
    # watch
    ("watch", ["watch", "--debounce", "-1"]),
    ("watch", ["watch", "--fallback-interval", "0"]),
    # items / runs / purge
    ("items", ["items", "--format", "xml"]),
    ("items", ["items", "--sort", "nope"]),
    ("items", ["items", "--state", "GONE"]),
    ("items", ["items", "--server", "nope"]),
    ("items", ["items", "--library", "nope"]),
    ("items", ["items", "--limit", "0"]),
    ("runs", ["runs", "--library", "nope"]),
    ("runs", ["runs", "--limit", "-3"]),
    ("purge", ["purge"]),
    ("purge", ["purge", "--library", "nope", "--yes"]),
    # libraries
    ("libraries", ["libraries", "--server", "nope"]),
    ("libraries enable", ["libraries", "enable", "nope"]),
    ("libraries disable", ["libraries", "disable", "nope", "--server", "nope"]),
    ("libraries set", ["libraries", "set", "nope", "--retention-days", "3"]),
    ("libraries set", ["libraries", "set", "x", "--missing-threshold", "lots"]),
    # server
    ("server add", ["server", "add", "x", "notaurl", "--token", "t"]),
    ("server add", ["server", "add", "x", "ftp://host", "--token", "t"]),
    ("server add", ["server", "add", "x", "http://host:notaport", "--token", "t"]),
    ("server add", ["server", "add", "x", "http://host?X-Plex-Token=t", "--token", "t"]),
    ("server add", ["server", "add", "x", "http://127.0.0.1:9", "--token", " "]),
    ("server add", ["server", "add", "x"]),
    ("server list", ["server", "list", "--bogus"]),
    ("server edit", ["server", "edit", "nope", "--url", "http://x"]),
    ("server remove", ["server", "remove", "nope", "--yes"]),
    ("server", ["server", "bogus"]),
    # paths
    ("paths", ["paths", "bogus"]),
    ("paths add", ["paths", "add", "nope", "/data", "/mnt"]),
    ("paths remove", ["paths", "remove", "nope", "/data"]),
    ("paths list", ["paths", "list", "nope"]),
    ("paths test", ["paths", "test", "nope", "/data/x.mkv"]),
    ("paths check", ["paths", "check", "--server", "nope"]),
    ("paths suggest", ["paths", "suggest", "nope", "/mnt"]),
    ("paths apply", ["paths", "apply", "--server", "nope"]),
]

# Bad mappings need a registered server: (argv after `paths add home`).
BAD_MAPPINGS = [["", "/mnt/media"], ["/data", "relative/dir"], ["/data", ""]]

BAD_DB_URLS = ["notaurl", "nosuchdialect://x/y", "sqlite:////proc/definitely/not/here.sqlite"]


def _assert_usage_error(result: CliResult) -> None:
    assert result.code == 2, (result.code, result.out, result.err)
    lines = [line for line in result.err.splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith("error:")]
    assert len(errors) == 1, result.err
    assert len(errors[0]) > len("error: ") + 10, result.err  # says something
    assert "Traceback" not in result.err + result.out
    others = [line for line in lines if line not in errors]
    assert all(line.startswith(("Usage:", "Try ")) for line in others), result.err


@pytest.mark.parametrize(("command", "argv"), CASES, ids=[" ".join(a) for _c, a in CASES])
def test_bad_arguments_give_one_error_line_and_exit_2(
    cli: Callable[..., CliResult], command: str, argv: list[str]
) -> None:
    _assert_usage_error(cli(*argv))


@pytest.mark.parametrize("url", BAD_DB_URLS)
@pytest.mark.parametrize("command", [["items"], ["sync"], ["server", "list"], ["paths", "list"], ["runs"]])
def test_bad_db_url(cli: Callable[..., CliResult], url: str, command: list[str]) -> None:
    _assert_usage_error(cli(*command, db_url=url))


@pytest.mark.parametrize("mapping", BAD_MAPPINGS)
def test_bad_mapping(cli: Callable[..., CliResult], plex_sim: object, mapping: list[str]) -> None:
    from retrovue.sim import Simulator

    assert isinstance(plex_sim, Simulator)
    assert cli("server", "add", "home", plex_sim.url, "--token", plex_sim.token).code == 0
    _assert_usage_error(cli("paths", "add", "home", *mapping))


def _all_commands() -> set[str]:
    _register_commands()
    names = {c.name or "" for c in app.registered_commands}
    for group in app.registered_groups:
        sub = group.typer_instance
        assert isinstance(sub, typer.Typer)
        names.add(group.name or "")
        names |= {f"{group.name} {c.name}" for c in sub.registered_commands}
    return names


def test_every_command_has_a_bad_argument_case() -> None:
    covered = {command for command, _argv in CASES}
    assert _all_commands() - covered == set()
