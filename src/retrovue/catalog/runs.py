"""Sync runs as readers see them: the history of every library's syncs, newest first."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Engine

from retrovue.catalog.model import Run
from retrovue.store import schema as t

__all__ = ["list_runs"]


def list_runs(
    engine: Engine, *, library_id: int | None = None, limit: int = 50, latest_per_library: bool = False
) -> list[Run]:
    """Runs newest first (`limit` of them), or with `latest_per_library` each library's last run."""
    r, lib, srv = t.sync_runs.c, t.libraries.c, t.servers.c
    query = (
        sa.select(t.sync_runs, lib.title.label("library_title"), srv.name.label("server_name"))
        .join(t.libraries, lib.id == r.library_id)
        .join(t.servers, srv.id == lib.server_id)
        .order_by(r.started_at.desc(), r.id.desc())
    )
    if library_id is not None:
        query = query.where(r.library_id == library_id)
    if latest_per_library:
        last = sa.select(sa.func.max(r.id)).group_by(r.library_id).scalar_subquery()
        query = query.where(r.id.in_(last))
    else:
        query = query.limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        Run(
            id=m.id,
            library_id=m.library_id,
            library_title=m.library_title,
            server_name=m.server_name,
            mode=m.mode,
            status=m.status,
            started_at=m.started_at,
            finished_at=m.finished_at,
            processed=m.processed,
            changed=m.changed,
            skipped=m.skipped,
            errors=m.errors,
            missing=m.missing,
            deleted=m.deleted,
            requests=m.requests,
            error_text=m.error_text,
        )
        for m in rows
    ]
