"""A catalog written by every earlier schema revision upgrades to head with every row intact.

The fixtures in tests/fixtures/catalogs/ are made by tests/fixtures/make_catalog_fixtures.py, one per
revision; each is copied, opened with `open_catalog` (which migrates it) and compared row by row.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from retrovue import machine
from retrovue.catalog import Catalog, Changes
from retrovue.store import keys, lifecycle, registry, schema
from retrovue.store.db import create_catalog_engine, current_revision, head_revision, migrate, open_catalog
from tests.reliability.integrity import assert_integrity

FIXTURES = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "catalogs").glob("*.sqlite"))

# Values a migration deliberately rewrites, by the revision that does, with where the old value went
# (checked below).
MOVED = {
    # media_items.state is Plex's side only; REMOTE_ONLY became a verdict in local_verdicts.
    "0002": {("media_items", "state"): {"REMOTE_ONLY": "ACTIVE"}},
}


def _dump(path: Path) -> dict[str, dict[Any, dict[str, Any]]]:
    """Every row of every table, keyed by its rowid; alembic's own table left out."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
            if r[0] != "alembic_version"
        ]
        out: dict[str, dict[Any, dict[str, Any]]] = {}
        for table in tables:
            # Table names come from sqlite_master of our own fixture, quoted as identifiers.
            rows = conn.execute(f'SELECT rowid AS _rowid_, * FROM "{table}"').fetchall()
            out[table] = {r["_rowid_"]: dict(r) for r in rows}
        return out
    finally:
        conn.close()


def _plain(value: Any) -> Any:
    """A value as every backend can compare it: booleans as 0/1 (SQLite stores them so)."""
    return int(value) if isinstance(value, bool) else value


def _moved(revision: str, table: str, column: str, value: Any) -> Any:
    """What `value` became through the migrations after `revision`."""
    for later in sorted(MOVED):
        if later > revision:
            value = MOVED[later].get((table, column), {}).get(value, value)
    return value


def test_there_is_a_fixture_for_the_first_revision() -> None:
    assert [p.stem for p in FIXTURES][:1] == ["0001"]


@pytest.mark.parametrize("fixture", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_old_catalog_upgrades_without_losing_a_row(fixture: Path, tmp_path: Path) -> None:
    copy = tmp_path / fixture.name
    shutil.copy(fixture, copy)
    before = _dump(copy)
    assert sum(len(rows) for rows in before.values()) >= 15  # the fixture really holds data
    engine = open_catalog(f"sqlite:///{copy}")
    try:
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), schema.metadata) == []
            assert {s.name for s in registry.list_servers(conn)} == {"home", "nas"}
        assert_integrity(engine)
    finally:
        engine.dispose()
    _assert_every_row_survived(fixture.stem, before, _dump(copy))


def _assert_every_row_survived(
    revision: str, before: dict[str, dict[Any, dict[str, Any]]], after: dict[str, dict[Any, dict[str, Any]]]
) -> None:
    """Every row of the catalog at `revision` is in the upgraded one with every value it had, except
    the values a later migration moved (MOVED); derived columns and verdicts filled as they must be.
    Rows are keyed by rowid (SQLite) or primary key; booleans compare as 0/1 on every backend."""
    for table, rows in before.items():
        assert table in after, f"table {table} disappeared"
        assert after[table].keys() == rows.keys(), f"rows of {table} changed"
        for rowid, row in rows.items():
            kept = {k: _plain(v) for k, v in after[table][rowid].items() if k in row}
            expected = {k: _plain(_moved(revision, table, k, v)) for k, v in row.items()}
            assert kept == expected, (table, rowid)
    for table, derive in (("media_items", keys.item_keys), ("shows", keys.show_keys)):
        for row in after[table].values():  # the folded keys are filled for rows that predate them
            assert {k: row[k] for k in derive(row)} == derive(row), (table, row["id"])
    assert after["media_items"][3]["sort_title"] == "ежик в тумане 🦔"
    if "local_verdicts" not in before:  # upgraded through 0002: every ACTIVE/REMOTE_ONLY became a verdict
        verdicts = {r["item_id"]: r for r in after["local_verdicts"].values()}
        decided = {
            r["id"]: r["state"] == "ACTIVE"
            for r in before["media_items"].values()
            if r["state"] in ("ACTIVE", "REMOTE_ONLY")
        }
        assert {i: bool(v["local"]) for i, v in verdicts.items()} == decided
        assert {v["machine"] for v in verdicts.values()} == {machine.current()}
        assert {r["machine"] for r in after["path_mappings"].values()} == {machine.current()}


