"""Ctrl-C during `retrovue sync` (issue 14, case 9): a non-zero exit, the run recorded cancelled,
the lock released — never "Nothing to sync" and exit 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from retrovue import servers
from retrovue.sim import Simulator
from retrovue.store import schema as t
from retrovue.store.db import open_catalog


def test_ctrl_c_cancels_the_run_and_exits_non_zero(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    engine = open_catalog(url)
    with Simulator(seed=4, shows=2, movies=30, latency_ms=150) as sim:
        servers.add_server(engine, "home", sim.url, sim.token)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("DB_URL", None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "retrovue.cli", "--db-url", url, "sync", "--page-size", "2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with engine.connect() as conn:
                    if conn.execute(sa.select(sa.func.count()).select_from(t.library_locks)).scalar():
                        break
                time.sleep(0.05)
            else:
                raise AssertionError("the sync never took a lock")
            time.sleep(0.5)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    assert "cancelled" in err.lower()
    assert "Nothing to sync" not in out
    with engine.connect() as conn:
        statuses = conn.execute(sa.select(t.sync_runs.c.status)).scalars().all()
        held = conn.execute(sa.select(sa.func.count()).select_from(t.library_locks)).scalar()
    engine.dispose()
    assert "cancelled" in statuses
    assert "running" not in statuses
    assert held == 0
