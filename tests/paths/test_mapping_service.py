"""`retrovue.mapping` against a real catalog on SQLite, PostgreSQL and MariaDB, with real files."""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from retrovue import mapping
from retrovue.desktop import DesktopActionError
from retrovue.errors import BadMappingError, ConfigError, UnknownServerError
from retrovue.states import ItemState
from retrovue.store import registry
from retrovue.store import schema as t
from retrovue.store.items import ItemRecord, PartRecord, upsert_items
from retrovue.store.registry import SectionInfo
from tests.conftest import StatementCounter

from .conftest import Recorder

NOW = 1_700_000_000
PLEX = "/data/media"


@dataclass
class Env:
    """A server with a movie library whose Plex folder `/data/media` is mounted at `local`."""

    engine: Engine
    local: Path
    server_id: int = 0
    library_id: int = 0
    ids: dict[str, int] = field(default_factory=dict)

    def add_server(self, name: str = "home", locations: Sequence[str] = (f"{PLEX}/Movies",)) -> None:
        with self.engine.begin() as conn:
            server = registry.add_server(
                conn, name=name, base_url="http://plex:32400", token="t" * 20, now=NOW
            )
            registry.sync_sections(
                conn, server.id, [SectionInfo("1", None, "Movies", "movie", None, tuple(locations))], now=NOW
            )
            (lib,) = registry.list_libraries(conn, server=name)
        self.server_id, self.library_id = server.id, lib.id

    def item(self, key: str, state: ItemState, *versions: Sequence[str]) -> None:
        """Store an item; each of `versions` is one Media's part files (Plex paths)."""
        parts = tuple(
            PartRecord(media_index=m, part_index=p, file=f)
            for m, files in enumerate(versions)
            for p, f in enumerate(files)
        )
        record = ItemRecord(
            key, "movie", key, digest="d", state=state.value, part_count=len(parts), parts=parts
        )
        with self.engine.begin() as conn:
            self.ids.update(upsert_items(conn, self.server_id, self.library_id, [record], now=NOW))

    def file(self, plex_path: str, *, exists: bool = True) -> str:
        """A Plex path under /data/media; its local file is created when `exists`."""
        if exists:
            local = self.local / plex_path.removeprefix(PLEX + "/")
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(b"")
        return plex_path

    def states(self) -> dict[str, str]:
        c = t.media_items.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(c.rating_key, c.state).where(c.server_id == self.server_id))
            return {r.rating_key: r.state for r in rows}

    def events(self) -> list[tuple[str, str, str, str | None]]:
        by_id = {v: k for k, v in self.ids.items()}
        e = t.item_events.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(e.item_id, e.old_value, e.new_value, e.detail).order_by(e.id))
            return [
                (by_id[r.item_id], r.old_value, r.new_value, r.detail) for r in rows if r.item_id in by_id
            ]


@pytest.fixture
def env(catalog: Engine, tmp_path: Path) -> Env:
    made = Env(catalog, tmp_path / "nas")
    made.local.mkdir()
    made.add_server()
    return made


def _mapped(env: Env) -> None:
    mapping.add_mapping(env.engine, "home", PLEX, str(env.local), reevaluate=False)


# --- add / list / remove ---------------------------------------------------------------------------


def test_add_list_and_remove(env: Env) -> None:
    change = mapping.add_mapping(env.engine, "home", "/data/media/", str(env.local) + "/", reevaluate=False)
    assert (change.mapping.plex_prefix, change.mapping.local_prefix) == (PLEX, str(env.local))
    assert change.reevaluation is None
    mapping.add_mapping(env.engine, "home", "D:\\Media", "/mnt/d", reevaluate=False)
    listed = mapping.list_mappings(env.engine, "home")
    assert [(m.plex_prefix, m.local_prefix, m.problem) for m in listed] == [
        ("/data/media", str(env.local), None),
        ("D:\\Media", "/mnt/d", None),
    ]
    # Removal matches by the same rules as the duplicate check: separators, trailing slash, case.
    removed = mapping.remove_mapping(env.engine, "home", "d:/MEDIA/", reevaluate=False)
    assert removed.mapping.plex_prefix == "D:\\Media"
    assert [m.plex_prefix for m in mapping.list_mappings(env.engine)] == [PLEX]
    with pytest.raises(BadMappingError, match=r"has no mapping for '/data/other' \(mapped: /data/media\)"):
        mapping.remove_mapping(env.engine, "home", "/data/other")