def test_upgrade_to_verified_stamps_keeps_the_gate(tmp_path: Path) -> None:
    """Migration 0004: a library whose last run was ok counts as verified and listed then, so the
    first sync after the upgrade keeps the change gate instead of relisting everything."""
    copy = tmp_path / "0003.sqlite"
    shutil.copy(FIXTURES[[p.stem for p in FIXTURES].index("0003")], copy)
    engine = open_catalog(f"sqlite:///{copy}")
    try:
        with engine.connect() as conn:
            libs = {lib.id: lib for lib in registry.list_libraries(conn)}
    finally:
        engine.dispose()
    for lib in libs.values():
        if lib.last_sync_status == "ok":
            assert (lib.verified_at, lib.listed_at) == (lib.last_synced_at, lib.last_synced_at)
        else:
            assert (lib.verified_at, lib.listed_at) == (None, None)
        assert (lib.listings, lib.verify_hours, lib.pending_detail) == (0, 24, 0)
    assert any(lib.verified_at for lib in libs.values())


def test_upgrade_to_the_change_feed_starts_it_empty_and_keeps_it(tmp_path: Path) -> None:
    """Migration 0005: an upgraded catalog's feed starts empty at cursor "0" and records from then
    on; a catalog already at 0005 keeps its entries (a purged item's too) and their positions."""
    copy = tmp_path / "0004.sqlite"
    shutil.copy(FIXTURES[[p.stem for p in FIXTURES].index("0004")], copy)
    with Catalog.open(f"sqlite:///{copy}", machine="nas-box") as cat:
        assert cat.changes() == Changes("0", [], False)
        with cat.engine.begin() as conn:
            lifecycle.mark_missing(conn, 1, [1], now=2_000_000_000, listing=9, confirmed_at=None)
        assert [(c.change, c.id) for c in cat.changes("0").changes] == [("missing", 1)]
    copy = tmp_path / "0005.sqlite"
    shutil.copy(FIXTURES[[p.stem for p in FIXTURES].index("0005")], copy)
    with Catalog.open(f"sqlite:///{copy}", machine="nas-box") as cat:
        feed = cat.changes()
        assert [(c.position, c.change, c.id) for c in feed.changes] == [
            (1, "added", 1),
            (2, "missing", 2),
            (4, "purged", 99),
            (5, "local", 1),
        ]
        assert feed.cursor == "5"
    with Catalog.open(f"sqlite:///{copy}", machine="elsewhere") as cat:
        assert [c.change for c in cat.changes("1").changes] == ["missing", "purged"]


def _dump_by_key(engine: Engine) -> dict[str, dict[Any, dict[str, Any]]]:
    """Every row of every table keyed by its primary key (one column: the value itself), through
    SQLAlchemy, the same on every backend; alembic's own table left out."""
    meta = sa.MetaData()
    meta.reflect(engine)
    out: dict[str, dict[Any, dict[str, Any]]] = {}
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            if table.name == "alembic_version":
                continue
            pk = [c.name for c in table.primary_key.columns]
            assert pk, f"{table.name} has no primary key"
            rows = {}
            for r in conn.execute(sa.select(table)):
                row = dict(r._mapping)
                key = row[pk[0]] if len(pk) == 1 else tuple(row[c] for c in pk)
                rows[key] = row
            out[table.name] = rows
    return out


def _load_into(fixture: Path, url: str, revision: str) -> dict[str, dict[Any, dict[str, Any]]]:
    """A server database at `revision` (Alembic) holding every row of the SQLite fixture of that
    revision; returns those rows as `_dump_by_key` reads them from the fixture."""
    source = create_catalog_engine(f"sqlite:///{fixture}")
    target = create_catalog_engine(url)
    try:
        migrate(target, revision)
        before = _dump_by_key(source)
        meta = sa.MetaData()
        meta.reflect(target)
        with target.begin() as conn:
            for table in meta.sorted_tables:  # parents before children
                rows = list(before.get(table.name, {}).values())
                if rows:
                    conn.execute(table.insert(), rows)
                if conn.dialect.name == "postgresql" and "id" in table.c and rows:
                    conn.execute(  # ids were given: the sequence continues after them
                        sa.text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), :top)"),
                        {"top": max(r["id"] for r in rows)},
                    )
    finally:
        source.dispose()
        target.dispose()
    return before


@pytest.mark.parametrize("fixture", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_old_catalog_upgrades_without_losing_a_row_on_a_server(
    fixture: Path, db_backend: str, fresh_db_url: str, tmp_path: Path
) -> None:
    """The same fixture catalogs, loaded into a fresh PostgreSQL or MariaDB database at their own
    revision, upgrade to head with every row intact: the migrations' data steps run on the servers
    too, not only on SQLite."""
    if db_backend == "sqlite":
        pytest.skip("SQLite: test_old_catalog_upgrades_without_losing_a_row")
    copy = tmp_path / fixture.name
    shutil.copy(fixture, copy)
    before = _load_into(copy, fresh_db_url, fixture.stem)
    assert sum(len(rows) for rows in before.values()) >= 15
    engine = open_catalog(fresh_db_url)
    try:
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), schema.metadata) == []
            assert {s.name for s in registry.list_servers(conn)} == {"home", "nas"}
        assert_integrity(engine)
        after = _dump_by_key(engine)
    finally:
        engine.dispose()
    _assert_every_row_survived(fixture.stem, before, after)


