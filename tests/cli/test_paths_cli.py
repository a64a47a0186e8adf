"""`retrovue paths …` against a simulated Plex server, with its files partly "mounted" under tmp_path.

The sync engine is not wired into these tests: items are written from the simulator's ground truth
with the store's own batch upsert, as a sync writes them before deciding local states (Plex's state
ACTIVE, nothing decided on this machine yet: REMOTE_ONLY for readers).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from retrovue import machine
from retrovue.sim import Simulator
from retrovue.store import local, registry
from retrovue.store.db import open_catalog
from retrovue.store.items import ItemRecord, PartRecord, upsert_items
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
PLEX = "/data/media"


def _leaves(section: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from section.get("movies", [])
    for show in section.get("shows", []):
        for season in show["seasons"]:
            yield from season["episodes"]


@dataclass
class Home:
    """The simulator registered as server `home`, its items in the catalog, half its movies on disk."""

    url: str
    local: Path
    movies: list[list[str]]  # Plex paths of each movie's parts
    on_disk: list[list[str]]  # the movies whose every local file exists
    episodes: int

    @property
    def parts(self) -> int:
        return sum(len(m) for m in self.movies)

    def states(self) -> dict[str, int]:
        """Items per state as a reader on this machine sees them (states with no item left out)."""
        engine = open_catalog(self.url)
        try:
            with engine.connect() as conn:
                counts = local.state_counts(conn, machine.current())
                return {state: n for state, n in counts.items() if n}
        finally:
            engine.dispose()


@pytest.fixture
def home(cli: Cli, plex_sim: Simulator, tmp_path: Path) -> Home:
    added = cli("server", "add", "home", plex_sim.url, "--token", plex_sim.token)
    assert added.code == 0, added.err
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    local = tmp_path / "nas" / "media"
    movies: list[list[str]] = []
    episodes = 0
    engine = open_catalog(url)
    try:
        with engine.begin() as conn:
            server = registry.get_server(conn, "home")
            libraries = {lib.section_key: lib.id for lib in registry.list_libraries(conn, server="home")}
            for section in plex_sim.ground_truth()["sections"]:
                records = []
                for leaf in _leaves(section):
                    parts = tuple(
                        PartRecord(0, i, plex_part_id=p["id"], file=p["file"])
                        for i, p in enumerate(leaf["parts"])
                    )
                    kind = "movie" if section["type"] == "movie" else "episode"
                    records.append(ItemRecord(leaf["ratingKey"], kind, leaf["title"], "d", parts=parts))
                    if kind == "movie":
                        movies.append([p.file for p in parts if p.file])
                    else:
                        episodes += 1
                upsert_items(conn, server.id, libraries[section["key"]], records, now=1_700_000_000)
    finally:
        engine.dispose()
    on_disk = movies[::2]
    for plex_path in (path for movie in on_disk for path in movie):
        target = local / plex_path.removeprefix(PLEX + "/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"")
    return Home(url, local, movies, on_disk, episodes)


def _one_line_error(result: CliResult, code: int = 2) -> None:
    assert result.code == code, (result.out, result.err)
    assert result.err.startswith("error: "), result.err
    assert result.err.count("\n") == 1, result.err


def test_help_lists_every_command(cli: Cli) -> None:
    result = cli("paths", "--help")
    assert result.code == 0
    for command in ("add", "list", "remove", "test", "check", "suggest", "apply"):
        assert command in result.out


def test_add_reevaluates_and_remove_undoes(cli: Cli, home: Home) -> None:
    movies, on_disk = len(home.movies), len(home.on_disk)
    added = cli("paths", "add", "home", PLEX + "/", str(home.local))
    assert added.code == 0, added.err
    assert f"Added mapping {PLEX} -> {home.local} for home." in added.out
    # Episodes' files are not on disk, movies are half there: those become ACTIVE, the rest are
    # decided REMOTE_ONLY, which readers already saw them as (nothing had been decided here).
    assert f"{on_disk} became ACTIVE, 0 became REMOTE_ONLY" in added.out
    assert home.states() == {"ACTIVE": on_disk, "REMOTE_ONLY": home.episodes + movies - on_disk}

    removed = cli("paths", "remove", "home", PLEX)
    assert removed.code == 0, removed.err
    assert f"Removed mapping {PLEX} -> {home.local} from home." in removed.out
    assert "became REMOTE_ONLY" in removed.out
    assert f"{on_disk} became REMOTE_ONLY" in removed.out
    assert home.states() == {"REMOTE_ONLY": home.episodes + movies}

    deferred = cli("paths", "add", "home", PLEX, str(home.local), "--no-apply")
    assert "run `retrovue paths apply`" in deferred.out
    assert home.states() == {"REMOTE_ONLY": home.episodes + movies}
    applied = cli("paths", "apply", "--server", "home")
    assert applied.code == 0
    assert f"{on_disk} became ACTIVE" in applied.out
    assert cli("paths", "apply").code == 0


def test_list(cli: Cli, home: Home) -> None:
    empty = cli("paths", "list", "home").out
    assert (
        f"No path mappings for machine {machine.current()}. Add one with: retrovue paths add home"
        in " ".join(empty.split())
    )
    cli("paths", "add", "home", PLEX, str(home.local), "--no-apply")
    cli("paths", "add", "home", "\\\\nas\\media", "/mnt/nas", "--no-apply")
    text = cli("paths", "list")
    assert text.code == 0
    assert PLEX in text.out
    assert "\\\\nas\\media" in text.out
    listed = json.loads(cli("paths", "list", "home", "--json").out)
    assert [(m["server"], m["plex_prefix"], m["local_prefix"], m["problem"]) for m in listed] == [
        ("home", PLEX, str(home.local), None),
        ("home", "\\\\nas\\media", "/mnt/nas", None),
    ]


def test_test(cli: Cli, home: Home) -> None:
    cli("paths", "add", "home", PLEX, str(home.local), "--no-apply")
    there, absent = home.on_disk[0][0], home.movies[1][0]
    hit = cli("paths", "test", "home", there)
    assert hit.code == 0
    assert "the file exists" in hit.out
    assert f"(via {PLEX} -> {home.local})" in hit.out
    assert "does NOT exist" in cli("paths", "test", "home", absent).out
    miss = cli("paths", "test", "home", "/srv/x.mkv")
    assert miss.code == 0
    assert "unresolved: no mapping covers it" in miss.out
    data = json.loads(cli("paths", "test", "home", there, "--json").out)
    assert data["local_path"] == str(home.local / there.removeprefix(PLEX + "/"))
    assert (data["outcome"], data["exists"], data["mapping"]["plex_prefix"]) == ("mapped", True, PLEX)
    unchecked = json.loads(cli("paths", "test", "home", there, "--no-check-files", "--json").out)
    assert (unchecked["checked"], unchecked["exists"]) == (False, None)


def test_check(cli: Cli, home: Home) -> None:
    before = {c["library"]: c for c in json.loads(cli("paths", "check", "--json").out)}
    movies = before["Movies"]
    assert (movies["items"], movies["resolved"], movies["exist"]) == (len(home.movies), 0, 0)
    assert movies["unmapped"][0]["prefix"] == f"{PLEX}/Movies"  # the library's Location
    assert movies["unmapped"][0]["parts"] == home.parts
    text = cli("paths", "check")
    assert text.code == 0
    assert "TV Shows" in text.out
    assert f"home/Movies: {home.parts} files unresolved under {PLEX}/Movies, e.g. " in text.out

    cli("paths", "add", "home", PLEX, str(home.local))
    after = {c["library"]: c for c in json.loads(cli("paths", "check", "--server", "home", "--json").out)}
    assert (after["Movies"]["resolved"], after["Movies"]["exist"]) == (len(home.movies), len(home.on_disk))
    assert (after["Movies"]["active"], after["Movies"]["unmapped"]) == (len(home.on_disk), [])
    assert after["TV Shows"]["exist"] == 0
    no_files = json.loads(cli("paths", "check", "--no-check-files", "--json").out)
    assert all(c["exist"] is None for c in no_files)
    assert "not checked" in cli("paths", "check", "--no-check-files").out


def test_suggest(cli: Cli, home: Home, tmp_path: Path) -> None:
    (home.local / "TV Shows").mkdir(parents=True, exist_ok=True)
    found = cli("paths", "suggest", "home", str(tmp_path / "elsewhere"), str(home.local))
    assert found.code == 0, found.err
    assert f"{PLEX} -> {home.local}   covers: Movies, TV Shows" in found.out
    assert f"retrovue paths add home {PLEX} {home.local}" in found.out
    none = cli("paths", "suggest", "home", "/nonexistent/media")
    assert none.code == 0
    assert "No suggestion" in none.out
    assert "--no-disk-check" in none.out
    forced = cli("paths", "suggest", "home", "/nonexistent/media", "--no-disk-check")
    assert "retrovue paths add home /data/media /nonexistent/media" in forced.out
    quoted = cli("paths", "suggest", "home", "/my nas/media", "--no-disk-check")
    assert "retrovue paths add home /data/media '/my nas/media'" in quoted.out
    cli("paths", "add", "home", PLEX, str(home.local), "--no-apply")
    again = cli("paths", "suggest", "home", str(home.local))
    assert "(already mapped)" in again.out
    assert "To add them" not in again.out
    other = cli("paths", "suggest", "home", "/nonexistent/media", "--no-disk-check")
    assert f"(mapped to {home.local})" in other.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "home", PLEX, "relative/dir"), "not an absolute path on this machine"),
        (("add", "home", "", "/mnt"), "Plex prefix is empty"),
        (("add", "home", "data", "/mnt"), "is not an absolute path"),
        (("add", "den", PLEX, "/mnt"), "no server named 'den'"),
        (("remove", "home", "/srv"), "has no mapping for '/srv'"),
        (("remove", "den", PLEX), "no server named 'den'"),
        (("list", "den"), "no server named 'den'"),
        (("test", "den", "/x.mkv"), "no server named 'den'"),
        (("check", "--server", "den"), "no server named 'den'"),
        (("suggest", "den", "/mnt"), "no server named 'den'"),
        (("suggest", "home", "relative"), "not an absolute path"),
        (("apply", "--server", "den"), "no server named 'den'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli: Cli, home: Home, args: tuple[str, ...], message: str) -> None:
    result = cli("paths", *args)
    _one_line_error(result)
    assert message in result.err


def test_duplicate_is_refused_and_nothing_changes(cli: Cli, home: Home) -> None:
    assert cli("paths", "add", "home", PLEX, str(home.local)).code == 0
    states = home.states()
    duplicate = cli("paths", "add", "home", PLEX + "//", "/mnt/other")
    _one_line_error(duplicate)
    assert "already mapped" in duplicate.err
    assert len(json.loads(cli("paths", "list", "--json").out)) == 1
    assert home.states() == states


def test_usage_errors_exit_2(cli: Cli) -> None:
    assert cli("paths", "add", "home").code == 2
    assert cli("paths", "suggest", "home").code == 2
