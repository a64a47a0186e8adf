"""The read API (`retrovue.catalog`) on SQLite, PostgreSQL and MariaDB, over rows the store wrote."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from retrovue import machine, mapping
from retrovue.catalog import ITEM_SORTS, Catalog, Item, ItemQuery
from retrovue.errors import ConfigError
from retrovue.store import items as dal
from retrovue.store import lifecycle, local, registry, rekeys
from retrovue.store import schema as t
from retrovue.store.registry import SectionInfo

NOW = 1_700_000_000


@dataclass
class Lib:
    engine: Engine
    server_id: int = 0
    tv: int = 0
    movies: int = 0
    ids: dict[str, int] = field(default_factory=dict)

    def episodes(self, show: str, show_key: str, *eps: tuple[int, int, str], state: str = "ACTIVE") -> None:
        records = [
            dal.ItemRecord(
                f"{show_key}-{s}-{e}",
                "episode",
                title,
                digest="d",
                state=state,
                show_rating_key=show_key,
                season_rating_key=f"{show_key}-{s}",
                show_title=show,
                season_index=s,
                episode_index=e,
                part_count=1,
                parts=(dal.PartRecord(0, 0, file=f"/data/tv/{show}/{s}x{e}.mkv", size=100),),
            )
            for s, e, title in eps
        ]
        with self.engine.begin() as conn:
            dal.upsert_shows(conn, self.tv, [dal.ShowRecord(show_key, show, "sd", True)], now=NOW)
            seasons = {(r.season_rating_key, r.season_index) for r in records}
            dal.upsert_seasons(conn, self.tv, [dal.SeasonRecord(k, show_key, i) for k, i in seasons], now=NOW)
            self.ids.update(dal.upsert_items(conn, self.server_id, self.tv, records, now=NOW))

    def movie(
        self, key: str, title: str, *files: str, title_sort: str | None = None, state: str = "ACTIVE"
    ) -> int:
        parts = tuple(dal.PartRecord(0, i, file=f, size=10) for i, f in enumerate(files))
        record = dal.ItemRecord(
            key,
            "movie",
            title,
            digest="d",
            state=state,
            part_count=len(parts),
            parts=parts,
            title_sort=title_sort,
        )
        with self.engine.begin() as conn:
            self.ids.update(dal.upsert_items(conn, self.server_id, self.movies, [record], now=NOW))
        return self.ids[key]


@pytest.fixture
def lib(catalog: Engine) -> Lib:
    with catalog.begin() as conn:
        server = registry.add_server(
            conn, name="home", base_url="http://plex:32400", token="sekrit-token", now=NOW
        )
        registry.sync_sections(
            conn,
            server.id,
            [
                SectionInfo("1", None, "TV Shows", "show", None, ("/data/tv",)),
                SectionInfo("2", None, "Movies", "movie", None, ("/data/movies",)),
            ],
            now=NOW,
        )
        libs = {x.kind: x.id for x in registry.list_libraries(conn)}
    return Lib(catalog, server.id, libs["show"], libs["movie"])


def titles(cat: Catalog, query: ItemQuery | None = None, sort: str = "title") -> list[str]:
    return [i.title for i in cat.iter_items(query, sort=sort, page_size=2)]


def test_search_ignores_case_and_accents_beyond_ascii(lib: Lib) -> None:
    for key, title in enumerate(
        ("Déjà Vu", "Москва слезам не верит", "ÜBER ALLES", "Plain", "100% Pure", "a_b")
    ):
        lib.movie(str(key), title, f"/data/movies/{key}.mkv")
    cat = Catalog(lib.engine)
    assert titles(cat, ItemQuery(text="deja")) == ["Déjà Vu"]
    assert titles(cat, ItemQuery(text="DÉJÀ vu")) == ["Déjà Vu"]
    assert titles(cat, ItemQuery(text="москва")) == ["Москва слезам не верит"]
    assert titles(cat, ItemQuery(text="über")) == ["ÜBER ALLES"]
    assert titles(cat, ItemQuery(text="uber")) == ["ÜBER ALLES"]
    assert titles(cat, ItemQuery(text="100%")) == ["100% Pure"]  # LIKE wildcards are literal
    assert titles(cat, ItemQuery(text="a_b")) == ["a_b"]
    assert titles(cat, ItemQuery(text="%")) == ["100% Pure"]


def test_sort_folds_accents_and_uses_plex_sort_titles(lib: Lib) -> None:
    for key, (title, title_sort) in enumerate(
        (
            ("Zorro", None),
            ("Été meurtrier", None),
            ("Eagle", None),
            ("Fargo", None),
            ("The Office", "Office"),
            ("Ærø", None),
            ("Żółty", None),
            ("apple", None),
        )
    ):
        lib.movie(str(key), title, f"/data/movies/{key}.mkv", title_sort=title_sort)
    cat = Catalog(lib.engine)
    assert titles(cat) == ["Ærø", "apple", "Eagle", "Été meurtrier", "Fargo", "The Office", "Żółty", "Zorro"]
    assert titles(cat, sort="title") == list(reversed(titles_desc(cat)))


def titles_desc(cat: Catalog) -> list[str]:
    return [i.title for i in cat.iter_items(sort="title", descending=True, page_size=3)]


def test_paging_by_key_is_total_and_survives_writes_between_pages(lib: Lib) -> None:
    lib.episodes("Show", "s1", *((1, e, f"Ep {e}") for e in range(1, 8)))
    lib.episodes("Another", "s2", (2, 1, "B1"), (1, 1, "A1"), (1, 2, "A2"))
    cat = Catalog(lib.engine)
    order = titles(cat, sort="show")
    assert order == ["A1", "A2", "B1", *(f"Ep {e}" for e in range(1, 8))]
    for sort in ITEM_SORTS:
        for descending in (False, True):
            seen = [i.id for i in cat.iter_items(sort=sort, descending=descending, page_size=3)]
            assert sorted(seen) == sorted(lib.ids.values()), (sort, descending)
    first = cat.items(sort="show", limit=4)
    assert [i.title for i in first.rows] == order[:4]
    assert first.next is not None
    lib.episodes("Aardvark", "s3", (1, 1, "Early"))  # written before what was read: not repeated
    lib.episodes("Show", "s1", (1, 99, "Late"))  # after it: read in its place
    rest: list[Item] = []
    after = first.next
    while after:
        page = cat.items(sort="show", limit=3, after=after)
        rest += page.rows
        after = page.next
    assert [i.title for i in rest] == [*order[4:], "Late"]


def test_cursors_belong_to_their_listing(lib: Lib) -> None:
    for key in range(3):
        lib.movie(str(key), f"M{key}", f"/m/{key}.mkv")
    cat = Catalog(lib.engine)
    page = cat.items(sort="title", limit=1)
    assert page.next is not None
    with pytest.raises(ConfigError, match="another listing or order"):
        cat.items(sort="year", after=page.next)
    with pytest.raises(ConfigError, match="is not a cursor"):
        cat.items(after="garbage!")
    with pytest.raises(ConfigError, match="unknown sort"):
        cat.items(sort="colour")


def test_filters_and_counts(lib: Lib) -> None:
    lib.episodes("Show", "s1", (1, 1, "One"), (1, 2, "Two"), (2, 1, "Three"))
    lib.episodes("Other", "s2", (1, 1, "Else"), state="MISSING")
    lib.movie("m", "Film", "/data/movies/f.mkv")
    lib.movie("u", "Broken", state="UNAVAILABLE")
    cat = Catalog(lib.engine)
    show = cat.shows(library_id=lib.tv, text="show").rows[0]
    assert (show.title, [s.index for s in cat.seasons(show.id)]) == ("Show", [1, 2])
    assert [i.title for i in cat.episodes(show.id)] == ["One", "Two", "Three"]
    assert [i.title for i in cat.episodes(show.id, season_index=2)] == ["Three"]
    season = cat.seasons(show.id)[0]
    assert titles(cat, ItemQuery(season_id=season.id)) == ["One", "Two"]
    assert titles(cat, ItemQuery(kind="movie")) == ["Broken", "Film"]
    assert titles(cat, ItemQuery(library_id=lib.tv, state="MISSING")) == ["Else"]
    # Listings are grouped by library (TV Shows is library 1), then sorted.
    assert titles(cat, ItemQuery(state=("MISSING", "UNAVAILABLE"))) == ["Else", "Broken"]
    # Nothing decided on this machine yet: Plex can play them, so REMOTE_ONLY for this reader.
    assert cat.counts() == {"ACTIVE": 0, "REMOTE_ONLY": 4, "UNAVAILABLE": 1, "MISSING": 1, "DELETED": 0}
    assert cat.counts(ItemQuery(library_id=lib.movies))["UNAVAILABLE"] == 1
    assert {lb.title: lb.items for lb in cat.libraries()} == {"Movies": 2, "TV Shows": 4}
    with pytest.raises(ConfigError, match="no show with id"):
        cat.counts(ItemQuery(show_id=10**6))
    with pytest.raises(ConfigError, match="unknown state"):
        cat.counts(ItemQuery(state="GONE"))


def test_states_local_paths_and_playable_follow_this_machines_mappings(lib: Lib, tmp_path: Path) -> None:
    root = tmp_path / "nas"
    (root / "movies").mkdir(parents=True)
    (root / "movies" / "a.mkv").write_bytes(b"")
    (root / "movies" / "cd1.avi").write_bytes(b"")
    (root / "movies" / "cd2.avi").write_bytes(b"")
    a = lib.movie("a", "A", "/data/movies/a.mkv")
    gone = lib.movie("b", "B", "/data/movies/b.mkv")  # its file is not here
    two = lib.movie("c", "Two Parts", "/data/movies/cd1.avi", "/data/movies/cd2.avi")
    lib.movie("x", "Elsewhere", "/elsewhere/x.mkv")
    cat = Catalog(lib.engine)
    assert [p.item.id for p in cat.playable()] == []  # nothing mapped
    mapping.add_mapping(lib.engine, "home", "/data", str(root))
    played = {p.item.id: p.files for p in cat.playable()}
    assert played == {
        a: (str(root / "movies" / "a.mkv"),),
        two: (str(root / "movies" / "cd1.avi"), str(root / "movies" / "cd2.avi")),
    }
    by_id = {i.id: i for i in cat.iter_items(local_paths=True)}
    assert by_id[gone].local_paths == (str(root / "movies" / "b.mkv"),)  # resolved, not checked
    assert by_id[lib.ids["x"]].local_paths == (None,)
    assert (by_id[a].state, by_id[a].plays_locally, by_id[gone].state) == ("ACTIVE", True, "REMOTE_ONLY")
    # A MISSING item leaves `playable`.
    with lib.engine.begin() as conn:
        _held, present = dal.present_not_in(conn, lib.movies, set())
        lifecycle.mark_missing(conn, lib.movies, present, now=NOW + 1, listing=1, confirmed_at=None)
    assert list(cat.playable()) == []
    assert cat.item(a).state == "MISSING"  # type: ignore[union-attr]
    # Back in Plex's listing; then the mapping goes: out of `playable` again.
    with lib.engine.begin() as conn:
        conn.execute(t.media_items.update().values(state="ACTIVE", missing_since=None))
    assert {p.item.id for p in cat.playable()} == {a, two}
    mapping.remove_mapping(lib.engine, "home", "/data")
    cat.forget_mappings()
    assert list(cat.playable()) == []
    assert cat.item(a).state == "REMOTE_ONLY"  # type: ignore[union-attr]


def test_playable_resolves_and_stats_each_file_once_and_gives_the_listings_items(
    lib: Lib, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from collections import Counter

    from retrovue.paths import Resolver

    root = tmp_path / "nas"
    (root / "movies").mkdir(parents=True)
    for name in ("a.mkv", "cd1.avi", "cd2.avi", "orig.mkv"):
        (root / "movies" / name).write_bytes(b"")
    a = lib.movie("a", "A", "/data/movies/a.mkv")
    lib.movie("b", "B", "/data/movies/b.mkv")  # resolves, but its file is not here
    two = lib.movie("c", "Two Parts", "/data/movies/cd1.avi", "/data/movies/cd2.avi")
    lib.movie("x", "Elsewhere", "/elsewhere/x.mkv")
    record = dal.ItemRecord(  # an optimized version nobody maps comes first; the original plays
        "v",
        "movie",
        "Versions",
        digest="d",
        part_count=2,
        parts=(
            dal.PartRecord(0, 0, file="/optimized/v.mkv"),
            dal.PartRecord(1, 0, file="/data/movies/orig.mkv"),
        ),
    )
    with lib.engine.begin() as conn:
        versions = dal.upsert_items(conn, lib.server_id, lib.movies, [record], now=NOW)["v"]
    mapping.add_mapping(lib.engine, "home", "/data", str(root), reevaluate=False)
    explained: Counter[str] = Counter()
    explain = Resolver.explain

    def counting(self: Resolver, plex_path: str) -> object:
        explained[plex_path] += 1
        return explain(self, plex_path)

    asked: Counter[str] = Counter()

    def stat(path: str) -> object:
        asked[path] += 1
        return os.stat(path)

    monkeypatch.setattr(Resolver, "explain", counting)
    cat = Catalog(lib.engine)
    played = {p.item.id: p for p in cat.playable(page_size=2, stat=stat)}
    assert {i: p.files for i, p in played.items()} == {
        a: (str(root / "movies" / "a.mkv"),),
        two: (str(root / "movies" / "cd1.avi"), str(root / "movies" / "cd2.avi")),
        versions: (str(root / "movies" / "orig.mkv"),),
    }
    files = ["a.mkv", "b.mkv", "cd1.avi", "cd2.avi", "orig.mkv"]
    # Every part resolved once, every file that resolves stat'ed once.
    assert explained == Counter(
        ["/elsewhere/x.mkv", "/optimized/v.mkv"] + [f"/data/movies/{f}" for f in files]
    )
    assert asked == Counter(str(root / "movies" / f) for f in files)
    # The items are the listing's own, local paths (one per part) included.
    listed = {i.id: i for i in cat.iter_items(sort="id", local_paths=True) if i.id in played}
    assert {i: p.item for i, p in played.items()} == listed
    assert played[versions].item.local_paths == (None, str(root / "movies" / "orig.mkv"))
    assert played[versions].item.file == "/optimized/v.mkv"


def test_another_machines_mappings_and_verdicts_are_not_this_ones(lib: Lib, tmp_path: Path) -> None:
    (tmp_path / "movies").mkdir()
    (tmp_path / "movies" / "a.mkv").write_bytes(b"")
    a = lib.movie("a", "A", "/data/movies/a.mkv")
    mapping.add_mapping(lib.engine, "home", "/data", str(tmp_path), machine="den")
    den, here = Catalog(lib.engine, machine="den"), Catalog(lib.engine)
    assert [p.item.id for p in den.playable()] == [a]
    assert (den.item(a).state, here.item(a).state) == ("ACTIVE", "REMOTE_ONLY")  # type: ignore[union-attr]
    assert list(here.playable()) == []
    assert here.counts()["ACTIVE"] == 0
    assert den.counts()["ACTIVE"] == 1
    assert machine.current() != "den"


def test_an_unmounted_root_keeps_its_items_out_of_playable_without_checking_them(
    lib: Lib, tmp_path: Path
) -> None:
    lib.movie("a", "A", "/data/movies/a.mkv")
    mapping.add_mapping(lib.engine, "home", "/data", str(tmp_path / "share"), reevaluate=False)
    asked: list[str] = []

    def stat(path: str) -> object:
        asked.append(path)
        raise FileNotFoundError(path)

    assert list(Catalog(lib.engine).playable(stat=stat)) == []
    assert asked == []  # the root is missing: its files are not asked about one by one


def test_detail_parts_streams_and_history(lib: Lib) -> None:
    parts = (
        dal.PartRecord(
            0, 0, file="/data/movies/s.mkv", streams='[{"type": 1, "codec": "h264", "width": 1920}]'
        ),
    )
    record = dal.ItemRecord("s", "movie", "Streams", digest="d", part_count=1, parts=parts)
    with lib.engine.begin() as conn:
        item_id = dal.upsert_items(conn, lib.server_id, lib.movies, [record], now=NOW)["s"]
        local.write_verdicts(conn, machine.current(), [local.Decision(item_id, False, "d")], now=NOW)
        local.write_verdicts(
            conn, machine.current(), [local.Decision(item_id, True, "d", False, True)], now=NOW + 1
        )
    cat = Catalog(lib.engine)
    detail = cat.detail(item_id)
    assert detail is not None
    assert (detail.item.title, detail.item.state, detail.item.confirmed_at) == ("Streams", "ACTIVE", NOW)
    (part,) = detail.parts
    assert (part.file, part.local_path, part.streams[0].codec, part.streams[0].width) == (  # type: ignore[index]
        "/data/movies/s.mkv",
        None,
        "h264",
        1920,
    )
    assert [(e.event, e.old_value, e.new_value) for e in detail.history] == [
        ("local", "REMOTE_ONLY", "ACTIVE")
    ]
    assert cat.detail(10**6) is None


def test_a_rekeyed_item_keeps_its_id(lib: Lib) -> None:
    old = lib.movie("100", "Film", "/data/movies/film.mkv")
    twin = lib.movie("200", "Film", "/data/movies/film.mkv")
    with lib.engine.begin() as conn:
        rekeys.merge_rekeyed(conn, lib.movies, [(old, twin)], now=NOW + 5)
    cat = Catalog(lib.engine)
    (item,) = cat.iter_items()
    assert (item.id, item.rating_key) == (old, "200")
    assert cat.item(twin) is None
    assert [e.event for e in cat.history(old)] == ["rekey"]


def test_servers_never_carry_the_token(lib: Lib) -> None:
    (server,) = Catalog(lib.engine).servers()
    assert server.name == "home"
    assert "sekrit" not in repr(server)
    with lib.engine.connect() as conn:
        assert conn.execute(sa.select(t.servers.c.token)).scalar() == "sekrit-token"


def test_item_columns_are_read_in_the_order_of_item_fields() -> None:
    from dataclasses import fields

    from retrovue.catalog import items as reader
    from retrovue.catalog import playable
    from retrovue.catalog.query import reader_columns

    _v, _on, state, plays = reader_columns("any")
    names = [c.key for c in reader._columns(state, plays)]
    expected = [f.name for f in fields(Item)][: len(names)]
    renamed = {"guid_primary": "guid", "reader_state": "state", "state": "plex_state", "first_file": "file"}
    assert [renamed.get(n, n) for n in names] == expected
    assert fields(Item)[len(names)].name == "local_paths"
    assert len(names) == reader._COUNT
    assert (expected[reader._PLAYS], expected[reader._FILE], expected[reader._ERRORS]) == (
        "plays_locally",
        "file",
        "error_count",
    )
    read_by_position = [reader._ID, reader._SERVER, reader._LIBRARY_ID, reader._KIND, reader._SHOW_KEY]
    assert [names[i] for i in read_by_position] == [
        "id",
        "server_id",
        "library_id",
        "kind",
        "show_rating_key",
    ]
    assert (playable._ID, playable._SERVER) == (reader._ID, reader._SERVER)
    # After local_paths: the scheduler metadata (schema 0007), then external ids and tags.
    meta = [c.key for c in reader._metadata_columns()]
    after = [f.name for f in fields(Item)][reader._COUNT + 1 :]
    assert len(meta) == reader._META
    assert meta[:8] == after[:8]
    assert meta[8:] == ["imdb_id", "tmdb_id", "tvdb_id"]
    assert after[8:] == ["external_ids", "genres", "collections", "labels"]


def test_a_search_box_narrows_by_what_a_scheduler_knows() -> None:
    from retrovue.catalog.query import search_query

    base = ItemQuery(library_id=3)
    q = search_query('genre:"Science Fiction" rated:TV-G decade:1990s war games', base)
    assert (q.library_id, q.genre, q.content_rating, q.decade, q.text) == (
        3,
        "Science Fiction",
        "TV-G",
        1990,
        "war games",
    )
    q = search_query("aired:1994..1996 collection:Halloween network:NBC", base)
    assert (q.aired_from, q.aired_to, q.collection, q.studio, q.text) == (
        "1994",
        "1996",
        "Halloween",
        "NBC",
        None,
    )
    # Half-typed or wrong values are words, never an error while typing.
    q = search_query("decade:19 aired:soon genre: déjà", base)
    assert (q.decade, q.aired_from, q.genre) == (None, None, None)
    assert q.text == "decade:19 aired:soon genre: déjà"
    assert search_query("decade:¹⁹⁹0s", base).decade is None  # digits to str.isdigit() only
    assert search_query("", base) == base


def test_a_page_read_by_its_id_range_gets_only_its_own_parts_and_tags(lib: Lib) -> None:
    """A page of ids close together reads parts and tags by the range between its first and last
    id (`items._among`): the items in that range that are not on the page are left out."""
    from retrovue.catalog.items import item_tags, part_files

    ids = []
    for n in range(6):  # movies 0, 2, 4 in one library, 1, 3, 5 in another: their ids interleave
        record = dal.ItemRecord(
            f"m{n}",
            "movie",
            f"M{n}",
            digest="d",
            part_count=2,
            parts=(
                dal.PartRecord(0, 0, file=f"/data/movies/{n}a.mkv"),
                dal.PartRecord(0, 1, file=f"/data/movies/{n}b.mkv"),
            ),
            genres=(f"g{n}",),
        )
        with lib.engine.begin() as conn:
            library = lib.movies if n % 2 == 0 else lib.tv
            ids.append(dal.upsert_items(conn, lib.server_id, library, [record], now=NOW)[f"m{n}"])
    even = [ids[0], ids[2], ids[4]]
    with lib.engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.media_items.c.id, t.media_items.c.server_id, t.media_items.c.library_id)
            .where(t.media_items.c.id.in_(even))
            .order_by(t.media_items.c.id)
        ).all()
        assert [r[0] for r in rows] == even
        assert max(even) - min(even) < 2 * len(even)  # read as a range
        for asked in (even, [ids[0], ids[5]], [ids[3]]):  # a range, a list (far apart), one
            files = part_files(conn, asked)
            assert files == {
                i: [(0, f"/data/movies/{ids.index(i)}a.mkv"), (0, f"/data/movies/{ids.index(i)}b.mkv")]
                for i in asked
            }
        tags = item_tags(conn, [(r[0], r[1], r[2], "movie", None, None, None, None, None) for r in rows])
        assert tags == {i: {"genre": (f"g{ids.index(i)}",)} for i in even}
    cat = Catalog(lib.engine)
    query = ItemQuery(library_id=lib.movies)
    listed = list(cat.iter_items(query, sort="id", local_paths=True))
    assert [i.id for i in listed] == even
    assert [i.genres for i in listed] == [("g0",), ("g2",), ("g4",)]
    assert [i.file for i in listed] == ["/data/movies/0a.mkv", "/data/movies/2a.mkv", "/data/movies/4a.mkv"]
