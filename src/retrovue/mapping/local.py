"""Deciding, for this machine, which items Plex can play also play from a local file here.

Plex's view (`media_items.state`) is the sync engine's; whether an item plays from a local file is a
fact about one machine's mounts and mappings, so it is decided here, per machine profile, and kept in
`local_verdicts` (see `retrovue.store.local`). The rule itself is `retrovue.paths.local_answer`.

Two entry points:

* `refresh_library` runs after every sync of a library, gated or not. It first stats each of this
  machine's mapping roots (a handful of stats; see `mapping.roots`). Then it decides, reading only
  what it must:
  - every item, after a complete listing (`full`): a file copied in behind Plex's back is found;
  - every item under a root that appeared, disappeared or changed since the last run;
  - every item without a valid verdict: new or rewritten items (a verdict is valid for the item's
    digest it was decided for), and items whose check could not tell last time;
  - nothing at all when no root changed and no item was written since the last pass (a marker in
    `local_checks` says how far it got), so a quiet run reads a few rows and writes none.
* `reevaluate_states` re-decides every item of a server now (after a mapping was added or removed,
  or a share mounted: `retrovue paths apply`).

Decisions, for both:

* A missing, empty or unreadable root (an unmounted share) never flips its items: files under it are
  not checked, items keep the verdict they had, and the root is reported. Items without one stay
  undecided, which readers see as REMOTE_ONLY: "cannot tell" never means ACTIVE.
* A file check that cannot answer (a hung mount, permission denied) likewise keeps the item's
  verdict for the item as it is; a new or rewritten item whose check cannot answer is undecided.
* With the server's `check_local_files` off (or `check_files=False`) nothing is read from disk, roots
  included: a version whose every part resolves counts as present.
* Every verdict that moves ACTIVE <-> REMOTE_ONLY is written to the item's history (`item_events`,
  event `local`, detail naming the machine).

On a machine with no mapping for the library's server nothing can resolve: a full pass then stores
"does not play" for every item in one statement the database runs (`store.settle_unmapped`), and
reads only the items whose verdict still says "plays" (a mapping was removed), which go the normal
way so that their move is written to history and the feed.

The work is streamed: items are read in id order `chunk_size` at a time (one short read transaction
per chunk), resolved with this machine's resolver, checked on disk with bounded concurrency outside
any transaction, and written back with one upsert (plus one history insert) per chunk.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import Engine

from retrovue import machine as machines
from retrovue.intervals import due
from retrovue.mapping.resolve import servers, stored_mappings
from retrovue.mapping.roots import ProbeFn, RootStatus, probe_root, probe_roots
from retrovue.paths import LocalOS, Resolver, check_exists, local_answer
from retrovue.store import local as store
from retrovue.store import registry
from retrovue.store.local import Decision, LocalCheck, LocalItem, RootRow

__all__ = [
    "CHUNK_SIZE",
    "LocalOptions",
    "LocalRefresh",
    "ReevalResult",
    "RootProblem",
    "RootReport",
    "reevaluate_states",
    "refresh_library",
    "root_problems",
]

CHUNK_SIZE = 5_000
"""Items per read/check/write round: big enough to amortise statements, small enough for memory."""

StatFn = Callable[[str], object]
Progress = Callable[[str, int], None]
"""Called after each chunk with the server name and the number of items examined so far."""

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LocalOptions:
    """How a decision pass runs (`refresh_library`, `reevaluate_states`); the defaults are this
    machine as it is, which is what the sync and the CLI want. Tests inject the rest."""

    machine: str | None = None  # the machine profile decided for (None: this one)
    check_files: bool | None = None  # None: follow the server's `check_local_files`
    chunk_size: int = CHUNK_SIZE
    max_workers: int = 8  # concurrent file checks
    timeout: float = 2.0  # seconds before a file or root check counts as "cannot tell"
    stat: StatFn = os.stat
    probe: ProbeFn = probe_root
    local_os: LocalOS | None = None  # None: this machine's path conventions
    now: int | None = None  # the time written with verdicts (None: the clock)


@dataclass(frozen=True, slots=True)
class RootReport:
    """One mapping root of this machine as this run found it."""

    mapping_id: int
    plex_prefix: str
    local_root: str
    status: RootStatus
    changed: bool  # differs from what the previous run of this library saw
    signature: str | None = None  # device:inode of a present root

    @property
    def down(self) -> bool:
        return self.status is not RootStatus.PRESENT

    def describe(self) -> str:
        what = {
            RootStatus.MISSING: "is missing",
            RootStatus.EMPTY: "is empty (a share not mounted?)",
            RootStatus.UNREADABLE: "cannot be read (permission, or a share that does not answer)",
            RootStatus.PRESENT: "is there",
        }[self.status]
        return f"local folder {self.local_root} (for {self.plex_prefix}) {what}"


@dataclass(frozen=True, slots=True)
class LocalRefresh:
    """What one decision pass over a library did, for this machine."""

    library_id: int
    machine: str
    checked_files: bool
    mode: str  # none | written | undecided | roots | full: what the pass had to read
    examined: int = 0
    to_active: int = 0
    to_remote_only: int = 0
    unchanged: int = 0
    kept: int = 0  # the check could not tell: the item kept its verdict
    undecided: int = 0  # the check could not tell and there was no verdict to keep
    no_parts: int = 0
    roots: tuple[RootReport, ...] = ()
    seconds: float = 0.0

    @property
    def down_roots(self) -> tuple[RootReport, ...]:
        return tuple(r for r in self.roots if r.down)


@dataclass(frozen=True, slots=True)
class ReevalResult:
    """What `reevaluate_states` did for one server (all its libraries), for this machine."""

    server: str
    checked_files: bool
    examined: int = 0
    to_active: int = 0
    to_remote_only: int = 0
    unchanged: int = 0
    unknown: int = 0
    no_parts: int = 0
    seconds: float = 0.0
    down_roots: tuple[RootReport, ...] = ()

    @property
    def changed(self) -> int:
        return self.to_active + self.to_remote_only

    def describe(self) -> str:
        """One line for people: what moved, and what was deliberately left alone."""
        text = (
            f"{self.server}: re-evaluated {self.examined} items: {self.to_active} became ACTIVE, "
            f"{self.to_remote_only} became REMOTE_ONLY, {self.unchanged} unchanged"
        )
        if self.unknown:
            text += f", {self.unknown} left as they were (file check could not answer)"
        if self.no_parts:
            text += f", {self.no_parts} without files"
        if not self.checked_files:
            text += " (local files not checked: a resolving path counts as present)"
        for line in dict.fromkeys(r.describe() for r in self.down_roots):
            text += f"; {line}"
        return text


@dataclass(frozen=True, slots=True)
class RootProblem:
    """A mapping root that was down at a library's last run on this machine."""

    server: str
    library: str
    library_id: int
    plex_prefix: str
    local_prefix: str
    status: str
    observed_at: int

    def describe(self) -> str:
        report = RootReport(0, self.plex_prefix, self.local_prefix, RootStatus(self.status), False)
        return f"{self.server}/{self.library}: {report.describe()}; its items keep their last local state"


