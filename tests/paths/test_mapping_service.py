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

from retrovue import machine, mapping
from retrovue.desktop import DesktopActionError
from retrovue.errors import BadMappingError, ConfigError, UnknownServerError
from retrovue.mapping import LocalOptions
from retrovue.mapping.roots import RootProbe, RootStatus
from retrovue.states import ItemState
from retrovue.store import local, registry
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

    def item(self, key: str, state: ItemState, *versions: Sequence[str], digest: str = "d") -> None:
        """Store an item in Plex's `state`; each of `versions` is one Media's part files (Plex paths).

        REMOTE_ONLY stands for "Plex can play it, decided here not to play locally": the item is
        stored ACTIVE with a no verdict for this machine (ACTIVE gets a yes verdict).
        """
        parts = tuple(
            PartRecord(media_index=m, part_index=p, file=f)
            for m, files in enumerate(versions)
            for p, f in enumerate(files)
        )
        plex = ItemState.ACTIVE if state is ItemState.REMOTE_ONLY else state
        record = ItemRecord(
            key, "movie", key, digest=digest, state=plex.value, part_count=len(parts), parts=parts
        )
        with self.engine.begin() as conn:
            self.ids.update(upsert_items(conn, self.server_id, self.library_id, [record], now=NOW))
            if state in (ItemState.ACTIVE, ItemState.REMOTE_ONLY):
                verdict = local.Decision(self.ids[key], state is ItemState.ACTIVE, digest)
                local.write_verdicts(conn, machine.current(), [verdict], now=NOW)

    def file(self, plex_path: str, *, exists: bool = True) -> str:
        """A Plex path under /data/media; its local file is created when `exists`."""
        if exists:
            local_file = self.local / plex_path.removeprefix(PLEX + "/")
            local_file.parent.mkdir(parents=True, exist_ok=True)
            local_file.write_bytes(b"")
        return plex_path

    def states(self, on: str | None = None) -> dict[str, str]:
        """Each item's state as a reader on machine `on` (default: this one) sees it."""
        c = t.media_items.c
        v, join = local.verdict_join(on or machine.current())
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(c.rating_key, local.reader_state(v).label("state"))
                .select_from(t.media_items.outerjoin(v, join))
                .where(c.server_id == self.server_id)
            )
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
        registry.add_mapping(conn, env.server_id, PLEX, "M:\\Media", machine=machine.current(), now=NOW)
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

