"""One measured operation, run in a fresh child process so its peak RSS is its own.

`run_job(job)` is the child's entry point (a `spawn` process per job, see `run_in_child`): it opens the
catalog, attaches a `RowCounter`, times the operation alone (imports and engine set-up excluded),
and returns plain data: seconds, rows written per item table, requests the client counted, peak RSS.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Job", "run_in_child", "run_job"]


@dataclass(frozen=True)
class Job:
    kind: str  # sync | seed | plexapi | floor | reeval | gui | recheck_setup
    db_url: str
    sim_url: str
    token: str
    server: str = "bench"
    options: dict[str, Any] = field(default_factory=dict)


def run_in_child(job: Job, timeout: float | None = None) -> dict[str, Any]:
    """Run `job` in a new spawned process and return its result (exceptions are re-raised here)."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        result: dict[str, Any] = pool.submit(run_job, job).result(timeout=timeout)
    return result


def run_job(job: Job) -> dict[str, Any]:
    from bench.measure import peak_rss_mb, rss_mb

    if job.kind == "gui":
        from bench.gui_scroll import measure_scroll

        return measure_scroll(job.db_url, **job.options)
    base = rss_mb()
    out = _floor(job) if job.kind == "floor" else _with_catalog(job)
    out["rss_base_mb"] = round(base, 1)
    out["rss_peak_mb"] = round(peak_rss_mb(), 1)
    out["pid"] = os.getpid()
    return out


def _floor(job: Job) -> dict[str, Any]:
    """Fetch and decode every listing page of every section; nothing is written anywhere."""
    from retrovue.plex import PlexClient

    counts = {"shows": 0, "episodes": 0, "movies": 0, "pages": 0}
    with PlexClient(job.sim_url, job.token, page_size=int(job.options.get("page_size", 200))) as client:
        t0, cpu0 = time.perf_counter(), time.process_time()
        for section in client.sections():
            listings: list[tuple[str, Any]]
            if section.type == "show":
                listings = [
                    ("shows", client.iter_shows(section.key)),
                    ("episodes", client.iter_episodes(section.key)),
                ]
            elif section.type == "movie":
                listings = [("movies", client.iter_movies(section.key))]
            else:
                continue
            for name, pages in listings:
                for page in pages:
                    counts[name] += page.count
                    counts["pages"] += 1
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        requests = client.request_count
    return {
        "seconds": seconds,
        "cpu_s": cpu,
        "client_requests": requests,
        "rows": {},
        "rows_total": 0,
        "counts": counts,
    }


def _with_catalog(job: Job) -> dict[str, Any]:
    from bench.measure import RowCounter
    from retrovue.store import registry
    from retrovue.store.db import open_catalog

    _import_ahead(job.kind)
    engine = open_catalog(job.db_url)
    counter = RowCounter(engine)
    try:
        with engine.connect() as conn:
            libraries = registry.list_libraries(conn, server=job.server, enabled_only=True)
        t0, cpu0 = time.perf_counter(), time.process_time()
        out = _operation(job, engine, libraries)
        out["seconds"] = time.perf_counter() - t0
        out["cpu_s"] = time.process_time() - cpu0  # every thread of this process
    finally:
        counter.close()
        engine.dispose()
    out["rows"] = dict(counter.rows)
    out["rows_total"] = counter.total
    out["write_statements"] = counter.statements
    return out


def _import_ahead(kind: str) -> None:
    """Import what the operation would import on first use (the engine; httpcore, which httpx
    loads when its first client is made), so the timing covers the work and not the imports."""
    import httpcore  # noqa: F401

    if kind in ("sync", "recheck_setup"):
        import retrovue.ingest
    if kind in ("reeval", "recheck_setup"):
        import retrovue.mapping  # noqa: F401


