"""Plex collections as objects: each library's collections with the digest of their title,
`updatedAt` and `childCount` when last walked, so a run walks only the collections that changed.

Starts empty: the first listing after the upgrade walks every collection once (docs/sync.md,
"Collections").

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plex_collections",
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column("rating_key", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("digest", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["library_id"],
            ["libraries.id"],
            name=op.f("fk_plex_collections_library_id_libraries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("library_id", "rating_key", name=op.f("pk_plex_collections")),
    )


def downgrade() -> None:
    op.drop_table("plex_collections")