@pytest.mark.parametrize(
    ("plex", "local", "message"),
    [
        ("", "/mnt/x", "Plex prefix is empty"),
        ("/data", "", "local prefix is empty"),
        ("/data", "relative/dir", "not an absolute path on this machine"),
        ("data/media", "/mnt/x", "is not an absolute path"),
        ("/data/media/", "/mnt/y", "already mapped"),
    ],
)
def test_add_refuses_bad_input_with_one_line(env: Env, plex: str, local: str, message: str) -> None:
    _mapped(env)
    with pytest.raises(BadMappingError, match=message) as caught:
        mapping.add_mapping(env.engine, "home", plex, local)
    assert "\n" not in str(caught.value)
    assert len(mapping.list_mappings(env.engine, "home")) == 1


def test_unknown_server(env: Env) -> None:
    with pytest.raises(UnknownServerError, match="no server named 'den'"):
        mapping.add_mapping(env.engine, "den", PLEX, "/mnt")
    with pytest.raises(UnknownServerError):
        mapping.reevaluate_states(env.engine, "den")


def test_list_flags_mappings_unusable_on_this_machine(env: Env) -> None:
    with env.engine.begin() as conn:  # written by the same catalog's user on a Windows machine
        registry.add_mapping(conn, env.server_id, PLEX, "M:\\Media", now=NOW)
    (listed,) = mapping.list_mappings(env.engine, "home", local_os="posix")
    assert listed.problem == "local prefix is not an absolute posix path"
    assert mapping.list_mappings(env.engine, "home", local_os="windows")[0].problem is None


def test_local_paths_are_never_stored(env: Env) -> None:
    env.item("a", ItemState.REMOTE_ONLY, [env.file(f"{PLEX}/Movies/a.mkv")])
    mapping.add_mapping(env.engine, "home", PLEX, str(env.local))
    with env.engine.connect() as conn:
        files = conn.execute(sa.select(t.media_parts.c.file)).scalars().all()
    assert files == [f"{PLEX}/Movies/a.mkv"]


# --- reevaluate_states -----------------------------------------------------------------------------


def test_reevaluate_with_real_files(env: Env) -> None:
    f = env.file
    env.item("present", ItemState.REMOTE_ONLY, [f(f"{PLEX}/Movies/present.mkv")])
    env.item("absent", ItemState.ACTIVE, [f(f"{PLEX}/Movies/absent.mkv", exists=False)])
    env.item("both-cds", ItemState.REMOTE_ONLY, [f(f"{PLEX}/Movies/cd1.avi"), f(f"{PLEX}/Movies/cd2.avi")])
    env.item(
        "one-cd-missing",
        ItemState.ACTIVE,
        [f(f"{PLEX}/Movies/x-cd1.avi"), f(f"{PLEX}/Movies/x-cd2.avi", exists=False)],
    )
    env.item("unmapped", ItemState.ACTIVE, ["/elsewhere/Movies/u.mkv"])
    env.item("already-active", ItemState.ACTIVE, [f(f"{PLEX}/Movies/ok.mkv")])
    # A version outside every mapping (an "optimized version") does not stop the mapped one playing.
    env.item("versions", ItemState.REMOTE_ONLY, ["/config/Optimized/v.mp4"], [f(f"{PLEX}/Movies/v.mkv")])
    env.item("unavailable", ItemState.UNAVAILABLE, [f(f"{PLEX}/Movies/unavailable.mkv")])
    env.item("missing", ItemState.MISSING, [f(f"{PLEX}/Movies/missing.mkv")])
    env.item("no-parts", ItemState.ACTIVE)
    _mapped(env)

    (result,) = mapping.reevaluate_states(env.engine, "home", now=NOW + 5)

    assert env.states() == {
        "present": "ACTIVE",
        "absent": "REMOTE_ONLY",
        "both-cds": "ACTIVE",
        "one-cd-missing": "REMOTE_ONLY",
        "unmapped": "REMOTE_ONLY",
        "already-active": "ACTIVE",
        "versions": "ACTIVE",
        "unavailable": "UNAVAILABLE",
        "missing": "MISSING",
        "no-parts": "ACTIVE",
    }
    assert (result.examined, result.to_active, result.to_remote_only) == (8, 3, 3)
    assert (result.unchanged, result.unknown, result.no_parts, result.checked_files) == (1, 0, 1, True)
    assert sorted(env.events()) == sorted(
        [
            ("present", "REMOTE_ONLY", "ACTIVE", mapping.EVENT_DETAIL),
            ("both-cds", "REMOTE_ONLY", "ACTIVE", mapping.EVENT_DETAIL),
            ("versions", "REMOTE_ONLY", "ACTIVE", mapping.EVENT_DETAIL),
            ("absent", "ACTIVE", "REMOTE_ONLY", mapping.EVENT_DETAIL),
            ("one-cd-missing", "ACTIVE", "REMOTE_ONLY", mapping.EVENT_DETAIL),
            ("unmapped", "ACTIVE", "REMOTE_ONLY", mapping.EVENT_DETAIL),
        ]
    )
    # Running again changes nothing and writes no history.
    (again,) = mapping.reevaluate_states(env.engine, "home")
    assert (again.changed, again.unchanged) == (0, 7)
    assert len(env.events()) == 6


