"""A fresh, empty catalog database per benchmark run, dropped afterwards (as tests/conftest.py does)."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

__all__ = ["ADMIN_URLS", "Catalogs"]

ADMIN_URLS = {
    "postgresql": os.environ.get(
        "RETROVUE_BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    ),
    "mariadb": os.environ.get("RETROVUE_BENCH_MYSQL_ADMIN_URL", "mysql+pymysql://root@127.0.0.1:3306/"),
}


@dataclass
class Catalogs:
    """Creates catalogs of one backend and drops every one of them on `close()`."""

    backend: str  # sqlite | postgresql | mariadb
    _tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="retrovue-bench-")))
    _created: list[str] = field(default_factory=list)

    def new(self) -> str:
        """The URL of a new, empty database (not yet migrated: `open_catalog` does that)."""
        name = f"retrovue_bench_{secrets.token_hex(4)}"
        if self.backend == "sqlite":
            return f"sqlite:///{self._tmp / (name + '.sqlite')}"
        admin = sa.create_engine(ADMIN_URLS[self.backend], isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                if self.backend == "postgresql":
                    conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
                else:
                    conn.execute(
                        sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
                    )
        finally:
            admin.dispose()
        self._created.append(name)
        return make_url(ADMIN_URLS[self.backend]).set(database=name).render_as_string(hide_password=False)

    def copy(self, url: str) -> str:
        """A copy of a SQLite catalog (for scenarios that change states, such as path re-evaluation)."""
        if self.backend != "sqlite":
            raise ValueError("only SQLite catalogs are copied")
        source = Path(make_url(url).database or "")
        target = self._tmp / f"copy_{secrets.token_hex(4)}.sqlite"
        shutil.copyfile(source, target)
        for suffix in ("-wal", "-shm"):
            extra = Path(str(source) + suffix)
            if extra.exists():
                shutil.copyfile(extra, Path(str(target) + suffix))
        return f"sqlite:///{target}"

    def drop(self, url: str) -> None:
        if self.backend == "sqlite":
            path = Path(make_url(url).database or "")
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            return
        name = make_url(url).database
        if name not in self._created:
            return
        admin = sa.create_engine(ADMIN_URLS[self.backend], isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                if self.backend == "postgresql":
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                else:
                    conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        finally:
            admin.dispose()
        self._created.remove(name)

    def close(self) -> None:
        for name in list(self._created):
            self.drop(make_url(ADMIN_URLS[self.backend]).set(database=name).render_as_string(False))
        shutil.rmtree(self._tmp, ignore_errors=True)
