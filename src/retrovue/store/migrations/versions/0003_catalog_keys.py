"""Folded search and sort keys, and Plex's sort title for movies and episodes.

`media_items` gains `title_sort` (Plex's `titleSort`, stored from the next listing that reads it)
and the derived, indexed keys `sort_title`, `sort_show` and `search_text`; `shows` gains
`sort_title` and `search_text`. The keys are computed in Python (`retrovue.store.keys`), here for
every existing row, afterwards by every writer. Sort keys compare bytewise (collation "C" on
PostgreSQL, utf8mb4_bin on MariaDB), so their order is the same on every backend.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

from retrovue.store.keys import item_keys, show_keys

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BATCH = 5_000
SortKey = (
    sa.String(length=255)
    .with_variant(postgresql.VARCHAR(length=255, collation="C"), "postgresql")
    .with_variant(mysql.VARCHAR(length=255, collation="utf8mb4_bin"), "mysql", "mariadb")
)


def _fill(table: str, columns: tuple[str, ...], keys: Any) -> None:
    """Compute the derived keys of every existing row of `table`, `BATCH` rows at a time."""
    conn = op.get_bind()
    source = sa.table(table, sa.column("id"), *(sa.column(c) for c in columns))
    target = sa.table(
        table, sa.column("id"), *(sa.column(c) for c in ("sort_title", "sort_show", "search_text"))
    )
    last = -1
    while True:
        rows = conn.execute(
            sa.select(source).where(source.c.id > last).order_by(source.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        updates = []
        for row in rows:
            derived = keys(row._mapping)
            updates.append({"row_id": row.id, **{f"v_{k}": v for k, v in derived.items()}})
        names = [k for k in updates[0] if k.startswith("v_")]
        conn.execute(
            target.update()
            .where(target.c.id == sa.bindparam("row_id"))
            .values({name[2:]: sa.bindparam(name) for name in names}),
            updates,
        )
        last = rows[-1].id


def upgrade() -> None:
    # Plain ADD COLUMN (NOT NULL with a default, then filled), never a batch table rebuild: SQLite's
    # rebuild drops the old table, and with foreign keys on that cascades to every part and event.
    op.add_column("media_items", sa.Column("title_sort", sa.Text(), nullable=True))
    for table, names in (("media_items", ("sort_title", "sort_show")), ("shows", ("sort_title",))):
        for name in names:
            op.add_column(table, sa.Column(name, SortKey, nullable=False, server_default=""))
        op.add_column(table, sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    _fill("media_items", ("title", "title_sort", "show_title", "season_index", "episode_index"), item_keys)
    _fill("shows", ("title", "title_sort"), show_keys)
    for name, table, columns in (
        ("ix_media_items_library_id_sort_title", "media_items", ["library_id", "sort_title"]),
        ("ix_media_items_library_id_sort_show", "media_items", ["library_id", "sort_show"]),
        ("ix_shows_library_id_sort_title", "shows", ["library_id", "sort_title"]),
    ):
        op.create_index(op.f(name), table, columns, unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_shows_library_id_sort_title"), table_name="shows")
    op.drop_index(op.f("ix_media_items_library_id_sort_show"), table_name="media_items")
    op.drop_index(op.f("ix_media_items_library_id_sort_title"), table_name="media_items")
    for table, names in (
        ("shows", ("search_text", "sort_title")),
        ("media_items", ("search_text", "sort_show", "sort_title", "title_sort")),
    ):
        for name in names:
            op.drop_column(table, name)
