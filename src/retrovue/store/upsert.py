"""One batch upsert for every dialect: a page of rows becomes a fixed number of statements per table.

- SQLite: `INSERT … ON CONFLICT (…) DO UPDATE`, executemany (in-process, one statement per row is
  what SQLite does fastest).
- PostgreSQL: a batch of `BULK_MIN_ROWS` or more is COPYed into a session temporary table (created
  once per connection, emptied at every commit) and merged with one `INSERT … SELECT … ON CONFLICT
  DO UPDATE`: the server plans and runs one statement for the whole page instead of one per row.
  Smaller batches use the executemany form.
- MariaDB: `INSERT … VALUES (…), (…) … ON DUPLICATE KEY UPDATE`, one multi-row statement per batch
  (PyMySQL rewrites the executemany into it, up to its statement-length limit).

Columns not named in `update` (such as `first_seen_at`) keep their stored value on conflict, which
is how an item's history survives a change. The COPY path writes exactly the columns of the rows (and
the scalar Python defaults of the columns they leave out, as an executemany would); a column whose
default is computed from the row (the folded keys of `store.keys`) must be given by the caller, or
the batch takes the executemany path, which computes it. The merge statement runs through the
SQLAlchemy connection, so statement and row counters see it like any other write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache, lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Column, Connection, Dialect, MetaData, Select, Table, func, select
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.schema import CreateTable

from retrovue.store.fit import fit_rows, same_keys

__all__ = ["BULK_MIN_ROWS", "bulk_insert", "upsert", "upsert_from_select"]

BULK_MIN_ROWS = 16
"""Below this many rows the COPY path's extra round trips cost more than they save."""


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert `rows`, or update the `update` columns of rows whose `conflict` key already exists."""
    if not rows:
        return
    rows, shape = _fitted(table, rows)
    dialect = conn.dialect.name
    if shape is not None and dialect == "postgresql" and len(rows) >= BULK_MIN_ROWS and _may_stage(conn):
        _pg_merge(conn, table, shape, _last_per_key(rows, conflict), conflict=conflict, update=update)
        return
    _executemany(conn, _upsert_statement(dialect, table, tuple(conflict), tuple(update)), rows, shape)


def upsert_from_select(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Select[Any],
    *,
    conflict: Sequence[str],
    update: Sequence[str],
) -> None:
    """`upsert` of the rows a SELECT gives (`columns` in its order), in one statement the database
    runs: rows made from what the catalog already holds never cross to Python."""
    conn.execute(_upsert_of(conn.dialect.name, table, tuple(conflict), tuple(update), (tuple(columns), rows)))


@cache
def _upsert_statement(dialect: str, table: Table, conflict: tuple[str, ...], update: tuple[str, ...]) -> Any:
    """The dialect's upsert of `table`, built once per shape: building it (and SQLAlchemy's cache
    key for it, memoized on the statement) took more than running it for a page of 200 items."""
    return _upsert_of(dialect, table, conflict, update)


def _upsert_of(
    dialect: str,
    table: Table,
    conflict: tuple[str, ...],
    update: tuple[str, ...],
    source: tuple[tuple[str, ...], Select[Any]] | None = None,
) -> Any:
    """The dialect's upsert of `table`: of bound rows, or of `source`'s (columns, SELECT)."""

    def insert(base: Any) -> Any:
        return base if source is None else base.from_select(list(source[0]), source[1])

    if dialect == "mysql" or dialect == "mariadb":
        my_stmt = insert(mysql.insert(table))
        # MariaDB has no DO NOTHING: re-assigning a key column to itself is the idiom for it.
        assignments = {c: my_stmt.inserted[c] for c in (update or conflict[:1])}
        return my_stmt.on_duplicate_key_update(assignments)
    stmt: Any
    if dialect == "postgresql":
        stmt = insert(postgresql.insert(table))
    elif dialect == "sqlite":
        stmt = insert(sqlite.insert(table))
    else:  # pragma: no cover - only the three supported dialects reach here
        raise NotImplementedError(f"upsert is not implemented for {dialect}")
    if update:
        return stmt.on_conflict_do_update(
            index_elements=list(conflict), set_={c: stmt.excluded[c] for c in update}
        )
    return stmt.on_conflict_do_nothing(index_elements=list(conflict))


def bulk_insert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` (fitted to the table here): COPY and one INSERT … SELECT on PostgreSQL for a
    large batch, an executemany (multi-row on MariaDB) otherwise."""
    if not rows:
        return
    rows, shape = _fitted(table, rows)
    if (
        shape is not None
        and conn.dialect.name == "postgresql"
        and len(rows) >= BULK_MIN_ROWS
        and _may_stage(conn)
    ):
        _pg_merge(conn, table, shape, rows, conflict=None, update=())
        return
    _executemany(conn, table.insert(), rows, shape)