def _now() -> int:
    return int(time.time())


# --------------------------------------------------------------------------------------------------
# Roots


def _observe(
    resolver: Resolver, before: dict[int, RootRow], check: bool, probe: ProbeFn, timeout: float
) -> tuple[RootReport, ...]:
    """Stat each usable mapping root (not when file checks are off: that would wake an automount)."""
    if not check:
        return ()
    roots = [(m, base) for m, base in resolver.roots() if m.id is not None]
    found = probe_roots([base for _, base in roots], probe=probe, timeout=timeout)
    out = []
    for mapping, base in roots:
        assert mapping.id is not None
        seen = found[base]
        now = RootRow(seen.status.value, seen.signature)
        changed = before.get(mapping.id) != now
        out.append(RootReport(mapping.id, mapping.plex_prefix, base, seen.status, changed, seen.signature))
    return tuple(out)


def _under(item: LocalItem, resolver: Resolver, mapping_ids: Container[int]) -> bool:
    for files in item.versions.values():
        for plex_path in files:
            mapping = resolver.explain(plex_path).mapping
            if mapping is not None and mapping.id in mapping_ids:
                return True
    return False


def _existence(
    items: Iterable[LocalItem],
    resolver: Resolver,
    check: bool,
    down: Container[int],
    *,
    max_workers: int,
    timeout: float,
    stat: StatFn,
) -> Callable[[str], bool | None]:
    """An existence lookup for every part of a chunk worth checking (resolving, root up), in one
    bounded batch; with checks off, every resolving path counts as present."""
    if not check:
        return _assume_present
    local = []
    for item in items:
        for files in item.versions.values():
            for plex_path in files:
                found = resolver.explain(plex_path)
                if found.local_path is None or (found.mapping is not None and found.mapping.id in down):
                    continue
                local.append(found.local_path)
    return check_exists(local, max_workers=max_workers, timeout=timeout, stat=stat).get


def _assume_present(_path: str) -> bool:
    return True


