"""Local playability in the catalog: per-machine verdicts, mapping-root observations, decision marks.

Plex's view of an item is `media_items.state`. Whether an item Plex can play also plays from a local
file is decided per machine profile by `retrovue.mapping` and kept here, in `local_verdicts`, so one
machine's answer never overwrites another's. A verdict is valid for the item as it was when decided
(`digest`): once the item's row is rewritten the verdict is stale and counts as undecided.

What readers see is one of the five states, for the machine that reads (`reader_state`):
UNAVAILABLE, MISSING and DELETED as Plex's state says; an item Plex can play is ACTIVE when this
machine's valid verdict says it plays locally, and REMOTE_ONLY otherwise, including when nothing
has been decided or the check could not tell ("cannot tell" never means ACTIVE).

`local_roots` remembers, per machine and library, what each mapping's local folder looked like at
the last run (so a run notices a share mounted or unmounted since) and `local_checks` the newest item
stamp a decision pass covered (so a run in which nothing was written reads almost nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from retrovue.states import ItemState
from retrovue.store import feed
from retrovue.store import schema as t
from retrovue.store.upsert import upsert, upsert_from_select

__all__ = [
    "PLEX_PLAYABLE",
    "Decision",
    "LocalCheck",
    "LocalItem",
    "RootRow",
    "Settled",
    "down_roots",
    "item_files",
    "items_through",
    "local_check",
    "reader_state",
    "root_rows",
    "save_local_check",
    "save_roots",
    "settle_unmapped",
    "state_counts",
    "stream_local_items",
    "undecided_count",
    "verdict_join",
    "write_verdicts",
]

PLEX_PLAYABLE = (ItemState.ACTIVE.value, ItemState.REMOTE_ONLY.value)
"""Plex states of an item Plex can play. REMOTE_ONLY only appears in rows from before schema 0002
written back by an older Retrovue; it is read as ACTIVE."""

LOCAL_EVENT = "local"
"""`item_events.event` of a verdict change; old/new are ACTIVE / REMOTE_ONLY, detail the machine."""


def verdict_join(machine: str, items: sa.FromClause | None = None) -> tuple[sa.FromClause, Any]:
    """(verdicts alias, ON clause) to outer-join one machine's verdicts onto `media_items`."""
    v = t.local_verdicts.alias("v")
    i = (items if items is not None else t.media_items).c
    return v, sa.and_(v.c.item_id == i.id, v.c.machine == machine)


def _valid(v: sa.FromClause, items: sa.FromClause | None = None) -> sa.ColumnElement[bool]:
    i = (items if items is not None else t.media_items).c
    return v.c.digest == sa.func.coalesce(i.digest, "")


def reader_state(v: sa.FromClause, items: sa.FromClause | None = None) -> sa.ColumnElement[str]:
    """The five-state value a reader on the verdicts' machine sees (see the module docstring)."""
    i = (items if items is not None else t.media_items).c
    plays = sa.and_(v.c.local == sa.true(), _valid(v, items))
    return sa.case(
        (
            i.state.in_(PLEX_PLAYABLE),
            sa.case((plays, ItemState.ACTIVE.value), else_=ItemState.REMOTE_ONLY.value),
        ),
        else_=i.state,
    )


def state_counts(
    conn: Connection, machine: str, *, library_id: int | None = None, where: Sequence[Any] = ()
) -> dict[str, int]:
    """Items per reader state for `machine`, every state present as a key (zero where none)."""
    v, on = verdict_join(machine)
    state = reader_state(v).label("state")
    query = sa.select(state, sa.func.count()).select_from(t.media_items.outerjoin(v, on))
    if library_id is not None:
        query = query.where(t.media_items.c.library_id == library_id)
    query = query.where(*where).group_by(state)
    counts = {s.value: 0 for s in ItemState}
    for value, n in conn.execute(query):
        counts[value] = int(n)
    return counts


# --------------------------------------------------------------------------------------------------
# Reading items with their parts, for decisions and coverage


@dataclass(slots=True)
class LocalItem:
    """An item as a local decision needs it: its part files per version and this machine's verdict."""

    id: int
    library_id: int
    state: str  # Plex's state
    digest: str
    local: bool | None  # the stored verdict (None: none stored, or the check could not tell)
    verdict_digest: str | None  # the digest it was decided for (None: no verdict stored)
    versions: dict[int, list[str]] = field(default_factory=dict)  # media_index -> files, part order

    @property
    def decided(self) -> bool:
        """A verdict is stored for the item as it is now, and it says yes or no."""
        return self.verdict_digest == self.digest and self.local is not None

    @property
    def valid(self) -> bool:
        """A verdict is stored for the item as it is now (it may say "could not tell")."""
        return self.verdict_digest == self.digest

    @property
    def reader_state(self) -> str:
        if self.state not in PLEX_PLAYABLE:
            return self.state
        return ItemState.ACTIVE.value if self.valid and self.local is True else ItemState.REMOTE_ONLY.value


