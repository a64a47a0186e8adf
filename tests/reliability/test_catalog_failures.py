"""A catalog in trouble gets one line naming it and what to do: locked, read-only, full, damaged,
an unreadable schema revision, a server removed under a sync, a title too long for MariaDB.

Each failure is made for real: another connection holding SQLite's write lock, a file this user may
not write (the CLI runs as `nobody` when the tests run as root), SQLite's page limit standing in for
a full disk, bytes overwritten in the file, rows added to or removed from `alembic_version`. Every
CLI run is scanned for the token and for a traceback (tests/leakscan.py).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

import retrovue
from retrovue.ingest import sync
from retrovue.sim import Simulator
from retrovue.store import db, registry
from retrovue.store import schema as t
from retrovue.store.db import head_revision, open_catalog
from tests import leakscan
from tests.conftest import CliResult

TOKEN = "Catalog-Failure-Token-3k9"
leakscan.watch(TOKEN)
SRC = Path(retrovue.__file__).resolve().parents[1]  # the code under test, also in subprocesses


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(seed=4, shows=1, movies=4, seasons_per_show=1, episodes_per_season=2, token=TOKEN) as s:
        yield s


def _one_error_line(result: CliResult, code: int = 1) -> str:
    assert result.code == code, (result.code, result.out, result.err)
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


def _sqlite_path(url: str) -> Path:
    return Path(make_url(url).database or "")


@pytest.fixture
def filled(cli: Callable[..., CliResult], sim: Simulator, tmp_path: Path) -> str:
    """A SQLite catalog with the simulator registered as 'home' and synced once; returns its URL."""
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    assert cli("server", "add", "home", sim.url, "--token", TOKEN).code == 0
    assert cli("sync", "--json").code == 0
    return url


# --- locked ------------------------------------------------------------------------------------------


def test_a_catalog_locked_by_another_program_is_one_line(
    cli: Callable[..., CliResult], filled: str, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 300)  # 30 s in real life
    holder = sqlite3.connect(_sqlite_path(filled), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    try:
        with Simulator(seed=12, shows=1, movies=1, token=TOKEN) as other:  # not yet in the catalog
            added = cli("server", "add", "other", other.url, "--token", TOKEN)
        for args in (
            ("sync",),
            ("sync", "--json"),
            ("paths", "add", "home", "/data/media", "/mnt/media"),
            ("libraries", "disable", "Movies"),
        ):
            line = _one_error_line(cli(*args))
            assert "busy" in line, (args, line)
            assert str(_sqlite_path(filled)) in line, line
        line = _one_error_line(added)
        assert "busy" in line, line
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert cli("paths", "add", "home", "/data/media", "/mnt/media").code == 0  # and then it works


# --- read-only ---------------------------------------------------------------------------------------


def _run_without_write_access(url: str, *args: str, state: Path) -> CliResult:
    """Run the CLI in a process bound by file permissions (as root: without the capabilities that
    override them), so a catalog made read-only really is read-only to it."""
    env = {**os.environ, "RETROVUE_STATE_DIR": str(state), "PYTHONPATH": str(SRC)}
    prefix = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: cannot make a file read-only to ourselves")
        prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner,-chown"]
    proc = subprocess.run(
        [*prefix, sys.executable, "-m", "retrovue.cli", "--db-url", url, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    result = CliResult(proc.returncode, proc.stdout, proc.stderr)
    leakscan.check_cli(args, result.out, result.err)
    return result


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder other users can enter (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="retrovue-ro-"))
    folder.chmod(0o755)
    yield folder
    for path in sorted(folder.rglob("*"), reverse=True):
        path.chmod(0o700)
    for path in sorted(folder.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    folder.rmdir()


@pytest.mark.parametrize("folder_writable", [True, False], ids=["file-read-only", "folder-read-only"])
def test_a_read_only_catalog_can_be_listed_and_refuses_changes_in_one_line(
    cli: Callable[..., CliResult], sim: Simulator, open_folder: Path, folder_writable: bool
) -> None:
    catalog = open_folder / "catalog.sqlite"
    url = f"sqlite:///{catalog}"
    assert cli("server", "add", "home", sim.url, "--token", TOKEN, db_url=url).code == 0
    assert cli("sync", "--json", db_url=url).code == 0
    expected = json.loads(cli("items", "--format", "json", db_url=url).out)
    for path in open_folder.iterdir():
        path.chmod(0o444)
        if os.geteuid() == 0:
            os.chown(path, 65534, 65534)  # another user's catalog: not ours to chmod either
    open_folder.chmod(0o777 if folder_writable else 0o555)
    state = open_folder / "state" if folder_writable else Path(tempfile.mkdtemp())
    try:
        listed = _run_without_write_access(url, "items", "--format", "json", state=state)
        assert listed.code == 0, listed.err
        assert json.loads(listed.out) == expected
        for args in (("libraries", "--no-refresh"), ("server", "list"), ("runs",), ("paths", "list")):
            assert _run_without_write_access(url, *args, state=state).code == 0, args
        for args in (("libraries", "disable", "Movies"), ("paths", "add", "home", "/data", "/mnt")):
            line = _one_error_line(_run_without_write_access(url, *args, state=state))
            assert "read-only" in line, line
            assert str(catalog) in line
    finally:
        open_folder.chmod(0o755)
    assert stat.S_IMODE(catalog.stat().st_mode) == 0o444  # opening never changes an existing file's mode


def test_a_mistyped_catalog_folder_is_refused_not_created(
    cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'folder' / 'catalog.sqlite'}"
    line = _one_error_line(cli("server", "list", db_url=url), code=2)
    assert "does not exist" in line
    assert not (tmp_path / "no").exists()


def test_the_default_catalogs_folder_is_created(tmp_path: Path) -> None:
    engine = open_catalog(None)  # XDG_DATA_HOME points into this test's own directory
    try:
        path = _sqlite_path(str(engine.url))
        assert path.is_file()
        assert path.is_relative_to(Path(os.environ["XDG_DATA_HOME"]))
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        engine.dispose()


# --- full --------------------------------------------------------------------------------------------


def _fill_up_after(monkeypatch: pytest.MonkeyPatch, pages: list[int]) -> None:
    """Every new SQLite connection may grow the file only to `pages[0]` pages (a full disk)."""
    original = db._on_sqlite_connect

    def limited(dbapi_connection: Any, record: Any) -> None:
        original(dbapi_connection, record)
        if pages:
            dbapi_connection.execute(f"PRAGMA max_page_count={pages[0]}")

    monkeypatch.setattr(db, "_on_sqlite_connect", limited)


def _page_count(url: str) -> int:
    with sqlite3.connect(_sqlite_path(url)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(conn.execute("PRAGMA page_count").fetchone()[0])


def _use_up_space(url: str) -> int:
    """Fill the catalog's free pages with junk servers until SQLite says it is full; returns the
    page limit a "full disk" then has (no page can be added, none has room)."""
    limit = _page_count(url) + 4
    conn = sqlite3.connect(_sqlite_path(url), isolation_level=None)
    try:
        conn.execute(f"PRAGMA max_page_count={limit}")
        n = 0
        for size in (1000, 300, 100, 30, 10, 1):  # big rows until full, then smaller ones into the gaps
            while True:
                n += 1
                try:
                    conn.execute(
                        "INSERT INTO servers (name, base_url, token, verify_tls, check_local_files, "
                        "created_at, updated_at) VALUES (?, ?, 'junk-token', 1, 1, 0, 0)",
                        (f"junk-{n}", "y" * size),
                    )
                except sqlite3.OperationalError as exc:
                    if "full" not in str(exc):
                        raise
                    break
    finally:
        conn.close()
    return limit


def test_a_full_disk_during_server_add_is_one_line(
    cli: Callable[..., CliResult], sim: Simulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    assert cli("server", "list", db_url=url).code == 0  # created and migrated
    _fill_up_after(monkeypatch, [_use_up_space(url)])
    line = _one_error_line(cli("server", "add", "home", sim.url, "--token", TOKEN, db_url=url))
    assert "run out of space" in line, line
    monkeypatch.undo()
    assert cli("server", "add", "home", sim.url, "--token", TOKEN, db_url=url).code == 0


@pytest.fixture
def big_sim() -> Iterator[Simulator]:
    with Simulator(seed=4, shows=6, movies=200, seasons_per_show=2, episodes_per_season=10, token=TOKEN) as s:
        yield s


FULL_DISK_SCRIPT = """
set -e
mount -t tmpfs -o size=$SIZE tmpfs "$DISK"
cp "$SOURCE" "$DISK/catalog.sqlite"
set +e
state() {
"$PYTHON" -c '
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
runs = [r[0] for r in c.execute("SELECT status FROM sync_runs ORDER BY id")]
locks = c.execute("SELECT COUNT(*) FROM library_locks").fetchone()[0]
print(json.dumps({"runs": runs, "locks": locks}))
' "$DISK/catalog.sqlite"
}
"$PYTHON" -m retrovue.cli --db-url "sqlite:///$DISK/catalog.sqlite" sync --page-size 20 \\
    >"$OUT/out" 2>"$OUT/err"