def test_add_and_remove_mapping_reevaluate_the_server(env: Env) -> None:
    env.item("a", ItemState.REMOTE_ONLY, [env.file(f"{PLEX}/Movies/a.mkv")])
    env.item("b", ItemState.REMOTE_ONLY, [env.file(f"{PLEX}/Movies/b.mkv", exists=False)])
    added = mapping.add_mapping(env.engine, "home", PLEX, str(env.local))
    assert added.reevaluation is not None
    assert (added.reevaluation.to_active, added.reevaluation.unchanged) == (1, 1)
    assert env.states() == {"a": "ACTIVE", "b": "REMOTE_ONLY"}
    removed = mapping.remove_mapping(env.engine, "home", PLEX)
    assert removed.reevaluation is not None
    assert removed.reevaluation.to_remote_only == 1
    assert env.states() == {"a": "REMOTE_ONLY", "b": "REMOTE_ONLY"}


def test_without_file_checks_resolution_alone_decides(env: Env) -> None:
    env.item("gone-but-mapped", ItemState.REMOTE_ONLY, [f"{PLEX}/Movies/nowhere.mkv"])
    env.item("unmapped", ItemState.ACTIVE, ["/elsewhere/u.mkv"])
    _mapped(env)

    def no_stat(path: str) -> os.stat_result:
        raise AssertionError(f"stat called for {path}")

    with env.engine.begin() as conn:
        registry.update_server(conn, "home", now=NOW, check_local_files=False)
    (result,) = mapping.reevaluate_states(env.engine, "home", stat=no_stat)
    assert not result.checked_files
    assert env.states() == {"gone-but-mapped": "ACTIVE", "unmapped": "REMOTE_ONLY"}
    # An explicit check_files=True overrides the server setting.
    (checked,) = mapping.reevaluate_states(env.engine, "home", check_files=True)
    assert checked.checked_files
    assert checked.to_remote_only == 1


def test_unknown_existence_leaves_the_state_alone(env: Env) -> None:
    env.item("a", ItemState.ACTIVE, [f"{PLEX}/Movies/a.mkv"])
    env.item("b", ItemState.REMOTE_ONLY, [f"{PLEX}/Movies/b.mkv"])
    _mapped(env)

    def denied(path: str) -> os.stat_result:
        raise PermissionError(errno.EACCES, "denied", path)

    (result,) = mapping.reevaluate_states(env.engine, "home", stat=denied)
    assert (result.unknown, result.changed) == (2, 0)
    assert env.states() == {"a": "ACTIVE", "b": "REMOTE_ONLY"}
    assert env.events() == []


