"""Servers from the Plex account: every connection plex.tv lists, and who shared the server.

- servers: `owner` (the plex.tv name of whoever shared the server with the account; NULL for one's
  own server and for one added by hand);
- server_connections: each address of a server added from the account (local, remote, relay; http or
  https) in the order they are tried, with when the server last answered there as itself.

Nothing is rewritten: servers added by hand keep their one address (`servers.base_url`) and no
connection rows.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ALTER, never batch mode (on SQLite a batch copy would cascade-delete child rows).
    op.add_column("servers", sa.Column("owner", sa.String(length=256), nullable=True))
    op.create_table(
        "server_connections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("server_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("uri", sa.String(length=1024), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("protocol", sa.String(length=16), nullable=False),
        sa.Column("last_ok_at", sa.BigInteger(), nullable=True),
        sa.Column("last_failed_at", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["servers.id"],
            name=op.f("fk_server_connections_server_id_servers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_connections")),
    )
    op.create_index(
        op.f("ix_server_connections_server_id_position"),
        "server_connections",
        ["server_id", "position"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_server_connections_server_id_position"), table_name="server_connections")
    op.drop_table("server_connections")
    op.drop_column("servers", "owner")
