"""Opening the catalog: choose the database, configure the connection, bring the schema up to date.

The catalog is SQLite by default (a file in the platform's data directory) or any SQLAlchemy URL given
as `DB_URL` / `--db-url`, so several machines can share one PostgreSQL or MariaDB catalog. The schema
is created and upgraded only by Alembic migrations, automatically when the catalog is opened; a catalog
written by a newer Retrovue is refused rather than risked.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import platformdirs
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from retrovue import redact
from retrovue.errors import CatalogError, ConfigError, RetrovueError, SchemaTooNewError
from retrovue.store import dberrors

__all__ = [
    "default_db_url",
    "describe_database_error",
    "migrate",
    "open_catalog",
    "resolve_db_url",
    "safe_url",
]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
PING_AFTER_IDLE_S = 5.0
"""A pooled server connection idle longer than this is pinged before use (see `_ping_when_idle`)."""


def default_db_url() -> str:
    """The SQLite catalog in the user's data directory (e.g. ~/.local/share/retrovue/catalog.sqlite)."""
    data_dir = Path(platformdirs.user_data_dir("retrovue", appauthor=False))
    return f"sqlite:///{data_dir / 'catalog.sqlite'}"


def resolve_db_url(explicit: str | None = None) -> str:
    """`--db-url` beats the `DB_URL` environment variable, which beats the default SQLite file."""
    return explicit or os.environ.get("DB_URL") or default_db_url()


def safe_url(url: str) -> str:
    """The URL with any password hidden, for messages (the password is registered for redaction)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "<unparseable URL>"
    redact.register(parsed.password if isinstance(parsed.password, str) else None)
    return parsed.render_as_string(hide_password=True)


def describe_database_error(error: BaseException, url: str | None) -> CatalogError | None:
    """One line naming the catalog at `url`, what went wrong and what to do (see `dberrors`)."""
    where = f"the catalog at {safe_url(url)}" if url else "the catalog"
    return dberrors.explain(error, where, SQLITE_BUSY_TIMEOUT_MS // 1000)


def _prepare_sqlite_file(database: str, *, create_folder: bool) -> str | None:
    """Create a new SQLite file with mode 0600 before SQLite does (it would honour the umask).

    An existing file is left as its owner set it (a catalog shared read-only, or one another user
    owns, must still open). The folder is created only for the default catalog: a mistyped
    `--db-url` path is refused rather than silently growing a tree of folders. Returns a URL query
    to open the file with (`immutable=1` for a WAL catalog in a folder nobody may write here, which
    SQLite could not otherwise read), or None.
    """
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    path = Path(database).expanduser()
    if not path.parent.is_dir():
        if not create_folder:
            raise ConfigError(
                f"the folder {str(path.parent)!r} for the catalog does not exist; create it first, or "
                "check the path in DB_URL / --db-url"
            )
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
        return None
    shared_memory = Path(f"{path}-shm")
    if not os.access(path.parent, os.W_OK) and not shared_memory.exists():
        return "immutable"
    return None


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    with contextlib.suppress(sqlite3.OperationalError):  # a read-only catalog keeps its journal mode
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _connect_mariadb(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
    """PyMySQL's connection with the catalog's cheap value escaping (`store.mariadb_driver`).

    The engine also compiles positional (`format`) placeholders: PyMySQL then escapes a row as
    one tuple, not as a dict built for it."""
    from retrovue.store.mariadb_driver import CatalogConnection  # PyMySQL: an optional extra

    return CatalogConnection(*cargs, **cparams)


def _on_mariadb_connect(dbapi_connection: Any, _record: Any) -> None:
    """Let the optimizer look up each value of a long IN-list in the index instead of guessing.

    With `eq_range_index_dive_limit` at its default (200), an `IN (…)` of 200 or more values is
    costed from index statistics instead of one B-tree dive per value, and from InnoDB's statistics
    MariaDB 10.11 estimates `DELETE FROM media_parts WHERE item_id IN (200 ids)` at every row of
    the table (one part per item, the common case) and plans a scan. A page is 200 items, so a
    first sync scanned `media_parts` once per page: quadratic, 1.4 s of a 22,000-item sync
    (28 ms a page at the end), 29 s of a 110,595-item one (109 s -> 72 s with dives). Dives cost
    one index descent per value, always less than a scan. The setting is the session's own (any
    user may set it) and changes plans, never results.
    """
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SET SESSION eq_range_index_dive_limit = 0")  # 0: dive for every value
    finally:
        cursor.close()


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it sat idle, instead of on every checkout.

    `pool_pre_ping` costs a round trip per checkout, and a sync checks a connection out two times
    a page. A connection returned moments ago is as alive as a ping would prove; one idle for
    `PING_AFTER_IDLE_S` (a GUI left open, a server restarted meanwhile) is pinged, and a dead one
    is replaced before anyone uses it (`DisconnectionError` makes the pool connect afresh).
    """

    def _stamp(_dbapi_connection: Any, record: Any, *_rest: Any) -> None:
        record.info["retrovue_idle_since"] = time.monotonic()

    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("retrovue_idle_since")
        if since is not None and time.monotonic() - since < PING_AFTER_IDLE_S:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise sa.exc.DisconnectionError(f"stale catalog connection ({type(exc).__name__})") from None
        if not alive:
            raise sa.exc.DisconnectionError("stale catalog connection")

    sa.event.listen(engine, "connect", _stamp)
    sa.event.listen(engine, "checkin", _stamp)
    sa.event.listen(engine, "checkout", _checkout)