def _executemany(
    conn: Connection,
    stmt: Any,
    rows: Sequence[Mapping[str, Any]],
    shape: tuple[list[str], dict[str, Any]] | None,
) -> None:
    """`stmt` for every row, through the driver's executemany with the SQL SQLAlchemy compiled once
    per column set (`_driver_sql`), when the rows allow it: SQLAlchemy's own executemany rebuilds
    every row's parameters in Python (defaults, bind processing), a sixth of a first sync's CPU,
    for columns whose values need none of it. Rows of different shapes, or leaving out a column
    whose default is computed (`shape` None, see `_copy_columns`), take SQLAlchemy's path. Either
    way the statement runs through the SQLAlchemy connection, so statement and row counters see it."""
    plan = None if shape is None else _driver_sql(conn.dialect, stmt, tuple(shape[0]), tuple(shape[1]))
    if shape is None or plan is None:
        conn.execute(stmt, list(rows))
        return
    _columns, fill = shape
    sql, order = plan
    if fill:  # scalar defaults of the columns the rows leave out, as SQLAlchemy would send them
        rows = [{**fill, **row} for row in rows]
    if order is None:  # named placeholders (PyMySQL): the bind names are the column names
        conn.exec_driver_sql(sql, [dict(row) for row in rows])
    elif len(order) == 1:
        (name,) = order
        conn.exec_driver_sql(sql, [(row[name],) for row in rows])
    else:
        conn.exec_driver_sql(sql, list(map(itemgetter(*order), rows)))


@lru_cache(maxsize=256)
def _driver_sql(
    dialect: Dialect, stmt: Any, columns: tuple[str, ...], filled: tuple[str, ...]
) -> tuple[str, tuple[str, ...] | None] | None:
    """(SQL text, the column of each positional placeholder in order, or None for named ones) of
    `stmt` inserting `columns` and `filled`; None when its placeholders are not exactly those
    columns (SQLAlchemy's path then)."""
    names = (*columns, *filled)
    compiled = stmt.compile(dialect=dialect, column_keys=list(names))
    if set(compiled.binds) != set(names):
        return None
    order = compiled.positiontup
    return str(compiled), None if order is None else tuple(order)


# --- PostgreSQL: COPY into a temporary table, then one merge ---------------------------------------


def _may_stage(conn: Connection) -> bool:
    """Whether this session may create temporary tables (the TEMP privilege, PUBLIC's by default
    but revocable on a shared catalog): asked once per connection, else the executemany path."""
    info = conn.connection.info
    allowed = info.get("retrovue_may_stage")
    if allowed is None:
        allowed = info["retrovue_may_stage"] = bool(
            conn.execute(select(func.has_database_privilege(func.current_database(), "TEMP"))).scalar()
        )
    return bool(allowed)


def _fitted(
    table: Table, rows: Sequence[Mapping[str, Any]]
) -> tuple[list[dict[str, Any]], tuple[list[str], dict[str, Any]] | None]:
    """A batch fitted to `table` (`fit_rows`), with its `_copy_columns` shape: whether its rows
    share their keys is checked once for both (fitting changes values, never keys)."""
    dicts = [row if type(row) is dict else dict(row) for row in rows]
    uniform = same_keys(dicts)
    fitted = fit_rows(table, dicts, uniform=uniform)
    return fitted, _copy_columns(table, fitted) if uniform else None


