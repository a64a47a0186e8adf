"""Every command, given bad arguments, answers with one clear error line and exit code 2.

Table-driven over all commands; a guard test fails when a command is added without a row here.
Usage errors detected by the option parser (typer/click) print the usual `Usage:` / `Try … --help`
hint lines around their single `Error:` line; errors found by Retrovue print `error: …` alone.

`CATALOG_CASES` are the inputs whose fate depends on the database (a value too long for a column,
a number too large for an integer): each runs on SQLite, PostgreSQL and MariaDB against a catalog
holding a synced server, must be refused in one line, and must leave the catalog as it was. Every
run's output is scanned for the tokens used and for a traceback (tests/leakscan.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
import typer
from sqlalchemy import Engine

from retrovue.cli import _register_commands, app
from retrovue.sim import Simulator
from tests import leakscan
from tests.conftest import CliResult

TOKEN = "Bad-Args-Token-6f2c1d"
QUERY_TOKEN = "Leaky-Query-Token-8a7b6c"
leakscan.watch(TOKEN, QUERY_TOKEN)

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
    ("demo", ["demo", "--shows", "99999999999"]),
    ("demo", ["demo", "--movies", "99999999999999999999"]),
    ("gui", ["gui", "--bogus"]),
    ("sim", ["sim", "--fault", "bogus"]),
    ("sim", ["sim", "--fault", "status=700"]),
    ("sim", ["sim", "--shows", "-1"]),
    ("sim", ["sim", "--port", "http"]),
    ("sim", ["sim", "--plex-tv", "--approve-after", "-1"]),
    ("sim", ["sim", "--plex-tv", "--plex-tv-port", "70000"]),
    ("sim", ["sim", "--shows", "99999999999999"]),
    ("sim", ["sim", "--latency-ms", "nan"]),
    ("sim", ["sim", "--plex-tv", "--approve-after", "99999999999"]),
    # login / logout
    ("login", ["login", "--token", " "]),
    ("login", ["login", "--bogus"]),
    ("logout", ["logout", "now"]),
    # watch
    ("watch", ["watch", "--debounce", "-1"]),
    ("watch", ["watch", "--fallback-interval", "0"]),
    ("watch", ["watch", "--debounce", "nan"]),
    ("watch", ["watch", "--reconnect-max", "inf"]),
    ("watch", ["watch", "--fallback-interval", "1e308"]),
    # items / runs / purge
    ("items", ["items", "--format", "xml"]),
    ("items", ["items", "--sort", "nope"]),
    ("items", ["items", "--state", "GONE"]),
    ("items", ["items", "--server", "nope"]),
    ("items", ["items", "--library", "nope"]),
    ("items", ["items", "--limit", "0"]),
    ("items", ["items", "--limit", "99999999999999999999999"]),
    ("runs", ["runs", "--library", "nope"]),
    ("runs", ["runs", "--limit", "-3"]),
    ("runs", ["runs", "--limit", "99999999999999999999999"]),
    ("purge", ["purge"]),
    # the change feed
    ("changes", ["changes", "--since", "nope"]),
    ("changes", ["changes", "--since", ""]),
    ("changes", ["changes", "--format", "xml"]),
    ("changes", ["changes", "--library", "nope"]),
    ("purge", ["purge", "--library", "nope", "--yes"]),
    # libraries
    ("libraries", ["libraries", "--server", "nope"]),
    ("libraries enable", ["libraries", "enable", "nope"]),
    ("libraries disable", ["libraries", "disable", "nope", "--server", "nope"]),
    ("libraries set", ["libraries", "set", "nope", "--retention-days", "3"]),
    ("libraries set", ["libraries", "set", "x", "--missing-threshold", "lots"]),
    ("libraries set", ["libraries", "set", "x", "--retention-days", "999999999999999"]),
    # server
    ("server add", ["server", "add", "x", "notaurl", "--token", TOKEN]),
    ("server add", ["server", "add", "x", "ftp://host", "--token", TOKEN]),
    ("server add", ["server", "add", "x", "http://host:notaport", "--token", TOKEN]),
    ("server add", ["server", "add", "x", f"http://host?X-Plex-Token={QUERY_TOKEN}", "--token", TOKEN]),
    (
        "server add",
        ["server", "add", "x", f"http://host:32400/?X-Plex-Token={QUERY_TOKEN}", "--token", TOKEN],
    ),
    ("server add", ["server", "add", "x", "http://127.0.0.1:9", "--token", " "]),
    ("server add", ["server", "add", "x", "http://[::1:32411", "--token", TOKEN]),
    ("server add", ["server", "add", "x", "http://127.0.0.1:9", "--token", "Tök€n-with-non-ASCII"]),
    ("server add", ["server", "add", "x", "http://127.0.0.1:9", "--token", "Bad\x01Control-Token"]),
    ("server add", ["server", "add", "x", "http://127.0.0.1:9", "--token", "Bad\nNewline-Token"]),
    ("server add", ["server", "add", "x"]),
    ("server add", ["server", "add", "--from-account", "Cabin", "--all"]),
    ("server add", ["server", "add", "--as", "cabin"]),
    ("server add", ["server", "add", "x", "http://127.0.0.1:9", "--from-account", "Cabin"]),
    ("server discover", ["server", "discover", "--bogus"]),
    ("server list", ["server", "list", "--bogus"]),
    ("server edit", ["server", "edit", "nope", "--url", "http://x"]),
    ("server edit", ["server", "edit", "nope", "--url", "http://[::1"]),
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


def _assert_usage_error(result: CliResult) -> str:
    assert result.code == 2, (result.code, result.out, result.err)
    lines = [line for line in result.err.splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith("error:")]
    assert len(errors) == 1, result.err
    assert len(errors[0]) > len("error: ") + 10, result.err  # says something
    assert "Traceback" not in result.err + result.out
    others = [line for line in lines if line not in errors]
    assert all(line.startswith(("Usage:", "Try ")) for line in others), result.err
    return errors[0]


@pytest.mark.parametrize(("command", "argv"), CASES, ids=[" ".join(a) for _c, a in CASES])
def test_bad_arguments_give_one_error_line_and_exit_2(
    cli: Callable[..., CliResult], command: str, argv: list[str]
) -> None:
    line = _assert_usage_error(cli(*argv))
    for option in _out_of_range_options(argv):  # the line names the option that is out of range
        assert option in line, line


def _out_of_range_options(argv: list[str]) -> list[str]:
    """Options given `nan`, `inf`, `1e308` or a number of 10 digits or more."""
    return [
        option
        for option, value in itertools.pairwise(argv)
        if option.startswith("--")
        and (value.lower() in ("nan", "inf", "1e308") or (value.isdigit() and len(value) >= 10))
    ]


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


# (command, argv, words the one error line must contain); `{url}` is the registered simulator.
CATALOG_CASES: list[tuple[str, list[str], str]] = [
    ("server add", ["server", "add", "n" * 130, "{url}", "--token", "{token}"], "server name"),
    (
        "server add",
        ["server", "add", "x", "{url}", "--ca-bundle", "/" + "c" * 1100, "--token", "{token}"],
        "CA bundle",
    ),
    ("server edit", ["server", "edit", "home", "--name", "n" * 130], "server name"),
    ("server edit", ["server", "edit", "home", "--url", "http://[::1"], "server URL"),
    ("server edit", ["server", "edit", "home", "--token", "Tök€n-with-non-ASCII"], "token"),
    ("paths add", ["paths", "add", "home", "/" + "d" * 1100, "/mnt/media"], "Plex prefix"),
    ("paths add", ["paths", "add", "home", "/data", "/" + "m" * 1100], "local prefix"),
    ("libraries set", ["libraries", "set", "Movies", "--retention-days", "999999999999999"], "retention"),
    ("libraries set", ["libraries", "set", "Movies", "--retention-days", "2147483648"], "retention"),
    ("libraries set", ["libraries", "set", "Movies", "--missing-threshold", "99999999999"], "threshold"),
    ("items", ["items", "--limit", "99999999999999999999999"], "limit"),
    ("items", ["items", "--search", "x" * 60_000], "search"),
    ("runs", ["runs", "--limit", "99999999999999999999999"], "limit"),
]


def _snapshot(cli: Callable[..., CliResult], db_url: str) -> tuple[str, str, str]:
    servers = cli("server", "list", "--json", db_url=db_url)
    items = cli("items", "--format", "json", db_url=db_url)
    mappings = cli("paths", "list", "--json", db_url=db_url)
    assert servers.code == items.code == mappings.code == 0
    return servers.out, items.out, mappings.out


@pytest.mark.parametrize(
    ("command", "argv", "words"),
    CATALOG_CASES,
    ids=[f"{c}-{i}" for i, (c, _a, _w) in enumerate(CATALOG_CASES)],
)
def test_bad_input_is_refused_in_one_line_on_every_database(
    cli: Callable[..., CliResult], catalog: Engine, db_url: str, command: str, argv: list[str], words: str
) -> None:
    with Simulator(seed=3, shows=2, movies=3, seasons_per_show=1, episodes_per_season=2, token=TOKEN) as sim:
        assert cli("server", "add", "home", sim.url, "--token", TOKEN, db_url=db_url).code == 0
        assert cli("sync", "--json", db_url=db_url).code == 0
        before = _snapshot(cli, db_url)
        args = [a.format(url=sim.url, token=TOKEN) for a in argv]
        line = _assert_usage_error(cli(*args, db_url=db_url))
        assert words.lower() in line.lower(), line
        assert len(line) < 400, line
        assert _snapshot(cli, db_url) == before  # nothing in the catalog lost or changed


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
