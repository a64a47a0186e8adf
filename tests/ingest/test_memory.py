"""Memory is bounded by the page size, not the library size.

The simulator runs in its own process (`retrovue sim`), so what is traced here is the engine alone:
client, decoding, digests and catalog writes.
"""

from __future__ import annotations

import gc
import socket
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from retrovue import servers
from retrovue.ingest import sync
from retrovue.store.db import open_catalog

TOKEN = "memory-test-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _sim_process(shows: int) -> Iterator[str]:
    port = _free_port()
    argv = [
        sys.executable,
        "-m",
        "retrovue.cli",
        "sim",
        "--port",
        str(port),
        "--token",
        TOKEN,
        "--seed",
        "3",
        "--shows",
        str(shows),
        "--movies",
        "1",
        "--seasons-per-show",
        "4",
        "--episodes-per-season",
        "10",
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/identity", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, "the simulator process exited"
            assert time.monotonic() < deadline, "the simulator did not start"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _peak_sync_bytes(tmp_path: Path, shows: int) -> tuple[int, int]:
    with _sim_process(shows) as url:
        engine = open_catalog(f"sqlite:///{tmp_path / f'mem{shows}.sqlite'}")
        try:
            servers.add_server(engine, "home", url, TOKEN)
            sync(engine, library="TV Shows", page_size=50, resolve_local=False)  # warm caches and code paths
            gc.collect()
            tracemalloc.start()
            try:
                (summary,) = sync(
                    engine, library="TV Shows", page_size=50, use_gate=False, resolve_local=False
                )
                _current, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        finally:
            engine.dispose()
    return summary.processed, peak


def test_peak_memory_does_not_grow_with_the_library(tmp_path: Path) -> None:
    small_items, small_peak = _peak_sync_bytes(tmp_path, shows=40)
    large_items, large_peak = _peak_sync_bytes(tmp_path, shows=640)
    assert large_items >= 16 * small_items - 1000
    # 16x the episodes, same page size of 50. What a run keeps per item is bookkeeping: a bit per
    # seen id, a 64-bit hash per listed key (`ListingCheck`) and the keys of shows and seasons,
    # about 40-75 bytes an item. Keeping each item's stored snapshot (id, digest, state: about
    # 250 bytes), let alone its record, would pass 120. What a run keeps per page does not grow,
    # but how full the listing's read-ahead (six pages) is at the peak depends on timing: the small
    # run's peak varied from 0.92 to 1.29 MB for the same code, which at 8x the episodes failed
    # half the runs (125-158 bytes an item); over 16x the episodes it weighs half as much.
    per_item = (large_peak - small_peak) / (large_items - small_items)
    assert per_item < 120, (small_peak, large_peak, per_item)