def _copy_columns(table: Table, rows: Sequence[dict[str, Any]]) -> tuple[list[str], dict[str, Any]] | None:
    """(the columns to copy, scalar defaults to fill in), or None when a batch needs SQLAlchemy's
    own insert: a left-out column whose default is computed. The rows share their keys."""
    keys = list(rows[0])
    given = set(keys)
    fill: dict[str, Any] = {}
    for column in table.columns:
        if column.name in given or column.default is None:
            continue
        if not column.default.is_scalar:
            return None  # a callable or SQL default: only SQLAlchemy's insert computes it
        fill[column.name] = getattr(column.default, "arg", None)
    return keys, fill


def _last_per_key(rows: Sequence[Mapping[str, Any]], conflict: Sequence[str]) -> list[Mapping[str, Any]]:
    """One row per conflict key, the last one (what an executemany would leave): one INSERT … ON
    CONFLICT DO UPDATE may not touch the same row twice."""
    if len(conflict) == 1:
        (name,) = conflict
        by_key: dict[Any, Mapping[str, Any]] = {row.get(name): row for row in rows}
    else:
        by_key = {tuple(row.get(c) for c in conflict): row for row in rows}
    return list(by_key.values()) if len(by_key) != len(rows) else list(rows)


def _stage_table(table: Table) -> Table:
    """The session temporary table a batch of `table` is COPYed into: same columns, no constraints,
    emptied by every commit."""
    stage = _STAGES.get(table.name)
    if stage is None:
        stage = _STAGES[table.name] = Table(
            f"rv_stage_{table.name}",
            MetaData(),
            *(Column(c.name, c.type) for c in table.columns),
            prefixes=["TEMPORARY"],
            postgresql_on_commit="DELETE ROWS",
        )
    return stage


_STAGES: dict[str, Table] = {}
_PREPARE: dict[str, str] = {}


def _prepare_stage(conn: Connection, stage: Table) -> str:
    """`CREATE TEMPORARY TABLE IF NOT EXISTS …; DELETE FROM …`, compiled by SQLAlchemy (no values)."""
    text = _PREPARE.get(stage.name)
    if text is None:
        create = CreateTable(stage, if_not_exists=True).compile(dialect=conn.dialect)
        empty = stage.delete().compile(dialect=conn.dialect)
        text = _PREPARE[stage.name] = f"{str(create).strip()}; {empty}"
    return text


def _pg_merge(
    conn: Connection,
    table: Table,
    copy: tuple[list[str], dict[str, Any]],
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict: Sequence[str] | None,
    update: Sequence[str],
) -> None:
    from psycopg import sql  # the driver's own identifier quoting: no SQL is built from strings

    columns, fill = copy
    names = [*columns, *fill]
    stage = _stage_table(table)
    values = itemgetter(*columns)  # rows may hold their keys in different orders
    dbapi: Any = conn.connection.dbapi_connection  # psycopg's Connection: COPY is its own API
    with dbapi.cursor() as cursor:
        # Created once per session (a no-op after that), emptied for a second batch of the same
        # table in one transaction: one round trip, and not a write of the catalog's tables.
        cursor.execute(_prepare_stage(conn, stage))
        extra = tuple(fill.values())
        statement = sql.SQL("COPY {stage} ({names}) FROM STDIN").format(
            stage=sql.Identifier(stage.name), names=sql.SQL(", ").join(map(sql.Identifier, names))
        )
        with cursor.copy(statement) as out:
            if len(columns) == 1:
                for row in rows:
                    out.write_row((values(row), *extra))
            else:
                for row in rows:
                    out.write_row((*values(row), *extra))
    # The merge runs through SQLAlchemy, so statement and row counters see it like any write.
    merge: Any = postgresql.insert(table).from_select(names, select(*(stage.c[n] for n in names)))
    if conflict is not None:
        if update:
            merge = merge.on_conflict_do_update(
                index_elements=list(conflict), set_={c: merge.excluded[c] for c in update}
            )
        else:
            merge = merge.on_conflict_do_nothing(index_elements=list(conflict))
    conn.execute(merge)
