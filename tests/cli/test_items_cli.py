"""`retrovue items` and `retrovue libraries` through the read API: filters, formats, local paths."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from retrovue import mapping
from retrovue.catalog import Item
from retrovue.cli import items_cmd
from retrovue.store import items as dal
from retrovue.store import registry
from retrovue.store.db import open_catalog
from retrovue.store.registry import SectionInfo
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
NOW = 1_700_000_000


@pytest.fixture
def url(tmp_path: Path) -> str:
    """The `cli` fixture's catalog, with two shows (one with an accented title) and three movies."""
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    engine = open_catalog(url)
    with engine.begin() as conn:
        server = registry.add_server(
            conn, name="home", base_url="http://plex:32400", token="t0ken-xyz", now=NOW
        )
        registry.sync_sections(
            conn,
            server.id,
            [
                SectionInfo("1", None, "TV Shows", "show", None, ()),
                SectionInfo("2", None, "Movies", "movie", None, ()),
            ],
            now=NOW,
        )
        libs = {lib.kind: lib.id for lib in registry.list_libraries(conn)}
        shows = [("Été", "s1"), ("Été Indien", "s2")]
        dal.upsert_shows(
            conn, libs["show"], [dal.ShowRecord(k, title, "d", True) for title, k in shows], now=NOW
        )
        episodes = [
            dal.ItemRecord(
                f"{key}-{s}-{e}",
                "episode",
                f"{title} {s}x{e}",
                "d",
                show_rating_key=key,
                show_title=title,
                season_index=s,
                episode_index=e,
                duration_ms=1_500_000,
                part_count=1,
                parts=(dal.PartRecord(0, 0, file=f"/data/tv/{key}/{s}x{e}.mkv"),),
            )
            for title, key in shows
            for s in (1, 2)
            for e in (1, 2)
        ]
        dal.upsert_items(conn, server.id, libs["show"], episodes, now=NOW)
        movies = [
            dal.ItemRecord(
                "m1",
                "movie",
                "Déjà Vu",
                "d",
                part_count=1,
                parts=(dal.PartRecord(0, 0, file="/data/m/dv.mkv"),),
            ),
            dal.ItemRecord(
                "m2",
                "movie",
                "Two Parts",
                "d",
                part_count=2,
                parts=(
                    dal.PartRecord(0, 0, file="/data/m/cd1.avi"),
                    dal.PartRecord(0, 1, file="/other/cd2.avi"),
                ),
            ),
            dal.ItemRecord(
                "m3",
                "movie",
                "Gone",
                "d",
                state="MISSING",
                part_count=1,
                parts=(dal.PartRecord(0, 0, file="/data/m/g.mkv"),),
            ),
        ]
        dal.upsert_items(conn, server.id, libs["movie"], movies, now=NOW)
    engine.dispose()
    return url


def _json(result: CliResult) -> list[dict[str, object]]:
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert isinstance(rows, list)
    return rows


def test_json_rows_carry_local_paths_one_per_part(cli: Cli, url: str, tmp_path: Path) -> None:
    rows = {r["rating_key"]: r for r in _json(cli("items", "--library", "Movies", "--format", "json"))}
    assert rows["m2"]["local_paths"] == [None, None]  # nothing mapped
    engine = open_catalog(url)
    try:
        mapping.add_mapping(engine, "home", "/data", str(tmp_path / "nas"))
    finally:
        engine.dispose()
    rows = {r["rating_key"]: r for r in _json(cli("items", "--library", "Movies", "--format", "json"))}
    assert rows["m2"]["local_paths"] == [str(tmp_path / "nas" / "m" / "cd1.avi"), None]
    assert rows["m1"]["local_paths"] == [str(tmp_path / "nas" / "m" / "dv.mkv")]
    for name in (
        "id",
        "rating_key",
        "state",
        "file",
        "local_paths",
        "confirmed_at",
        "server_name",
        "library_title",
    ):
        assert name in rows["m1"]
    assert _json(cli("items", "--library", "Movies", "--format", "json", "--state", "ACTIVE")) == []


def test_search_and_sort_know_unicode(cli: Cli, url: str) -> None:
    assert [r["title"] for r in _json(cli("items", "-q", "deja", "--format", "json"))] == ["Déjà Vu"]
    titles = [
        r["title"] for r in _json(cli("items", "--kind", "movie", "--sort", "title", "--format", "json"))
    ]
    assert titles == ["Déjà Vu", "Gone", "Two Parts"]