def create_catalog_engine(url: str, *, create_folder: bool = False) -> Engine:
    """An engine configured for the catalog's dialect; raises ConfigError for a URL that cannot work.

    `create_folder`: create a missing folder for a SQLite file (the default catalog only).
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"DB_URL {url!r} is not a database URL; use e.g. sqlite:////path/catalog.sqlite or "
            "postgresql+psycopg://user@host/db"
        ) from None
    try:
        if parsed.get_backend_name() == "sqlite":
            mode = _prepare_sqlite_file(parsed.database or "", create_folder=create_folder)
            if mode == "immutable":
                uri = f"file:{Path(parsed.database or '').expanduser()}?immutable=1"
                parsed = parsed.set(database=uri).update_query_dict({"uri": "true"})
            engine = sa.create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
            sa.event.listen(engine, "connect", _on_sqlite_connect)
        elif parsed.get_backend_name() == "mysql":
            engine = sa.create_engine(parsed.update_query_dict({"charset": "utf8mb4"}), paramstyle="format")
            sa.event.listen(engine, "do_connect", _connect_mariadb)
            sa.event.listen(engine, "connect", _on_mariadb_connect)
            _ping_when_idle(engine)
        else:
            engine = sa.create_engine(parsed)
            _ping_when_idle(engine)
    except NoSuchModuleError:
        raise ConfigError(
            f"DB_URL {safe_url(url)}: unknown database dialect; use sqlite://, postgresql+psycopg:// "
            "or mysql+pymysql://"
        ) from None
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"DB_URL {safe_url(url)} needs the Python package {exc.name!r}; install it with "
            "`pip install 'retrovue-ingest[postgres]'` or `[mysql]`"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot create the catalog file for {safe_url(url)}: {exc.strerror}") from None
    return engine


def _alembic_config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest schema revision this code knows."""
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _recorded_revisions(engine: Engine) -> tuple[list[str] | None, bool]:
    """The rows of `alembic_version` (None: no such table), and whether Retrovue's tables exist."""
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        rows = None
        if "alembic_version" in tables:
            rows = [str(r) for (r,) in conn.execute(sa.text("SELECT version_num FROM alembic_version"))]
    return rows, "servers" in tables


def _check_recorded_revision(engine: Engine) -> None:
    """Refuse a catalog whose `alembic_version` cannot say what schema it has.

    Migrating such a catalog would run the first migration over tables that already exist (and on
    SQLite leave an empty `alembic_version` behind); guessing a revision could corrupt it.
    """
    rows, has_tables = _recorded_revisions(engine)
    where = f"the catalog at {safe_url(str(engine.url))}"
    if rows is not None and len(rows) > 1:
        raise CatalogError(
            f"{where} records {len(rows)} schema revisions in its alembic_version table "
            f"({', '.join(sorted(rows))}) where there must be one; nothing was changed: restore it from "
            f"a backup, or delete the rows that are not the catalog's real revision (this Retrovue's is "
            f"{head_revision()})"
        )
    if has_tables and not rows:
        state = "is missing" if rows is None else "is empty"
        raise CatalogError(
            f"{where} has Retrovue's tables but its alembic_version table {state}, so its schema revision "
            "is unknown; nothing was changed: restore it from a backup, or point DB_URL at a new "
            "database"
        )


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the catalog's schema to `revision`, refusing a catalog newer than this code, or one
    whose recorded revision is missing or ambiguous."""
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    _check_recorded_revision(engine)
    current = current_revision(engine)
    if current is not None:
        try:
            script.get_revision(current)
        except Exception:
            raise SchemaTooNewError(
                f"the catalog at {safe_url(str(engine.url))} has schema revision {current!r}, written by "
                "a newer Retrovue; upgrade Retrovue to use it (nothing was changed)"
            ) from None
        if current == script.get_current_head() and revision == "head":
            return
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), revision)


def open_catalog(url: str | None = None) -> Engine:
    """Open (creating or upgrading as needed) the catalog at `url` or the configured default."""
    resolved = resolve_db_url(url)
    engine = create_catalog_engine(resolved, create_folder=resolved == default_db_url())
    try:
        migrate(engine)
    except RetrovueError:
        engine.dispose()
        raise
    except SQLAlchemyError as exc:
        engine.dispose()
        described = describe_database_error(exc, resolved)
        if described is not None:
            raise described from None
        raise CatalogError(
            f"cannot open the catalog at {safe_url(resolved)} ({type(exc).__name__}); check DB_URL and "
            "that the database server is running"
        ) from exc
    return engine