def _operation(job: Job, engine: Any, libraries: list[Any]) -> dict[str, Any]:
    opts = job.options
    if job.kind == "sync":
        from retrovue.ingest import sync

        summaries = sync(
            engine,
            server=job.server,
            deep=bool(opts.get("deep", False)),
            use_gate=bool(opts.get("use_gate", True)),
            page_size=int(opts.get("page_size", 200)),
        )
        return {
            "client_requests": sum(s.requests for s in summaries) + 1,  # + the sections request
            "summary": {
                "status": sorted({s.status for s in summaries}),
                "processed": sum(s.processed for s in summaries),
                "changed": sum(s.changed for s in summaries),
                "skipped": sum(s.skipped for s in summaries),
                "errors": sum(s.errors for s in summaries),
                "missing": sum(s.missing_promoted for s in summaries),
                "gated": all(s.gated for s in summaries),
                "reasons": [s.reason for s in summaries if s.reason],
            },
        }
    if job.kind == "recheck_setup":  # not measured: a mapping whose root the runner then replaces
        from retrovue import mapping
        from retrovue.ingest import sync

        made = _make_half_the_files(engine, str(opts["root"]))
        mapping.add_mapping(engine, job.server, "/data/media", str(opts["root"]), reevaluate=False)
        sync(engine, server=job.server)
        return {"client_requests": None, "summary": {"files_created": made}}
    if job.kind == "seed":
        from bench.baselines.seed import seed_sync_library, summary
        from retrovue.plex import PlexClient

        tallies: list[dict[str, Any]] = []
        with PlexClient(job.sim_url, job.token, page_size=200) as client:
            for lib in libraries:
                limit = opts.get("max_shows") if lib.kind == "show" else opts.get("max_movies")
                seed_tally = seed_sync_library(
                    engine,
                    client,
                    lib,
                    max_shows=limit if lib.kind == "show" else None,
                    max_movies=limit if lib.kind == "movie" else None,
                )
                tallies.append(summary(seed_tally))
            requests = client.request_count
        merged: dict[str, Any] = {}
        for one in tallies:
            for key, value in one.items():
                merged[key] = (
                    (merged.get(key, False) or value) if key == "truncated" else merged.get(key, 0) + value
                )
        return {"client_requests": requests, "summary": merged}
    if job.kind == "plexapi":
        from bench.baselines.plexapi_ingest import plexapi_sync

        api_tally = plexapi_sync(
            engine,
            job.sim_url,
            job.token,
            libraries,
            max_shows=opts.get("max_shows"),
            max_movies=opts.get("max_movies"),
        )
        return {
            "client_requests": None,
            "summary": {
                "processed": api_tally.processed,
                "changed": api_tally.changed,
                "skipped": api_tally.skipped,
                "missing": api_tally.missing,
            },
        }
    if job.kind == "reeval":
        from retrovue import mapping

        results: dict[str, Any] = {}
        with tempfile.TemporaryDirectory(prefix="retrovue-bench-map-") as tmp:
            made = _make_half_the_files(engine, tmp)
            checked = mapping.LocalOptions(check_files=True)
            t0 = time.perf_counter()
            mapping.add_mapping(engine, job.server, "/data/media", tmp, reevaluate=False)
            (first,) = mapping.reevaluate_states(engine, job.server, checked)
            results["add_mapping_s"] = time.perf_counter() - t0
            t1 = time.perf_counter()
            (again,) = mapping.reevaluate_states(engine, job.server, checked)
            results["again_s"] = time.perf_counter() - t1
            t2 = time.perf_counter()
            mapping.remove_mapping(engine, job.server, "/data/media", reevaluate=False)
            (removed,) = mapping.reevaluate_states(engine, job.server, checked)
            results["remove_mapping_s"] = time.perf_counter() - t2
        return {
            "client_requests": 0,
            "summary": {
                "examined": first.examined,
                "files_created": made,
                "to_active": first.to_active,
                "to_remote_only": first.to_remote_only,
                "again_changed": again.to_active + again.to_remote_only,
                "removed_to_active": removed.to_active,
                "removed_to_remote_only": removed.to_remote_only,
                **{k: round(v, 3) for k, v in results.items()},
            },
        }
    raise ValueError(f"unknown job kind {job.kind!r}")


def _make_half_the_files(engine: Any, root: str) -> int:
    """Create (empty) every other part's file under `root`, as the mapping `/data/media -> root` sees it."""
    from pathlib import Path

    import sqlalchemy as sa

    from retrovue.store import schema as t

    with engine.connect() as conn:
        files = [
            f for (f,) in conn.execute(sa.select(t.media_parts.c.file).order_by(t.media_parts.c.id)) if f
        ]
    made = 0
    dirs: set[Path] = set()
    for plex_path in files[::2]:
        if not plex_path.startswith("/data/media/"):
            continue
        path = Path(root) / plex_path.removeprefix("/data/media/")
        if path.parent not in dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            dirs.add(path.parent)
        path.touch()
        made += 1
    return made
