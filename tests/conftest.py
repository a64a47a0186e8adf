"""Shared fixtures: one catalog fixture parametrised over SQLite, PostgreSQL and MariaDB.

Each test session creates its own PostgreSQL and MariaDB databases (random names) on the servers at
127.0.0.1 and drops them at the end; each test gets an empty, fully migrated catalog. Admin URLs can
be overridden with RETROVUE_TEST_PG_ADMIN_URL / RETROVUE_TEST_MYSQL_ADMIN_URL. When a server is not
reachable its tests are skipped with the reason, unless RETROVUE_REQUIRE_ALL_DBS=1 (set by CI), in
which case they fail: CI must never go green having tested SQLite alone. RETROVUE_TEST_BACKENDS
(comma-separated) runs the backend-parametrised tests on fewer backends, for CI's second Python.
"""

from __future__ import annotations

import io
import os
import secrets
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import settings
from sqlalchemy.engine import Engine, make_url

from retrovue.cli import main
from retrovue.sim import Simulator
from retrovue.store import schema
from retrovue.store.db import open_catalog

pytest_plugins = ["tests.leakscan"]

PG_ADMIN = os.environ.get(
    "RETROVUE_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MYSQL_ADMIN = os.environ.get("RETROVUE_TEST_MYSQL_ADMIN_URL", "mysql+pymysql://root@127.0.0.1:3306/")
ALL_BACKENDS = ("sqlite", "postgresql", "mariadb")
# RETROVUE_TEST_BACKENDS=sqlite narrows a run (CI's second Python pass); unknown names are refused.
# CI replays the same generated examples on every run, so a red CI names a bug rather than a bad
# draw; runs elsewhere explore new ones (and keep what failed in .hypothesis/ to replay it).
# No example has a deadline: a timing limit is a timing assertion, and on a busy 2-core machine
# a slow draw is noise, not a bug (performance is measured in bench/, never asserted in tests).
settings.register_profile("local", deadline=None)
settings.register_profile("ci", derandomize=True, database=None, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "local")

BACKENDS = tuple(os.environ.get("RETROVUE_TEST_BACKENDS", ",".join(ALL_BACKENDS)).split(","))
if not set(BACKENDS) <= set(ALL_BACKENDS) or not BACKENDS:
    raise pytest.UsageError(f"RETROVUE_TEST_BACKENDS must name some of {', '.join(ALL_BACKENDS)}")
REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


def _unavailable(backend: str, reason: str) -> None:
    message = f"{backend} server not reachable ({reason}); start it or set the admin URL env var"
    if os.environ.get("RETROVUE_REQUIRE_ALL_DBS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def _create_server_database(backend: str) -> Iterator[str]:
    admin_url = PG_ADMIN if backend == "postgresql" else MYSQL_ADMIN
    name = f"retrovue_test_{secrets.token_hex(4)}"
    try:
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if backend == "postgresql":
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            else:
                conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))
    except Exception as exc:  # any failure to reach or create means the backend is unusable here
        _unavailable(backend, f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
        return
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            if backend == "postgresql":
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            else:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


@pytest.fixture(autouse=True)
def state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own state directory (sign-in, client id) and no plex.tv: nothing a test
    does may touch the user's real ~/.local/state/retrovue or reach the real plex.tv."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("RETROVUE_STATE_DIR", str(state))
    monkeypatch.setenv("RETROVUE_PLEX_TV_URL", "http://127.0.0.1:9")  # discard port: refused at once
    return state


@pytest.fixture(scope="session", params=BACKENDS)
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def server_db_urls() -> Iterator[dict[str, Iterator[str]]]:
    """Lazily created per-session databases, dropped when the session ends."""
    created: dict[str, Iterator[str]] = {}
    yield created
    for gen in created.values():
        for _ in gen:  # run the generator's cleanup
            pass


@pytest.fixture(scope="session")
def _session_urls() -> dict[str, str]:
    return {}


@pytest.fixture
def db_url(
    db_backend: str,
    tmp_path: Path,
    server_db_urls: dict[str, Iterator[str]],
    _session_urls: dict[str, str],
) -> str:
    """A URL to an empty database of the parametrised backend (SQLite: a fresh file per test)."""
    if db_backend == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    if db_backend not in _session_urls:
        gen = _create_server_database(db_backend)
        _session_urls[db_backend] = next(gen)
        server_db_urls[db_backend] = gen
    return _session_urls[db_backend]


def _clear(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(schema.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def catalog(db_url: str) -> Iterator[Engine]:
    """An empty, migrated catalog on each backend."""
    engine = open_catalog(db_url)
    _clear(engine)
    try:
        yield engine
    finally:
        _clear(engine)
        engine.dispose()


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent: the reference material lives beside the repository")
    return SHARED


@pytest.fixture
def fresh_db_url(db_backend: str, tmp_path: Path) -> Iterator[str]:
    """A URL to a brand-new, never-migrated database of the backend, dropped after the test."""
    if db_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite'}"
        return
    yield from _create_server_database(db_backend)


class StatementCounter:
    """Counts SQL statements sent to the database (an executemany counts once) and rows they wrote."""

    def __init__(self, engine: Engine) -> None:
        self.statements: list[str] = []
        self.rowcounts: list[int] = []
        self._engine = engine
        sa.event.listen(engine, "after_cursor_execute", self._on_execute)

    def _on_execute(self, _conn: object, cursor: Any, statement: str, *_args: object) -> None:
        self.statements.append(statement)
        self.rowcounts.append(int(getattr(cursor, "rowcount", -1)))

    def writes(self) -> list[str]:
        verbs = ("INSERT", "UPDATE", "DELETE", "REPLACE")
        return [s for s in self.statements if s.lstrip().upper().startswith(verbs)]

    def rows_written(self, table: str) -> list[tuple[str, int]]:
        """(statement, rows) for each write that wrote at least one row into `table`."""
        verbs = ("INSERT", "UPDATE", "DELETE", "REPLACE")
        out = []
        for statement, rows in zip(self.statements, self.rowcounts, strict=True):
            head = statement.lstrip().upper()
            target = head.split(" SET ")[0].split(" SELECT ")[0].split("(")[0]
            if head.startswith(verbs) and f" {table.upper()}" in target and rows != 0:
                out.append((statement, rows))
        return out

    def reset(self) -> None:
        self.statements.clear()
        self.rowcounts.clear()

    def close(self) -> None:
        sa.event.remove(self._engine, "after_cursor_execute", self._on_execute)


@pytest.fixture
def statements(catalog: Engine) -> Iterator[StatementCounter]:
    counter = StatementCounter(catalog)
    yield counter
    counter.close()


@pytest.fixture
def plex_sim() -> Iterator[Simulator]:
    """A small simulated Plex server (one show section, one movie section) on an ephemeral port."""
    with Simulator(seed=7) as sim:
        yield sim


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Callable[..., CliResult]:
    """Run `retrovue ARGS…` in-process against a per-test SQLite catalog (or --db-url given)."""
    from tests import leakscan  # imported by pytest as a plugin first (assertion rewriting)

    default_db = f"sqlite:///{tmp_path / 'cli.sqlite'}"

    def run(*args: str, db_url: str | None = None, input: str | None = None) -> CliResult:
        argv = ["--db-url", db_url or default_db, *args]
        leakscan.watch(*(args[i + 1] for i, a in enumerate(args[:-1]) if a == "--token"))
        leakscan.watch(os.environ.get("PLEX_TOKEN"))
        capsys.readouterr()
        code = 0
        stdin = sys.stdin
        if input is not None:
            sys.stdin = io.StringIO(input)
        try:
            main(argv)
        except SystemExit as exc:
            code = int(exc.code or 0)
        finally:
            sys.stdin = stdin
        captured = capsys.readouterr()
        leakscan.check_cli(args, captured.out, captured.err)
        return CliResult(code, captured.out, captured.err)

    return run
