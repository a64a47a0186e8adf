"""What a scheduler filters on: summary, content rating, air date, studio/network, thumb and art,
ratings and external ids on shows and media items; genres, collections and labels in `item_tags`
and `show_tags`.

Existing rows get NULLs and no tags: the first sync after the upgrade fills them, because an item
whose listing carries any of this has a new digest and is rewritten once (docs/sync.md, "Metadata").

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _metadata() -> list[sa.Column[object]]:
    return [
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("content_rating", sa.String(length=32), nullable=True),
        sa.Column("originally_available_at", sa.String(length=10), nullable=True),
        sa.Column("studio", sa.String(length=256), nullable=True),
        sa.Column("thumb", sa.String(length=512), nullable=True),
        sa.Column("art", sa.String(length=512), nullable=True),
        sa.Column("rating", sa.Float(), nullable=True),
        sa.Column("audience_rating", sa.Float(), nullable=True),
        sa.Column("imdb_id", sa.String(length=32), nullable=True),
        sa.Column("tmdb_id", sa.String(length=32), nullable=True),
        sa.Column("tvdb_id", sa.String(length=32), nullable=True),
    ]


def _tags(table: str, owner: str, parent: str) -> None:
    op.create_table(
        table,
        sa.Column(owner, sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.Column("tag_key", sa.String(length=255), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            [owner], [f"{parent}.id"], name=op.f(f"fk_{table}_{owner}_{parent}"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(owner, "kind", "tag", name=op.f(f"pk_{table}")),
    )
    op.create_index(op.f(f"ix_{table}_kind_tag_key"), table, ["kind", "tag_key"], unique=False)


def upgrade() -> None:
    # Plain ALTERs, never batch mode (see 0004).
    for table in ("shows", "media_items"):
        for column in _metadata():
            op.add_column(table, column)
    _tags("item_tags", "item_id", "media_items")
    _tags("show_tags", "show_id", "shows")


def downgrade() -> None:
    op.drop_table("show_tags")
    op.drop_table("item_tags")
    for table in ("media_items", "shows"):
        for column in _metadata():
            op.drop_column(table, column.name)