def test_write_statements_do_not_grow_with_the_chunk(env: Env, statements: StatementCounter) -> None:
    def fill(n: int) -> None:
        for i in range(n):
            env.item(f"up{i}", ItemState.REMOTE_ONLY, [env.file(f"{PLEX}/M/up{i}.mkv")])
            env.item(f"down{i}", ItemState.ACTIVE, [f"{PLEX}/M/down{i}.mkv"])

    _mapped(env)
    fill(2)
    env.add_server("big")
    mapping.add_mapping(env.engine, "big", PLEX, str(env.local), reevaluate=False)
    fill(30)
    writes = {}
    for name in ("home", "big"):
        statements.reset()
        (result,) = mapping.reevaluate_states(env.engine, name)
        assert result.changed == result.examined
        writes[name] = len(statements.writes())
    # Per chunk: one history INSERT and one UPDATE per target state, whatever the chunk holds.
    assert writes == {"home": 4, "big": 4}
    fill(30)  # rewrites the big server's items with their original states
    statements.reset()
    (result,) = mapping.reevaluate_states(env.engine, "big", chunk_size=20)
    assert (result.examined, result.changed) == (60, 60)
    assert len(statements.writes()) == 3 * 4  # three chunks


def test_a_concurrent_state_change_wins(env: Env) -> None:
    env.item("a", ItemState.ACTIVE, [f"{PLEX}/Movies/a.mkv"])
    c = t.media_items.c
    with env.engine.begin() as conn:  # a sync marked it MISSING after reevaluate read it
        conn.execute(t.media_items.update().where(c.id == env.ids["a"]).values(state="MISSING"))
        moved = mapping._apply_moves(conn, {ItemState.REMOTE_ONLY: [env.ids["a"]]}, now=NOW)
    assert moved[ItemState.REMOTE_ONLY] == 0
    assert env.states() == {"a": "MISSING"}
    assert env.events() == []


def test_progress_is_reported_per_chunk(env: Env) -> None:
    for i in range(5):
        env.item(f"i{i}", ItemState.ACTIVE, [f"/x/{i}.mkv"])
    seen: list[tuple[str, int]] = []
    mapping.reevaluate_states(env.engine, chunk_size=2, progress=lambda s, n: seen.append((s, n)))
    assert seen == [("home", 2), ("home", 4), ("home", 5)]


# --- test_path, coverage, suggest ------------------------------------------------------------------


def test_test_path(env: Env) -> None:
    _mapped(env)
    mapping.add_mapping(env.engine, "home", f"{PLEX}/Movies", str(env.local / "fast"), reevaluate=False)
    (env.local / "tv").mkdir()
    (env.local / "tv" / "x.mkv").write_bytes(b"")
    hit = mapping.test_path(env.engine, "home", f"{PLEX}/tv/x.mkv")
    assert hit.resolution.local_path == str(env.local / "tv" / "x.mkv")
    assert hit.exists is True
    assert "the file exists" in hit.describe()
    longest = mapping.test_path(env.engine, "home", f"{PLEX}/Movies/y.mkv")
    assert longest.resolution.mapping is not None
    assert longest.resolution.mapping.plex_prefix == f"{PLEX}/Movies"
    assert longest.exists is False
    miss = mapping.test_path(env.engine, "home", "/elsewhere/z.mkv")
    assert (miss.resolution.local_path, miss.exists) == (None, None)
    assert "no mapping covers it" in miss.describe()
    unchecked = mapping.test_path(env.engine, "home", f"{PLEX}/tv/x.mkv", check_files=False)
    assert (unchecked.checked, unchecked.exists) == (False, None)


