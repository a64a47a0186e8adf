"""The change feed: `item_changes` (one row per change to an item, kept through a purge) and
`change_clock` (the one row every recording transaction locks first, so feed ids follow commit
order; see store/feed.py).

The feed starts empty: a reader's first `changes()` after the upgrade starts from here. Existing
history stays in `item_events`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "item_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column("rating_key", sa.String(length=64), nullable=True),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("old_value", sa.String(length=256), nullable=True),
        sa.Column("new_value", sa.String(length=256), nullable=True),
        sa.Column("machine", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_changes")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_item_changes_library_id_id"), "item_changes", ["library_id", "id"], unique=False)
    op.create_index(op.f("ix_item_changes_at"), "item_changes", ["at"], unique=False)
    op.create_table(
        "change_clock",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ticks", sa.BigInteger(), nullable=False),
        sa.Column("pruned_through", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_clock")),
    )


def downgrade() -> None:
    op.drop_table("change_clock")
    op.drop_index(op.f("ix_item_changes_at"), table_name="item_changes")
    op.drop_index(op.f("ix_item_changes_library_id_id"), table_name="item_changes")
    op.drop_table("item_changes")