def test_upgrade_to_server_connections_keeps_hand_added_servers_on_their_address(tmp_path: Path) -> None:
    """Migration 0006: servers of an older catalog are one's own, reached at their one address (no
    connection rows); a catalog of 0006 keeps every connection plex.tv listed, in order."""
    for stem, expected in (
        ("0005", {"home": (None, []), "nas": (None, [])}),
        (
            "0006",
            {
                "home": (None, []),
                "nas": (
                    "grandpa",
                    [
                        ("https://192-168-1-20.0123abcd.plex.direct:32400", "local"),
                        ("https://nas.local:32400", "remote"),
                        ("https://relay-7.0123abcd.plex.direct:8443", "relay"),
                    ],
                ),
            },
        ),
    ):
        copy = tmp_path / f"{stem}.sqlite"
        shutil.copy(FIXTURES[[p.stem for p in FIXTURES].index(stem)], copy)
        engine = open_catalog(f"sqlite:///{copy}")
        try:
            with engine.connect() as conn:
                found = {
                    s.name: (s.owner, [(c.uri, c.kind) for c in registry.list_connections(conn, s.id)])
                    for s in registry.list_servers(conn)
                }
        finally:
            engine.dispose()
        assert found == expected, stem


@pytest.mark.parametrize("revision", ["0004", "0006"])
def test_fixture_rows_upgrade_on_every_database(fresh_db_url: str, revision: str) -> None:
    """The committed fixture of `revision`, loaded into a database of each backend at that revision,
    upgrades to head with every row kept: the change feed (0005) starts empty and records, the
    scheduler metadata (0007) starts empty and fills, on PostgreSQL and MariaDB as on SQLite."""
    before = _dump(FIXTURES[[p.stem for p in FIXTURES].index(revision)])
    engine = create_catalog_engine(fresh_db_url)
    try:
        migrate(engine, revision)
        meta = sa.MetaData()
        meta.reflect(engine)
        with engine.begin() as conn:
            for table in meta.sorted_tables:
                rows = list(before.get(table.name, {}).values())
                if rows:
                    conn.execute(table.insert(), [{k: v for k, v in r.items() if k in table.c} for r in rows])
                if (
                    rows
                    and conn.dialect.name == "postgresql"
                    and "id" in table.c
                    and table.c.id.autoincrement
                ):
                    # As a real catalog's: the sequence past the ids written (MariaDB and SQLite
                    # follow explicit ids by themselves).
                    conn.execute(
                        sa.text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), MAX(id)) "
                            f"FROM {table.name}"
                        )
                    )
        migrate(engine)
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            for name, rows in before.items():
                if rows:
                    assert conn.execute(
                        sa.select(sa.func.count()).select_from(sa.table(name))
                    ).scalar() == len(rows), name
            assert conn.execute(sa.select(sa.func.count()).select_from(schema.item_tags)).scalar() == 0
        cat = Catalog(engine, machine="nas-box")
        first = cat.changes()
        item = cat.item(1)
        assert item is not None
        assert (item.genres, item.summary, item.external_ids) == ((), None, {})
        with engine.begin() as conn:
            lifecycle.mark_missing(conn, 1, [1], now=2_000_000_000, listing=9, confirmed_at=None)
        assert [(c.change, c.id) for c in cat.changes(first.cursor).changes] == [("missing", 1)]
    finally:
        engine.dispose()


def test_upgrade_drops_the_unused_guid_index_and_keeps_every_row(fresh_db_url: str, tmp_path: Path) -> None:
    """Migration 0009, on each backend: the catalog of 0008 loses the `(library_id, guid_primary)`
    index (nothing reads by it; it cost a first sync ~2 s on SQLite) and keeps every row, GUIDs
    included."""
    copy = tmp_path / "0008.sqlite"
    shutil.copy(FIXTURES[[p.stem for p in FIXTURES].index("0008")], copy)
    before = _load_into(copy, fresh_db_url, "0008")
    index = "ix_media_items_library_id_guid_primary"
    engine = create_catalog_engine(fresh_db_url)
    try:
        assert index in {i["name"] for i in sa.inspect(engine).get_indexes("media_items")}
        migrate(engine)
        assert current_revision(engine) == head_revision()
        assert index not in {i["name"] for i in sa.inspect(engine).get_indexes("media_items")}
        after = _dump_by_key(engine)
    finally:
        engine.dispose()
    _assert_every_row_survived("0008", before, after)
    assert any(row["guid_primary"] for row in after["media_items"].values())