def stream_local_items(
    engine: Engine,
    machine: str,
    *,
    server_id: int | None = None,
    library_id: int | None = None,
    states: Sequence[str] = PLEX_PLAYABLE,
    since: int | None = None,
    undecided_only: bool = False,
    plays_only: bool = False,
    chunk_size: int = 5_000,
) -> Iterator[list[LocalItem]]:
    """Items in `states` with their parts and `machine`'s verdict, `chunk_size` at a time, by id.

    `since` keeps items written at or after that stamp (`last_seen_at`), `undecided_only` those
    without a valid yes/no verdict, `plays_only` those whose stored verdict says "plays". Each chunk
    is one window of `chunk_size` ids (`start <= id < start + chunk_size`, so at most that many
    items, fewer where ids are sparse): every read is an index range of its own window. (Keyset
    pages — `id > last ORDER BY id LIMIT n` — read, on SQLite, every remaining row of the library
    for each page, to sort them by id across the two states: quadratic, 0.06 s a page at 100,000
    items.) Each chunk is read in its own short transaction, closed before the caller checks
    files, so a slow share never holds a database lock.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    i, p = t.media_items.c, t.media_parts.c
    v, on = verdict_join(machine)
    scope: list[Any] = [i.state.in_(list(states))]
    if server_id is not None:
        scope.append(i.server_id == server_id)
    if library_id is not None:
        scope.append(i.library_id == library_id)
    if since is not None:
        scope.append(i.last_seen_at >= since)
    if undecided_only:
        scope.append(sa.or_(v.c.item_id.is_(None), v.c.local.is_(None), sa.not_(_valid(v))))
    if plays_only:
        scope.append(v.c.local == sa.true())
    with engine.connect() as conn:
        start, high = conn.execute(sa.select(sa.func.min(i.id), sa.func.max(i.id))).one()
    if start is None:
        return
    while True:
        if start > high:  # items added meanwhile are read too, as keyset pages would have
            with engine.connect() as conn:
                high = conn.execute(sa.select(sa.func.max(i.id))).scalar_one()
            if start > high:
                return
        end = start + chunk_size
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(i.id, i.library_id, i.state, i.digest, v.c.local, v.c.digest.label("vdigest"))
                .select_from(t.media_items.outerjoin(v, on))
                .where(*scope, i.id >= start, i.id < end)
                .order_by(i.id)
            ).all()
            # Rows unpacked by position: attribute access by name cost a third of this read.
            items = {
                item_id: LocalItem(
                    item_id, lib_id, state, digest or "", None if local is None else bool(local), vdigest
                )
                for item_id, lib_id, state, digest, local, vdigest in rows
            }
            if items:
                parts = conn.execute(
                    sa.select(p.item_id, p.media_index, p.file)
                    .where(p.item_id >= rows[0][0], p.item_id <= rows[-1][0])
                    .order_by(p.item_id, p.media_index, p.part_index)
                )
                for item_id, media_index, file in parts:
                    item = items.get(item_id)
                    if item is not None:
                        item.versions.setdefault(media_index, []).append(file or "")
        if items:
            yield list(items.values())
        start = end


def item_files(conn: Connection, item_id: int) -> tuple[int, list[tuple[int, int, str]]] | None:
    """(server id, [(media index, part index, Plex path)]) of one item, or None when there is none."""
    i, p = t.media_items.c, t.media_parts.c
    server_id = conn.execute(sa.select(i.server_id).where(i.id == item_id)).scalar()
    if server_id is None:
        return None
    rows = conn.execute(
        sa.select(p.media_index, p.part_index, p.file)
        .where(p.item_id == item_id)
        .order_by(p.media_index, p.part_index)
    )
    return int(server_id), [(r.media_index, r.part_index, r.file or "") for r in rows]


def undecided_count(conn: Connection, machine: str, library_id: int) -> int:
    """Items Plex can play that have no valid yes/no verdict for `machine`."""
    i = t.media_items.c
    v, on = verdict_join(machine)
    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(t.media_items.outerjoin(v, on))
            .where(
                i.library_id == library_id,
                i.state.in_(PLEX_PLAYABLE),
                sa.or_(v.c.item_id.is_(None), v.c.local.is_(None), sa.not_(_valid(v))),
            )
        ).scalar_one()
    )


# --------------------------------------------------------------------------------------------------
# Writing verdicts


@dataclass(frozen=True, slots=True)
class Decision:
    """A verdict to store; `was` is the previous stored verdict when the reader's state may change."""

    item_id: int
    local: bool | None
    digest: str
    was: bool | None = None  # previous verdict (its `local`), or None when there was none
    had_verdict: bool = False
    # What this machine's readers saw before (`LocalItem.reader_state`): the change feed records a
    # `local` entry whenever that moves — also for a first or re-decided verdict, which history
    # leaves out (an added item that turns out to play here goes REMOTE_ONLY -> ACTIVE for readers).
    seen_as: str | None = None