DETAIL = f"machine {machine.current()}"


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
    env.item("undecided", ItemState.ACTIVE, [f(f"{PLEX}/Movies/new.mkv")], digest="new")
    env.item("unavailable", ItemState.UNAVAILABLE, [f(f"{PLEX}/Movies/unavailable.mkv")])
    env.item("missing", ItemState.MISSING, [f(f"{PLEX}/Movies/missing.mkv")])
    env.item("no-parts", ItemState.ACTIVE)
    with env.engine.begin() as conn:  # a verdict for the item as it was before Plex changed it
        conn.execute(
            t.local_verdicts.update()
            .where(t.local_verdicts.c.item_id == env.ids["undecided"])
            .values(digest="old")
        )
    assert env.states()["undecided"] == "REMOTE_ONLY"  # a stale verdict is no verdict
    _mapped(env)

    (result,) = mapping.reevaluate_states(env.engine, "home", LocalOptions(now=NOW + 5))

    assert env.states() == {
        "present": "ACTIVE",
        "absent": "REMOTE_ONLY",
        "both-cds": "ACTIVE",
        "one-cd-missing": "REMOTE_ONLY",
        "unmapped": "REMOTE_ONLY",
        "already-active": "ACTIVE",
        "versions": "ACTIVE",
        "undecided": "ACTIVE",
        "unavailable": "UNAVAILABLE",
        "missing": "MISSING",
        "no-parts": "REMOTE_ONLY",
    }
    assert (result.examined, result.to_active, result.to_remote_only) == (9, 3, 4)
    assert (result.unchanged, result.unknown, result.no_parts, result.checked_files) == (2, 0, 1, True)
    assert sorted(env.events()) == sorted(
        [
            ("present", "REMOTE_ONLY", "ACTIVE", DETAIL),
            ("both-cds", "REMOTE_ONLY", "ACTIVE", DETAIL),
            ("versions", "REMOTE_ONLY", "ACTIVE", DETAIL),
            ("absent", "ACTIVE", "REMOTE_ONLY", DETAIL),
            ("one-cd-missing", "ACTIVE", "REMOTE_ONLY", DETAIL),
            ("unmapped", "ACTIVE", "REMOTE_ONLY", DETAIL),
            ("no-parts", "ACTIVE", "REMOTE_ONLY", DETAIL),
        ]
    )
    # Running again changes nothing and writes no history.
    (again,) = mapping.reevaluate_states(env.engine, "home")
    assert (again.changed, again.unchanged) == (0, 9)
    assert len(env.events()) == 7


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
    env.file(f"{PLEX}/Movies/other.mkv")  # the share is mounted (not an empty mount point)
    _mapped(env)

    def no_stat(path: str) -> os.stat_result:
        raise AssertionError(f"stat called for {path}")

    def no_probe(path: str) -> RootProbe:
        raise AssertionError(f"root probed: {path}")

    with env.engine.begin() as conn:
        registry.update_server(conn, "home", now=NOW, check_local_files=False)
    (result,) = mapping.reevaluate_states(env.engine, "home", LocalOptions(stat=no_stat, probe=no_probe))
    assert not result.checked_files
    assert env.states() == {"gone-but-mapped": "ACTIVE", "unmapped": "REMOTE_ONLY"}
    # An explicit check_files=True overrides the server setting.
    (checked,) = mapping.reevaluate_states(env.engine, "home", LocalOptions(check_files=True))
    assert checked.checked_files
    assert checked.to_remote_only == 1


def test_a_check_that_cannot_answer_keeps_verdicts_and_never_means_active(env: Env) -> None:
    env.item("a", ItemState.ACTIVE, [f"{PLEX}/Movies/a.mkv"])
    env.item("b", ItemState.REMOTE_ONLY, [f"{PLEX}/Movies/b.mkv"])
    env.item("new", ItemState.UNAVAILABLE, [f"{PLEX}/Movies/new.mkv"])
    with env.engine.begin() as conn:  # Plex now plays it; this machine never decided it
        conn.execute(
            t.media_items.update().where(t.media_items.c.id == env.ids["new"]).values(state="ACTIVE")
        )
    env.file(f"{PLEX}/Movies/other.mkv")  # the root is there and not empty
    _mapped(env)

    def denied(path: str) -> os.stat_result:
        raise PermissionError(errno.EACCES, "denied", path)

    (result,) = mapping.reevaluate_states(env.engine, "home", LocalOptions(stat=denied))
    assert (result.unknown, result.changed) == (3, 0)
    assert env.states() == {"a": "ACTIVE", "b": "REMOTE_ONLY", "new": "REMOTE_ONLY"}
    assert env.events() == []
    with env.engine.connect() as conn:
        assert local.undecided_count(conn, machine.current(), env.library_id) == 1