def test_show_and_season_filters(cli: Cli, url: str) -> None:
    rows = _json(cli("items", "--show", "été indien", "--season", "2", "--format", "json"))
    assert [r["title"] for r in rows] == ["Été Indien 2x1", "Été Indien 2x2"]
    # "Été" is also a word of "Été Indien": the exact title wins.
    assert len(_json(cli("items", "--show", "ete", "--format", "json"))) == 4
    missing = cli("items", "--show", "Nope")
    assert (missing.code, missing.err.count("\n")) == (2, 1)
    assert "no show 'Nope'" in missing.err
    odd = cli("items", "--show", "²")  # a digit to str.isdigit(), not a number: a title to look for
    assert (odd.code, odd.err.count("\n")) == (2, 1)
    lonely = cli("items", "--season", "1")
    assert lonely.code == 2
    assert "--season needs --show" in lonely.err


def test_m3u_lists_local_paths_where_they_resolve(cli: Cli, url: str, tmp_path: Path) -> None:
    engine = open_catalog(url)
    try:
        mapping.add_mapping(engine, "home", "/data", str(tmp_path / "nas"))
    finally:
        engine.dispose()
    out = cli("items", "--show", "Été", "--season", "1", "--format", "m3u")
    assert out.code == 0, out.err
    lines = out.out.splitlines()
    assert lines[0] == "#EXTM3U"
    assert lines[1:3] == [
        "#EXTINF:1500,Été - S01E01 - Été 1x1",
        str(tmp_path / "nas" / "tv" / "s1" / "1x1.mkv"),
    ]
    assert len(lines) == 5


def test_playable_and_local_columns(cli: Cli, url: str, tmp_path: Path) -> None:
    nas = tmp_path / "nas"
    (nas / "m").mkdir(parents=True)
    (nas / "m" / "dv.mkv").write_bytes(b"")
    (nas / "m" / "g.mkv").write_bytes(b"")  # its item is MISSING: not playable, whatever the disk says
    engine = open_catalog(url)
    try:
        mapping.add_mapping(engine, "home", "/data", str(nas))
    finally:
        engine.dispose()
    assert [r["title"] for r in _json(cli("items", "--playable", "--format", "json"))] == ["Déjà Vu"]
    table = cli("items", "--library", "Movies", "--local", "--sort", "title")
    assert table.code == 0
    lines = table.out.splitlines()
    assert lines[0].endswith("Local path")
    assert lines[2].endswith(str(nas / "m" / "dv.mkv"))
    assert "(not mapped)" not in lines[2]
    assert lines[-1] == "3 items"


def test_csv_and_limit(cli: Cli, url: str) -> None:
    rows = list(csv.DictReader(io.StringIO(cli("items", "--format", "csv", "--limit", "2").out)))
    assert len(rows) == 2
    assert json.loads(rows[0]["local_paths"]) == [None]


def test_every_format_streams(url: str) -> None:
    """Each writer prints a row as soon as it has it: after the first row, one item was pulled."""

    def rows() -> Iterator[Item]:
        engine = open_catalog(url)
        try:
            from retrovue.catalog import Catalog

            yield from Catalog(engine).iter_items(page_size=1, local_paths=True)
        finally:
            engine.dispose()

    class Spy(io.StringIO):
        def __init__(self, pulled: list[int]) -> None:
            super().__init__()
            self.pulled = pulled
            self.first: int | None = None

        def write(self, text: str) -> int:
            if self.first is None and "Été 1x1" in text:  # the first row: TV Shows is library 1
                self.first = self.pulled[0]
            return super().write(text)

    for writer in (items_cmd._json, items_cmd._csv, items_cmd._m3u, items_cmd._table):
        pulled = [0]

        def counted(pulled: list[int] = pulled) -> Iterator[Item]:
            for item in rows():
                pulled[0] += 1
                yield item

        spy = Spy(pulled)
        assert writer(spy, counted(), {}, True) == 11
        assert spy.first == 1, writer.__name__  # printed before the next item was even read


def test_libraries_reads_counts_through_the_read_api(cli: Cli, url: str) -> None:
    out = cli("libraries", "--no-refresh", "--json")
    assert out.code == 0, out.err
    counts = {lib["title"]: lib["counts"] for lib in json.loads(out.out)}
    assert counts["Movies"] == {"ACTIVE": 0, "REMOTE_ONLY": 2, "UNAVAILABLE": 0, "MISSING": 1, "DELETED": 0}
    assert counts["TV Shows"]["REMOTE_ONLY"] == 8
