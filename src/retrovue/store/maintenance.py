"""Planner statistics the catalog keeps current itself: ANALYZE after a run grew or rewrote a table.

A query planner chooses its plan from statistics about each table. PostgreSQL collects them with
autovacuum, which many installations (and CI) run with autovacuum off, or too late for a first sync;
with none, a page's 200-key lookup of a 100k-row library is planned as a scan of the whole library.
SQLite has no statistics until someone runs ANALYZE; MariaDB recalculates its own, but only after a
tenth of a table changed. So the engine asks `analyze_if_grown` after a library's writes, and during
a large first sync after each doubling of what it wrote.

What the statistics describe is read from the database itself (PostgreSQL `pg_class.reltuples`,
MariaDB `information_schema.TABLES.TABLE_ROWS`, SQLite `sqlite_stat1`) and compared with a count of
the table's rows; rows rewritten in place (counted in memory per engine by `note_written`) count
too, since a run that marks thousands of items MISSING changes the spread of `state` without
changing the count. A table is analyzed when it has rows and no statistics, or when what changed
exceeds `MIN_ROWS` and a tenth of what the statistics describe (autovacuum's own rule).
Statistics are an optimisation: a failure to collect them is logged and never fails a run.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement, Executable

__all__ = ["ITEM_TABLES", "MIN_ROWS", "analyze_if_grown", "note_written", "stale_tables"]

log = logging.getLogger(__name__)

ITEM_TABLES = ("media_items", "media_parts", "shows", "seasons")
"""The tables a sync grows and reads back by key."""
MIN_ROWS = 500
"""Below this many changed rows no plan is slow enough to matter."""
SHARE = 0.1
"""A table is analyzed once the rows changed since its statistics exceed this share of them."""

_lock = threading.Lock()
_written: weakref.WeakKeyDictionary[Engine, Counter[str]] = weakref.WeakKeyDictionary()


def note_written(engine: Engine, table: str, rows: int) -> None:
    """Count rows rewritten in place (not added or removed) since `table` was last analyzed here."""
    if rows > 0:
        with _lock:
            _written.setdefault(engine, Counter())[table] += rows


def _described(conn: Connection, tables: Sequence[str]) -> dict[str, int | None]:
    """Rows each table's statistics describe; None when it has none."""
    dialect = conn.dialect.name
    out: dict[str, int | None] = dict.fromkeys(tables)
    if dialect == "postgresql":
        rows = conn.execute(
            sa.text(
                "SELECT c.relname, c.reltuples FROM pg_class c WHERE c.oid = ANY(CAST(:names AS regclass[]))"
            ),
            {"names": list(tables)},
        )
        for name, reltuples in rows:
            out[name] = None if reltuples is None or reltuples < 0 else int(reltuples)
    elif dialect in ("mysql", "mariadb"):
        rows = conn.execute(
            sa.text(
                "SELECT TABLE_NAME, TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
            )
        )
        for name, count in rows:
            if name in out and count is not None:
                out[name] = int(count)
    else:
        has_stat = conn.execute(
            sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
        ).first()
        if has_stat is not None:
            for name, stat in conn.execute(sa.text("SELECT tbl, stat FROM sqlite_stat1")):
                if name in out and stat:
                    out[name] = max(out[name] or 0, int(str(stat).split()[0]))
    return out


def stale_tables(conn: Connection, tables: Sequence[str], written: Counter[str] | None = None) -> list[str]:
    """The tables whose statistics are missing or describe too few or too many rows."""
    described = _described(conn, tables)
    due = []
    for name in tables:
        actual = int(conn.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one())
        known = described[name]
        if known is None:
            if actual > 0:  # never analyzed: whatever the size, the planner is guessing
                due.append(name)
            continue
        changed = abs(actual - known) + (written or Counter())[name]
        if changed >= max(MIN_ROWS, SHARE * known):
            due.append(name)
    return due


class Analyze(Executable, ClauseElement):
    """`ANALYZE t1, t2` (MariaDB: `ANALYZE TABLE …`), table names quoted by the dialect."""

    inherit_cache = False

    def __init__(self, tables: Sequence[str]) -> None:
        self.tables = tuple(tables)


@compiles(Analyze)
def _compile_analyze(element: Analyze, compiler: Any, **_kw: Any) -> str:
    names = ", ".join(compiler.preparer.quote(name) for name in element.tables)
    keyword = "ANALYZE TABLE" if compiler.dialect.name in ("mysql", "mariadb") else "ANALYZE"
    return f"{keyword} {names}"


def _analyze(conn: Connection, tables: Iterable[str]) -> None:
    if conn.dialect.name == "sqlite":
        conn.execute(sa.text("PRAGMA analysis_limit=1000"))  # sampled: milliseconds on any catalog
        for name in tables:
            conn.execute(Analyze([name]))
        return
    result = conn.execute(Analyze(list(tables)))
    if result.returns_rows:  # MariaDB answers with a status row per table
        result.all()


def analyze_if_grown(engine: Engine, tables: Sequence[str] = ITEM_TABLES) -> list[str]:
    """ANALYZE the `tables` whose statistics no longer describe them; returns those analyzed.

    One count per table when nothing is due (milliseconds), one ANALYZE of the due ones otherwise
    (sampled on every backend: well under a second for a 100k-item catalog).
    """
    with _lock:
        written = Counter(_written.get(engine, Counter()))
    try:
        with engine.connect() as conn:
            due = stale_tables(conn, tables, written)
        if not due:
            return []
        with engine.begin() as conn:
            _analyze(conn, due)
    except SQLAlchemyError as exc:
        log.warning(
            "could not update the catalog's statistics (%s); queries may plan slowly", type(exc).__name__
        )
        return []
    with _lock:
        counter = _written.get(engine)
        if counter is not None:
            for name in due:
                counter.pop(name, None)
    log.debug("analyzed %s", ", ".join(due))
    return due