echo $? >"$OUT/code"
state >"$OUT/after" 2>&1
# The user frees space (here: a bigger disk) and syncs again: the next run takes over what is left.
mount -o remount,size=$((SIZE * 8)) "$DISK"
"$PYTHON" -m retrovue.cli --db-url "sqlite:///$DISK/catalog.sqlite" sync --page-size 20 \\
    >"$OUT/out2" 2>"$OUT/err2"
echo $? >"$OUT/code2"
state >"$OUT/after2" 2>&1
"""


def _sync_on_a_full_disk(cli: Callable[..., CliResult], sim: Simulator, tmp_path: Path) -> dict[str, Any]:
    """`retrovue sync` (a real process) with its catalog on a tmpfs that fills up during the sync.

    The tmpfs lives in a mount namespace of its own (`unshare -m`), so nothing outside the test
    sees it; root (or a user namespace) is needed to make one.
    """
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("a full disk is made with a private tmpfs, which needs root and unshare")
    source = tmp_path / "catalog.sqlite"
    assert cli("server", "add", "home", sim.url, "--token", TOKEN, db_url=f"sqlite:///{source}").code == 0
    _page_count(f"sqlite:///{source}")  # fold the WAL in: the copy is the whole catalog
    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    env = {
        **os.environ,
        "SIZE": str(source.stat().st_size + 96 * 1024),
        "DISK": str(disk),
        "SOURCE": str(source),
        "OUT": str(out),
        "PYTHON": sys.executable,
        "PYTHONPATH": str(SRC),
    }
    made = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", FULL_DISK_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot make a private tmpfs here: {made.stderr.strip()[:200]}")
    result = CliResult(int((out / "code").read_text()), (out / "out").read_text(), (out / "err").read_text())
    leakscan.check_cli(["sync"], result.out, result.err)
    after, again = (out / "after").read_text(), (out / "after2").read_text()
    second = CliResult(
        int((out / "code2").read_text()), (out / "out2").read_text(), (out / "err2").read_text()
    )
    return {
        "result": result,
        "after": json.loads(after) if after.startswith("{") else after,
        "second": second,
        "after_second": json.loads(again) if again.startswith("{") else again,
    }


def test_a_full_disk_during_a_sync_is_one_line(
    cli: Callable[..., CliResult], big_sim: Simulator, tmp_path: Path
) -> None:
    outcome = _sync_on_a_full_disk(cli, big_sim, tmp_path)
    result = outcome["result"]
    assert result.code == 1, result
    errors = [line for line in result.err.splitlines() if line.strip()]
    assert len(errors) <= 1, result.err
    assert len(result.out.splitlines()) < 30, result.out  # bars and a summary, not a traceback
    text = result.out + result.err
    assert "full" in text or "out of space" in text, text


def test_a_full_disk_during_a_sync_leaves_no_run_running(
    cli: Callable[..., CliResult], big_sim: Simulator, tmp_path: Path
) -> None:
    """The run that hit the full disk records itself `failed` when one small write still fits; a
    run record or lock it could not finish is taken over by the next sync, once there is room
    again, at once (its holder is a dead process in this process table), and closed."""
    outcome = _sync_on_a_full_disk(cli, big_sim, tmp_path)
    after, again, second = outcome["after"], outcome["after_second"], outcome["second"]
    assert isinstance(after, dict), after
    assert second.code == 0, second
    assert isinstance(again, dict), again
    assert "running" not in again["runs"], again
    assert again["locks"] == 0, again
    assert again["runs"][-2:] == ["ok", "ok"], again


# --- damaged -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "where", ["header", *(f"pages-{seed}" for seed in range(int(os.environ.get("DAMAGE_SEEDS", "3"))))]
)
def test_a_damaged_catalog_is_one_line_for_every_command(
    cli: Callable[..., CliResult], filled: str, where: str
) -> None:
    """Random damage is seeded, so a failure names the pages that caused it."""
    path = _sqlite_path(filled)
    _page_count(filled)  # fold the WAL into the file first
    data = bytearray(path.read_bytes())
    page = 4096
    if where == "header":
        data[:100] = b"\xde\xad\xbe\xef" * 25
    else:  # every page but the schema page: tables and indexes
        noise = random.Random(where)
        for offset in range(page, len(data), page):
            data[offset + 8 : offset + page - 8] = noise.randbytes(page - 16)
    path.write_bytes(bytes(data))
    for name in ("-wal", "-shm"):
        Path(f"{path}{name}").unlink(missing_ok=True)
    for args in (
        ("items",),
        ("items", "--format", "json"),
        ("libraries", "--no-refresh"),
        ("libraries",),
        ("server", "list"),
        ("runs",),
        ("sync",),
        ("paths", "check"),
    ):
        line = _one_error_line(cli(*args))
        assert "damaged" in line, (args, line)
        assert "backup" in line


# --- the recorded schema revision -------------------------------------------------------------------


def _bare(url: str) -> Engine:
    return sa.create_engine(url)


def test_two_recorded_revisions_are_refused_in_one_line(
    cli: Callable[..., CliResult], fresh_db_url: str
) -> None:
    open_catalog(fresh_db_url).dispose()
    engine = _bare(fresh_db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES ('0000')"))
    engine.dispose()
    for args in (("server", "list"), ("items",), ("sync",)):
        line = _one_error_line(cli(*args, db_url=fresh_db_url))
        assert "alembic_version" in line
        assert "2 schema revisions" in line


@pytest.mark.parametrize("damage", ["missing", "empty"])
def test_a_catalog_without_a_recorded_revision_is_refused_and_left_alone(
    cli: Callable[..., CliResult], fresh_db_url: str, damage: str
) -> None:
    open_catalog(fresh_db_url).dispose()
    engine = _bare(fresh_db_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("DROP TABLE alembic_version" if damage == "missing" else "DELETE FROM alembic_version")
        )
    engine.dispose()
    line = _one_error_line(cli("server", "list", db_url=fresh_db_url))
    assert f"alembic_version table is {damage}" in line, line
    assert "database server is running" not in line
    engine = _bare(fresh_db_url)
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            rows = (
                conn.execute(sa.text("SELECT COUNT(*) FROM alembic_version")).scalar()
                if damage == "empty"
                else None
            )
    finally:
        engine.dispose()
    assert ("alembic_version" in tables) == (damage == "empty")  # nothing left behind, nothing changed
    assert rows in (None, 0)
    assert head_revision()


# --- a server removed while it syncs -----------------------------------------------------------------


def test_removing_a_server_while_it_syncs_is_refused_and_the_sync_finishes(
    cli: Callable[..., CliResult], catalog: Engine, db_url: str
) -> None:
    with Simulator(
        seed=4, shows=1, movies=30, seasons_per_show=1, episodes_per_season=2, token=TOKEN
    ) as slow:
        assert cli("server", "add", "home", slow.url, "--token", TOKEN, db_url=db_url).code == 0
        slow.set_faults("latency=100ms")
        outcome: list[Any] = []
        worker = threading.Thread(
            target=lambda: outcome.append(sync(catalog, server="home", page_size=5)), name="test-sync"
        )
        worker.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with catalog.connect() as conn:
                if conn.execute(sa.select(sa.func.count()).select_from(t.library_locks)).scalar_one():
                    break
            time.sleep(0.02)
        removed = cli("server", "remove", "home", "--yes", db_url=db_url)
        worker.join(60)
        line = _one_error_line(removed)
        assert "being synced" in line, line
        assert "wait for the sync to finish" in line
        (summaries,) = outcome
        assert summaries, "the sync did not run"
        assert all(s.status == "ok" for s in summaries), [(s.status, s.reason) for s in summaries]
        with catalog.connect() as conn:
            assert registry.get_server(conn, "home")
        assert cli("server", "remove", "home", "--yes", db_url=db_url).code == 0  # once it is done


# --- a title too long for MariaDB's TEXT -------------------------------------------------------------


@pytest.mark.parametrize("char", ["t", "é", "🎬"], ids=["ascii", "two-bytes", "four-bytes"])
def test_a_huge_title_is_fitted_on_every_database(catalog: Engine, char: str) -> None:
    with Simulator(seed=4, shows=1, movies=3, seasons_per_show=1, episodes_per_season=1, token=TOKEN) as s:
        from retrovue import servers

        servers.add_server(catalog, "home", s.url, TOKEN)
        movie = next(m for sec in s.ground_truth()["sections"] for m in sec.get("movies", []))
        s.edit(movie["ratingKey"], title=char * 70_000)
        summaries = sync(catalog, server="home")
        assert all(x.status == "ok" for x in summaries), [(x.status, x.reason) for x in summaries]
        summaries = sync(catalog, server="home")  # and every later sync
        assert all(x.status == "ok" for x in summaries)
    with catalog.connect() as conn:
        title = conn.execute(
            sa.select(t.media_items.c.title).where(t.media_items.c.rating_key == str(movie["ratingKey"]))
        ).scalar_one()
    assert set(title) == {char}
    assert len(title.encode("utf-8")) <= 65_535
    assert len(title.encode("utf-8")) > 65_535 - 4
