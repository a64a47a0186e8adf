"""The benchmark run: start the simulator, run every scenario a few times, write markdown and JSON.

`python -m bench [--size small|large] [--db sqlite postgresql mariadb] [--only SCENARIO…]`.
Each measured operation runs in a fresh child process (`bench.worker`), so wall time, requests and
peak RSS belong to that operation alone; the simulator runs in this process and its request log
gives the request counts. See docs/benchmarks.md for the scenarios and the latest results.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.dbs import ADMIN_URLS, Catalogs
from bench.measure import machine_facts, source_state
from bench.worker import Job, run_in_child, run_job

__all__ = ["SIZES", "Config", "Measurement", "main", "run_benchmark"]

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ("full", "nochange", "changed", "latency", "mapping", "gui", "databases", "recheck")
ALIASES = {str(i + 1): name for i, name in enumerate(SCENARIOS)}
SERVER = "bench"
BEGIN, END = "<!-- bench:results:begin -->", "<!-- bench:results:end -->"


@dataclass(frozen=True)
class Size:
    shows: int
    seasons_per_show: int
    episodes_per_season: int
    movies: int
    seed_shows: int | None  # seed baseline subset at 0 ms (None: the whole library)
    seed_shows_latency: int | None  # and at the added latency
    plexapi_shows_latency: int | None = None  # plexapi subset at the added latency (whole at 0 ms)


SIZES = {
    "small": Size(
        shows=24,
        seasons_per_show=3,
        episodes_per_season=5,
        movies=150,
        seed_shows=None,
        seed_shows_latency=None,
    ),
    "large": Size(
        shows=2000,
        seasons_per_show=5,
        episodes_per_season=10,
        movies=10000,
        seed_shows=200,
        seed_shows_latency=50,
        # At 20 ms python-plexapi's ~23,000 requests take ~10 min a scenario on the whole library:
        # a tenth of it keeps the run under an hour (time, requests and rows scaled, and marked).
        plexapi_shows_latency=200,
    ),
}


@dataclass
class Config:
    size: str = "small"
    dbs: Sequence[str] = ("sqlite",)
    only: Sequence[str] = SCENARIOS
    repeat: int = 3
    repeat_slow: int | None = None  # the baselines' runs; default 1 for large, else repeat
    latency_ms: float = 20.0
    seed: int = 1
    in_process: bool = False  # run jobs here (fast smoke tests; RSS then means nothing)
    baselines: bool = True
    output: Path | None = None
    json_output: Path | None = None
    log: Callable[[str], None] = print
    allow_dirty: bool = False  # measure uncommitted code anyway (the results say so, loudly)
    readme: Path | None = None  # README whose figure block is regenerated from the results
    readme_only: bool = False  # run nothing; regenerate the README block from the JSON

    @property
    def slow_reps(self) -> int:
        if self.repeat_slow is not None:
            return self.repeat_slow
        return 1 if self.size == "large" else self.repeat


@dataclass
class Measurement:
    scenario: str
    tool: str  # ours | ours-nogate | seed | plexapi | floor | reeval | gui
    db: str
    latency_ms: float
    runs: list[dict[str, Any]] = field(default_factory=list)
    extrapolate: float | None = None  # measured on a subset: multiply by this for the whole library
    note: str = ""

    def _values(self, key: str) -> list[float]:
        return [float(r[key]) for r in self.runs if r.get(key) is not None]

    def stat(self, key: str, how: str = "median") -> float | None:
        values = self._values(key)
        if not values:
            return None
        if how == "median":
            value = float(statistics.median(values))
        else:
            value = min(values) if how == "min" else max(values)
        return value * (self.extrapolate or 1.0)

    def summary(self) -> dict[str, Any]:
        scale = self.extrapolate or 1.0
        peak = self._values("rss_peak_mb")
        return {
            "scenario": self.scenario,
            "tool": self.tool,
            "db": self.db,
            "latency_ms": self.latency_ms,
            "runs": len(self.runs),
            "extrapolated_x": round(self.extrapolate, 2) if self.extrapolate else None,
            "median_s": self.stat("seconds"),
            "min_s": self.stat("seconds", "min"),
            "max_s": self.stat("seconds", "max"),
            "requests": self.stat("requests"),
            "rows_written": self.stat("rows_total"),
            "rss_peak_mb": max(peak) if peak else None,
            "rss_base_mb": max(self._values("rss_base_mb") or [0]) or None,
            "cpu_s": self.stat("cpu_s"),
            "sim_cpu_s": self.stat("sim_cpu_s"),
            "scale": scale,
            "note": self.note,
        }


class Bench:
    """State of one run: the simulator, catalogs per backend, and the measurements so far."""

    def __init__(self, config: Config) -> None:
        from retrovue.sim import Simulator

        self.config = config
        self.size = SIZES[config.size]
        s = self.size
        t0 = time.perf_counter()
        self.sim = Simulator(
            seed=config.seed,
            shows=s.shows,
            movies=s.movies,
            seasons_per_show=s.seasons_per_show,
            episodes_per_season=s.episodes_per_season,
        )
        self.sim.start()
        self.sim_start_s = time.perf_counter() - t0
        self.measurements: list[Measurement] = []
        self.catalogs: dict[str, Catalogs] = {}
        self.rng = random.Random(config.seed)
        self.mutations: list[dict[str, int]] = []
        self.latency = 0.0

    def close(self) -> None:
        for catalogs in self.catalogs.values():
            catalogs.close()
        self.sim.stop()

    def log(self, text: str) -> None:
        self.config.log(text)

    # --- plumbing -----------------------------------------------------------------------------------

    def library_counts(self) -> dict[str, int]:
        out = {"shows": 0, "seasons": 0, "episodes": 0, "movies": 0, "collections": 0}
        for section in self.sim.sections():
            for key in out:
                out[key] += int(section.get(key, 0) or 0)
        return out

    def new_catalog(self, db: str) -> str:
        from retrovue.servers import add_server
        from retrovue.store.db import open_catalog

        catalogs = self.catalogs.setdefault(db, Catalogs(db))
        url = catalogs.new()
        engine = open_catalog(url)
        try:
            add_server(engine, SERVER, self.sim.url, self.sim.token)
        finally:
            engine.dispose()
        return url

    def drop(self, db: str, url: str) -> None:
        self.catalogs[db].drop(url)

    def run(self, kind: str, url: str, **options: Any) -> dict[str, Any]:
        job = Job(
            kind=kind, db_url=url, sim_url=self.sim.url, token=self.sim.token, server=SERVER, options=options
        )
        self.sim.reset_requests()
        if self.config.in_process:
            result = run_job(job)
        else:
            # The simulator serves from threads of this process, which does nothing else while the
            # child runs: this process's CPU time is the simulator's (and the child's spawn).
            cpu0 = time.process_time()
            result = run_in_child(job)
            result["sim_cpu_s"] = time.process_time() - cpu0
        result["requests"] = self.sim.request_count
        self.sim.reset_requests()
        return result

    def record(
        self, scenario: str, tool: str, db: str, runs: list[dict[str, Any]], **extra: Any
    ) -> Measurement:
        m = Measurement(scenario, tool, db, self.latency, runs, **extra)
        self.measurements.append(m)
        if self.config.json_output:  # keep what was measured so far, should a later scenario fail
            partial = self.config.json_output.with_suffix(".partial.json")
            partial.write_text(
                json.dumps([x.summary() | {"raw": x.runs} for x in self.measurements], indent=1, default=str),
                encoding="utf-8",
            )
        s = m.summary()
        scale = f" (x{m.extrapolate:.1f} extrapolated)" if m.extrapolate else ""
        self.log(
            f"  {scenario:<9} {tool:<12} {db:<10} {self.latency:>4.0f} ms  "
            f"{_fmt_s(s['median_s'])} s  {_fmt_n(s['requests'])} req  "
            f"{_fmt_n(s['rows_written'])} rows  {_fmt_n(s['rss_peak_mb'])} MB{scale}"
        )
        return m

    def set_latency(self, ms: float) -> None:
        self.latency = float(ms)
        self.sim.set_latency(ms)

    # --- mutations (scenario 3) -----------------------------------------------------------------

    def mutate(self) -> dict[str, int]:
        """1 % of episodes edited, 0.5 % added (to random seasons), 0.5 % removed."""
        truth = self.sim.ground_truth()
        episodes: list[str] = []
        seasons: list[str] = []
        for section in truth["sections"]:
            for show in section.get("shows", []):
                for season in show["seasons"]:
                    seasons.append(season["ratingKey"])
                    episodes.extend(ep["ratingKey"] for ep in season["episodes"])
        n = len(episodes)
        n_edit, n_add, n_remove = max(1, n // 100), max(1, n // 200), max(1, n // 200)
        chosen = self.rng.sample(episodes, n_edit + n_remove)
        for rk in chosen[:n_edit]:
            self.sim.edit(rk, title=f"Edited {rk} {self.rng.randrange(10**6)}")
        for rk in chosen[n_edit:]:
            self.sim.remove(rk)
        added = 0
        while added < n_add:
            try:  # a season emptied by the removals is gone (Plex drops empty parents)
                self.sim.add_episode(self.rng.choice(seasons))
            except KeyError:
                continue
            added += 1
        done = {"episodes_before": n, "edited": n_edit, "removed": n_remove, "added": n_add}
        self.mutations.append(done)
        return done

    # --- scenarios ------------------------------------------------------------------------------

    def repeat(self, n: int, fn: Callable[[int], dict[str, Any]]) -> list[dict[str, Any]]:
        return [fn(i) for i in range(n)]

    def ours_full(
        self, scenario: str, db: str, reps: int, *, floor: bool = False, beside: str | None = None
    ) -> str:
        """Scenario 1: reps fresh catalogs; returns the last one (kept for the next scenarios).
        With `floor`, each run follows a floor run; with `beside`, a first sync on that backend:
        a ratio target compares runs that shared the machine's state of that minute (the floor
        took 2.42 s and 4.66 s twenty minutes apart in one run on this machine)."""
        runs = []
        floors = []
        others = []
        url = ""
        for _ in range(reps):
            if url:
                self.drop(db, url)
            url = self.new_catalog(db)
            if floor:
                floors.append(self.run("floor", "sqlite://"))
            if beside:
                other = self.new_catalog(beside)
                others.append(self.run("sync", other))
                self.drop(beside, other)
            runs.append(self.run("sync", url))
        if others:
            self.record(
                scenario, "beside", db, others, note=f"{beside}'s first sync, taken alternately with these"
            )
        if floors:
            self.record(
                scenario,
                "floor",
                db,
                floors,
                note="fetch+decode every listing page, no catalog; taken alternately with the first syncs",
            )
        self.record(scenario, "ours", db, runs)
        return url

    def ours_nochange(self, scenario: str, db: str, url: str, reps: int) -> None:
        self.record(
            scenario,
            "ours",
            db,
            self.repeat(reps, lambda _i: self.run("sync", url)),
            note="contentChangedAt gate",
        )
        # The gate-off listing's ratio target is against the floor, so each of its runs follows a
        # floor run: the two share the machine's state of that minute (floors taken minutes apart
        # have differed by 1.8x on this machine), and every backend gets its own.
        floors: list[dict[str, Any]] = []
        listings: list[dict[str, Any]] = []
        for _ in range(reps):
            floors.append(self.run("floor", "sqlite://"))
            listings.append(self.run("sync", url, use_gate=False))
        self.record(scenario, "floor", db, floors, note="taken alternately with the gate-off listing")
        self.record(scenario, "ours-nogate", db, listings, note="use_gate=False: every listing page walked")
        self.set_verify_hours(url, 0)
        try:
            self.record(
                scenario,
                "ours-verify",
                db,
                self.repeat(reps, lambda _i: self.run("sync", url)),
                note="the gate holds but the verification listing is due (verify_hours 0)",
            )
        finally:
            self.set_verify_hours(url, 24)

    def set_verify_hours(self, url: str, hours: int) -> None:
        from retrovue.store import registry
        from retrovue.store.db import open_catalog

        engine = open_catalog(url)
        try:
            with engine.begin() as conn:
                for lib in registry.list_libraries(conn):
                    registry.set_library_options(conn, lib.id, verify_hours=hours)
        finally:
            engine.dispose()

    def baseline_full_and_nochange(
        self, db: str, shows_subset: int | None, api_subset: int | None
    ) -> tuple[str, str]:
        """Scenarios 1 and 2 for plexapi and the seed; returns their catalogs."""
        reps = self.config.slow_reps
        runs = []
        api_url = ""
        api_limits, api_scale = self.seed_limits(api_subset)
        api_note = _subset_note(api_limits)
        for _ in range(reps):
            if api_url:
                self.drop(db, api_url)
            api_url = self.new_catalog(db)
            runs.append(self.run("plexapi", api_url, **api_limits))
        self.record("full", "plexapi", db, runs, extrapolate=api_scale, note=api_note)
        self.record(
            "nochange",
            "plexapi",
            db,
            self.repeat(reps, lambda _i: self.run("plexapi", api_url, **api_limits)),
            extrapolate=api_scale,
            note=api_note,
        )
        seed_url = ""
        runs = []
        limits, scale = self.seed_limits(shows_subset)
        for _ in range(reps):
            if seed_url:
                self.drop(db, seed_url)
            seed_url = self.new_catalog(db)
            runs.append(self.run("seed", seed_url, **limits))
        note = _subset_note(limits)
        self.record("full", "seed", db, runs, extrapolate=scale, note=note)
        self.record(
            "nochange",
            "seed",
            db,
            self.repeat(reps, lambda _i: self.run("seed", seed_url, **limits)),
            extrapolate=scale,
            note=note,
        )
        return api_url, seed_url

    def seed_limits(self, shows_subset: int | None) -> tuple[dict[str, int], float | None]:
        s = self.size
        if shows_subset is None or shows_subset >= s.shows:
            return {}, None
        movies = max(1, round(s.movies * shows_subset / s.shows))
        return {"max_shows": shows_subset, "max_movies": movies}, s.shows / shows_subset

    def changed(
        self,
        db: str,
        ours_url: str,
        api_url: str | None,
        seed_url: str | None,
        seed_shows: int | None,
        api_shows: int | None,
    ) -> None:
        runs: list[dict[str, Any]] = []
        api_runs: list[dict[str, Any]] = []
        seed_runs: list[dict[str, Any]] = []
        limits, scale = self.seed_limits(seed_shows)
        api_limits, api_scale = self.seed_limits(api_shows)
        for i in range(self.config.repeat):
            change = self.mutate()
            runs.append({**self.run("sync", ours_url), "mutation": change})
            if i == 0 and api_url:
                api_runs.append(self.run("plexapi", api_url, **api_limits))
            if i == 0 and seed_url:
                seed_runs.append(self.run("seed", seed_url, **limits))
        self.record("changed", "ours", db, runs, note="1 % edited, 0.5 % added, 0.5 % removed")
        if api_runs:
            self.record(
                "changed", "plexapi", db, api_runs, extrapolate=api_scale, note=_subset_note(api_limits)
            )
        if seed_runs:
            self.record("changed", "seed", db, seed_runs, extrapolate=scale, note=_subset_note(limits))

    def primary(self, db: str) -> None:
        """Scenarios 1-3 (+5, 6) on the primary backend at 0 ms, then scenario 4 at the latency."""
        only = set(self.config.only)
        base_needed = only & {"full", "nochange", "changed", "mapping", "gui", "recheck"}
        self.set_latency(0)
        if base_needed:
            self.log(f"[{db}] scenarios 1-3, no added latency")
            full = "full" in only
            url = self.ours_full("full", db, self.config.repeat if full else 1, floor=full)
            if "nochange" in only:
                self.ours_nochange("nochange", db, url, self.config.repeat)
            api_url = seed_url = None
            if self.config.baselines and only & {"full", "nochange", "changed"}:
                api_url, seed_url = self.baseline_full_and_nochange(db, self.size.seed_shows, None)
            if "mapping" in only:
                self.mapping(db, url)
            if "gui" in only:
                self.gui(db, url)
            if "recheck" in only:
                self.recheck(db, url)
            if "changed" in only:
                self.changed(db, url, api_url, seed_url, self.size.seed_shows, None)
            for u in (url, api_url, seed_url):
                if u:
                    self.drop(db, u)
        if "latency" in only:
            self.set_latency(self.config.latency_ms)
            self.log(f"[{db}] scenario 4: scenarios 1-3 at {self.config.latency_ms:.0f} ms a request")
            url = self.ours_full("full", db, self.config.repeat, floor=True)
            self.ours_nochange("nochange", db, url, self.config.repeat)
            api_url = seed_url = None
            if self.config.baselines:
                api_url, seed_url = self.baseline_full_and_nochange(
                    db, self.size.seed_shows_latency, self.size.plexapi_shows_latency
                )
            self.changed(
                db, url, api_url, seed_url, self.size.seed_shows_latency, self.size.plexapi_shows_latency
            )
            for u in (url, api_url, seed_url):
                if u:
                    self.drop(db, u)
            self.set_latency(0)

    def secondary(self, db: str) -> None:
        """Scenario 7: scenarios 1-2 (our engine) on another backend."""
        self.set_latency(0)
        self.log(f"[{db}] scenario 7: scenarios 1-2")
        # As many runs as on the first backend: the backends' ratio is a target, so it is a median too.
        url = self.ours_full("full", db, self.config.repeat, beside=self.config.dbs[0])
        self.ours_nochange("nochange", db, url, self.config.repeat)
        self.drop(db, url)

    def mapping(self, db: str, url: str) -> None:
        if db != "sqlite":
            return
        copy = self.catalogs[db].copy(url)
        runs = self.repeat(1, lambda _i: self.run("reeval", copy))
        self.record("mapping", "reeval", db, runs, note="add mapping + reevaluate_states(check_files)")
        self.drop(db, copy)

    def recheck(self, db: str, url: str) -> None:
        """The local-state re-check: a mapping root replaced (new device:inode, as a remount does),
        then a gated run, which re-decides every item under it."""
        if db != "sqlite":
            return
        import os
        import shutil
        import tempfile

        copy = self.catalogs[db].copy(url)
        root = tempfile.mkdtemp(prefix="retrovue-bench-root-")
        try:
            self.run("recheck_setup", copy, root=root)
            old = root + ".old"
            os.rename(root, old)
            os.mkdir(root)
            for name in os.listdir(old):
                os.rename(os.path.join(old, name), os.path.join(root, name))
            os.rmdir(old)
            runs = [self.run("sync", copy)]
            self.record(
                "recheck",
                "ours",
                db,
                runs,
                note="gated run after the mapping root was replaced: every item under it re-decided",
            )
        finally:
            shutil.rmtree(root, ignore_errors=True)
            self.drop(db, copy)

    def gui(self, db: str, url: str) -> None:
        if db != "sqlite":
            return
        try:
            import PySide6  # noqa: F401
        except ImportError:
            self.log("  gui: PySide6 not installed, skipped")
            return
        copy = self.catalogs[db].copy(url)
        runs = [self.run("gui", copy)]
        self.record("gui", "gui", db, runs, note="the main window offscreen, scrolled to the end every 30 ms")
        self.drop(db, copy)


def _subset_note(limits: dict[str, int]) -> str:
    if not limits:
        return ""
    return f"measured on {limits['max_shows']} shows + {limits['max_movies']} movies, extrapolated linearly"


def _fmt_s(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 100 else f"{value:,.0f}"


def _cpu(r: dict[str, Any]) -> str:
    """The row's CPU seconds, ours / the simulator's (absent where not measured)."""
    if r.get("cpu_s") is None:
        return ""
    ours = _fmt_s(r["cpu_s"])
    return ours if r.get("sim_cpu_s") is None else f"{ours} / {_fmt_s(r['sim_cpu_s'])}"


def _fmt_n(value: float | None) -> str:
    return "—" if value is None else f"{round(value):,}"


@contextmanager
def _bench(config: Config) -> Iterator[Bench]:
    bench = Bench(config)
    try:
        yield bench
    finally:
        bench.close()


class DirtyTreeError(SystemExit):
    """The published figures would not belong to any commit."""


def _publishes(config: Config) -> bool:
    """Whether the run writes the published files (docs/, the README)."""
    docs = ROOT / "docs"
    targets = [p for p in (config.output, config.json_output) if p is not None]
    return config.readme is not None or any(docs in p.resolve().parents for p in targets)


def run_benchmark(config: Config) -> dict[str, Any]:
    """Run the configured scenarios; return everything measured as plain data (also written out).

    Refuses (`DirtyTreeError`) to write the published figures from code that is not committed:
    the JSON names the commit it measured, so that commit must be what ran. `allow_dirty` measures
    anyway and marks every output `dirty`.
    """
    source = source_state()
    if source["dirty"]:
        paths = ", ".join(str(p) for p in source["dirty_paths"][:8])  # type: ignore[index]
        if _publishes(config) and not config.allow_dirty:
            raise DirtyTreeError(
                f"refusing to publish figures of uncommitted code (differs from {source['commit']}: "
                f"{paths}); commit it, or pass --allow-dirty to measure anyway (marked dirty)"
            )
        config.log(f"WARNING: the measured code differs from commit {source['commit']} ({paths}): DIRTY")
    started = time.time()
    with _bench(config) as bench:
        counts = bench.library_counts()
        bench.log(
            f"simulator: {counts['shows']:,} shows, {counts['seasons']:,} seasons, {counts['episodes']:,} "
            f"episodes, {counts['movies']:,} movies; built and serving in {bench.sim_start_s:.1f} s"
        )
        primary, *others = list(config.dbs)
        bench.primary(primary)
        if "databases" in config.only:
            for db in others:
                bench.secondary(db)
        data = {
            "generated_at": time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(started)),
            "wall_s": round(time.time() - started, 1),
            "command": "python -m bench " + " ".join(sys.argv[1:]) if sys.argv else "",
            "config": {
                "size": config.size,
                "dbs": list(config.dbs),
                "only": list(config.only),
                "repeat": config.repeat,
                "repeat_slow": config.slow_reps,
                "latency_ms": config.latency_ms,
                "in_process": config.in_process,
            },
            "library": counts,
            "size": asdict(bench.size),
            "machine": machine_facts({db: ADMIN_URLS[db] for db in config.dbs if db in ADMIN_URLS}),
            "source": source,
            "dirty": bool(source["dirty"]),
            "mutations": bench.mutations,
            "results": [m.summary() | {"raw": m.runs} for m in bench.measurements],
        }
    data["targets"] = evaluate_targets(data)
    if config.json_output:
        config.json_output.parent.mkdir(parents=True, exist_ok=True)
        config.json_output.write_text(json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8")
        config.json_output.with_suffix(".partial.json").unlink(missing_ok=True)
    if config.output:
        write_markdown(config.output, render_markdown(data))
    if config.readme:
        from bench.readme import update_readme

        update_readme(config.readme, data)
    return data


# --- targets -----------------------------------------------------------------------------------------


def _find(data: dict[str, Any], scenario: str, tool: str, db: str, latency: float) -> dict[str, Any] | None:
    for r in data["results"]:
        if (r["scenario"], r["tool"], r["db"], r["latency_ms"]) == (scenario, tool, db, latency):
            return dict(r)
    return None


def evaluate_targets(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, met or missed, from the primary backend's results."""
    db = data["config"]["dbs"][0]
    lat = float(data["config"]["latency_ms"])
    lib = data["library"]
    out: list[dict[str, Any]] = []

    def add(name: str, ok: bool | None, detail: str) -> None:
        out.append({"target": name, "met": ok, "detail": detail})

    full, floor = _find(data, "full", "ours", db, 0.0), _find(data, "full", "floor", db, 0.0)
    if full and floor and full["median_s"] and floor["median_s"]:
        ratio = full["median_s"] / floor["median_s"]
        add("full sync < 30 s", full["median_s"] < 30, f"{full['median_s']:.1f} s")
        add(
            "full sync within 2x of the fetch+decode floor",
            ratio <= 2,
            f"{ratio:.1f}x ({full['median_s']:.1f} s vs floor {floor['median_s']:.1f} s)",
        )
    pages = math.ceil(lib["shows"] / 200) + math.ceil(lib["movies"] / 200)
    nochange = _find(data, "nochange", "ours", db, 0.0)
    if nochange and nochange["median_s"] is not None:
        add("no-change incremental < 2 s", nochange["median_s"] < 2, f"{nochange['median_s']:.2f} s")
        add(
            f"no-change incremental <= show pages + movie pages + 2 = {pages + 2} requests",
            nochange["requests"] <= pages + 2,
            f"{nochange['requests']:.0f} requests",
        )
    nogate = _find(data, "nochange", "ours-nogate", db, 0.0)
    if nogate and nogate["median_s"] is not None:
        add(
            "no-change without the gate < 2 s (informational)",
            nogate["median_s"] < 2,
            f"{nogate['median_s']:.2f} s, {nogate['requests']:.0f} requests",
        )
    for scenario in ("full", "nochange", "changed"):
        ours, seed = _find(data, scenario, "ours", db, lat), _find(data, scenario, "seed", db, lat)
        api = _find(data, scenario, "plexapi", db, lat)
        if ours and seed and ours["requests"] and ours["median_s"]:
            rq = seed["requests"] / ours["requests"]
            tm = seed["median_s"] / ours["median_s"]
            add(f"{lat:.0f} ms, {scenario}: >= 50x fewer requests than the seed", rq >= 50, f"{rq:,.0f}x")
            add(f"{lat:.0f} ms, {scenario}: >= 20x less time than the seed", tm >= 20, f"{tm:,.0f}x")
        if ours and api and ours["median_s"] and api["median_s"]:
            add(
                f"{lat:.0f} ms, {scenario}: faster than python-plexapi",
                ours["median_s"] < api["median_s"],
                f"{api['median_s'] / ours['median_s']:.1f}x faster",
            )
    for db_name in data["config"]["dbs"]:
        quiet = _find(data, "nochange", "ours", db_name, 0.0)
        if quiet and quiet["requests"] is not None:
            add(
                f"{db_name}: no-change run writes 0 item rows with 1 request per server",
                quiet["rows_written"] == 0 and quiet["requests"] == 1,
                f"{quiet['rows_written']:.0f} rows, {quiet['requests']:.0f} requests",
            )
        for tool in ("ours-nogate", "ours-verify"):
            listed = _find(data, "nochange", tool, db_name, 0.0)
            if listed and listed["rows_written"] is not None:
                add(
                    f"{db_name}: a listing where nothing changed ({_TOOLS[tool]}) writes 0 item rows",
                    listed["rows_written"] == 0,
                    f"{listed['rows_written']:.0f} rows, {listed['requests']:.0f} requests",
                )
        first = _find(data, "full", "ours", db_name, 0.0)
        if first and first.get("raw"):
            items_written = first["raw"][0]["rows"].get("media_items", 0)
            add(
                f"{db_name}: a first sync writes each item row once",
                items_written == lib["episodes"] + lib["movies"],
                f"{items_written:,} item rows for {lib['episodes'] + lib['movies']:,} items",
            )
    out += _write_side_targets(data, db, lat)
    changed = _find(data, "changed", "ours", db, 0.0)
    if changed and data["mutations"]:
        mu = data["mutations"][0]
        n = mu["edited"] + mu["added"] + mu["removed"]
        add(
            "1 % changed: rows written <= 3x the items added, changed or removed",
            changed["rows_written"] <= 3 * n,
            f"{changed['rows_written']:,.0f} rows for {n:,} changes",
        )
    peaks = [
        (r["rss_peak_mb"], r["scenario"], r["db"], r["latency_ms"])
        for r in data["results"]
        if r["tool"] == "ours" and r["rss_peak_mb"]
    ]
    if peaks and not data["config"]["in_process"]:
        worst = max(peaks)
        add(
            "peak RSS < 200 MB (our engine, every scenario)",
            worst[0] < 200,
            f"{worst[0]:.0f} MB at worst ({worst[1]}, {worst[2]}, {worst[3]:.0f} ms)",
        )
    return out


