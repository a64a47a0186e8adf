"""Sync history (`sync_runs`): one row per library run, what it did and what it cost.

The lock that keeps two runs of a library apart lives in `store.locks`.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Connection

from retrovue.store import schema as t

__all__ = ["RunCounts", "RunRow", "finish_run", "list_runs", "start_run"]

RUN_STATUSES = ("running", "ok", "partial", "failed", "cancelled")


@dataclass(frozen=True)
class RunCounts:
    processed: int = 0
    changed: int = 0
    skipped: int = 0
    errors: int = 0
    missing: int = 0
    deleted: int = 0
    requests: int = 0
    pages: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class RunRow:
    id: int
    library_id: int
    library_title: str
    server_name: str
    mode: str
    status: str
    started_at: int
    finished_at: int | None
    counts: RunCounts
    error_text: str | None


def start_run(conn: Connection, library_id: int, *, mode: str, now: int) -> int:
    result = conn.execute(
        t.sync_runs.insert().values(
            library_id=library_id,
            mode=mode,
            status="running",
            started_at=now,
            host=socket.gethostname()[:256],
            pid=os.getpid(),
            processed=0,
            changed=0,
            skipped=0,
            errors=0,
            missing=0,
            deleted=0,
            requests=0,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def finish_run(
    conn: Connection, run_id: int, *, status: str, counts: RunCounts, now: int, error_text: str | None = None
) -> bool:
    """Record how a run ended; False when it was already closed (a takeover recorded it interrupted,
    and a run that lost its lock must not rewrite that)."""
    if status not in RUN_STATUSES:
        raise ValueError(f"unknown run status {status!r}")
    return (
        conn.execute(
            t.sync_runs.update()
            .where(t.sync_runs.c.id == run_id, t.sync_runs.c.status == "running")
            .values(
                status=status,
                finished_at=now,
                error_text=error_text,
                processed=counts.processed,
                changed=counts.changed,
                skipped=counts.skipped,
                errors=counts.errors,
                missing=counts.missing,
                deleted=counts.deleted,
                requests=counts.requests,
                pages=counts.pages,
                bytes=counts.bytes,
            )
        ).rowcount
        == 1
    )


def list_runs(conn: Connection, *, library_id: int | None = None, limit: int = 50) -> list[RunRow]:
    r, lib, srv = t.sync_runs.c, t.libraries.c, t.servers.c
    query = (
        sa.select(t.sync_runs, lib.title.label("library_title"), srv.name.label("server_name"))
        .join(t.libraries, lib.id == r.library_id)
        .join(t.servers, srv.id == lib.server_id)
        .order_by(r.started_at.desc(), r.id.desc())
        .limit(limit)
    )
    if library_id is not None:
        query = query.where(r.library_id == library_id)
    out = []
    for row in conn.execute(query):
        m = row._mapping
        out.append(
            RunRow(
                id=m["id"],
                library_id=m["library_id"],
                library_title=m["library_title"],
                server_name=m["server_name"],
                mode=m["mode"],
                status=m["status"],
                started_at=m["started_at"],
                finished_at=m["finished_at"],
                counts=RunCounts(
                    m["processed"],
                    m["changed"],
                    m["skipped"],
                    m["errors"],
                    m["missing"],
                    m["deleted"],
                    m["requests"],
                    m["pages"],
                    m["bytes"],
                ),
                error_text=m["error_text"],
            )
        )
    return out
