"""Benchmark: start-up time and 200-item page latency of a 100,000-episode simulator.

Run with `.venv/bin/python -m bench.sim_latency [--requests N]`. Starts a simulator with 2,000 shows
x 5 seasons x 10 episodes and 10,000 movies, then times pages of 200 items (shows `type=2`,
episodes `type=4`, movies `type=1`) at random offsets, in JSON and XML, over real HTTP with a
keep-alive client, and prints a markdown table (p50/p95 in milliseconds).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import httpx

from retrovue.sim import Simulator

PAGE = 200


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60, help="pages timed per row (default 60)")
    parser.add_argument("--shows", type=int, default=2000)
    parser.add_argument("--movies", type=int, default=10000)
    args = parser.parse_args()

    t0 = time.perf_counter()
    sim = Simulator(seed=1, shows=args.shows, movies=args.movies, seasons_per_show=5, episodes_per_season=10)
    built = time.perf_counter() - t0
    sim.start()
    started = time.perf_counter() - t0
    counts = sim.sections()
    rng = random.Random(0)
    rows: list[tuple[str, str, int, float, float, float]] = []
    try:
        with httpx.Client(base_url=sim.url, headers={"X-Plex-Token": sim.token}, timeout=60) as client:
            cases = [
                ("shows (type=2)", "/library/sections/1/all", {"type": "2"}, counts[0]["shows"]),
                ("episodes (type=4)", "/library/sections/1/all", {"type": "4"}, counts[0]["episodes"]),
                ("movies (type=1)", "/library/sections/2/all", {"type": "1"}, counts[1]["movies"]),
            ]
            for label, path, params, total in cases:
                for fmt, accept in (("JSON", "application/json"), ("XML", "application/xml")):
                    timings: list[float] = []
                    size = 0
                    for i in range(args.requests + 3):
                        start = rng.randrange(max(1, total - PAGE))
                        headers = {
                            "Accept": accept,
                            "X-Plex-Container-Start": str(start),
                            "X-Plex-Container-Size": str(PAGE),
                        }
                        q = {**params, "includeGuids": "1"}
                        t = time.perf_counter()
                        r = client.get(path, params=q, headers=headers)
                        elapsed = (time.perf_counter() - t) * 1000
                        r.raise_for_status()
                        size = len(r.content)
                        if i >= 3:  # first requests warm the ordering caches
                            timings.append(elapsed)
                    rows.append(
                        (
                            label,
                            fmt,
                            size,
                            statistics.median(timings),
                            _percentile(timings, 95),
                            max(timings),
                        )
                    )
    finally:
        sim.stop()

    tv, films = counts[0], counts[1]
    print(
        f"Library: {tv['shows']} shows, {tv['seasons']} seasons, {tv['episodes']} episodes, "
        f"{films['movies']} movies"
    )
    print(f"Start-up: catalog built in {built:.2f} s, serving after {started:.2f} s\n")
    print(f"| listing (page of {PAGE}) | format | body bytes | p50 ms | p95 ms | max ms |")
    print("|---|---|---:|---:|---:|---:|")
    for label, fmt, size, p50, p95, worst in rows:
        print(f"| {label} | {fmt} | {size:,} | {p50:.1f} | {p95:.1f} | {worst:.1f} |")


if __name__ == "__main__":
    main()