def _ratio_target(
    name: str, ours: dict[str, Any] | None, base: dict[str, Any] | None, limit: float, base_name: str
) -> dict[str, Any] | None:
    """`ours` within `limit` times `base` (medians), or None when either was not measured."""
    if not (ours and base and ours["median_s"] and base["median_s"]):
        return None
    ratio = ours["median_s"] / base["median_s"]
    detail = f"{ratio:.2f}x ({ours['median_s']:.2f} s vs {base_name} {base['median_s']:.2f} s)"
    return {"target": name, "met": ratio <= limit, "detail": detail}


def _write_side_targets(data: dict[str, Any], db: str, lat: float) -> list[dict[str, Any]]:
    """The performance issue's targets: quiet runs, listings and first syncs against the floor and
    across backends, and the window's limits at 100,000 rows."""
    out: list[dict[str, Any]] = []
    floor = _find(data, "full", "floor", db, 0.0)
    first = _find(data, "full", "ours", db, 0.0)
    maybe = [_ratio_target(f"{db}: first full sync <= 3x the fetch+decode floor", first, floor, 3.0, "floor")]
    for db_name in data["config"]["dbs"]:
        quiet = _find(data, "nochange", "ours", db_name, 0.0)
        if quiet and quiet["median_s"] is not None:
            out.append(
                {
                    "target": f"{db_name}: no-change run < 0.3 s",
                    "met": quiet["median_s"] < 0.3,
                    "detail": f"{quiet['median_s']:.3f} s",
                }
            )
        nogate = _find(data, "nochange", "ours-nogate", db_name, 0.0)
        beside = _find(data, "nochange", "floor", db_name, 0.0) or floor  # older runs: the first floor
        maybe.append(
            _ratio_target(f"{db_name}: gate-off listing <= 1.5x the floor", nogate, beside, 1.5, "floor")
        )
        if db_name != db:
            other = _find(data, "full", "ours", db_name, 0.0)
            base = _find(data, "full", "beside", db_name, 0.0) or first  # older runs: the first one
            maybe.append(_ratio_target(f"{db_name}: first full sync <= 1.5x {db}'s", other, base, 1.5, db))
    slow_first, slow_floor = _find(data, "full", "ours", db, lat), _find(data, "full", "floor", db, lat)
    maybe.append(
        _ratio_target(
            f"{lat:.0f} ms a request: first full sync <= 1.5x the floor at that latency",
            slow_first,
            slow_floor,
            1.5,
            "floor",
        )
    )
    out += [t for t in maybe if t is not None]
    gui = _find(data, "gui", "gui", db, 0.0)
    if gui and gui.get("raw") and not data["config"]["in_process"]:
        g = gui["raw"][0]
        out.append(
            {
                "target": f"GUI, {g['rows_loaded']:,} rows: longest stall < 150 ms, window < 200 MB",
                "met": g["max_stall_ms"] < 150 and (gui["rss_peak_mb"] or 0) < 200,
                "detail": f"{g['max_stall_ms']} ms, {gui['rss_peak_mb']:.0f} MB",
            }
        )
    return out