def test_coverage(env: Env) -> None:
    f = env.file
    env.item("a", ItemState.ACTIVE, [f(f"{PLEX}/Movies/a.mkv")])
    env.item("b", ItemState.REMOTE_ONLY, [f(f"{PLEX}/Movies/b.mkv", exists=False)])
    env.item("c", ItemState.REMOTE_ONLY, ["/srv/extra/films/c.mkv"])
    env.item("d", ItemState.REMOTE_ONLY, ["/srv/extra/films/d1.mkv", "/srv/extra/films/d2.mkv"])
    env.item("e", ItemState.UNAVAILABLE, ["/srv/other/e.mkv"])
    env.item("gone", ItemState.DELETED, ["/srv/deleted/g.mkv"])
    (before,) = mapping.coverage(env.engine, "home")
    assert (before.items, before.resolved, before.exist, before.active, before.remote_only) == (5, 0, 0, 1, 3)
    assert before.unmapped[0] == mapping.UnmappedPrefix(
        "/srv/extra", "no-mapping", 3, "/srv/extra/films/c.mkv"
    )
    assert {(u.prefix, u.parts) for u in before.unmapped} == {
        ("/srv/extra", 3),
        (f"{PLEX}/Movies", 2),  # under the library's Location: that is the folder to map
        ("/srv/other", 1),
    }
    _mapped(env)
    (after,) = mapping.coverage(env.engine, "home")
    assert (after.items, after.resolved, after.exist) == (5, 2, 1)
    assert [u.prefix for u in after.unmapped] == ["/srv/extra", "/srv/other"]
    (unchecked,) = mapping.coverage(env.engine, check_files=False, top=1)
    assert unchecked.exist is None
    assert len(unchecked.unmapped) == 1


def test_suggest(env: Env, tmp_path: Path) -> None:
    (tmp_path / "mnt" / "media" / "Movies").mkdir(parents=True)
    found = mapping.suggest(
        env.engine, "home", [str(tmp_path / "elsewhere"), str(tmp_path / "mnt" / "media")]
    )
    assert [(s.mapping.plex_prefix, s.mapping.local_prefix, s.libraries, s.mapped_to) for s in found] == [
        (PLEX, str(tmp_path / "mnt" / "media"), ("Movies",), None)
    ]
    mapping.add_mapping(env.engine, "home", PLEX, str(tmp_path / "mnt" / "media"), reevaluate=False)
    assert mapping.suggest(env.engine, "home", [str(tmp_path / "mnt" / "media")])[0].mapped_to == str(
        tmp_path / "mnt" / "media"
    )
    # Not on disk: nothing, unless the disk check is skipped.
    assert mapping.suggest(env.engine, "home", ["/nonexistent/media"]) == []
    assert len(mapping.suggest(env.engine, "home", ["/nonexistent/media"], check_disk=False)) == 1
    with pytest.raises(BadMappingError, match="not an absolute path"):
        mapping.suggest(env.engine, "home", ["relative/media"])


# --- items for the GUI -----------------------------------------------------------------------------


def test_local_paths_open_and_reveal(env: Env, recorder: Recorder) -> None:
    film = env.file(f"{PLEX}/Movies/film.mkv")
    env.item("film", ItemState.ACTIVE, ["/config/Optimized/film.mp4"], [film])
    env.item("stranger", ItemState.REMOTE_ONLY, ["/elsewhere/s.mkv"])
    env.item("empty", ItemState.UNAVAILABLE)
    _mapped(env)
    local = str(env.local / "Movies" / "film.mkv")

    paths = mapping.local_paths(env.engine, env.ids["film"])
    assert [(p.media_index, p.plex_path, p.local_path) for p in paths] == [
        (0, "/config/Optimized/film.mp4", None),
        (1, film, local),
    ]
    assert mapping.open_item(env.engine, env.ids["film"], recorder, platform="linux") == ["xdg-open", local]
    mapping.reveal_item(env.engine, env.ids["film"], recorder, platform="darwin")
    assert recorder.calls == [["xdg-open", local], ["open", "-R", local]]

    with pytest.raises(DesktopActionError, match=r"/elsewhere/s\.mkv: unresolved: no mapping covers it"):
        mapping.open_item(env.engine, env.ids["stranger"], recorder)
    with pytest.raises(DesktopActionError, match="Plex lists no files"):
        mapping.reveal_item(env.engine, env.ids["empty"], recorder)
    with pytest.raises(ConfigError, match="no item with id"):
        mapping.local_paths(env.engine, 10**9)
    assert len(recorder.calls) == 2
