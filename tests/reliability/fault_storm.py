"""Fault storm: many faults of every kind on a small library, each run checked against the truth.

An episode is a fresh catalog and a fresh simulated server of a few dozen items. Each round the
server changes (0-3 random mutations), one to three faults are drawn from a seeded generator, and a
sync runs the way users run it (change gate on; a deep run now and then). After every run:
`check_integrity`, no item, show or season the server still has is MISSING or DELETED
(`falsely_missing`), an item became DELETED only after the complete listings retention asks for, a
run that ended `ok` left its library equal to the server, and a run that did not gave one clean line
and marked nothing. Every few rounds, and at the end of each episode, the faults are cleared and a
recovery sync (gate on) must end `ok`, equal the ground truth and owe no file check.

Faults:

- HTTP, from the simulator's spec: 5xx and 429, connection resets, truncated and malformed bodies,
  slow bodies, the token revoked mid-run, the server gone mid-run.
- Lying listings, from the simulator's spec: `total=N` (too low and too high), `nototal`, `cap=N`,
  `shift=N`, `dup=N`, `empty` (a whole section, or its show listing only); a section taken offline.
- Identity swap: the stored address reaches another Plex server (same token).
- Lock takeover: a live holder in this process (a real lease), a live holder on another machine, a
  dead holder of this process table whose run was left `running`, a holder on another machine whose
  heartbeat stopped, and a holder in this process whose heartbeat stopped in the middle of its run
  (another sync takes over; the stopped one must end without writing anything more).
- Clock skew: the run's clock days to ten years ahead, or behind.

The simulator records the HTTP faults and lies it really delivered (`Simulator.injected`); the
harness counts its own faults only when their effect was seen (a refusal, a takeover, a lost lock, a
run on a skewed clock). A failure names its seed, episode and round:

    .venv/bin/python -m tests.reliability.fault_storm --backend sqlite --episodes 20 --seed 1
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from retrovue import servers
from retrovue.ingest import Event, LibraryDone, PageProgress, SyncSummary, sync
from retrovue.sim import Simulator
from retrovue.store import locks, runs
from retrovue.store import schema as t
from retrovue.store.lifecycle import MIN_LISTINGS_BEFORE_DELETE
from retrovue.store.locks import LockLease, db_epoch
from retrovue.store.registry import get_library_by_id
from tests.ingest.truth import assert_matches_truth, falsely_missing, file_checks_owed, library_ids
from tests.reliability.integrity import check_integrity

SERVER = "home"
TOKEN = "storm-token-5f1e2d3c4b5a"
PAGE = 3
FAST: dict[str, object] = {"backoff": 0.002, "max_retries": 2, "timeout": 2.0, "connect_timeout": 1.0}
DAY = 86_400

HTTP_SPECS = (
    "status=503:0.3",
    "status=500:0.15,status=502:0.15",
    "status=429:0.25,status=404:0.05",
    "reset:0.2",
    "truncate:0.2",
    "malformed:0.25",
    "slow=40ms:0.3",
    "status=503:0.6@/library/metadata/*",
    "status=503:0.1,reset:0.05,truncate:0.05,malformed:0.1,latency=2ms:0.3",
    "revoke-after",  # a count is drawn
    "down-after",  # a count is drawn
)
LIES = (
    "total=2",
    "total=200",
    "nototal",
    "cap=2",
    "nototal,cap=2",
    "shift=1",
    "shift=2",
    "dup=1",
    "dup=3",
    "empty",
    "empty@/library/sections/1/all?type=2",  # the show listing only
    "offline",  # a section taken offline
)
ENGINE_FAULTS = (
    "identity",
    "lock-live-here",
    "lock-live-elsewhere",
    "lock-dead-holder",
    "lock-stale-elsewhere",
    "lock-stopped-holder",
    "clock-ahead",
    "clock-behind",
)
OK_WORDS = ("nothing was marked", "being synced", "wrote nothing more", "nothing was changed")


class StormViolationError(AssertionError):
    """A broken promise, named by seed, episode and round so it replays."""


@dataclass
class Figures:
    episodes: int = 0
    rounds: int = 0
    runs: int = 0  # library runs under faults
    recoveries: int = 0  # library runs of the recovery syncs
    statuses: Counter[str] = field(default_factory=Counter)
    injected: Counter[str] = field(default_factory=Counter)  # by kind: the simulator's and ours
    falsely_missing: int = 0  # items, shows and seasons
    deleted_early: int = 0

    @property
    def faults(self) -> int:
        return sum(self.injected.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "episodes": self.episodes,
            "rounds": self.rounds,
            "faulty_runs": self.runs,
            "recovery_runs": self.recoveries,
            "statuses": dict(self.statuses),
            "faults_injected": self.faults,
            "by_kind": dict(sorted(self.injected.items())),
            "falsely_missing": self.falsely_missing,
            "deleted_early": self.deleted_early,
        }


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


class Storm:
    """One episode's state: catalog, server, a stranger at another address, the seeded draws."""

    def __init__(
        self, engine: Engine, seed: int, episode: int, stranger: Simulator, figures: Figures
    ) -> None:
        self.engine = engine
        self.seed = seed
        self.episode = episode
        self.rng = random.Random(f"{seed}/{episode}")
        self.stranger = stranger
        self.figures = figures
        self.round = 0
        self.faults: list[str] = []
        self.decks: dict[tuple[str, ...], list[str]] = {}
        self.sim = Simulator(
            seed=seed * 1000 + episode,
            token=TOKEN,
            shows=3,
            movies=8,
            seasons_per_show=2,
            episodes_per_season=3,
        ).start()
        with engine.begin() as conn:
            for table in reversed(t.metadata.sorted_tables):
                conn.execute(table.delete())
        servers.add_server(engine, SERVER, self.sim.url, TOKEN)
        self.libs = library_ids(engine, SERVER)  # section key -> library id
        self.sections = {lib_id: key for key, lib_id in self.libs.items()}

    def close(self) -> None:
        self.sim.stop()

    def where(self) -> str:
        return f"seed {self.seed}, episode {self.episode}, round {self.round} (faults: {self.faults})"

    def fail(self, problem: str) -> None:
        raise StormViolationError(f"{self.where()}: {problem}")

    # --- one round ------------------------------------------------------------------------------

    def play_round(self) -> None:
        self.round += 1
        self.figures.rounds += 1
        rng = self.rng
        if rng.random() < 0.75:
            self.sim.random_mutations(rng.randint(1, 3), rng)
        draws: list[str] = []
        if rng.random() < 0.8:
            draws.append(self._deal(HTTP_SPECS))
        if rng.random() < 0.6:
            draws.append(self._deal(LIES))
        if rng.random() < 0.4 or not draws:
            draws.append(self._deal(ENGINE_FAULTS))
        deep = rng.random() < 0.1
        spec_text = ",".join(self._concrete(d) for d in draws if d not in ENGINE_FAULTS and d != "offline")
        self.faults = ([spec_text] if spec_text else []) + [
            d for d in draws if d in ENGINE_FAULTS or d == "offline"
        ]
        offline = rng.choice(list(self.libs)) if "offline" in draws else None
        engine_fault = next((d for d in draws if d in ENGINE_FAULTS), None)
        deleted_before = self._deleted()
        try:
            if offline is not None:
                self.sim.set_section_offline(offline)
            self.sim.set_faults(spec_text or None)
            summaries = self._run_with(engine_fault, deep)
        finally:
            self.sim.clear_faults()
            self.sim.restore_token()
            if offline is not None:
                self.sim.set_section_offline(offline, offline=False)
        emptied = "offline" in draws or any(d.startswith("empty") for d in draws)
        self.check(summaries, deleted_before, deep=deep, emptied=emptied)
        if self.round % 5 == 0:
            self.recover()

    def _deal(self, kinds: tuple[str, ...]) -> str:
        """The next fault of a shuffled deck of `kinds`: every kind comes up once a deck."""
        deck = self.decks.setdefault(kinds, [])
        if not deck:
            deck.extend(self.rng.sample(kinds, len(kinds)))
        return deck.pop()

    def _concrete(self, spec: str) -> str:
        if spec in ("revoke-after", "down-after"):
            return f"{spec}={self.rng.randint(1, 14)}"
        return spec

    def _sync(self, *, on_event: Callable[[Event], None] | None = None, **kwargs: Any) -> list[SyncSummary]:
        """A sync, checked to report exactly one `LibraryDone` per library it returns, whatever
        happened to the run (failed, refused, partial)."""
        # A plain-HTTP transport of its own: the default one loads the system's CA bundle for every
        # client (a sixth of a second), which would dominate runs this small.
        transport = httpx.HTTPTransport(verify=False, limits=httpx.Limits(max_connections=4))
        done: list[SyncSummary] = []

        def record(event: Event) -> None:
            if isinstance(event, LibraryDone):
                done.append(event.summary)
            if on_event is not None:
                on_event(event)

        summaries = sync(
            self.engine, page_size=PAGE, client_options=FAST, transport=transport, on_event=record, **kwargs
        )
        if done != summaries:
            self.fail(f"LibraryDone events {done} do not match the summaries {summaries}")
        return summaries

    def _run_with(self, fault: str | None, deep: bool) -> list[SyncSummary]:
        if fault is None:
            return self._sync(deep=deep)
        if fault == "identity":
            return self._identity_swap(deep)
        if fault.startswith("clock-"):
            years = self.rng.choice((2 * DAY, 40 * DAY, 400 * DAY, 3650 * DAY))
            offset = years if fault == "clock-ahead" else -years
            summaries = self._sync(deep=deep, clock=lambda: time.time() + offset)
            self.figures.injected[fault] += sum(1 for s in summaries if s.run_id is not None)
            return summaries
        if fault == "lock-stopped-holder":
            return self._stopped_holder(deep)
        lib_id = self.rng.choice(list(self.sections))
        if fault == "lock-live-here":
            with LockLease(self.engine, lib_id, what="the storm's own lease"):
                summaries = self._sync(deep=deep)
            return self._count_refusals(summaries, lib_id, fault)
        if fault == "lock-live-elsewhere":
            self._plant_lock(lib_id, host="another-machine", pid=4242, instance="another/boot", age=0)
            try:
                summaries = self._sync(deep=deep)
            finally:
                with self.engine.begin() as conn:
                    conn.execute(t.library_locks.delete().where(t.library_locks.c.owner == "planted"))
            return self._count_refusals(summaries, lib_id, fault)
        # A holder that is gone: a dead pid here, or another machine silent past the stale limit.
        if fault == "lock-dead-holder":
            if locks.instance_id() is None:  # pids cannot be judged here: nothing to inject
                return self._sync(deep=deep)
            run_id = self._plant_lock(
                lib_id, host=locks._host(), pid=_dead_pid(), instance=locks.instance_id(), age=0
            )
        else:
            run_id = self._plant_lock(
                lib_id, host="another-machine", pid=4242, instance="another/boot", age=locks.STALE_AFTER + 30
            )
        summaries = self._sync(deep=deep)
        if self._planted():
            # The sync never reached the library (its server answered nothing it could use, so no
            # lock was tried): it must not have run it, and the next sync that does takes over.
            if any(s.library_id == lib_id and s.status != "failed" for s in summaries):
                self.fail(f"{fault}: a library was synced without its lock: {summaries}")
            self.sim.clear_faults()
            self.sim.restore_token()
            summaries += self._sync(library_id=lib_id)
        with self.engine.connect() as conn:
            status, text = conn.execute(
                sa.select(t.sync_runs.c.status, t.sync_runs.c.error_text).where(t.sync_runs.c.id == run_id)
            ).one()
        if self._planted():
            self.fail(f"{fault}: the abandoned lock was not taken over")
        if status != "failed" or "interrupted" not in (text or ""):
            self.fail(f"{fault}: the abandoned run is {status!r} ({text!r}), not failed as interrupted")
        self.figures.injected[fault] += 1
        return summaries

    def _plant_lock(self, lib_id: int, *, host: str, pid: int, instance: str | None, age: int) -> int:
        """Another holder's lock row and the run it has `running`."""
        with self.engine.begin() as conn:
            run_id = runs.start_run(conn, lib_id, mode="incremental", now=int(time.time()))
            conn.execute(
                t.library_locks.insert().values(
                    library_id=lib_id,
                    owner="planted",
                    host=host,
                    pid=pid,
                    instance=instance,
                    acquired_at=db_epoch() - age,
                    heartbeat_at=db_epoch() - age,
                )
            )
        return run_id

    def _planted(self) -> bool:
        with self.engine.connect() as conn:
            return bool(
                conn.execute(sa.select(sa.func.count()).where(t.library_locks.c.owner == "planted")).scalar()
            )

    def _count_refusals(self, summaries: list[SyncSummary], lib_id: int, fault: str) -> list[SyncSummary]:
        """A sync beside a live holder is refused; counted when the sync got as far as the lock
        (a server that answered nothing usable fails every library before any lock is tried)."""
        mine = [s for s in summaries if s.library_id == lib_id]
        if len(mine) != 1 or mine[0].status != "failed":
            self.fail(f"{fault}: a sync beside a live holder was not refused: {mine}")
        if "being synced" in (mine[0].reason or ""):
            self.figures.injected[fault] += 1
        return summaries

    def _identity_swap(self, deep: bool) -> list[SyncSummary]:
        with self.engine.begin() as conn:  # a DHCP swap: the stored address reaches another server
            conn.execute(t.servers.update().values(base_url=self.stranger.url))
        try:
            summaries = self._sync(deep=deep)
        finally:
            with self.engine.begin() as conn:
                conn.execute(t.servers.update().values(base_url=self.sim.url))
        for s in summaries:
            if s.status != "failed" or "different Plex server" not in (s.reason or ""):
                self.fail(f"identity swap: a library of another server was synced: {s}")
        self.figures.injected["identity"] += len(summaries)
        return summaries

    def _stopped_holder(self, deep: bool) -> list[SyncSummary]:
        """Run A stops beating in the middle of its walk; the server changes; sync B finds A's lock
        stale and takes it over; A wakes up and must end without writing anything more."""
        lib_id = self.rng.choice(list(self.sections))
        with self.engine.connect() as conn:
            title = get_library_by_id(conn, lib_id).title
        paused, resume = threading.Event(), threading.Event()
        result: list[SyncSummary] = []

        def pause(event: Event) -> None:
            if isinstance(event, PageProgress) and event.phase in ("shows", "items") and not paused.is_set():
                paused.set()
                resume.wait(60)

        def run_a() -> None:
            result.extend(self._sync(library=title, on_event=pause, deep=deep))

        saved = locks.HEARTBEAT_EVERY
        locks.HEARTBEAT_EVERY = 3600.0  # A's heartbeat stops
        try:
            a = threading.Thread(target=run_a, name="storm-holder-a", daemon=True)
            a.start()
            while not paused.wait(0.01) and a.is_alive():
                pass
            if not paused.is_set():  # A ended (a fault) before its first page: nothing to take over
                a.join()
                return result + self._sync(deep=deep)
            c = t.library_locks.c
            with self.engine.begin() as conn:  # A's heartbeat is now older than the stale limit
                owner = conn.execute(sa.select(c.owner).where(c.library_id == lib_id)).scalar_one()
                conn.execute(
                    t.library_locks.update()
                    .where(c.library_id == lib_id)
                    .values(heartbeat_at=c.heartbeat_at - (locks.STALE_AFTER + 30))
                )
            self.sim.random_mutations(2, self.rng)
            summaries = self._sync(deep=deep)
            with self.engine.connect() as conn:  # B took the lock (unless a fault stopped B first)
                taken = conn.execute(sa.select(c.owner).where(c.library_id == lib_id)).scalar() != owner
        finally:
            resume.set()
            locks.HEARTBEAT_EVERY = saved
        a.join(60)
        if a.is_alive():
            self.fail("the stopped holder never ended")
        (first,) = result
        if taken:
            if first.status == "ok" or first.missing_promoted:
                self.fail(f"the holder whose lock was taken over went on: {first}")
            if "lost the library's lock" in (first.reason or ""):
                self.figures.injected["lock-stopped-holder"] += 1
        return [first, *summaries]

    # --- the contract ---------------------------------------------------------------------------

    def _deleted(self) -> dict[tuple[int, str], int | None]:
        c = t.media_items.c
        with self.engine.connect() as conn:
            return {
                (lib, key): listing
                for lib, key, listing in conn.execute(
                    sa.select(c.library_id, c.rating_key, c.missing_listing).where(c.state == "DELETED")
                )
            }

    def check(
        self,
        summaries: list[SyncSummary],
        deleted_before: dict[Any, Any],
        *,
        deep: bool,
        emptied: bool = False,
    ) -> None:
        self.figures.runs += len(summaries)
        for problem in check_integrity(self.engine):
            self.fail(f"integrity: {problem}")
        wrong = falsely_missing(self.engine, self.sim, SERVER)
        self.figures.falsely_missing += len(wrong)
        if wrong:
            self.fail(f"falsely missing: {wrong[:10]}")
        if not deep:  # a deep run may also delete what Plex answered 404 for
            with self.engine.connect() as conn:
                listings = dict(conn.execute(sa.select(t.libraries.c.id, t.libraries.c.listings)).all())
            for (lib, key), listing in self._deleted().items():
                if (lib, key) not in deleted_before and (listing or 0) > listings[
                    lib
                ] - MIN_LISTINGS_BEFORE_DELETE:
                    self.figures.deleted_early += 1
                    self.fail(
                        f"item {key} DELETED after too few complete listings ({listing}, {listings[lib]})"
                    )
        for s in summaries:
            self.figures.statuses[s.status] += 1
            if s.status not in ("ok", "partial", "failed"):
                self.fail(f"run ended {s.status!r}: {s}")
            if s.status == "ok":
                continue
            reason = s.reason or ""
            if not reason or "\n" in reason or TOKEN in reason:
                self.fail(f"not one clean line: {reason!r}")
            if s.status == "partial" and reason.startswith("the listing was complete, but Plex's file check"):
                continue  # a deep run's file checks failed: its complete listing may mark (case 6)
            if not any(w in reason.lower() for w in OK_WORDS):
                self.fail(f"a run that did not finish does not say nothing was marked: {reason!r}")
            if s.missing_promoted:
                self.fail(f"a run that did not finish marked {s.missing_promoted} MISSING: {reason!r}")
        # A library whose last run of this round was ok is the server's (a stopped holder's
        # failure comes first in `summaries`, its taker's result after).
        last = {s.library_id: s for s in summaries}
        ok_sections = {self.sections[lib] for lib, s in last.items() if s.status == "ok"}
        if emptied:
            # An empty listing of a library the catalog holds nothing of is an empty library, as
            # far as anyone can tell: `ok`, and not trusted by the next run's gate (it lists again).
            ok_sections -= {self.sections[lib] for lib, s in last.items() if s.processed == 0}
        if ok_sections:
            try:
                assert_matches_truth(self.engine, self.sim, SERVER, sections=ok_sections)
            except AssertionError as exc:
                self.fail(f"an ok run does not match the server: {exc}")

    def recover(self) -> None:
        """The faults are gone: a plain sync (gate on, as users run it) ends ok and converges."""
        summaries = self._sync()
        self.figures.recoveries += len(summaries)
        bad = [(s.library_title, s.status, s.reason) for s in summaries if s.status != "ok"]
        if bad:
            self.fail(f"recovery sync not ok: {bad}")
        for problem in check_integrity(self.engine):
            self.fail(f"integrity after recovery: {problem}")
        try:
            assert_matches_truth(self.engine, self.sim, SERVER)
        except AssertionError as exc:
            self.fail(f"recovery did not converge: {exc}")
        owed = file_checks_owed(self.engine)
        with self.engine.connect() as conn:
            locked = conn.execute(sa.select(sa.func.count()).select_from(t.library_locks)).scalar_one()
            running = conn.execute(
                sa.select(sa.func.count()).where(t.sync_runs.c.status == "running")
            ).scalar_one()
        if owed:
            self.fail(f"a file check is still owed after recovery: {owed}")
        if locked or running:
            self.fail(f"after recovery: {locked} locks held, {running} runs running")