# --- output ------------------------------------------------------------------------------------------

_TITLES = {
    "full": "1. First full sync into an empty catalog",
    "nochange": "2. Incremental sync, nothing changed",
    "changed": "3. Incremental sync after 1 % of episodes changed, 0.5 % added, 0.5 % removed",
    "mapping": "5. Path-mapping change: re-evaluate every item's state",
    "gui": "6. GUI: open the library and scroll to its end",
    "recheck": "8. Local-state re-check: a mapping root replaced, then a gated run",
}
_TOOLS = {
    "ours": "Retrovue (ours)",
    "ours-nogate": "Retrovue, gate off",
    "ours-verify": "Retrovue, verification listing",
    "seed": "seed design",
    "plexapi": "python-plexapi",
    "floor": "fetch+decode floor",
    "beside": "Retrovue, first backend",
    "reeval": "reevaluate_states",
    "gui": "main window",
}


def _match(
    scenario: str | tuple[str, ...], db: str, latency: float | None
) -> Callable[[dict[str, Any]], bool]:
    scenarios = (scenario,) if isinstance(scenario, str) else scenario

    def pred(r: dict[str, Any]) -> bool:
        return (
            r["scenario"] in scenarios
            and r["db"] == db
            and (latency is None or float(r["latency_ms"]) == latency)
        )

    return pred