def test_a_root_that_is_down_never_flips_its_items(env: Env) -> None:
    env.item("a", ItemState.ACTIVE, [env.file(f"{PLEX}/Movies/a.mkv")])
    env.item("b", ItemState.REMOTE_ONLY, [f"{PLEX}/Movies/b.mkv"])
    env.item("new", ItemState.UNAVAILABLE, [env.file(f"{PLEX}/Movies/new.mkv")])
    with env.engine.begin() as conn:
        conn.execute(
            t.media_items.update().where(t.media_items.c.id == env.ids["new"]).values(state="ACTIVE")
        )
    _mapped(env)
    asked: list[str] = []

    def stat(path: str) -> os.stat_result:
        asked.append(path)
        return os.stat(path)

    for status in (RootStatus.MISSING, RootStatus.EMPTY, RootStatus.UNREADABLE):

        def probe(path: str, status: RootStatus = status) -> RootProbe:
            return RootProbe(status)

        (result,) = mapping.reevaluate_states(env.engine, "home", LocalOptions(stat=stat, probe=probe))
        assert asked == []  # nothing under a down root is stat'ed
        assert env.states() == {"a": "ACTIVE", "b": "REMOTE_ONLY", "new": "REMOTE_ONLY"}
        assert [(r.plex_prefix, r.status) for r in result.down_roots] == [(PLEX, status)]
        assert "(for /data/media)" in result.describe()
    with env.engine.connect() as conn:
        assert local.undecided_count(conn, machine.current(), env.library_id) == 1
    (up,) = mapping.reevaluate_states(env.engine, "home", LocalOptions(stat=stat))
    assert env.states() == {"a": "ACTIVE", "b": "REMOTE_ONLY", "new": "ACTIVE"}
    assert up.down_roots == ()


def test_refresh_reads_what_changed_and_writes_nothing_when_nothing_did(
    env: Env, statements: StatementCounter
) -> None:
    env.item("a", ItemState.REMOTE_ONLY, [env.file(f"{PLEX}/Movies/a.mkv")])
    _mapped(env)
    first = mapping.refresh_library(env.engine, env.library_id)
    assert (first.mode, first.to_active) == ("roots", 1)  # the root was never seen here before
    statements.reset()
    quiet = mapping.refresh_library(env.engine, env.library_id)
    assert quiet.mode == "none"
    assert statements.writes() == []
    assert len(statements.statements) <= 6  # mappings, roots, mark, newest stamp (+ library, server)
    # An item written since (a new one) is decided on its own: the others are not read again.
    env.item("b", ItemState.UNAVAILABLE, [env.file(f"{PLEX}/Movies/b.mkv")])
    with env.engine.begin() as conn:
        conn.execute(
            t.media_items.update()
            .where(t.media_items.c.id == env.ids["b"])
            .values(state="ACTIVE", last_seen_at=NOW + 10)
        )
    written = mapping.refresh_library(env.engine, env.library_id)
    assert (written.mode, written.examined, written.to_active) == ("written", 1, 1)
    assert env.states() == {"a": "ACTIVE", "b": "ACTIVE"}
    # A full pass re-decides everything: a file gone behind Plex's back is noticed.
    (env.local / "Movies" / "a.mkv").unlink()
    assert mapping.refresh_library(env.engine, env.library_id).mode == "none"
    full = mapping.refresh_library(env.engine, env.library_id, full=True)
    assert (full.mode, full.examined, full.to_remote_only) == ("full", 2, 1)


def test_machines_keep_their_own_mappings_and_verdicts(env: Env, tmp_path: Path) -> None:
    env.item("a", ItemState.UNAVAILABLE, [env.file(f"{PLEX}/Movies/a.mkv")])
    with env.engine.begin() as conn:
        conn.execute(t.media_items.update().values(state="ACTIVE"))
    mapping.add_mapping(env.engine, "home", PLEX, str(env.local), machine="den")
    # The laptop maps the same prefix to its own mount, which is not there: no "already mapped".
    mapping.add_mapping(env.engine, "home", PLEX, str(tmp_path / "laptop"), machine="laptop")
    assert env.states("den") == {"a": "ACTIVE"}
    assert env.states("laptop") == {"a": "REMOTE_ONLY"}
    (laptop,) = mapping.reevaluate_states(env.engine, "home", LocalOptions(machine="laptop"))
    assert [r.status for r in laptop.down_roots] == [RootStatus.MISSING]
    assert env.states("den") == {"a": "ACTIVE"}
    assert [m.machine for m in mapping.list_mappings(env.engine, all_machines=True)] == ["den", "laptop"]
    assert [m.local_prefix for m in mapping.list_mappings(env.engine, machine="den")] == [str(env.local)]
    assert mapping.resolver_for(env.engine, env.server_id, machine="laptop").resolve(f"{PLEX}/x") == str(
        tmp_path / "laptop" / "x"
    )
    mapping.remove_mapping(env.engine, "home", PLEX, machine="laptop")
    assert [m.machine for m in mapping.list_mappings(env.engine, all_machines=True)] == ["den"]
    with pytest.raises(BadMappingError, match="has no mapping"):
        mapping.remove_mapping(env.engine, "home", PLEX, machine="laptop")