@dataclass(frozen=True, slots=True)
class Settled:
    """What `settle_unmapped` covered: items Plex can play whose verdict is not "plays"."""

    items: int
    without_parts: int


def settle_unmapped(conn: Connection, machine: str, library_id: int, *, now: int) -> Settled:
    """Store "does not play here" for the library's items on a machine with no mapping for its
    server, in one statement the database runs, for every item Plex can play whose verdict is
    missing, undecided or stale (and not "plays"): no file of it can resolve, so the answer needs
    neither its parts nor a check. A first verdict, or one that stays "does not play", moves
    nothing a reader sees (an undecided item reads as REMOTE_ONLY), so it writes no history and no
    feed entry; items whose verdict says "plays" are left to the caller, which writes both.
    One count first: a library whose verdicts are all current writes nothing."""
    i, p = t.media_items.c, t.media_parts.c
    v, on = verdict_join(machine)
    scope = (
        i.library_id == library_id,
        i.state.in_(PLEX_PLAYABLE),
        sa.or_(v.c.local.is_(None), v.c.local == sa.false()),
    )
    stale = sa.or_(v.c.item_id.is_(None), v.c.local.is_(None), sa.not_(_valid(v)))
    partless = ~sa.exists().where(p.item_id == i.id)
    joined = t.media_items.outerjoin(v, on)
    items, without_parts, written = conn.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(sa.case((partless, 1), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(sa.case((stale, 1), else_=0)), 0),
        )
        .select_from(joined)
        .where(*scope)
    ).one()
    if written:
        rows = (
            sa.select(
                i.id,
                sa.literal(machine, t.local_verdicts.c.machine.type),
                sa.false(),
                sa.func.coalesce(i.digest, ""),
                sa.literal(now, t.local_verdicts.c.decided_at.type),
            )
            .select_from(joined)
            .where(*scope, stale)
        )
        upsert_from_select(
            conn,
            t.local_verdicts,
            ("item_id", "machine", "local", "digest", "decided_at"),
            rows,
            conflict=("item_id", "machine"),
            update=("local", "digest", "decided_at"),
        )
    return Settled(int(items), int(without_parts))


def _visible(local: bool | None) -> str:
    return ItemState.ACTIVE.value if local is True else ItemState.REMOTE_ONLY.value


def _seen_moves(d: Decision) -> bool:
    """Whether storing `d` moves the item between ACTIVE and REMOTE_ONLY for this machine's readers."""
    if d.seen_as is None:  # a caller that does not know: the verdict history's rule
        return d.had_verdict and (d.was is True) != (d.local is True)
    return d.seen_as in PLEX_PLAYABLE and d.seen_as != _visible(d.local)


def write_verdicts(conn: Connection, machine: str, decisions: Sequence[Decision], *, now: int) -> int:
    """Store verdicts (one upsert) and a history row for each that moves ACTIVE <-> REMOTE_ONLY.

    A first verdict is not history: nothing changed for the reader that Plex did not already say.
    Items removed from the catalog since they were read (a purge, a re-key merge) are skipped, by
    one read in the same transaction. Returns the number of history rows written.
    """
    if not decisions:
        return 0
    alive = {
        item_id: (library_id, rating_key)
        for item_id, library_id, rating_key in conn.execute(
            sa.select(t.media_items.c.id, t.media_items.c.library_id, t.media_items.c.rating_key).where(
                t.media_items.c.id.in_(
                    sa.bindparam("ids", [d.item_id for d in decisions], expanding=True, literal_execute=True)
                )
            )
        )
    }
    return _write(conn, machine, [d for d in decisions if d.item_id in alive], now, alive)


