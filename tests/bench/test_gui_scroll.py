"""Scenario 6's driver (bench/gui_scroll.py): the main window opens the library and scrolls it to its
end, moved like a user's drag (every DRIVE_MS), not in a busy loop. Counts only, never times."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

from bench.gui_scroll import DRIVE_MS
from retrovue.gui.app import freeze_startup_objects
from retrovue.store.db import open_catalog
from tests.gui.conftest import fake_library, fill_items


def test_the_window_scrolls_a_library_to_its_end(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'scroll.sqlite'}"
    engine = open_catalog(url)
    server_id, library_id = fake_library(engine)
    fill_items(engine, server_id, library_id, 1200)
    engine.dispose()
    # In a process of its own, as the benchmark runs it: the driver quits the application's event
    # loop when done and freezes the startup objects, which this test process must not see.
    code = (
        "import json; from bench.gui_scroll import measure_scroll; "
        f"print(json.dumps(measure_scroll({url!r})))"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["reached_end"]
    assert result["rows_loaded"] == result["total"] == 1200
    assert result["batches"] == 5  # 256 rows a batch: the first with the open, then four more
    assert result["drive_ms"] == DRIVE_MS == 30
    assert result["scroll_moves"] >= 4  # one move per batch at least: the view asked for each
    assert result["open_s"] is not None
    assert result["max_stall_ms"] is not None
    assert result["rss_peak_mb"] >= result["rss_base_mb"] > 0


def test_startup_objects_are_frozen_once_the_window_is_up() -> None:
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