@pytest.mark.parametrize("mapped_elsewhere", [False, True], ids=["no-mapping", "mapping-elsewhere"])
def test_a_machine_without_a_mapping_decides_as_the_item_by_item_pass_does(
    env: Env, statements: StatementCounter, mapped_elsewhere: bool
) -> None:
    """No mapping for the server here: one statement stores "does not play" (`settle_unmapped`).
    A mapping that matches none of the files takes the item-by-item pass. Both must leave the same
    verdicts, history, feed and counts, and write nothing when run again."""
    f = env.file
    env.item("no-verdict", ItemState.ACTIVE, [f(f"{PLEX}/Movies/a.mkv")])
    env.item("stale-no", ItemState.REMOTE_ONLY, [f(f"{PLEX}/Movies/b.mkv")])
    env.item("undecided", ItemState.REMOTE_ONLY, [f(f"{PLEX}/Movies/c.mkv")])
    env.item("current-no", ItemState.REMOTE_ONLY, [f(f"{PLEX}/Movies/d.mkv")])
    env.item("yes", ItemState.ACTIVE, [f(f"{PLEX}/Movies/e.mkv")])
    env.item("no-parts", ItemState.REMOTE_ONLY)
    env.item("unavailable", ItemState.UNAVAILABLE, [f(f"{PLEX}/Movies/g.mkv")])
    env.item("missing", ItemState.MISSING, [f(f"{PLEX}/Movies/h.mkv")])
    v = t.local_verdicts.c
    with env.engine.begin() as conn:
        conn.execute(t.local_verdicts.delete().where(v.item_id == env.ids["no-verdict"]))
        conn.execute(t.local_verdicts.update().where(v.item_id == env.ids["stale-no"]).values(digest="old"))
        conn.execute(t.local_verdicts.update().where(v.item_id == env.ids["undecided"]).values(local=None))
    if mapped_elsewhere:
        mapping.add_mapping(env.engine, "home", "/elsewhere", str(env.local), reevaluate=False)

    (result,) = mapping.reevaluate_states(env.engine, "home", LocalOptions(now=NOW + 5))

    by_id = {item_id: key for key, item_id in env.ids.items()}
    with env.engine.connect() as conn:
        verdicts = {
            by_id[r.item_id]: (r.local, r.digest, r.decided_at)
            for r in conn.execute(sa.select(t.local_verdicts))
        }
        changes = conn.execute(sa.select(t.item_changes).where(t.item_changes.c.change == "local"))
        feed = [(by_id[r.item_id], r.old_value, r.new_value) for r in changes]
    assert verdicts == {
        "no-verdict": (False, "d", NOW + 5),
        "stale-no": (False, "d", NOW + 5),
        "undecided": (False, "d", NOW + 5),
        "current-no": (False, "d", NOW),  # already current: not written again
        "yes": (False, "d", NOW + 5),
        "no-parts": (False, "d", NOW),
    }
    assert env.events() == [("yes", "ACTIVE", "REMOTE_ONLY", DETAIL)]  # a first verdict is no history
    assert feed == [("yes", "ACTIVE", "REMOTE_ONLY")]
    assert (result.examined, result.to_active, result.to_remote_only, result.unchanged) == (6, 0, 1, 5)
    assert result.no_parts == 1
    statements.reset()
    (again,) = mapping.reevaluate_states(env.engine, "home", LocalOptions(now=NOW + 10))
    assert (again.examined, again.changed, again.unchanged) == (6, 0, 6)
    for table in ("local_verdicts", "item_events", "item_changes"):  # the pass's own mark moves on
        assert statements.rows_written(table) == [], table


