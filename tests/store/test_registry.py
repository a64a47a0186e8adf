"""Servers, libraries and mappings in the catalog."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from retrovue.errors import ConfigError, UnknownLibraryError, UnknownServerError
from retrovue.store import items as dal
from retrovue.store import local, registry
from retrovue.store import schema as t

TOKEN = "s3cr3t-token-value"
SECTIONS = [
    registry.SectionInfo("1", "uuid-1", "TV Shows", "show", "tv.plex.agents.series", ("/data/tv",)),
    registry.SectionInfo("2", "uuid-2", "Movies", "movie", "tv.plex.agents.movie", ("/data/movies",)),
    registry.SectionInfo("3", "uuid-3", "Music", "artist", "tv.plex.agents.music", ("/data/music",)),
]


def test_server_round_trip_never_shows_the_token(catalog: Engine) -> None:
    with catalog.begin() as conn:
        server = registry.add_server(
            conn, name="home", base_url="http://127.0.0.1:32400", token=TOKEN, now=5, version="1.40"
        )
    assert TOKEN not in repr(server)
    assert TOKEN not in server.masked_token
    assert server.token == TOKEN
    with catalog.begin() as conn:
        assert [s.name for s in registry.list_servers(conn)] == ["home"]
        updated = registry.update_server(conn, "home", now=9, base_url="http://10.0.0.2:32400")
    assert (updated.base_url, updated.updated_at, updated.created_at) == ("http://10.0.0.2:32400", 9, 5)


def test_duplicate_and_unknown_servers_are_clear_errors(catalog: Engine) -> None:
    with catalog.begin() as conn:
        registry.add_server(conn, name="home", base_url="http://x", token="t", now=1)
    with catalog.begin() as conn, pytest.raises(ConfigError, match="already exists"):
        registry.add_server(conn, name="home", base_url="http://y", token="t", now=1)
    with catalog.begin() as conn, pytest.raises(UnknownServerError, match="known: home"):
        registry.get_server(conn, "nas")
    with catalog.begin() as conn, pytest.raises(ConfigError, match="unknown server setting"):
        registry.update_server(conn, "home", now=1, colour="red")


def test_sections_become_libraries_once(catalog: Engine) -> None:
    with catalog.begin() as conn:
        server = registry.add_server(conn, name="home", base_url="http://x", token="t", now=1)
        assert registry.sync_sections(conn, server.id, SECTIONS, now=2) == (2, 0)
        renamed = [registry.SectionInfo("1", "uuid-1", "Series", "show", "a", ("/data/tv",))]
        assert registry.sync_sections(conn, server.id, renamed, now=3) == (0, 1)
        libs = registry.list_libraries(conn)
    assert [(lib.title, lib.kind, lib.enabled, lib.locations) for lib in libs] == [
        ("Movies", "movie", True, ("/data/movies",)),
        ("Series", "show", True, ("/data/tv",)),
    ]


def test_library_lookup_by_title_id_and_ambiguity(catalog: Engine) -> None:
    with catalog.begin() as conn:
        for name in ("home", "nas"):
            server = registry.add_server(conn, name=name, base_url="http://x", token="t", now=1)
            registry.sync_sections(conn, server.id, SECTIONS, now=2)
        with pytest.raises(UnknownLibraryError, match="ambiguous"):
            registry.get_library(conn, "Movies")
        lib = registry.get_library(conn, "movies", server="nas")
        assert (lib.server_name, lib.title) == ("nas", "Movies")
        assert registry.get_library(conn, str(lib.id)).id == lib.id
        assert registry.get_library(conn, "2", server="nas").id == lib.id
        registry.set_library_enabled(conn, lib.id, False)
        assert lib.id not in {x.id for x in registry.list_libraries(conn, enabled_only=True)}
        with pytest.raises(UnknownLibraryError, match="no library"):
            registry.get_library(conn, "Music")


def test_remove_server_removes_everything_it_owns(catalog: Engine) -> None:
    with catalog.begin() as conn:
        keep = registry.add_server(conn, name="keep", base_url="http://x", token="t", now=1)
        gone = registry.add_server(conn, name="gone", base_url="http://x", token="t", now=1)
        for server in (keep, gone):
            registry.sync_sections(conn, server.id, SECTIONS[:1], now=1)
            lib = registry.list_libraries(conn, server=server.name)[0]
            ids = dal.upsert_items(
                conn,
                server.id,
                lib.id,
                [dal.ItemRecord("1", "episode", "E", "d", parts=(dal.PartRecord(0, 0, file="/f"),))],
                now=1,
            )
            mapping_id = registry.add_mapping(conn, server.id, "/data", "/mnt/data", machine="box", now=1)
            local.write_verdicts(conn, "box", [local.Decision(ids["1"], True, "d")], now=1)
            local.save_roots(conn, "box", lib.id, {mapping_id: local.RootRow("present", "1:2")}, now=1)
            local.save_local_check(conn, "box", lib.id, local.LocalCheck(1, 0), now=1)
        registry.remove_server(conn, "gone")
    with catalog.connect() as conn:
        tables = (t.servers, t.libraries, t.media_items, t.media_parts, t.path_mappings)
        for table in (*tables, t.local_verdicts, t.local_roots, t.local_checks):
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 1, table.name


def test_library_options_are_validated(catalog: Engine) -> None:
    with catalog.begin() as conn:
        server = registry.add_server(conn, name="home", base_url="http://x", token="t", now=1)
        registry.sync_sections(conn, server.id, SECTIONS[:1], now=1)
        lib = registry.list_libraries(conn)[0]
        registry.set_library_options(conn, lib.id, retention_days=7, missing_threshold_pct=20)
        assert registry.get_library_by_id(conn, lib.id).retention_days == 7
        with pytest.raises(ConfigError):
            registry.set_library_options(conn, lib.id, missing_threshold_pct=150)


def test_server_connections_round_trip_and_go_with_their_server(catalog: Engine) -> None:
    """Every address plex.tv lists for a server (`server_connections`), on every backend: stored in
    order, what is known about an address kept when the list is replaced, shown by the read API as
    the connection in use, and removed with the server."""
    from retrovue.catalog import Catalog

    local_uri, remote_uri, relay_uri = (
        "https://192-168-1-20.0123abcd.plex.direct:32400",
        "http://203.0.113.7:32400",
        "https://relay-7.0123abcd.plex.direct:8443",
    )
    with catalog.begin() as conn:
        server = registry.add_server(
            conn, name="grandpa", base_url=remote_uri, token=TOKEN, now=1, owner="grandpa"
        )
        registry.add_server(conn, name="home", base_url="http://127.0.0.1:32400", token="t", now=1)
        rows = registry.replace_connections(
            conn, server.id, [(local_uri, "local"), (remote_uri, "remote"), (local_uri, "local")], now=2
        )
        assert [(c.position, c.uri, c.kind, c.protocol) for c in rows] == [
            (0, local_uri, "local", "https"),
            (1, remote_uri, "remote", "http"),
        ]
        registry.set_connection_result(conn, server.id, remote_uri, ok=True, now=3)
        registry.set_connection_result(conn, server.id, local_uri, ok=False, now=3)
        rows = registry.replace_connections(
            conn,
            server.id,
            [(remote_uri, "remote"), (relay_uri, "relay"), ("http://" + "x" * 2000, "remote")],
            now=4,
        )
    assert [(c.uri, c.last_ok_at, c.last_failed_at) for c in rows] == [
        (remote_uri, 3, None),  # kept what was known; the local address is no longer listed
        (relay_uri, None, None),  # a URI too long for the column is left out, never cut
    ]
    shown = {s.name: (s.owner, s.shared, s.connection) for s in Catalog(catalog).servers()}
    assert shown == {"grandpa": ("grandpa", True, "remote"), "home": (None, False, None)}
    with catalog.begin() as conn:
        registry.remove_server(conn, "grandpa")
    with catalog.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.server_connections)).scalar() == 0
