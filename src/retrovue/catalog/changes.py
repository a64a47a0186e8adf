"""The change feed, read side: what changed since a cursor, oldest first (written by store/feed.py).

A cursor is the decimal position of the last entry read ("0": the beginning). Entries are
assigned positions in commit order (store/feed.py), so reading `position > cursor` never skips one
that commits later. This machine's reader sees every machine-neutral entry and its own `local`
entries, never another machine's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from retrovue.catalog.model import Change, Changes
from retrovue.errors import ConfigError, CursorExpiredError
from retrovue.store import feed
from retrovue.store import schema as t

__all__ = ["END", "decode", "head", "iter_changes", "read_changes"]

END = "0"


def decode(since: str | int | None) -> int:
    """A cursor's position; ConfigError for anything that is not one."""
    if since is None:
        return 0
    text = str(since).strip()
    if not text.isascii() or not text.isdigit():
        raise ConfigError(f"not a change-feed cursor: {str(since)[:40]!r} (use the cursor `changes` gave)")
    return int(text)


def head(engine: Engine) -> str:
    """The cursor of the feed's end now: every change so far is behind it."""
    with engine.connect() as conn:
        return str(_head(conn))


def _head(conn: Connection) -> int:
    value = conn.execute(sa.select(sa.func.max(t.item_changes.c.id))).scalar()
    return max(int(value or 0), feed.pruned_through(conn))


def _check(conn: Connection, position: int, given: bool) -> None:
    pruned = feed.pruned_through(conn)
    if given and position < pruned:
        raise CursorExpiredError(
            f"change-feed cursor {position} is older than the feed keeps ({feed.FEED_DAYS} days): "
            "re-read the catalog and follow the feed from a new cursor"
        )


def _select(
    machine: str, after: int, until: int | None, library_id: int | None, limit: int
) -> sa.Select[Any]:
    c = t.item_changes.c
    where = [c.id > after, sa.or_(c.machine.is_(None), c.machine == machine)]
    if until is not None:
        where.append(c.id <= until)
    if library_id is not None:
        where.append(c.library_id == library_id)
    return sa.select(t.item_changes).where(*where).order_by(c.id).limit(limit)


def _change(r: sa.Row[Any]) -> Change:
    return Change(
        id=r.item_id,
        rating_key=r.rating_key,
        change=r.change,
        library_id=r.library_id,
        at=r.at,
        old_value=r.old_value,
        new_value=r.new_value,
        run_id=r.run_id,
        position=r.id,
    )


def read_changes(
    engine: Engine,
    machine: str,
    since: str | int | None,
    *,
    library_id: int | None = None,
    limit: int = 1000,
) -> Changes:
    if limit < 1:
        raise ConfigError(f"a stretch of the feed holds at least one change; got limit={limit}")
    after = decode(since)
    with engine.connect() as conn:
        _check(conn, after, since is not None)
        end = _head(conn)
        rows = conn.execute(_select(machine, after, end, library_id, limit + 1)).all()
    more = len(rows) > limit
    changes = [_change(r) for r in rows[:limit]]
    # Without more, the cursor is the end as read (past entries of other machines or libraries too).
    cursor = changes[-1].position if more else max(end, after)
    return Changes(str(cursor), changes, more)


def iter_changes(
    engine: Engine,
    machine: str,
    since: str | int | None,
    until: str | int,
    *,
    library_id: int | None = None,
    page_size: int = 2000,
) -> Iterator[Change]:
    """Every change after `since` up to and including `until` (a `head` read before), a page at a time."""
    after = decode(since)
    end = decode(until)
    given = since is not None
    while True:
        with engine.connect() as conn:
            _check(conn, after, given)
            rows = conn.execute(_select(machine, after, end, library_id, page_size)).all()
        for r in rows:
            yield _change(r)
        if len(rows) < page_size:
            return
        after = rows[-1].id
        given = True
