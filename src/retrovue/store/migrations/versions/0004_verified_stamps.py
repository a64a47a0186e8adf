"""Runs stop touching every row: per-library verification stamps, listing counts, fenced locks.

- libraries: `verified_at`, `listed_at`, `listings`, `verify_hours`, `pending_detail`;
- shows, seasons, media_items: `missing_listing`; media_items: `first_listing`, `detail_pending`,
  and the `(library_id, last_seen_at)` index goes (nothing reads by it any more);
- library_locks: `instance` (boot id + pid namespace of the holder);
- sync_runs: `pages`, `bytes`.

Existing libraries whose last run was ok count as verified and listed at that run's time, so the
first run after the upgrade keeps the change gate instead of relisting everything.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTERs, never batch mode: on SQLite a batch "move and copy" drops the old table, and
    # with foreign keys on that cascades into media_parts and item_events.
    op.add_column("libraries", sa.Column("verified_at", sa.BigInteger(), nullable=True))
    op.add_column("libraries", sa.Column("listed_at", sa.BigInteger(), nullable=True))
    op.add_column("libraries", sa.Column("listings", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("libraries", sa.Column("verify_hours", sa.Integer(), nullable=False, server_default="24"))
    op.add_column("libraries", sa.Column("pending_detail", sa.Integer(), nullable=False, server_default="0"))
    for table in ("shows", "seasons", "media_items"):
        op.add_column(table, sa.Column("missing_listing", sa.Integer(), nullable=True))
    op.add_column("media_items", sa.Column("first_listing", sa.Integer(), nullable=True))
    op.add_column(
        "media_items", sa.Column("detail_pending", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.drop_index("ix_media_items_library_id_last_seen_at", table_name="media_items")
    op.add_column("library_locks", sa.Column("instance", sa.String(length=128), nullable=True))
    op.add_column("sync_runs", sa.Column("pages", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("sync_runs", sa.Column("bytes", sa.BigInteger(), nullable=False, server_default="0"))

    libraries = sa.table(
        "libraries",
        sa.column("verified_at", sa.BigInteger()),
        sa.column("listed_at", sa.BigInteger()),
        sa.column("last_synced_at", sa.BigInteger()),
        sa.column("last_sync_status", sa.String()),
    )
    op.execute(
        libraries.update()
        .where(libraries.c.last_sync_status == "ok")
        .values(verified_at=libraries.c.last_synced_at, listed_at=libraries.c.last_synced_at)
    )
    # Items stored without a file check by an older version carry an empty digest: owed a check.
    items = sa.table(
        "media_items", sa.column("digest", sa.String()), sa.column("detail_pending", sa.Boolean())
    )
    op.execute(items.update().where(items.c.digest == "").values(detail_pending=True))


def downgrade() -> None:
    for table, column in (
        ("sync_runs", "bytes"),
        ("sync_runs", "pages"),
        ("library_locks", "instance"),
        ("media_items", "detail_pending"),
        ("media_items", "first_listing"),
        ("media_items", "missing_listing"),
        ("seasons", "missing_listing"),
        ("shows", "missing_listing"),
        ("libraries", "pending_detail"),
        ("libraries", "verify_hours"),
        ("libraries", "listings"),
        ("libraries", "listed_at"),
        ("libraries", "verified_at"),
    ):
        op.drop_column(table, column)
    op.create_index("ix_media_items_library_id_last_seen_at", "media_items", ["library_id", "last_seen_at"])
