"""A listing where nothing changed opens no write transaction per page (on every backend).

Every page used to open a transaction whose first statement is the lease's fence — an UPDATE of
`library_locks` — even when the page had nothing to store: hundreds of commits (and, on
PostgreSQL, dead row versions of the lock row) for a library that did not change.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from retrovue.ingest import sync
from tests.ingest.conftest import Home


@contextmanager
def _main_thread_lock_updates(engine: Engine) -> Iterator[list[str]]:
    """Statements that update `library_locks` from this thread (the lease's heartbeat thread, which
    keeps a long run's lock alive on its own schedule, is not counted)."""
    me = threading.get_ident()
    seen: list[str] = []

    def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        text = statement.lstrip().upper()
        if threading.get_ident() == me and text.startswith("UPDATE") and "LIBRARY_LOCKS" in text:
            seen.append(statement)

    event.listen(engine, "after_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "after_cursor_execute", listener)


def test_a_listing_where_nothing_changed_fences_no_page(home: Home) -> None:
    assert all(s.ok for s in sync(home.engine, page_size=4))
    with _main_thread_lock_updates(home.engine) as updates:
        summaries = sync(home.engine, page_size=4, use_gate=False)
    assert all(s.ok and s.written == 0 for s in summaries)
    pages = sum(s.pages for s in summaries)
    assert pages >= 14  # 40 episodes and 10 movies at 4 a page: one fence each would show
    # What remains is per library, not per page: the run's start, finalize and its record.
    assert len(updates) <= 3 * len(summaries), (len(updates), pages)