# --------------------------------------------------------------------------------------------------
# One library


def _full_due(mark: LocalCheck | None, now: int, every: int | None) -> bool:
    """Whether a full pass is due: `every` seconds since the last one (a last one in the future, a
    clock set back, counts as due), or none yet on this machine (every item is undecided then)."""
    if every is None:
        return False
    return due(None if mark is None else mark.full_at, now, every)


def _mode(
    full: bool, roots: tuple[RootReport, ...], mark: LocalCheck | None, through: int | None, wrote: bool
) -> str:
    if full:
        return "full"
    if any(r.changed for r in roots):
        return "roots"
    if mark is None or mark.undecided:
        return "undecided"
    if through == mark.items_through and not wrote:
        return "none"
    if through is not None and mark.items_through is not None and through >= mark.items_through:
        return "written"  # items stamped in the last pass's second or later (`since` is inclusive)
    return "undecided"  # the stamps went backwards (rows removed, a clock): look at everything undecided


def _stream(
    engine: Engine,
    owner: str,
    library_id: int,
    mode: str,
    mark: LocalCheck | None,
    chunk_size: int,
    *,
    plays_only: bool = False,
) -> Iterator[list[LocalItem]]:
    if mode == "none":
        return iter(())
    since = mark.items_through if mode == "written" and mark is not None else None
    return store.stream_local_items(
        engine,
        owner,
        library_id=library_id,
        since=since,
        undecided_only=mode in ("written", "undecided"),
        plays_only=plays_only,
        chunk_size=chunk_size,
    )


def refresh_library(
    engine: Engine,
    library_id: int,
    options: LocalOptions | None = None,
    *,
    full: bool = False,
    full_every: int | None = None,
    wrote: bool = False,
    progress: Progress | None = None,
) -> LocalRefresh:
    """Decide what must be decided for one library on this machine (see the module docstring).

    `full` re-decides every item, and so does a pass when this machine's last full pass of the
    library is `full_every` seconds old or more (the sync gives the library's verification
    interval), and the first pass of a library on a machine; otherwise only items under a changed
    root and items without a valid verdict are. `wrote` says the run before this pass wrote items:
    without it, a pass finds them by their stamps (`last_seen_at` newer than the last pass saw),
    which have one-second resolution, so items written in the second of the last pass would wait
    for the next run that writes. Writes only what changed: a run where nothing did writes nothing.
    """
    started = time.monotonic()
    opts = options or LocalOptions()
    owner = opts.machine or machines.current()
    stamp = _now() if opts.now is None else opts.now
    with engine.connect() as conn:
        library = registry.get_library_by_id(conn, library_id)
        server = registry.get_server_by_id(conn, library.server_id)
        resolver = Resolver(stored_mappings(conn, server.id, owner), local_os=opts.local_os)
        before = store.root_rows(conn, owner, library_id)
        mark = store.local_check(conn, owner, library_id)
        through = store.items_through(conn, library_id)
    check = server.check_local_files if opts.check_files is None else opts.check_files
    roots = _observe(resolver, before, check, opts.probe, opts.timeout)
    changed_roots = {r.mapping_id for r in roots if r.changed}
    down = {r.mapping_id for r in roots if r.down}
    mode = _mode(full or _full_due(mark, stamp, full_every), roots, mark, through, wrote)
    counts: Counter[str] = Counter()
    unmapped = mode == "full" and not resolver.roots()
    if unmapped:  # nothing resolves here: "does not play" for all but the items said to play
        with engine.begin() as conn:
            settled = store.settle_unmapped(conn, owner, library_id, now=stamp)
        counts.update(examined=settled.items, unchanged=settled.items, no_parts=settled.without_parts)
        if progress is not None and settled.items:
            progress(server.name, counts["examined"])
    for chunk in _stream(engine, owner, library_id, mode, mark, opts.chunk_size, plays_only=unmapped):
        targets = [
            item
            for item in chunk
            if mode == "full" or not item.decided or (changed_roots and _under(item, resolver, changed_roots))
        ]
        exists = _existence(
            targets, resolver, check, down, max_workers=opts.max_workers, timeout=opts.timeout, stat=opts.stat
        )
        decisions = [
            d for item in targets if (d := _decide(item, resolver, exists, down, counts)) is not None
        ]
        counts["examined"] += len(chunk)
        if decisions:
            with engine.begin() as conn:
                store.write_verdicts(conn, owner, decisions, now=stamp)
        resolver.invalidate()  # bound memory: the cache would otherwise hold every path of the library
        if progress is not None:
            progress(server.name, counts["examined"])
    full_at = stamp if mode == "full" else (mark.full_at if mark is not None else None)
    new_mark = mark if mode == "none" else LocalCheck(through, counts["undecided"], full_at)
    _remember(engine, owner, library_id, roots, mark, new_mark, stamp)
    for root in roots:
        if root.down:
            log.warning("%s/%s: %s", library.server_name, library.title, root.describe())
    return LocalRefresh(
        library_id=library_id,
        machine=owner,
        checked_files=check,
        mode=mode,
        examined=counts["examined"],
        to_active=counts["to_active"],
        to_remote_only=counts["to_remote_only"],
        unchanged=counts["unchanged"],
        kept=counts["kept"],
        undecided=counts["undecided"],
        no_parts=counts["no_parts"],
        roots=roots,
        seconds=time.monotonic() - started,
    )