def run_storm(engine: Engine, *, seed: int, episodes: int, rounds: int = 20) -> Figures:
    """`episodes` fresh catalogs and servers, `rounds` faulty rounds each (recovery every 5th and at
    the end). Raises `StormViolationError` naming seed, episode and round at the first broken promise."""
    figures = Figures()
    with Simulator(seed=seed + 777_000, token=TOKEN, shows=2, movies=4) as stranger:
        for episode in range(episodes):
            storm = Storm(engine, seed, episode, stranger, figures)
            try:
                for _ in range(rounds):
                    storm.play_round()
                if storm.round % 5:
                    storm.recover()
                figures.injected.update(storm.sim.injected)
            finally:
                storm.close()
            figures.episodes += 1
    return figures


@contextmanager
def _catalog(backend: str) -> Iterator[Engine]:
    from retrovue.store.db import open_catalog
    from tests.reliability.crash_harness import _server_db

    tmp = Path(tempfile.mkdtemp(prefix="retrovue-storm-"))
    admin = None
    name = ""
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'catalog.sqlite'}"
    else:
        url, admin, name = _server_db(backend)
    engine = open_catalog(url)
    try:
        yield engine
    finally:
        engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)
        if admin is not None:
            with admin.connect() as conn:
                drop = f'"{name}" WITH (FORCE)' if backend == "postgresql" else f"`{name}`"
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {drop}"))
            admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "mariadb"), default="sqlite")
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.monotonic()
    with _catalog(args.backend) as engine:
        try:
            figures = run_storm(engine, seed=args.seed, episodes=args.episodes, rounds=args.rounds)
        except StormViolationError as exc:
            print(str(exc), file=sys.stderr)
            return 1
    report = {"backend": args.backend, **figures.as_dict(), "seconds": round(time.monotonic() - started, 1)}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
