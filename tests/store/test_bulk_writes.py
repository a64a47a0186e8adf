"""The bulk write path on every backend: a page of items is a fixed number of statements (on
PostgreSQL COPY into a temporary table and one merge), with the same rows as the executemany path,
and pooled server connections are pinged only when they sat idle."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from retrovue.store import db
from retrovue.store import items as dal
from retrovue.store import schema as t
from retrovue.store.fit import fit_row
from retrovue.store.items import ItemRecord, PartRecord
from retrovue.store.upsert import BULK_MIN_ROWS, bulk_insert, upsert
from tests.conftest import StatementCounter

NOW = 1_700_000_000


def _library(engine: Engine) -> tuple[int, int]:
    with engine.begin() as conn:
        server = conn.execute(
            t.servers.insert().values(
                name="s", base_url="http://127.0.0.1:9", token="t", created_at=NOW, updated_at=NOW
            )
        ).inserted_primary_key[0]
        library = conn.execute(
            t.libraries.insert().values(
                server_id=server, section_key="1", title="TV", kind="show", created_at=NOW, updated_at=NOW
            )
        ).inserted_primary_key[0]
    return int(server), int(library)


def _records(n: int, generation: str) -> list[ItemRecord]:
    return [
        ItemRecord(
            rating_key=str(i),
            kind="episode",
            title=f"Épisode {i} {generation}",
            digest=f"{generation}{i}",
            show_title="Déjà Vu",
            season_index=1,
            episode_index=i,
            parts=(PartRecord(0, 0, file=f"/tv/{i}.mkv", size=i), PartRecord(0, 1, file=f"/tv/{i}b.mkv")),
        )
        for i in range(n)
    ]


def _item_rows(engine: Engine) -> dict[str, Any]:
    c = t.media_items.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                c.rating_key,
                c.title,
                c.sort_title,
                c.sort_show,
                c.search_text,
                c.state,
                c.first_seen_at,
                c.last_seen_at,
                c.error_count,
                c.detail_pending,
            )
        )
        return {r.rating_key: r for r in rows}


def test_a_page_of_items_is_one_upsert_and_keeps_history(
    catalog: Engine, statements: StatementCounter
) -> None:
    server, library = _library(catalog)
    n = 200
    with catalog.begin() as conn:
        ids = dal.upsert_items(conn, server, library, _records(n, "a"), now=NOW, listing=1)
    assert len(ids) == n
    writes = statements.rows_written("media_items")
    assert len(writes) == 1
    assert writes[0][1] == n
    assert [rows for _s, rows in statements.rows_written("media_parts")] == [2 * n]
    first = _item_rows(catalog)
    assert first["7"].sort_title == "episode 7 a"
    assert first["7"].sort_show.startswith("deja vu\x1f")
    assert first["7"].search_text == "episode 7 a\ndeja vu"
    assert (first["7"].state, first["7"].error_count, bool(first["7"].detail_pending)) == ("ACTIVE", 0, False)

    statements.reset()
    with catalog.begin() as conn:
        again = dal.upsert_items(conn, server, library, _records(n, "b"), now=NOW + 60, listing=2)
    assert again == ids  # updated in place: same ids
    updated = 2 * n if catalog.dialect.name in ("mysql", "mariadb") else n  # MariaDB: 2 per update
    assert [rows for _s, rows in statements.rows_written("media_items")] == [updated]
    second = _item_rows(catalog)
    assert second["7"].title == "Épisode 7 b"
    assert second["7"].sort_title == "episode 7 b"
    assert (second["7"].first_seen_at, second["7"].last_seen_at) == (NOW, NOW + 60)
    with catalog.connect() as conn:
        parts = conn.execute(sa.select(sa.func.count()).select_from(t.media_parts)).scalar_one()
    assert parts == 2 * n


def test_a_batch_with_a_key_twice_keeps_the_last(catalog: Engine) -> None:
    """One merge may not touch a row twice on PostgreSQL: the batch keeps the last of each key,
    which is what an executemany leaves on every backend."""
    server, library = _library(catalog)
    rows = [
        {
            "library_id": library,
            "rating_key": str(i % 10),
            "title": f"Show {i}",
            "first_seen_at": NOW,
            "last_seen_at": NOW,
            "sort_title": f"show {i}",
            "search_text": f"show {i}",
            "children_hydrated": False,
        }
        for i in range(3 * BULK_MIN_ROWS)
    ]
    rows[5] = dict(reversed(list(rows[5].items())))  # keys in another order: matched by name
    with catalog.begin() as conn:
        upsert(conn, t.shows, rows, conflict=("library_id", "rating_key"), update=("title", "sort_title"))
    with catalog.connect() as conn:
        stored = dict(conn.execute(sa.select(t.shows.c.rating_key, t.shows.c.title)).all())
        states = set(conn.execute(sa.select(t.shows.c.state)).scalars())
    last = {str(i % 10): f"Show {i}" for i in range(3 * BULK_MIN_ROWS)}
    assert stored == last
    assert states == {"ACTIVE"}  # the column's scalar default, filled in by the COPY path too
    del server


def test_bulk_insert_fits_values_and_fills_defaults(catalog: Engine) -> None:
    server, library = _library(catalog)
    with catalog.begin() as conn:
        ids = dal.upsert_items(conn, server, library, _records(BULK_MIN_ROWS, "a"), now=NOW)
        item = next(iter(ids.values()))
        bulk_insert(
            conn,
            t.item_events,
            [
                {"item_id": item, "run_id": None, "at": NOW + i, "event": "state", "old_value": "x\x00y"}
                for i in range(BULK_MIN_ROWS)
            ],
        )
    with catalog.connect() as conn:
        values = set(conn.execute(sa.select(t.item_events.c.old_value)).scalars())
    assert values == {"xy"}  # fitted on every backend (PostgreSQL refuses a NUL in text)


def test_server_connections_are_pinged_only_after_idling(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has no server connection to lose")
    engine = db.open_catalog(db_url)
    pings: list[object] = []
    real_ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return bool(real_ping(dbapi_connection))

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    try:
        for _ in range(20):
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        assert pings == []  # in constant use: no ping round trip per checkout

        with engine.connect() as conn:  # the server drops the pooled connection while it idles
            if engine.dialect.name == "postgresql":
                pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
                kill = f"SELECT pg_terminate_backend({int(pid)})"
            else:
                pid = conn.execute(sa.text("SELECT CONNECTION_ID()")).scalar_one()
                kill = f"KILL {int(pid)}"
        killer = sa.create_engine(db_url, poolclass=sa.NullPool)
        with killer.connect() as conn:
            conn.execute(sa.text(kill))
        killer.dispose()
        monkeypatch.setattr(db.time, "monotonic", lambda: 1e12)  # ...for longer than PING_AFTER_IDLE_S
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 2")).scalar_one() == 2  # replaced, not failed
        assert len(pings) >= 1
    finally:
        engine.dispose()


def test_mariadb_sends_a_page_as_multi_row_statements(catalog: Engine) -> None:
    """On the wire, not only in SQLAlchemy's counters: the server's own count of INSERT statements
    grows by the same few for a page of 5 items as for a page of 200."""
    if catalog.dialect.name not in ("mysql", "mariadb"):
        pytest.skip("MariaDB's session status counts statements on the server")
    server, library = _library(catalog)
    grew = []
    for first, size in ((0, 5), (1000, 200)):
        with catalog.begin() as conn:
            before = int(conn.execute(sa.text("SHOW SESSION STATUS LIKE 'Com_insert'")).one()[1])
            records = [r for r in _records(first + size, "a") if int(r.rating_key) >= first]
            dal.upsert_items(conn, server, library, records, now=NOW)
            grew.append(int(conn.execute(sa.text("SHOW SESSION STATUS LIKE 'Com_insert'")).one()[1]) - before)
    assert grew[0] == grew[1] <= 4, grew


def test_a_role_without_temp_privilege_still_writes_pages(db_backend: str, fresh_db_url: str) -> None:
    """A shared PostgreSQL catalog whose users may not create temporary tables: pages take the
    executemany path instead of failing."""
    if db_backend != "postgresql":
        pytest.skip("the TEMP privilege is PostgreSQL's")
    url = sa.engine.make_url(fresh_db_url)
    role = f"rv_notemp_{url.database}"[:60]
    admin = sa.create_engine(fresh_db_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(sa.text(f'REVOKE TEMPORARY ON DATABASE "{url.database}" FROM PUBLIC'))
        conn.execute(sa.text(f'GRANT CONNECT ON DATABASE "{url.database}" TO "{role}"'))
        conn.execute(sa.text(f'GRANT CREATE, USAGE ON SCHEMA public TO "{role}"'))
    engine = db.open_catalog(url.set(username=role).render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            assert (
                conn.execute(sa.text("SELECT has_database_privilege(current_database(), 'TEMP')")).scalar()
                is False
            )
        server, library = _library(engine)
        with engine.begin() as conn:
            ids = dal.upsert_items(conn, server, library, _records(3 * BULK_MIN_ROWS, "a"), now=NOW)
        assert len(ids) == 3 * BULK_MIN_ROWS
        assert _item_rows(engine)["7"].sort_title == "episode 7 a"
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP OWNED BY "{role}" CASCADE'))
            conn.execute(sa.text(f'DROP ROLE "{role}"'))
        admin.dispose()


def _rows_scanned(conn: sa.Connection) -> int:
    return int(conn.execute(sa.text("SHOW SESSION STATUS LIKE 'Handler_read_rnd_next'")).one()[1])


def test_mariadb_reads_a_page_of_ids_through_the_index(catalog: Engine) -> None:
    """A page is 200 items: at MariaDB's default `eq_range_index_dive_limit` (200) the page's
    `DELETE FROM media_parts WHERE item_id IN (…200 ids…)` is costed from index statistics, which
    for one part per item (the common case) put it at the whole table: a scan once per page
    (db._on_mariadb_connect). The server's own count of rows read by scanning
    (`Handler_read_rnd_next`) stays below what a scan of the stored parts would read."""
    if catalog.dialect.name not in ("mysql", "mariadb"):
        pytest.skip("the dive limit is MariaDB's")
    server, library = _library(catalog)
    records = [msgspec.structs.replace(r, parts=r.parts[:1]) for r in _records(2200, "a")]
    with catalog.begin() as conn:
        dal.upsert_items(conn, server, library, records[:2000], now=NOW)
        conn.execute(sa.text("ANALYZE TABLE media_parts, media_items"))
    with catalog.begin() as conn:
        before = _rows_scanned(conn)
        dal.upsert_items(conn, server, library, records[2000:], now=NOW)
        scanned = _rows_scanned(conn) - before
    assert scanned < 1000, scanned  # 2,000 parts stored: a scan would read them all


def test_the_driver_executemany_stores_what_sqlalchemy_would(
    catalog: Engine, statements: StatementCounter
) -> None:
    """Pages skip SQLAlchemy's per-row parameter building (`upsert._executemany`): the rows stored
    must be the ones SQLAlchemy's own executemany stores, defaults and odd values included."""
    _server, library = _library(catalog)
    with catalog.begin() as conn:
        other = conn.execute(
            t.libraries.insert().values(
                server_id=_server, section_key="2", title="B", kind="show", created_at=NOW, updated_at=NOW
            )
        ).inserted_primary_key[0]

    def rows(lib: int) -> list[dict[str, Any]]:
        return [
            {
                "library_id": lib,
                "rating_key": f"k{i}",
                "title": ["Zoë", "x" * 600, "a\x00b", "", "Ωmega"][i % 5],
                "year": [1999, None, 2**40, -5, 0][i % 5],  # 2**40 does not fit INTEGER: NULL
                "first_seen_at": NOW,
                "last_seen_at": NOW + i,
                "sort_title": f"s{i}",
                "search_text": f"t{i}",
                "children_hydrated": bool(i % 2),
            }
            for i in range(10)
        ]

    with catalog.begin() as conn:
        upsert(conn, t.shows, rows(library), conflict=("library_id", "rating_key"), update=("title",))
        conn.execute(t.shows.insert(), [fit_row(t.shows, row) for row in rows(other)])
    assert [n for _s, n in statements.rows_written("shows")] == [10, 10]  # the counters see both
    columns = [c for c in t.shows.c if c.name not in ("id", "library_id")]
    with catalog.connect() as conn:
        by_library = {
            lib: conn.execute(
                sa.select(*columns).where(t.shows.c.library_id == lib).order_by(t.shows.c.rating_key)
            ).all()
            for lib in (library, other)
        }
    assert by_library[library] == by_library[other]
    assert {row.state for row in by_library[library]} == {"ACTIVE"}  # the column's default