def _decide(
    item: LocalItem,
    resolver: Resolver,
    exists: Callable[[str], bool | None],
    down: Container[int],
    counts: Counter[str],
) -> Decision | None:
    """The decision to write for one item, or None when its stored verdict stands; counts it."""
    if not item.versions:
        counts["no_parts"] += 1
        new: bool | None = False
    else:
        new = local_answer(item.versions.values(), resolver, exists, down).local
    if new is None and item.valid and item.local is not None:
        counts["kept"] += 1
        return None
    if new is None:
        counts["undecided"] += 1
    if item.valid and item.local == new:
        counts["unchanged"] += new is not None
        return None
    if new is True and item.local is not True:
        counts["to_active"] += 1
    elif new is not True and item.local is True:
        counts["to_remote_only"] += 1
    elif new is not None:
        counts["unchanged"] += 1  # the same answer, stored again for the item as it is now
    return Decision(item.id, new, item.digest, item.local, item.verdict_digest is not None, item.reader_state)


def _remember(
    engine: Engine,
    owner: str,
    library_id: int,
    roots: tuple[RootReport, ...],
    mark: LocalCheck | None,
    new_mark: LocalCheck | None,
    now: int,
) -> None:
    """Store changed root observations and how far the pass got; nothing when nothing moved."""
    changed = {r.mapping_id: RootRow(r.status.value, r.signature) for r in roots if r.changed}
    if not changed and mark == new_mark:
        return
    with engine.begin() as conn:
        if changed:
            store.save_roots(conn, owner, library_id, changed, now=now)
        if new_mark is not None and mark != new_mark:
            store.save_local_check(conn, owner, library_id, new_mark, now=now)


# --------------------------------------------------------------------------------------------------
# Whole servers, and what is down


def reevaluate_states(
    engine: Engine,
    server_name: str | None = None,
    options: LocalOptions | None = None,
    *,
    library_id: int | None = None,
    progress: Progress | None = None,
) -> list[ReevalResult]:
    """Re-decide, for this machine, every item of one server (or every server) now, without Plex.

    One full `refresh_library` pass per library (or only `library_id`), with `options`. Returns
    one result per server, in name order.
    """
    opts = options or LocalOptions()
    with engine.connect() as conn:
        chosen = servers(conn, server_name)
        libraries = {s.id: registry.list_libraries(conn, server=s.name) for s in chosen}
    out = []
    for server in chosen:
        started = time.monotonic()
        done = 0
        passes = []
        for lib in libraries[server.id]:
            if library_id is not None and lib.id != library_id:
                continue

            def report(name: str, examined: int, base: int = done) -> None:
                if progress is not None:
                    progress(name, base + examined)

            one = refresh_library(engine, lib.id, opts, full=True, progress=report)
            done += one.examined
            passes.append(one)
        out.append(
            ReevalResult(
                server=server.name,
                checked_files=server.check_local_files if opts.check_files is None else opts.check_files,
                examined=sum(p.examined for p in passes),
                to_active=sum(p.to_active for p in passes),
                to_remote_only=sum(p.to_remote_only for p in passes),
                unchanged=sum(p.unchanged for p in passes),
                unknown=sum(p.kept + p.undecided for p in passes),
                no_parts=sum(p.no_parts for p in passes),
                seconds=time.monotonic() - started,
                down_roots=tuple(r for p in passes for r in p.down_roots),
            )
        )
    return out


def root_problems(
    engine: Engine, *, machine: str | None = None, library_ids: Iterable[int] | None = None
) -> list[RootProblem]:
    """Mapping roots this machine found down at each library's last run (what `sync` reports)."""
    with engine.connect() as conn:
        rows = store.down_roots(conn, machine or machines.current(), library_ids)
    return [RootProblem(*row) for row in rows]
