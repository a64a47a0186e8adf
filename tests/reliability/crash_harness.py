"""Crash consistency: SIGKILL a syncing process at random moments and check what it leaves behind.

The simulator runs in this process; the sync runs in another one, which is killed with SIGKILL when
the simulator has answered a random number of its requests (plus a random few milliseconds, so the
kill lands anywhere between two requests: while decoding, inside a page's transaction, during
finalize). After each kill the catalog must pass `check_integrity`, nothing that exists may be
MISSING, no live process may hold a library lock, and the next sync must take the stale lock over,
record the interrupted run as failed, and converge to the simulator's ground truth (change gate
on, as users run it) with no file check left owed. With `faults`, drawn from a generator of their
own so kill points stay put, a quarter of the killed runs are lied to by their listings (`LIES`,
counted by the simulator), a quarter meet a second sync while they hold their lock (it must be
refused), and a quarter of the recoveries run on a clock 400 days behind, or 400 days or ten years
ahead.

Starting a Python process with the engine imported costs about a second, so the killed syncs are
forked from a *zygote*: a helper process that imports everything once, then forks one child per
trial that runs the real CLI (`retrovue.cli.main(["--db-url", URL, "sync", …])`). The zygote has a
single thread when it forks. `run_cli_trial` does the same with the installed `retrovue` console
script, to show the real command behaves the same.

The test suite runs a few dozen trials (tests/reliability/test_crash.py); for the figures in
docs/reliability.md run it longer:

    .venv/bin/python -m tests.reliability.crash_harness --backend sqlite --trials 300
    .venv/bin/python -m tests.reliability.crash_harness --backend postgresql --trials 50
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from retrovue import servers
from retrovue.errors import LockHeldError
from retrovue.ingest import sync
from retrovue.sim import Simulator
from retrovue.store import schema as t
from retrovue.store.db import open_catalog
from tests.ingest.truth import assert_matches_truth, assert_nothing_falsely_missing, file_checks_owed
from tests.reliability.integrity import check_integrity, stale_locks

PAGE_SIZE = 3
SERVER = "home"
# Listings that lie to the run about to be killed (simulator faults; see retrovue.sim.faults).
LIES = ("total=5", "nototal", "cap=2", "shift=1", "dup=2", "empty", "empty@/library/sections/1/all?type=2")

_ZYGOTE = r"""
import json, os, sys
import retrovue.cli, retrovue.cli.sync_cmd, retrovue.ingest, retrovue.store.db  # noqa: F401  warm imports
retrovue.cli._register_commands()
out = sys.stdout
for line in sys.stdin:
    argv = json.loads(line)
    pid = os.fork()
    if pid == 0:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        code = 0
        try:
            retrovue.cli.main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            code = 99
        os._exit(code)
    out.write(json.dumps({"pid": pid}) + "\n"); out.flush()
    _, status = os.waitpid(pid, 0)
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    out.write(json.dumps({"exit": code}) + "\n"); out.flush()
"""


class Zygote:
    """A warm Python process that forks a `retrovue … sync` child on request."""

    def __init__(self) -> None:
        root = Path(__file__).resolve().parents[2]
        env = {**os.environ, "PYTHONPATH": str(root / "src")}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _ZYGOTE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=root,
        )

    def _read(self) -> dict[str, int]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the crash-harness zygote died")
        data: dict[str, int] = json.loads(line)
        return data

    def start(self, argv: list[str]) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(argv) + "\n")
        self.proc.stdin.flush()
        return self._read()["pid"]

    def ready(self) -> bool:
        """Has the current child exited (its exit line is waiting)?"""
        stdout: IO[str] | None = self.proc.stdout
        assert stdout is not None
        return bool(select.select([stdout], [], [], 0)[0])

    def wait(self) -> int:
        return self._read()["exit"]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@dataclass
class Figures:
    """What a series of trials tried and found."""

    seed: int = 0
    trials: int = 0
    killed: int = 0  # the child was really killed (not finished before its kill point)
    finished_first: int = 0
    first_sync_kills: int = 0
    incremental_kills: int = 0
    interrupted_runs_closed: int = 0
    locks_taken_over: int = 0
    lies_told: int = 0  # listing pages that lied to a run that was then killed (simulator's count)
    refused_beside_holder: int = 0  # in-process syncs refused while the child held the lock
    skewed_recoveries: int = 0  # recovery syncs on a clock far ahead or behind
    violations: list[str] = field(default_factory=list)
    falsely_missing: int = 0
    kill_points: Counter[int] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            "trials": self.trials,
            "killed": self.killed,
            "finished_before_kill_point": self.finished_first,
            "first_sync_kills": self.first_sync_kills,
            "incremental_kills": self.incremental_kills,
            "interrupted_runs_recorded_failed": self.interrupted_runs_closed,
            "stale_locks_taken_over": self.locks_taken_over,
            "listing_lies_told_to_killed_runs": self.lies_told,
            "syncs_refused_beside_a_live_holder": self.refused_beside_holder,
            "recoveries_on_a_skewed_clock": self.skewed_recoveries,
            "distinct_kill_points": len(self.kill_points),
            "integrity_violations": len(self.violations),
            "items_falsely_missing": self.falsely_missing,
        }


def make_sim(seed: int = 11) -> Simulator:
    """A library of ~24 episodes and 10 movies: with 3 items a page, about 30 requests a sync."""
    return Simulator(
        seed=seed, shows=4, movies=10, seasons_per_show=2, episodes_per_season=3, latency_ms=1
    ).start()


def reset_catalog(engine: Engine, sim: Simulator) -> None:
    with engine.begin() as conn:
        for table in reversed(t.metadata.sorted_tables):
            conn.execute(table.delete())
    servers.add_server(engine, SERVER, sim.url, sim.token)


def _running_runs(engine: Engine) -> set[int]:
    with engine.connect() as conn:
        return set(
            conn.execute(sa.select(t.sync_runs.c.id).where(t.sync_runs.c.status == "running")).scalars()
        )


def _lock_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(t.library_locks)).scalar_one())


def kill_trial(
    engine: Engine,
    db_url: str,
    sim: Simulator,
    rng: random.Random,
    figures: Figures,
    *,
    start_child: Zygote | None = None,
    first: bool,
    max_requests: int = 40,
    faults: random.Random | None = None,
) -> None:
    """One trial: prepare (fresh catalog, or mutate the server), start a sync, kill it, check, recover.
    With `faults` (its own generator, so kill points do not move), the run may also be lied to, meet
    a second sync, or be recovered on a skewed clock."""
    if first:
        reset_catalog(engine, sim)
    else:
        sim.random_mutations(rng.randint(1, 5), rng)
    # An incremental run lists every page but asks detail only for changed items: fewer requests.
    kill_at = rng.randint(1, max_requests if first else max(2, max_requests * 2 // 3))
    extra_ms = rng.choice((0.0, 0.0, rng.uniform(0, 3), rng.uniform(0, 15)))
    # A quarter of the killed runs are lied to by the listings; a quarter meet a second sync while
    # they hold their lock; a quarter of the recoveries run on a clock far ahead or behind.
    frng = faults or random.Random(0)
    lie = frng.choice(LIES) if faults and frng.random() < 0.25 else None
    probe = bool(faults) and frng.random() < 0.25
    skew = frng.choice((-400, 400, 3650)) * 86_400 if faults and frng.random() < 0.25 else 0
    lies_before = sim.faults_injected
    sim.set_faults(lie)
    argv = ["--db-url", db_url, "sync", "--page-size", str(PAGE_SIZE), "--json"]
    before = sim.request_count
    proc: subprocess.Popen[bytes] | None = None
    if start_child is not None:
        pid = start_child.start(argv)
    else:
        script = shutil.which("retrovue") or str(Path(sys.executable).with_name("retrovue"))
        proc = subprocess.Popen(
            [script, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
        )
        pid = proc.pid

    def done() -> bool:
        return (
            start_child.ready() if start_child is not None else proc is not None and proc.poll() is not None
        )

    deadline = time.monotonic() + 60
    while sim.request_count - before < kill_at and not done() and time.monotonic() < deadline:
        time.sleep(0.0003)
    problems_early: list[str] = []
    if probe and not done():
        _probe_beside_holder(engine, figures, problems_early)
    if extra_ms and not done():
        time.sleep(extra_ms / 1000)
    if not done():
        os.kill(pid, signal.SIGKILL)
    code = start_child.wait() if start_child is not None else (proc.wait() if proc is not None else 0)
    figures.trials += 1
    if code == -signal.SIGKILL:
        figures.killed += 1
        figures.kill_points[sim.request_count - before] += 1
        if first:
            figures.first_sync_kills += 1
        else:
            figures.incremental_kills += 1
    else:
        figures.finished_first += 1

    sim.clear_faults()
    figures.lies_told += sim.faults_injected - lies_before

    # What the killed process left behind.
    problems = problems_early + check_integrity(engine)
    try:
        assert_nothing_falsely_missing(engine, sim, SERVER)
    except AssertionError as exc:
        figures.falsely_missing += 1
        problems.append(f"after kill: {exc}")
    live = stale_locks(engine)
    if live:
        problems.append(f"a live process still holds a lock after the kill: {live}")
    interrupted = _running_runs(engine)
    locks_left = _lock_rows(engine)

    # The next sync (change gate on, as users run it) takes over and converges.
    if skew:
        figures.skewed_recoveries += 1
    summaries = sync(engine, page_size=PAGE_SIZE, clock=lambda: time.time() + skew)
    bad = [(s.library_title, s.status, s.reason) for s in summaries if s.status != "ok"]
    if bad:
        problems.append(f"recovery sync not ok: {bad}")
    with engine.connect() as conn:
        closed = conn.execute(
            sa.select(t.sync_runs.c.id, t.sync_runs.c.status, t.sync_runs.c.error_text).where(
                t.sync_runs.c.id.in_(interrupted)
            )
        ).all()
    for run_id, status, text in closed:
        if status != "failed" or "interrupted" not in (text or ""):
            problems.append(f"interrupted run {run_id} recorded as {status!r} ({text!r})")
    figures.interrupted_runs_closed += len(closed)
    figures.locks_taken_over += locks_left
    if _running_runs(engine):
        problems.append(f"runs still 'running' after recovery: {_running_runs(engine)}")
    if _lock_rows(engine):
        problems.append("a library lock is still held after the recovery sync")
    problems += [f"after recovery: {p}" for p in check_integrity(engine)]
    try:
        assert_matches_truth(engine, sim, SERVER)
    except AssertionError as exc:
        problems.append(f"recovery did not converge: {exc}")
    if owed := file_checks_owed(engine):
        problems.append(f"file checks still owed after recovery: {owed[:10]}")
    try:
        assert_nothing_falsely_missing(engine, sim, SERVER)
    except AssertionError as exc:
        figures.falsely_missing += 1
        problems.append(f"after recovery: {exc}")
    figures.violations += [
        f"seed {figures.seed}, trial {figures.trials} (kill at {kill_at}+{extra_ms:.1f}ms, "
        f"lie {lie}, probe {probe}, skew {skew // 86_400} days): {p}"
        for p in problems
    ]


def _probe_beside_holder(engine: Engine, figures: Figures, problems: list[str]) -> None:
    """A second sync while the child holds a library's lock (a live process, beating): refused."""
    with engine.connect() as conn:
        held = conn.execute(sa.select(t.library_locks.c.library_id)).scalars().first()
    if held is None:
        return
    try:
        summaries = sync(engine, library_id=held, page_size=PAGE_SIZE)
    except LockHeldError:
        figures.refused_beside_holder += 1
        return
    # The child let go of it in between (it finished that library): this sync ran alone.
    if any(s.status == "failed" and "lost the library's lock" in (s.reason or "") for s in summaries):
        problems.append(f"a sync beside a live holder lost its lock: {summaries}")