def test_write_statements_do_not_grow_with_the_chunk(env: Env, statements: StatementCounter) -> None:
    def fill(n: int) -> None:
        for i in range(n):
            env.item(f"up{i}", ItemState.REMOTE_ONLY, [env.file(f"{PLEX}/M/up{i}.mkv")])
            env.item(f"down{i}", ItemState.ACTIVE, [f"{PLEX}/M/down{i}.mkv"])

    _mapped(env)
    fill(30)
    statements.reset()
    (result,) = mapping.reevaluate_states(env.engine, "home", LocalOptions(now=NOW))
    assert result.changed == result.examined == 60
    # Per chunk: one liveness read, the change feed's clock, one verdict upsert, one history insert,
    # one change-feed insert; per library, the root observation and the pass's mark.
    assert len(statements.writes()) == 4 + 2
    fill(30)  # restores every item's original verdict
    statements.reset()
    chunks: list[int] = []
    (result,) = mapping.reevaluate_states(
        env.engine,
        "home",
        LocalOptions(chunk_size=20, now=NOW),  # the same time: the mark (when every item was decided) stays
        progress=lambda _server, seen: chunks.append(seen),
    )
    assert (result.examined, result.changed) == (60, 60)
    # A chunk is a window of 20 ids: three or more, as the ids lie; the root and the mark did not change.
    assert len(chunks) >= 3
    assert len(statements.writes()) == len(chunks) * 4


def test_verdicts_for_items_removed_meanwhile_are_skipped(env: Env) -> None:
    env.item("a", ItemState.ACTIVE, [f"{PLEX}/Movies/a.mkv"])
    env.item("b", ItemState.ACTIVE, [f"{PLEX}/Movies/b.mkv"])
    with env.engine.begin() as conn:  # a purge removed `a` after the decision pass read it
        conn.execute(t.local_verdicts.delete().where(t.local_verdicts.c.item_id == env.ids["a"]))
        conn.execute(t.media_items.delete().where(t.media_items.c.id == env.ids["a"]))
        decisions = [local.Decision(env.ids[k], False, "d", True, True) for k in ("a", "b")]
        assert local.write_verdicts(conn, machine.current(), decisions, now=NOW) == 1
    assert env.states() == {"b": "REMOTE_ONLY"}


def test_progress_is_reported_per_chunk(env: Env) -> None:
    for i in range(5):
        env.item(f"i{i}", ItemState.ACTIVE, [f"/x/{i}.mkv"])
    seen: list[tuple[str, int]] = []
    mapping.reevaluate_states(
        env.engine, options=LocalOptions(chunk_size=2), progress=lambda s, n: seen.append((s, n))
    )
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


def test_every_item_is_re_decided_when_the_last_full_pass_is_older_than_the_interval(env: Env) -> None:
    env.item("a", ItemState.ACTIVE, [env.file(f"{PLEX}/Movies/a.mkv")])
    _mapped(env)
    day = 24 * 3600

    def refresh(at: int) -> str:
        return mapping.refresh_library(env.engine, env.library_id, LocalOptions(now=at), full_every=day).mode

    assert refresh(NOW) == "full"  # the first full pass on this machine since the mapping came
    assert refresh(NOW + 60) == "none"
    (env.local / "Movies" / "a.mkv").unlink()  # gone behind Plex's back: not seen within the day
    assert refresh(NOW + day - 1) == "none"
    assert env.states() == {"a": "ACTIVE"}
    assert refresh(NOW + day) == "full"
    assert env.states() == {"a": "REMOTE_ONLY"}
    assert refresh(NOW + day + 60) == "none"
    assert refresh(NOW - 3600) == "full"  # a last full pass in the future: the clock was set back
