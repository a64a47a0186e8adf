"""Catalog invariants that must hold whatever happened to the last sync (killed, faulted, fuzzed).

`check_integrity` returns a list of violations (empty means sound) so that a harness can count
them; `assert_integrity` is the test form.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from retrovue.states import ItemState
from retrovue.store import runs
from retrovue.store import schema as t

STATES = tuple(s.value for s in ItemState)
GONE = (ItemState.MISSING.value, ItemState.DELETED.value)


def _sqlite_checks(conn: sa.Connection) -> list[str]:
    out = []
    result = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").all()]
    if result != ["ok"]:
        out.append(f"PRAGMA integrity_check: {result[:5]}")
    fk = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    if fk:
        out.append(f"PRAGMA foreign_key_check: {fk[:5]}")
    return out


def check_integrity(engine: Engine) -> list[str]:
    """Every violation of the catalog's invariants, as one line each."""
    problems: list[str] = []
    i, p, r = t.media_items.c, t.media_parts.c, t.sync_runs.c
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            problems += _sqlite_checks(conn)
        orphans = conn.execute(
            sa.select(sa.func.count())
            .select_from(t.media_parts.outerjoin(t.media_items, i.id == p.item_id))
            .where(i.id.is_(None))
        ).scalar_one()
        if orphans:
            problems.append(f"{orphans} parts whose item does not exist")
        for table in (t.media_items, t.shows, t.seasons):
            dupes = conn.execute(
                sa.select(table.c.library_id, table.c.rating_key)
                .group_by(table.c.library_id, table.c.rating_key)
                .having(sa.func.count() > 1)
            ).all()
            if dupes:
                problems.append(f"duplicate (library, rating_key) in {table.name}: {dupes[:5]}")
            bad = conn.execute(
                sa.select(table.c.rating_key, table.c.state).where(table.c.state.notin_(STATES))
            ).all()
            if bad:
                problems.append(f"invalid states in {table.name}: {bad[:5]}")
            wrong_since = conn.execute(
                sa.select(table.c.rating_key, table.c.state, table.c.missing_since).where(
                    sa.or_(
                        sa.and_(table.c.state == "MISSING", table.c.missing_since.is_(None)),
                        sa.and_(table.c.state.notin_(GONE), table.c.missing_since.is_not(None)),
                    )
                )
            ).all()
            if wrong_since:
                problems.append(f"state and missing_since disagree in {table.name}: {wrong_since[:5]}")
        part_counts = (
            sa.select(p.item_id, sa.func.count().label("n")).group_by(p.item_id).subquery("part_counts")
        )
        wrong_parts = conn.execute(
            sa.select(i.rating_key, i.part_count, part_counts.c.n)
            .select_from(t.media_items.outerjoin(part_counts, part_counts.c.item_id == i.id))
            .where(i.part_count != sa.func.coalesce(part_counts.c.n, 0))
        ).all()
        if wrong_parts:
            problems.append(f"items whose part_count disagrees with their parts: {wrong_parts[:5]}")
        bad_runs = conn.execute(
            sa.select(r.id, r.status, r.finished_at).where(
                sa.or_(
                    r.status.notin_(runs.RUN_STATUSES),
                    sa.and_(r.status != "running", r.finished_at.is_(None)),
                )
            )
        ).all()
        if bad_runs:
            problems.append(f"malformed sync_runs: {bad_runs[:5]}")
    return problems


def assert_integrity(engine: Engine) -> None:
    problems = check_integrity(engine)
    assert not problems, "\n".join(problems)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_locks(engine: Engine) -> list[tuple[int, int]]:
    """(library_id, pid) of locks held by a live process; after a kill this must be empty."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.library_locks.c.library_id, t.library_locks.c.pid)).all()
    return [(lib, pid) for lib, pid in rows if pid_alive(pid)]