def _source_text(data: dict[str, Any]) -> str:
    """Which code was measured: the last commit of src/ and bench/ (and HEAD when it differs)."""
    source = data.get("source")
    if not source:  # a run from before the harness recorded it
        return f"commit {data['machine'].get('git', 'unknown')}"
    text = f"code of commit {source['code_commit']}"
    if source["commit"] != source["code_commit"]:
        text += f" (HEAD {source['commit']})"
    return text + (" **with uncommitted changes**" if source["dirty"] else "")


def _dirty_banner(data: dict[str, Any]) -> list[str]:
    source = data.get("source") or {}
    if not source.get("dirty"):
        return []
    paths = ", ".join(f"`{p}`" for p in source.get("dirty_paths", [])[:8])
    return [
        f"**DIRTY: these figures were measured on uncommitted code ({paths}); they belong to no "
        "commit and must not be published.**",
        "",
    ]


def render_markdown(data: dict[str, Any]) -> str:
    m = data["machine"]
    pk = m["packages"]
    lib = data["library"]
    cfg = data["config"]
    lines = [
        BEGIN,
        *_dirty_banner(data),
        f"_Generated {data['generated_at']} by `{data['command'].strip()}` in {data['wall_s'] / 60:.1f} min "
        f"(size `{cfg['size']}`, {cfg['repeat']} runs per scenario, {cfg['repeat_slow']} for the "
        f"baselines)._",
        "",
        f"**Machine:** {m['cpus_usable']} usable cores ({m['cpu_model']}), {m['memory_gib']} GiB RAM, "
        f"{m['os']}; Python {m['python']}, SQLite {m['sqlite']}, SQLAlchemy {pk['sqlalchemy']}, "
        f"httpx {pk['httpx']}, msgspec {pk['msgspec']}, uvicorn {pk['uvicorn']}, plexapi {pk['plexapi']}, "
        f"psycopg {pk['psycopg']}, PyMySQL {pk['PyMySQL']}, PySide6 {pk['PySide6-Essentials']}"
        + "".join(f", {k.removesuffix('_server')} {v}" for k, v in m.items() if k.endswith("_server"))
        + f"; {_source_text(data)}.",
        "",
        f"**Library:** {lib['shows']:,} shows, {lib['seasons']:,} seasons, {lib['episodes']:,} episodes, "
        f"{lib['movies']:,} movies (simulator, real HTTP on 127.0.0.1, JSON; plexapi gets XML).",
        "",
        "Columns: wall time of the operation in its own process (median, min, max of the runs); requests "
        "from the simulator's log; rows written into the item tables (media_items, media_parts, shows, "
        "seasons; INSERT/UPDATE/DELETE rowcounts); CPU seconds (median) of the operation's process, "
        "every thread, and of the simulator serving it (a separate process: 2 cores share both); "
        "peak RSS of that process (VmHWM, includes the interpreter and imports, ~55 MB). "
        "*Extrapolated* rows were measured on a subset and scaled linearly.",
    ]
    results = data["results"]
    groups: list[tuple[str, Callable[[dict[str, Any]], bool]]] = []
    primary = cfg["dbs"][0]
    lat = float(cfg["latency_ms"])
    for key in ("full", "nochange", "changed"):
        groups.append(
            (
                f"{_TITLES[key]} — {primary}, no added latency",
                _match(key, primary, 0.0),
            )
        )
    for key in ("full", "nochange", "changed"):
        groups.append(
            (
                f"4. {_TITLES[key][3:]} — {primary}, {lat:.0f} ms a request",
                _match(key, primary, lat),
            )
        )
    groups.append((f"{_TITLES['recheck']} — {primary}", _match("recheck", primary, 0.0)))
    for db in cfg["dbs"][1:]:
        groups.append(
            (
                f"7. Scenarios 1–2 on {db}",
                _match(("full", "nochange"), db, None),
            )
        )
    for title, pred in groups:
        rows = [r for r in results if pred(r)]
        if not rows:
            continue
        lines += [
            "",
            f"### {title}",
            "",
            "| tool | scenario | runs | median s | min s | max s | requests | rows written "
            "| CPU s ours / simulator | peak RSS MB | notes |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for r in rows:
            note = r["note"]
            verdicts = sum(int(run.get("rows", {}).get("local_verdicts", 0)) for run in r.get("raw", []))
            if verdicts:
                note += f" (+ {verdicts // max(1, len(r['raw'])):,} local verdicts a run)"
            if r["extrapolated_x"]:
                note = f"**extrapolated ×{r['extrapolated_x']:g}** — {note}"
            lines.append(
                f"| {_TOOLS.get(r['tool'], r['tool'])} | {r['scenario']} | {r['runs']} | "
                f"{_fmt_s(r['median_s'])} | "
                f"{_fmt_s(r['min_s'])} | {_fmt_s(r['max_s'])} | {_fmt_n(r['requests'])} | "
                f"{_fmt_n(r['rows_written'])} | {_cpu(r)} | {_fmt_n(r['rss_peak_mb'])} | {note} |"
            )
    for r in results:
        if r["scenario"] == "mapping":
            s = r["raw"][0]["summary"]
            lines += [
                "",
                f"### {_TITLES['mapping']}",
                "",
                "| step | seconds | items | state changes |",
                "|---|---:|---:|---|",
                "| add a mapping, re-evaluate (every part resolved and stat'ed) | "
                f"{s['add_mapping_s']:.2f} | "
                f"{s['examined']:,} | {s['to_active']:,} → ACTIVE, {s['to_remote_only']:,} → REMOTE_ONLY |",
                f"| again, nothing to change | {s['again_s']:.2f} | {s['examined']:,} | "
                f"{s['again_changed']:,} |",
                f"| remove it, re-evaluate | {s['remove_mapping_s']:.2f} | {s['examined']:,} | "
                f"{s['removed_to_active']:,} → ACTIVE, {s['removed_to_remote_only']:,} → REMOTE_ONLY |",
                "",
                f"Peak RSS {_fmt_n(r['rss_peak_mb'])} MB, rows written {_fmt_n(r['rows_written'])}.",
            ]
        if r["scenario"] == "gui":
            g = r["raw"][0]
            lines += [
                "",
                f"### {_TITLES['gui']}",
                "",
                "| rows loaded | batches | open s | to the end s | longest event-loop stall ms "
                "| p99 tick gap ms | peak RSS MB |",
                "|---:|---:|---:|---:|---:|---:|---:|",
                f"| {g['rows_loaded']:,} of {g['total']:,} | {g['batches']} | {_fmt_s(g['open_s'])} | "
                f"{_fmt_s(g['seconds'])} | {g['max_stall_ms']} | {g['p99_gap_ms']} | "
                f"{_fmt_n(g['rss_peak_mb'])} |",
            ]
    if data["mutations"]:
        mu = data["mutations"][0]
        lines += [
            "",
            f"Scenario 3 changes per run: {mu['edited']:,} episodes edited, {mu['added']:,} added, "
            f"{mu['removed']:,} removed (of {mu['episodes_before']:,}).",
        ]
    if data["targets"]:
        lines += ["", "### Targets", "", "| target | met | measured |", "|---|---|---|"]
        for t in data["targets"]:
            mark = "yes" if t["met"] else "**no**"
            lines.append(f"| {t['target']} | {mark} | {t['detail']} |")
    lines.append(END)
    return "\n".join(lines) + "\n"


def write_markdown(path: Path, block: str) -> None:
    """Replace the generated block of `path` (keeping the hand-written text around it), or create it."""
    if path.exists():
        text = path.read_text(encoding="utf-8")
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            _, tail = rest.split(END, 1)
            path.write_text(head + block.rstrip("\n") + tail, encoding="utf-8")
            return
        path.write_text(text.rstrip("\n") + "\n\n" + block, encoding="utf-8")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Benchmarks\n\n" + block, encoding="utf-8")


# --- command line ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument(
        "--db",
        nargs="+",
        choices=("sqlite", "postgresql", "mariadb"),
        default=["sqlite"],
        help="backends; the first runs scenarios 1-6, the others 1-2 (scenario 7)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="SCENARIO",
        default=list(SCENARIOS),
        help=f"scenarios by number or name: {', '.join(f'{i + 1}={s}' for i, s in enumerate(SCENARIOS))}",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario (default 3)")
    parser.add_argument(
        "--repeat-slow",
        type=int,
        default=None,
        help="runs of the baselines (default 1 for large)",
    )
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--no-baselines", action="store_true", help="skip the seed and plexapi ingests")
    parser.add_argument("--in-process", action="store_true", help="no child processes (RSS meaningless)")
    parser.add_argument(
        "--output", type=Path, default=None, help="markdown file (default docs/benchmarks.md)"
    )
    parser.add_argument("--json", type=Path, default=None, help="JSON file (default docs/benchmarks.json)")
    parser.add_argument("--no-write", action="store_true", help="print only, write no files")
    parser.add_argument(
        "--allow-dirty",
        action="store_true",
        help="measure uncommitted code anyway (every output is marked dirty)",
    )
    parser.add_argument(
        "--readme-only",
        action="store_true",
        help="run nothing: regenerate README.md's figure block from docs/benchmarks.json",
    )
    args = parser.parse_args(argv)
    only = []
    for item in args.only:
        name = ALIASES.get(item, item)
        if name not in SCENARIOS:
            parser.error(
                f"unknown scenario {item!r}; choose from {', '.join(SCENARIOS)} or 1-{len(SCENARIOS)}"
            )
        only.append(name)
    if len(args.db) > 1 and "databases" not in only:
        only.append("databases")
    return Config(
        size=args.size,
        dbs=tuple(args.db),
        only=tuple(only),
        repeat=max(1, args.repeat),
        repeat_slow=args.repeat_slow,
        latency_ms=args.latency_ms,
        in_process=args.in_process,
        baselines=not args.no_baselines,
        output=None if args.no_write else (args.output or ROOT / "docs" / "benchmarks.md"),
        json_output=None if args.no_write else (args.json or ROOT / "docs" / "benchmarks.json"),
        allow_dirty=args.allow_dirty,
        readme=None if args.no_write or args.output or args.json else ROOT / "README.md",
        readme_only=args.readme_only,
    )


def main(argv: Sequence[str] | None = None) -> None:
    config = parse_args(argv)
    if config.readme_only:
        from bench.readme import update_readme

        data = json.loads((ROOT / "docs" / "benchmarks.json").read_text(encoding="utf-8"))
        update_readme(ROOT / "README.md", data)
        return
    data = run_benchmark(config)
    print()
    print(render_markdown(data))
