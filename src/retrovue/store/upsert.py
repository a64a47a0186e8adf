"""One batch upsert for every dialect: a page of rows becomes one statement per table.

SQLite and PostgreSQL use `INSERT … ON CONFLICT (…) DO UPDATE`, MariaDB `INSERT … ON DUPLICATE KEY
UPDATE`. Columns not named in `update` (such as `first_seen_at`) keep their stored value on conflict,
which is how an item's history survives a change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import mysql, postgresql, sqlite

from retrovue.store.fit import fit_row


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
    rows = [fit_row(table, row) for row in rows]
    dialect = conn.dialect.name
    if dialect == "mysql" or dialect == "mariadb":
        my_stmt = mysql.insert(table)
        # MariaDB has no DO NOTHING: re-assigning a key column to itself is the idiom for it.
        assignments = {c: my_stmt.inserted[c] for c in (update or conflict[:1])}
        conn.execute(my_stmt.on_duplicate_key_update(assignments), list(rows))
        return
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(table)
    elif dialect == "sqlite":
        stmt = sqlite.insert(table)
    else:  # pragma: no cover - only the three supported dialects reach here
        raise NotImplementedError(f"upsert is not implemented for {dialect}")
    if update:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(conflict), set_={c: stmt.excluded[c] for c in update}
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict))
    conn.execute(stmt, list(rows))
