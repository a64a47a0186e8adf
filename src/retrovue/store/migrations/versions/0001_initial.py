"""Initial catalog schema: servers, libraries, shows, seasons, items, parts, mappings, runs, locks.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "servers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("base_url", sa.String(length=1024), nullable=False),
        sa.Column("token", sa.String(length=256), nullable=False),
        sa.Column("machine_identifier", sa.String(length=64), nullable=True),
        sa.Column("version", sa.String(length=64), nullable=True),
        sa.Column("friendly_name", sa.String(length=256), nullable=True),
        sa.Column("verify_tls", sa.Boolean(), nullable=False),
        sa.Column("ca_bundle", sa.String(length=1024), nullable=True),
        sa.Column("check_local_files", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_servers")),
        sa.UniqueConstraint("name", name=op.f("uq_servers_name")),
    )
    op.create_table(
        "libraries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("server_id", sa.Integer(), nullable=False),
        sa.Column("section_key", sa.String(length=64), nullable=False),
        sa.Column("section_uuid", sa.String(length=64), nullable=True),
        sa.Column("title", sa.String(length=512), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("agent", sa.String(length=256), nullable=True),
        sa.Column("locations", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("content_changed_at", sa.String(length=64), nullable=True),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("missing_threshold_pct", sa.Integer(), nullable=False),
        sa.Column("last_synced_at", sa.BigInteger(), nullable=True),
        sa.Column("last_sync_status", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["server_id"], ["servers.id"], name=op.f("fk_libraries_server_id_servers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_libraries")),
        sa.UniqueConstraint("server_id", "section_key", name=op.f("uq_libraries_server_id_section_key")),
    )
    op.create_table(
        "path_mappings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("server_id", sa.Integer(), nullable=False),
        sa.Column("plex_prefix", sa.String(length=1024), nullable=False),
        sa.Column("local_prefix", sa.String(length=1024), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["server_id"], ["servers.id"], name=op.f("fk_path_mappings_server_id_servers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_path_mappings")),
    )
    op.create_index(op.f("ix_path_mappings_server_id"), "path_mappings", ["server_id"], unique=False)

    op.create_table(
        "library_locks",
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=256), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("acquired_at", sa.BigInteger(), nullable=False),
        sa.Column("heartbeat_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["library_id"],
            ["libraries.id"],
            name=op.f("fk_library_locks_library_id_libraries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("library_id", name=op.f("pk_library_locks")),
    )
    op.create_table(
        "media_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("server_id", sa.Integer(), nullable=False),
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column("rating_key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("show_rating_key", sa.String(length=64), nullable=True),
        sa.Column("season_rating_key", sa.String(length=64), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("show_title", sa.Text(), nullable=True),
        sa.Column("season_index", sa.Integer(), nullable=True),
        sa.Column("episode_index", sa.Integer(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("guid_primary", sa.String(length=512), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("file_size", sa.BigInteger(), nullable=True),
        sa.Column("part_count", sa.Integer(), nullable=False),
        sa.Column("streams_signature", sa.String(length=256), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=True),
        sa.Column("added_at_plex", sa.BigInteger(), nullable=True),
        sa.Column("updated_at_plex", sa.BigInteger(), nullable=True),
        sa.Column("first_seen_at", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_at", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("missing_since", sa.BigInteger(), nullable=True),
        sa.Column("last_scan_at", sa.BigInteger(), nullable=True),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("last_error_at", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["library_id"],
            ["libraries.id"],
            name=op.f("fk_media_items_library_id_libraries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["server_id"], ["servers.id"], name=op.f("fk_media_items_server_id_servers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_items")),
        sa.UniqueConstraint("library_id", "rating_key", name=op.f("uq_media_items_library_id_rating_key")),
    )
    op.create_index(
        op.f("ix_media_items_library_id_guid_primary"),
        "media_items",
        ["library_id", "guid_primary"],
        unique=False,
    )
    op.create_index(
        op.f("ix_media_items_library_id_last_seen_at"),
        "media_items",
        ["library_id", "last_seen_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_media_items_library_id_show_rating_key"),
        "media_items",
        ["library_id", "show_rating_key"],
        unique=False,
    )
    op.create_index(
        op.f("ix_media_items_library_id_state"), "media_items", ["library_id", "state"], unique=False
    )

    op.create_table(
        "seasons",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column("rating_key", sa.String(length=64), nullable=False),
        sa.Column("show_rating_key", sa.String(length=64), nullable=False),
        sa.Column("season_index", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("leaf_count", sa.Integer(), nullable=True),
        sa.Column("updated_at_plex", sa.BigInteger(), nullable=True),
        sa.Column("first_seen_at", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_at", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("missing_since", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["library_id"], ["libraries.id"], name=op.f("fk_seasons_library_id_libraries"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seasons")),
        sa.UniqueConstraint("library_id", "rating_key", name=op.f("uq_seasons_library_id_rating_key")),
    )
    op.create_index(
        op.f("ix_seasons_library_id_show_rating_key"),
        "seasons",
        ["library_id", "show_rating_key"],
        unique=False,
    )

    op.create_table(
        "shows",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column("rating_key", sa.String(length=64), nullable=False),
        sa.Column("guid", sa.String(length=512), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("title_sort", sa.Text(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("child_count", sa.Integer(), nullable=True),
        sa.Column("leaf_count", sa.Integer(), nullable=True),
        sa.Column("added_at_plex", sa.BigInteger(), nullable=True),
        sa.Column("updated_at_plex", sa.BigInteger(), nullable=True),
        sa.Column("show_digest", sa.String(length=64), nullable=True),
        sa.Column("children_hydrated", sa.Boolean(), nullable=False),
        sa.Column("first_seen_at", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_at", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("missing_since", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["library_id"], ["libraries.id"], name=op.f("fk_shows_library_id_libraries"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shows")),
        sa.UniqueConstraint("library_id", "rating_key", name=op.f("uq_shows_library_id_rating_key")),
    )
    op.create_index(op.f("ix_shows_library_id_state"), "shows", ["library_id", "state"], unique=False)

    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("finished_at", sa.BigInteger(), nullable=True),
        sa.Column("host", sa.String(length=256), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("processed", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("missing", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("error_text", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["library_id"],
            ["libraries.id"],
            name=op.f("fk_sync_runs_library_id_libraries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
    )
    op.create_index(
        op.f("ix_sync_runs_library_id_started_at"), "sync_runs", ["library_id", "started_at"], unique=False
    )

    op.create_table(
        "item_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("old_value", sa.String(length=256), nullable=True),
        sa.Column("new_value", sa.String(length=256), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["media_items.id"],
            name=op.f("fk_item_events_item_id_media_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_events")),
    )
    op.create_index(op.f("ix_item_events_item_id_at"), "item_events", ["item_id", "at"], unique=False)

    op.create_table(
        "media_parts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("media_index", sa.Integer(), nullable=False),
        sa.Column("part_index", sa.Integer(), nullable=False),
        sa.Column("plex_media_id", sa.BigInteger(), nullable=True),
        sa.Column("plex_part_id", sa.BigInteger(), nullable=True),
        sa.Column("part_key", sa.String(length=1024), nullable=True),
        sa.Column("file", sa.Text(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("container", sa.String(length=32), nullable=True),
        sa.Column("video_codec", sa.String(length=32), nullable=True),
        sa.Column("audio_codec", sa.String(length=32), nullable=True),
        sa.Column("audio_channels", sa.Integer(), nullable=True),
        sa.Column("video_resolution", sa.String(length=16), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("bitrate", sa.Integer(), nullable=True),
        sa.Column("streams", sa.Text(), nullable=True),
        sa.Column("accessible", sa.Boolean(), nullable=True),
        sa.Column("file_exists", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["media_items.id"],
            name=op.f("fk_media_parts_item_id_media_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_parts")),
        sa.UniqueConstraint(
            "item_id", "media_index", "part_index", name=op.f("uq_media_parts_item_id_media_index_part_index")
        ),
    )


def downgrade() -> None:
    op.drop_table("media_parts")
    op.drop_index(op.f("ix_item_events_item_id_at"), table_name="item_events")

    op.drop_table("item_events")
    op.drop_index(op.f("ix_sync_runs_library_id_started_at"), table_name="sync_runs")

    op.drop_table("sync_runs")
    op.drop_index(op.f("ix_shows_library_id_state"), table_name="shows")

    op.drop_table("shows")
    op.drop_index(op.f("ix_seasons_library_id_show_rating_key"), table_name="seasons")

    op.drop_table("seasons")
    op.drop_index(op.f("ix_media_items_library_id_state"), table_name="media_items")
    op.drop_index(op.f("ix_media_items_library_id_show_rating_key"), table_name="media_items")
    op.drop_index(op.f("ix_media_items_library_id_last_seen_at"), table_name="media_items")
    op.drop_index(op.f("ix_media_items_library_id_guid_primary"), table_name="media_items")

    op.drop_table("media_items")
    op.drop_table("library_locks")
    op.drop_index(op.f("ix_path_mappings_server_id"), table_name="path_mappings")

    op.drop_table("path_mappings")
    op.drop_table("libraries")
    op.drop_table("servers")
