"""`retrovue watch` in a real subprocess: it syncs, prints summary lines, and exits 0 on SIGINT."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine

from retrovue.sim import Simulator
from tests.conftest import CliResult

from .conftest import register


def _reader(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)


def test_watch_command_syncs_then_stops_cleanly_on_sigint(
    engine: Engine, db_url: str, sim: Simulator
) -> None:
    register(engine, sim)
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    cmd = [sys.executable, "-c", "from retrovue.cli import main; main()", "--db-url", db_url]
    proc = subprocess.Popen(
        [*cmd, "watch", "--debounce", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    out: queue.Queue[str] = queue.Queue()
    err: queue.Queue[str] = queue.Queue()
    threads = [
        threading.Thread(target=_reader, args=(proc.stdout, out), daemon=True),
        threading.Thread(target=_reader, args=(proc.stderr, err), daemon=True),
    ]
    for t in threads:
        t.start()
    seen_out: list[str] = []
    seen_err: list[str] = []

    def drain() -> None:
        for q, seen in ((out, seen_out), (err, seen_err)):
            while not q.empty():
                seen.append(q.get())

    def drain_until(check: Callable[[], bool], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not check() and time.monotonic() < deadline:
            drain()
            time.sleep(0.05)
        assert check(), f"stdout={seen_out} stderr={seen_err}"

    try:
        drain_until(lambda: any("listening for changes" in line for line in seen_err))
        drain_until(lambda: sum("home/" in line for line in seen_out) >= 2)  # the catch-up syncs
        sim.add_movie(title="From The Websocket")
        drain_until(lambda: sum("home/Movies" in line for line in seen_out) >= 2)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    for t in threads:
        t.join(5)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    drain()
    text = "".join(seen_out + seen_err)
    assert code == 0, text
    assert "Stopped watching." in text
    assert "Traceback" not in text
    assert sim.token not in text
    movies = [line for line in seen_out if "home/Movies" in line]
    assert "ok" in movies[-1]
    assert "+1" in movies[-1]


def test_watch_without_servers_is_a_usage_error(cli: Callable[..., CliResult]) -> None:
    result = cli("watch")
    assert result.code == 2
    assert "no servers to watch" in result.err
    helped = cli("watch", "--help")
    assert helped.code == 0
    assert "--fallback-interval" in helped.out