def run_trials(
    engine: Engine,
    db_url: str,
    sim: Simulator,
    trials: int,
    *,
    seed: int = 0,
    cli_trials: int = 0,
    faults: bool = True,
) -> Figures:
    """`trials` kills through the zygote (alternating first and incremental syncs), then
    `cli_trials` kills of the real `retrovue` console script. With `faults`, some killed runs are
    lied to by their listings or meet a second sync, and some recoveries run on a skewed clock."""
    rng = random.Random(seed)
    frng = random.Random(seed + 1) if faults else None
    figures = Figures(seed=seed)
    # How many requests a full first sync takes: kill points are drawn up to a little past it.
    reset_catalog(engine, sim)
    before = sim.request_count
    sync(engine, page_size=PAGE_SIZE)
    full = sim.request_count - before
    zygote = Zygote()
    try:
        for n in range(trials):
            kill_trial(
                engine,
                db_url,
                sim,
                rng,
                figures,
                start_child=zygote,
                first=n % 2 == 0,
                max_requests=full + 2,
                faults=frng,
            )
    finally:
        zygote.close()
    for n in range(cli_trials):
        kill_trial(engine, db_url, sim, rng, figures, first=n % 2 == 0, max_requests=full + 2, faults=frng)
    return figures


def _server_db(backend: str) -> tuple[str, Engine, str]:
    admin_url = (
        os.environ.get("RETROVUE_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
        if backend == "postgresql"
        else os.environ.get("RETROVUE_TEST_MYSQL_ADMIN_URL", "mysql+pymysql://root@127.0.0.1:3306/")
    )
    name = f"retrovue_crash_{secrets.token_hex(4)}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        quoted = (
            f'"{name}"' if backend == "postgresql" else f"`{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        )
        conn.execute(sa.text(f"CREATE DATABASE {quoted}"))
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), admin, name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "mariadb"), default="sqlite")
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--cli-trials", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="retrovue-crash-"))
    admin: Engine | None = None
    name = ""
    if args.backend == "sqlite":
        db_url = f"sqlite:///{tmp / 'catalog.sqlite'}"
    else:
        db_url, admin, name = _server_db(args.backend)
    engine = open_catalog(db_url)
    sim = make_sim(args.seed + 11)
    started = time.monotonic()
    try:
        figures = run_trials(engine, db_url, sim, args.trials, seed=args.seed, cli_trials=args.cli_trials)
    finally:
        sim.stop()
        engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)
        if admin is not None:
            with admin.connect() as conn:
                drop = f'"{name}" WITH (FORCE)' if args.backend == "postgresql" else f"`{name}`"
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {drop}"))
            admin.dispose()
    report = {"backend": args.backend, **figures.as_dict(), "seconds": round(time.monotonic() - started, 1)}
    print(json.dumps(report, indent=2))
    for line in figures.violations[:20]:
        print(line, file=sys.stderr)
    return 1 if figures.violations else 0


if __name__ == "__main__":
    sys.exit(main())
