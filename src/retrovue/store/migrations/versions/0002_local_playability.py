"""Local playability per machine: mappings and ACTIVE/REMOTE_ONLY verdicts belong to a machine profile.

`media_items.state` becomes Plex's state only (REMOTE_ONLY rows become ACTIVE: Plex can play them);
whether an item plays from a local file is kept per machine in `local_verdicts`. Nothing is lost:
every ACTIVE / REMOTE_ONLY decision already in the catalog becomes a verdict of the machine running
this upgrade (its profile name: `--machine`, `RETROVUE_MACHINE` or the host name), and every path
mapping becomes that machine's. `local_roots` and `local_checks` start empty: the first run on each
machine observes its mapping roots and decides what is undecided.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

from retrovue import machine

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    name = machine.current()
    now = int(time.time())
    with op.batch_alter_table("path_mappings") as batch:
        batch.add_column(sa.Column("machine", sa.String(length=128), nullable=True))
    op.execute(sa.text("UPDATE path_mappings SET machine = :m").bindparams(m=name))
    with op.batch_alter_table("path_mappings") as batch:
        batch.alter_column("machine", existing_type=sa.String(length=128), nullable=False)
    # The new index first: MariaDB needs an index on server_id for its foreign key at every moment.
    op.create_index(
        op.f("ix_path_mappings_server_id_machine"), "path_mappings", ["server_id", "machine"], unique=False
    )
    op.drop_index(op.f("ix_path_mappings_server_id"), table_name="path_mappings")

    op.create_table(
        "local_verdicts",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("machine", sa.String(length=128), nullable=False),
        sa.Column("local", sa.Boolean(), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("decided_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["media_items.id"],
            name=op.f("fk_local_verdicts_item_id_media_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", "machine", name=op.f("pk_local_verdicts")),
    )
    op.create_table(
        "local_roots",
        sa.Column("machine", sa.String(length=128), nullable=False),
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column("mapping_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=True),
        sa.Column("observed_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["library_id"],
            ["libraries.id"],
            name=op.f("fk_local_roots_library_id_libraries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mapping_id"],
            ["path_mappings.id"],
            name=op.f("fk_local_roots_mapping_id_path_mappings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("machine", "library_id", "mapping_id", name=op.f("pk_local_roots")),
    )
    op.create_table(
        "local_checks",
        sa.Column("machine", sa.String(length=128), nullable=False),
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column("items_through", sa.BigInteger(), nullable=True),
        sa.Column("undecided", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["library_id"],
            ["libraries.id"],
            name=op.f("fk_local_checks_library_id_libraries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("machine", "library_id", name=op.f("pk_local_checks")),
    )

    # Every decision already taken becomes this machine's verdict, valid for the item as it is now.
    op.execute(
        sa.text(
            "INSERT INTO local_verdicts (item_id, machine, local, digest, decided_at) "
            "SELECT id, :m, CASE WHEN state = 'ACTIVE' THEN :yes ELSE :no END, COALESCE(digest, ''), :now "
            "FROM media_items WHERE state IN ('ACTIVE', 'REMOTE_ONLY')"
        ).bindparams(
            sa.bindparam("m", name),
            sa.bindparam("yes", True, sa.Boolean()),
            sa.bindparam("no", False, sa.Boolean()),
            sa.bindparam("now", now),
        )
    )
    op.execute(sa.text("UPDATE media_items SET state = 'ACTIVE' WHERE state = 'REMOTE_ONLY'"))


def downgrade() -> None:
    # Back to one state column: this machine's verdicts decide REMOTE_ONLY again.
    name = machine.current()
    op.execute(
        sa.text(
            "UPDATE media_items SET state = 'REMOTE_ONLY' WHERE state = 'ACTIVE' AND id NOT IN "
            "(SELECT item_id FROM local_verdicts WHERE machine = :m AND local = :yes)"
        ).bindparams(sa.bindparam("m", name), sa.bindparam("yes", True, sa.Boolean()))
    )
    op.drop_table("local_checks")
    op.drop_table("local_roots")
    op.drop_table("local_verdicts")
    op.create_index(op.f("ix_path_mappings_server_id"), "path_mappings", ["server_id"], unique=False)
    op.drop_index(op.f("ix_path_mappings_server_id_machine"), table_name="path_mappings")
    op.execute(sa.text("DELETE FROM path_mappings WHERE machine <> :m").bindparams(m=name))
    with op.batch_alter_table("path_mappings") as batch:
        batch.drop_column("machine")
