"""The schema comes only from Alembic migrations, matches the metadata, and is guarded against skew."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from retrovue.errors import CatalogError, ConfigError, SchemaTooNewError
from retrovue.store import schema
from retrovue.store.db import current_revision, head_revision, open_catalog, resolve_db_url


def test_migrations_build_exactly_the_declared_schema(fresh_db_url: str) -> None:
    engine = open_catalog(fresh_db_url)
    try:
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_opening_twice_is_a_no_op(fresh_db_url: str) -> None:
    open_catalog(fresh_db_url).dispose()
    engine = open_catalog(fresh_db_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_catalog_from_newer_code_is_refused_untouched(fresh_db_url: str) -> None:
    engine = open_catalog(fresh_db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
        conn.execute(
            schema.servers.insert().values(
                name="keep",
                base_url="http://x",
                token="t",
                verify_tls=True,
                check_local_files=True,
                created_at=1,
                updated_at=1,
            )
        )
    engine.dispose()
    with pytest.raises(SchemaTooNewError, match="newer Retrovue"):
        open_catalog(fresh_db_url)
    engine = sa.create_engine(fresh_db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "9999_future"
        assert conn.execute(sa.select(schema.servers.c.name)).scalar() == "keep"
    engine.dispose()


def test_sqlite_file_is_private_and_tuned(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "catalog.sqlite"
    path.parent.mkdir()  # an explicit URL's folder must exist (only the default one is created)
    engine = open_catalog(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    engine.dispose()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_db_url_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_URL", "sqlite:////env.sqlite")
    assert resolve_db_url("sqlite:////flag.sqlite") == "sqlite:////flag.sqlite"
    assert resolve_db_url(None) == "sqlite:////env.sqlite"
    monkeypatch.delenv("DB_URL")
    assert resolve_db_url(None).endswith("retrovue/catalog.sqlite")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "is not a database URL"),
        ("oracle+nope://u@h/db", "unknown database dialect"),
    ],
)
def test_bad_db_url_is_a_one_line_config_error(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        open_catalog(url)
    assert "\n" not in str(info.value)


def test_unreachable_database_names_the_url_without_password() -> None:
    with pytest.raises(CatalogError, match="cannot open the catalog") as info:
        open_catalog("postgresql+psycopg://user:sekrit@127.0.0.1:1/db")
    assert "sekrit" not in str(info.value)
    assert "\n" not in str(info.value)
