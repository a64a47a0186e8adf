"""Benchmark: reading the catalog through the read API — `Catalog.playable` and `retrovue items`.

Run with `.venv/bin/python -m bench.catalog_read [--items N] [--db URL]`. It builds a catalog (SQLite
in a temporary folder unless `--db` names an empty database) with N single-part movies whose Plex
paths live under `/data/media/Movies`, creates every file (empty) under a local folder and maps
`/data/media` to it. Then, each in a fresh child process so time and peak RSS are its own:

- `playable`: `Catalog.playable()` streamed to the end, every file resolved and stat'ed;
- `items json` / `items table`: the `retrovue items` command, its output piped away, with the time
  to its first row and to its end.

The output is markdown table rows for docs/catalog.md (targets: 100,000 playable items with their
local paths in under 5 s on SQLite, under 200 MB).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from bench.mapping_reeval import build_catalog

__all__ = ["main", "measure_cli", "measure_playable"]


def measure_playable(url: str) -> dict[str, Any]:
    """Stream `Catalog.playable()` to the end (in this process: call it in a child for RSS)."""
    from bench.measure import peak_rss_mb, rss_mb
    from retrovue.catalog import Catalog
    from retrovue.store.db import open_catalog

    engine = open_catalog(url)
    base = rss_mb()
    try:
        t0 = time.perf_counter()
        count = files = 0
        for play in Catalog(engine).playable():
            count += 1
            files += len(play.files)
        seconds = time.perf_counter() - t0
    finally:
        engine.dispose()
    return {
        "seconds": seconds,
        "items": count,
        "files": files,
        "rss_base_mb": base,
        "rss_peak_mb": peak_rss_mb(),
    }


def _in_child(url: str) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        result: dict[str, Any] = pool.submit(measure_playable, url).result()
    return result


def measure_cli(url: str, fmt: str) -> dict[str, Any]:
    """Run `retrovue items --format FMT`; time to the first row, to the end, and the peak RSS."""
    import psutil

    argv = [sys.executable, "-m", "retrovue.cli", "--db-url", url, "items", "--format", fmt]
    t0 = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert child.stdout is not None
    peak = [0.0]
    proc = psutil.Process(child.pid)

    def watch() -> None:
        while child.poll() is None:
            try:
                peak[0] = max(peak[0], proc.memory_info().rss / 2**20)
            except psutil.Error:
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    first: float | None = None
    lines = 0
    with child.stdout:
        for _line in child.stdout:
            lines += 1
            if first is None and lines > 3:  # past the header (table) or the opening bracket (json)
                first = time.perf_counter() - t0
    child.wait()
    seconds = time.perf_counter() - t0
    watcher.join()
    return {
        "seconds": seconds,
        "first_row_s": first,
        "lines": lines,
        "rss_peak_mb": peak[0],
        "code": child.returncode,
    }


def build(url: str, root: Path, n_items: int) -> None:
    """The catalog of `mapping_reeval` with every file present, mapped to `root/media`."""
    from retrovue import mapping
    from retrovue.store.db import open_catalog

    engine = open_catalog(url)
    try:
        build_catalog(engine, root, n_items, every=1)
        mapping.add_mapping(engine, "bench", "/data/media", str(root / "media"), reevaluate=False)
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--db", help="an empty database URL (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="retrovue-bench-read-") as tmp:
        root = Path(tmp)
        url = args.db or f"sqlite:///{root / 'catalog.sqlite'}"
        t0 = time.perf_counter()
        build(url, root, args.items)
        built = time.perf_counter() - t0
        playable = _in_child(url)
        json_run = measure_cli(url, "json")
        table_run = measure_cli(url, "table")
    backend = url.split(":")[0]
    print(
        f"<!-- catalog of {args.items:,} items built in {built:.1f} s; {backend}, {os.cpu_count()} CPUs -->"
    )
    print("| Read | Time | First row | Peak RSS |")
    print("|---|---|---|---|")
    print(
        f"| `Catalog.playable()`: {playable['items']:,} items, every file resolved and stat'ed | "
        f"{playable['seconds']:.2f} s | — | {playable['rss_peak_mb']:.0f} MB |"
    )
    for label, run in (("`retrovue items --format json`", json_run), ("`retrovue items` (table)", table_run)):
        first = run["first_row_s"] or 0.0
        print(
            f"| {label}: {args.items:,} rows | {run['seconds']:.2f} s | {first:.2f} s "
            f"| {run['rss_peak_mb']:.0f} MB |"
        )


if __name__ == "__main__":
    main()