def _write(
    conn: Connection,
    machine: str,
    decisions: Sequence[Decision],
    now: int,
    where: Mapping[int, tuple[int, str]],
) -> int:
    if not decisions:
        return 0
    moved = [d for d in decisions if d.had_verdict and (d.was is True) != (d.local is True)]
    seen = [d for d in decisions if _seen_moves(d)]
    if seen:
        feed.claim(conn)  # before the rows its entries describe (store/feed.py: lock order)
    rows = [
        {"item_id": d.item_id, "machine": machine, "local": d.local, "digest": d.digest, "decided_at": now}
        for d in decisions
    ]
    upsert(
        conn,
        t.local_verdicts,
        rows,
        conflict=("item_id", "machine"),
        update=("local", "digest", "decided_at"),
    )
    events = [
        {
            "item_id": d.item_id,
            "run_id": None,
            "at": now,
            "event": LOCAL_EVENT,
            "old_value": _visible(d.was),
            "new_value": _visible(d.local),
            "detail": f"machine {machine}",
        }
        for d in moved
    ]
    if events:
        conn.execute(t.item_events.insert(), events)
    feed.record(
        conn,
        [
            {
                "item_id": d.item_id,
                "library_id": where[d.item_id][0],
                "rating_key": where[d.item_id][1],
                "at": now,
                "change": feed.LOCAL,
                "old_value": d.seen_as or _visible(d.was),
                "new_value": _visible(d.local),
                "machine": machine,
            }
            for d in seen
            if d.item_id in where
        ],
    )
    return len(events)


# --------------------------------------------------------------------------------------------------
# Root observations and decision marks


@dataclass(frozen=True, slots=True)
class RootRow:
    status: str
    signature: str | None


def root_rows(conn: Connection, machine: str, library_id: int) -> dict[int, RootRow]:
    """What each mapping's local root looked like at the last run, by mapping id."""
    r = t.local_roots.c
    return {
        row.mapping_id: RootRow(row.status, row.signature)
        for row in conn.execute(
            sa.select(r.mapping_id, r.status, r.signature).where(
                r.machine == machine, r.library_id == library_id
            )
        )
    }


def save_roots(
    conn: Connection, machine: str, library_id: int, roots: Mapping[int, RootRow], *, now: int
) -> None:
    rows = [
        {
            "machine": machine,
            "library_id": library_id,
            "mapping_id": mapping_id,
            "status": root.status,
            "signature": root.signature,
            "observed_at": now,
        }
        for mapping_id, root in roots.items()
    ]
    upsert(
        conn,
        t.local_roots,
        rows,
        conflict=("machine", "library_id", "mapping_id"),
        update=("status", "signature", "observed_at"),
    )


@dataclass(frozen=True, slots=True)
class LocalCheck:
    items_through: int | None
    undecided: int
    full_at: int | None = None  # when every item was last re-decided (column `checked_at`)


def local_check(conn: Connection, machine: str, library_id: int) -> LocalCheck | None:
    c = t.local_checks.c
    row = conn.execute(
        sa.select(c.items_through, c.undecided, c.checked_at).where(
            c.machine == machine, c.library_id == library_id
        )
    ).first()
    return None if row is None else LocalCheck(row.items_through, int(row.undecided), row.checked_at)


def save_local_check(conn: Connection, machine: str, library_id: int, check: LocalCheck, *, now: int) -> None:
    upsert(
        conn,
        t.local_checks,
        [
            {
                "machine": machine,
                "library_id": library_id,
                "items_through": check.items_through,
                "undecided": check.undecided,
                "checked_at": now if check.full_at is None else check.full_at,
            }
        ],
        conflict=("machine", "library_id"),
        update=("items_through", "undecided", "checked_at"),
    )


def down_roots(
    conn: Connection, machine: str, library_ids: Iterable[int] | None = None
) -> list[tuple[str, str, int, str, str, str, int]]:
    """(server, library, library id, plex prefix, local prefix, status, observed at) of every root
    `machine` found down at a library's last run."""
    r, m, lib, srv = t.local_roots.c, t.path_mappings.c, t.libraries.c, t.servers.c
    query = (
        sa.select(srv.name, lib.title, lib.id, m.plex_prefix, m.local_prefix, r.status, r.observed_at)
        .select_from(
            t.local_roots.join(t.path_mappings, m.id == r.mapping_id)
            .join(t.libraries, lib.id == r.library_id)
            .join(t.servers, srv.id == lib.server_id)
        )
        .where(r.machine == machine, r.status != "present")
        .order_by(srv.name, lib.title, m.plex_prefix)
    )
    if library_ids is not None:
        query = query.where(r.library_id.in_(list(library_ids)))
    return [tuple(row) for row in conn.execute(query)]


def items_through(conn: Connection, library_id: int) -> int | None:
    """The newest item stamp of a library (index-only): it moves whenever an item row is written."""
    c = t.media_items.c
    value = conn.execute(sa.select(sa.func.max(c.last_seen_at)).where(c.library_id == library_id)).scalar()
    return None if value is None else int(value)
