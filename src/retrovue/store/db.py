"""Opening the catalog: choose the database, configure the connection, bring the schema up to date.

The catalog is SQLite by default (a file in the platform's data directory) or any SQLAlchemy URL given
as `DB_URL` / `--db-url`, so several machines can share one PostgreSQL or MariaDB catalog. The schema
is created and upgraded only by Alembic migrations, automatically when the catalog is opened; a catalog
written by a newer Retrovue is refused rather than risked.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import platformdirs
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError

from retrovue.errors import CatalogError, ConfigError, RetrovueError, SchemaTooNewError

__all__ = ["default_db_url", "migrate", "open_catalog", "resolve_db_url", "safe_url"]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def default_db_url() -> str:
    """The SQLite catalog in the user's data directory (e.g. ~/.local/share/retrovue/catalog.sqlite)."""
    data_dir = Path(platformdirs.user_data_dir("retrovue", appauthor=False))
    return f"sqlite:///{data_dir / 'catalog.sqlite'}"


def resolve_db_url(explicit: str | None = None) -> str:
    """`--db-url` beats the `DB_URL` environment variable, which beats the default SQLite file."""
    return explicit or os.environ.get("DB_URL") or default_db_url()


def safe_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def _prepare_sqlite_file(database: str) -> None:
    """Create the SQLite file with mode 0600 before SQLite does (it would honour the umask)."""
    if database in ("", ":memory:") or database.startswith("file:"):
        return
    path = Path(database).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    os.chmod(path, 0o600)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_catalog_engine(url: str) -> Engine:
    """An engine configured for the catalog's dialect; raises ConfigError for a URL that cannot work."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"DB_URL {url!r} is not a database URL; use e.g. sqlite:////path/catalog.sqlite or "
            "postgresql+psycopg://user@host/db"
        ) from None
    try:
        if parsed.get_backend_name() == "sqlite":
            _prepare_sqlite_file(parsed.database or "")
            engine = sa.create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
            sa.event.listen(engine, "connect", _on_sqlite_connect)
        elif parsed.get_backend_name() == "mysql":
            engine = sa.create_engine(parsed.update_query_dict({"charset": "utf8mb4"}), pool_pre_ping=True)
        else:
            engine = sa.create_engine(parsed, pool_pre_ping=True)
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


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the catalog's schema to `revision`, refusing a catalog newer than this code."""
    script = ScriptDirectory(str(MIGRATIONS_DIR))
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
    engine = create_catalog_engine(resolved)
    try:
        migrate(engine)
    except RetrovueError:
        engine.dispose()
        raise
    except OperationalError as exc:
        engine.dispose()
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "connection failed"
        raise CatalogError(
            f"cannot open the catalog at {safe_url(resolved)}: {reason}; check DB_URL and that the "
            "database server is running"
        ) from None
    except SQLAlchemyError as exc:
        engine.dispose()
        raise CatalogError(f"cannot open the catalog at {safe_url(resolved)}: {type(exc).__name__}") from None
    return engine
