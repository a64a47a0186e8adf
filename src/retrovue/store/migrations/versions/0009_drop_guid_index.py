"""The `(library_id, guid_primary)` index of media_items goes: no query reads by it.

Re-key matching compares GUIDs of rows it has already read by id, and the read API returns the
GUID without filtering on it. Keeping the index cost every insert and GUID change a write into a
B-tree keyed by random strings, for nothing.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

INDEX = "ix_media_items_library_id_guid_primary"


def upgrade() -> None:
    op.drop_index(INDEX, table_name="media_items")


def downgrade() -> None:
    op.create_index(INDEX, "media_items", ["library_id", "guid_primary"])
