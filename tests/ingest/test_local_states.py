"""Local states after real syncs: never stale, never falsely ACTIVE, one machine's never another's.

Issue 14, case 8 ("local states go stale"), against the simulator and real files on every backend.
States are read the way users read them, through `retrovue items --format json`, as the five
states a reader on this machine sees.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from retrovue import machine, mapping, servers
from retrovue.ingest import sync
from retrovue.sim import Simulator
from retrovue.store import schema as t
from tests.conftest import CliResult, StatementCounter
from tests.ingest.conftest import Home

PLEX = "/data/media"
Cli = Callable[..., CliResult]


@pytest.fixture(autouse=True)
def _this_machine() -> Iterator[None]:
    machine.use(None)
    yield
    machine.use(None)


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def cli_states(cli: Cli, engine: Engine, library: str = "Movies") -> dict[str, str]:
    """Rating key -> state, as `retrovue items --format json` prints them."""
    result = cli("items", "--library", library, "--format", "json", db_url=_url(engine))
    assert result.code == 0, result.err
    return {row["rating_key"]: row["state"] for row in json.loads(result.out)}


def playable_movies(sim: Simulator) -> list[dict[str, Any]]:
    """Movies Plex can play, one file each (the simplest thing to put on a local disk)."""
    movies = [m for s in sim.ground_truth()["sections"] for m in s.get("movies", [])]
    return [
        m for m in movies if len(m["parts"]) == 1 and m["parts"][0]["exists"] and m["parts"][0]["accessible"]
    ]


def put_file(root: Path, movie: dict[str, Any]) -> Path:
    local = root / str(movie["parts"][0]["file"]).removeprefix(PLEX + "/")
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(b"")
    return local


def test_files_that_appear_after_a_mapping_was_added_become_active_on_a_plain_sync(
    home: Home, cli: Cli, tmp_path: Path
) -> None:
    root = tmp_path / "nas" / "media"  # the share is not mounted yet: its folder does not exist
    mapping.add_mapping(home.engine, "home", PLEX, str(root))
    sync(home.engine)
    movies = playable_movies(home.sim)
    assert {cli_states(cli, home.engine)[m["ratingKey"]] for m in movies} == {"REMOTE_ONLY"}
    mounted = movies[:3]
    for movie in mounted:  # the share is mounted
        put_file(root, movie)
    for _ in range(2):  # plain syncs: nothing changed in Plex, so both are gated
        assert all(s.gated for s in sync(home.engine))
    states = cli_states(cli, home.engine)
    assert [states[m["ratingKey"]] for m in mounted] == ["ACTIVE"] * 3
    assert {states[m["ratingKey"]] for m in movies[3:]} == {"REMOTE_ONLY"}


def test_an_unmounted_share_never_turns_items_remote_only_en_masse(
    home: Home, cli: Cli, tmp_path: Path
) -> None:
    root = tmp_path / "nas" / "media"
    movies = playable_movies(home.sim)
    for movie in movies:
        put_file(root, movie)
    mapping.add_mapping(home.engine, "home", PLEX, str(root))
    sync(home.engine)
    assert {cli_states(cli, home.engine)[m["ratingKey"]] for m in movies} == {"ACTIVE"}
    root.rename(tmp_path / "nas" / "elsewhere")  # unmounted
    deep = cli("sync", "--deep", db_url=_url(home.engine))  # checks every file: the worst case
    assert deep.code == 0, deep.err
    assert {cli_states(cli, home.engine)[m["ratingKey"]] for m in movies} == {"ACTIVE"}
    assert f"local folder {root} (for {PLEX}) is missing" in deep.out  # reported, not acted on
    # The same with the mount point left behind, empty, as an unmounted share leaves it.
    root.mkdir()
    assert cli("sync", "--deep", db_url=_url(home.engine)).code == 0
    assert {cli_states(cli, home.engine)[m["ratingKey"]] for m in movies} == {"ACTIVE"}
    # Back again, with one file gone: that one item moves, on a plain (gated) sync.
    root.rmdir()
    (tmp_path / "nas" / "elsewhere").rename(root)
    gone = put_file(root, movies[0])
    gone.unlink()
    assert all(s.gated for s in sync(home.engine))
    states = cli_states(cli, home.engine)
    assert states[movies[0]["ratingKey"]] == "REMOTE_ONLY"
    assert {states[m["ratingKey"]] for m in movies[1:]} == {"ACTIVE"}


def test_a_new_item_whose_file_check_cannot_answer_is_not_active(
    home: Home, cli: Cli, tmp_path: Path
) -> None:
    root = tmp_path / "nas" / "media"
    for movie in playable_movies(home.sim):
        put_file(root, movie)
    mapping.add_mapping(home.engine, "home", PLEX, str(root))
    sync(home.engine)
    key = home.sim.add_movie("A Loop")
    (new,) = [m for m in playable_movies(home.sim) if m["ratingKey"] == key]
    local = root / str(new["parts"][0]["file"]).removeprefix(PLEX + "/")
    local.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(local.name + ".other", local)  # a symlink loop: stat can say neither yes nor no
    os.symlink(local.name, local.with_name(local.name + ".other"))
    sync(home.engine)
    assert cli_states(cli, home.engine)[key] == "REMOTE_ONLY"
    local.unlink()
    local.with_name(local.name + ".other").unlink()
    local.write_bytes(b"")  # the file is sorted out: the next run (gated) decides the item
    assert all(s.gated for s in sync(home.engine))
    assert cli_states(cli, home.engine)[key] == "ACTIVE"


@pytest.fixture
def slow_sim() -> Iterator[Simulator]:
    with Simulator(seed=11, shows=6, movies=60, latency_ms=40) as sim:
        yield sim


def test_a_first_sync_cut_short_then_completed_leaves_nothing_active_without_a_mapping(
    catalog: Engine, slow_sim: Simulator, cli: Cli
) -> None:
    servers.add_server(catalog, "home", slow_sim.url, slow_sim.token)
    argv = [sys.executable, "-m", "retrovue.cli", "--db-url", _url(catalog), "sync", "--page-size", "5"]
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        written = 0
        while written < 10 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.01)
            with catalog.connect() as conn:
                written = conn.execute(sa.select(sa.func.count()).select_from(t.media_items)).scalar_one()
        child.send_signal(signal.SIGKILL)  # the cron job's `timeout`, a reboot, an OOM kill
    finally:
        child.wait()
    assert child.returncode == -signal.SIGKILL, "the sync finished before it could be killed"
    assert written >= 10
    assert set(cli_states(cli, catalog).values()) <= {"REMOTE_ONLY", "UNAVAILABLE"}
    assert all(s.status == "ok" for s in sync(catalog))
    for library in ("Movies", "TV Shows"):
        states = cli_states(cli, catalog, library)
        assert set(states.values()) <= {"REMOTE_ONLY", "UNAVAILABLE"}, library  # nothing is mapped


def test_machines_keep_their_own_mappings_and_states(home: Home, cli: Cli, tmp_path: Path) -> None:
    here = tmp_path / "a" / "media"
    movies = playable_movies(home.sim)
    for movie in movies:
        put_file(here, movie)
    mapping.add_mapping(home.engine, "home", PLEX, str(here), machine="machine-a")
    machine.use("machine-a")
    sync(home.engine)
    # Machine B maps the same prefix to its own mount (not mounted there) and runs a deep sync.
    machine.use("machine-b")
    mapping.add_mapping(home.engine, "home", PLEX, str(tmp_path / "b" / "media"))
    assert all(s.status == "ok" for s in sync(home.engine, deep=True))
    on_b = cli(
        "--machine", "machine-b", "items", "--library", "Movies", "--format", "json", db_url=_url(home.engine)
    )
    on_a = cli(
        "--machine", "machine-a", "items", "--library", "Movies", "--format", "json", db_url=_url(home.engine)
    )
    keys = {m["ratingKey"] for m in movies}
    assert {r["state"] for r in json.loads(on_b.out) if r["rating_key"] in keys} == {"REMOTE_ONLY"}
    assert {r["state"] for r in json.loads(on_a.out) if r["rating_key"] in keys} == {"ACTIVE"}
    listed = cli("paths", "list", "--all-machines", "--json", db_url=_url(home.engine))
    assert sorted(m["machine"] for m in json.loads(listed.out)) == ["machine-a", "machine-b"]


def test_a_quiet_run_writes_no_local_state(home: Home, tmp_path: Path, statements: StatementCounter) -> None:
    root = tmp_path / "nas" / "media"
    movies = playable_movies(home.sim)
    for movie in movies[:4]:
        put_file(root, movie)
    mapping.add_mapping(home.engine, "home", PLEX, str(root))
    sync(home.engine)
    sync(home.engine)
    statements.reset()
    assert all(s.gated for s in sync(home.engine))
    for table in ("local_verdicts", "local_roots", "local_checks", "item_events"):
        assert statements.rows_written(table) == [], table


def test_every_item_is_re_decided_once_per_verification_interval(
    home: Home, cli: Cli, tmp_path: Path
) -> None:
    root = tmp_path / "nas" / "media"
    movies = playable_movies(home.sim)
    put_file(root, movies[0])
    mapping.add_mapping(home.engine, "home", PLEX, str(root))
    sync(home.engine)
    copied, edited = movies[1], movies[2]
    for movie in (copied, edited):  # copied behind Plex's back: no root changed, no row rewritten
        put_file(root, movie)
    assert all(s.gated for s in sync(home.engine))
    assert cli_states(cli, home.engine)[copied["ratingKey"]] == "REMOTE_ONLY"
    home.sim.edit(edited["ratingKey"], title="Edited")  # the library changed: a listing
    sync(home.engine)
    states = cli_states(cli, home.engine)
    # The rewritten item is decided; a listing does not stat every other file of the library.
    assert (states[edited["ratingKey"]], states[copied["ratingKey"]]) == ("ACTIVE", "REMOTE_ONLY")
    with home.engine.begin() as conn:  # the interval is up (0: every run), a gated run included
        conn.execute(sa.update(t.libraries).values(verify_hours=0))
    sync(home.engine)
    assert cli_states(cli, home.engine)[copied["ratingKey"]] == "ACTIVE"
    copied_file = root / str(copied["parts"][0]["file"]).removeprefix(PLEX + "/")
    copied_file.unlink()  # and gone again: the next pass over everything sees it
    sync(home.engine)
    assert cli_states(cli, home.engine)[copied["ratingKey"]] == "REMOTE_ONLY"


def test_a_deep_sync_re_decides_every_item(home: Home, cli: Cli, tmp_path: Path) -> None:
    root = tmp_path / "nas" / "media"
    movies = playable_movies(home.sim)
    put_file(root, movies[0])  # the share is mounted from the start: no root changes below
    mapping.add_mapping(home.engine, "home", PLEX, str(root))
    sync(home.engine)
    put_file(root, movies[1])  # copied behind Plex's back
    sync(home.engine, use_gate=False)  # a listing where nothing changed decides nothing more
    assert cli_states(cli, home.engine)[movies[1]["ratingKey"]] == "REMOTE_ONLY"
    sync(home.engine, deep=True)
    assert cli_states(cli, home.engine)[movies[1]["ratingKey"]] == "ACTIVE"
