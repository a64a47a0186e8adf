"""Benchmark: re-deciding ACTIVE / REMOTE_ONLY for 100,000 items after a path-mapping change.

Run with `.venv/bin/python -m bench.mapping_reeval [--items N]`. It builds a SQLite catalog in a
temporary folder with N single-part movies whose Plex paths live under `/data/media/Movies`, and
creates half of their files (empty) under a local folder. The catalog starts as a sync without
mappings would leave it (everything REMOTE_ONLY); then a mapping `/data/media -> <tmp>/media` is
stored and `reevaluate_states` is timed: every part is resolved and stat'ed, and half the items move
to ACTIVE. A second run (nothing changes) and the removal of the mapping (no file checks needed,
everything moves back) are timed too. The output is markdown table rows for docs/paths.md.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine

from retrovue import mapping
from retrovue.states import ItemState
from retrovue.store import schema as t
from retrovue.store.db import open_catalog

PER_DIR = 1_000
PAGE = 10_000


def build_catalog(engine: Engine, root: Path, n_items: int, *, every: int = 2) -> None:
    """Write a server, a library and `n_items` movies with one part each, in bulk statements; one
    item in `every` has its file under `root/media/Movies` (the first, and each `every`-th after)."""
    now = int(time.time())
    with engine.begin() as conn:
        conn.execute(
            t.servers.insert().values(
                id=1,
                name="bench",
                base_url="http://127.0.0.1:32400",
                token="x" * 20,
                verify_tls=True,
                check_local_files=True,
                created_at=now,
                updated_at=now,
            )
        )
        conn.execute(
            t.libraries.insert().values(
                id=1,
                server_id=1,
                section_key="1",
                title="Movies",
                kind="movie",
                locations='["/data/media/Movies"]',
                enabled=True,
                retention_days=30,
                missing_threshold_pct=50,
                created_at=now,
                updated_at=now,
            )
        )
    for start in range(0, n_items, PAGE):
        ids = range(start + 1, min(start + PAGE, n_items) + 1)
        items = [
            {
                "id": i,
                "server_id": 1,
                "library_id": 1,
                "rating_key": str(i),
                "kind": "movie",
                "title": f"Movie {i}",
                "part_count": 1,
                "first_seen_at": now,
                "last_seen_at": now,
                "state": ItemState.REMOTE_ONLY.value,
                "error_count": 0,
            }
            for i in ids
        ]
        parts = [{"item_id": i, "media_index": 0, "part_index": 0, "file": plex_path(i)} for i in ids]
        with engine.begin() as conn:
            conn.execute(t.media_items.insert(), items)
            conn.execute(t.media_parts.insert(), parts)
    local = root / "media" / "Movies"
    for i in range(1, n_items + 1, every):  # with every=2: odd ids exist on disk, even ids do not
        folder = local / f"d{i // PER_DIR:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"movie{i:07d}.mkv").touch()


def plex_path(i: int) -> str:
    return f"/data/media/Movies/d{i // PER_DIR:04d}/movie{i:07d}.mkv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="retrovue-bench-") as tmp:
        root = Path(tmp)
        engine = open_catalog(f"sqlite:///{root / 'catalog.sqlite'}")
        t0 = time.perf_counter()
        build_catalog(engine, root, args.items)
        build = time.perf_counter() - t0
        mapping.add_mapping(engine, "bench", "/data/media", str(root / "media"), reevaluate=False)
        rows = []
        for label, action in (
            ("after adding a mapping (every file stat'ed)", lambda: None),
            ("again, nothing to change", lambda: None),
            (
                "after removing it (nothing resolves, no stat)",
                lambda: mapping.remove_mapping(engine, "bench", "/data/media", reevaluate=False),
            ),
        ):
            action()
            t0 = time.perf_counter()
            (result,) = mapping.reevaluate_states(engine, "bench")
            seconds = time.perf_counter() - t0
            moved = ", ".join(
                f"{n:,} → {state}"
                for n, state in ((result.to_active, "ACTIVE"), (result.to_remote_only, "REMOTE_ONLY"))
                if n
            )
            rows.append(f"| {result.examined:,} items, {label} | {seconds:.2f} s | {moved or 'none'} |")
        engine.dispose()
    print(f"<!-- catalog built in {build:.1f} s; SQLite, {os.cpu_count()} CPUs, files on local disk -->")
    print("| `reevaluate_states` run | Time | State changes |")
    print("|---|---|---|")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
