"""The window's "Watch" toggle: starts a watcher, reports through the bus and status bar, stops."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings
from sqlalchemy import Engine

from retrovue.gui.main_window import MainWindow
from retrovue.sim import Simulator

from .conftest import register, titles


def test_watch_toggle_syncs_live_and_stops(
    qtbot: Any, engine: Engine, sim: Simulator, tmp_path: Path
) -> None:
    register(engine, sim)
    settings = QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(engine, settings=settings, check_servers_on_start=False)
    qtbot.addWidget(window)
    completed: list[Any] = []
    window.bus.sync_completed.connect(lambda _s, _l, summary: completed.append(summary))
    assert window.act_watch.isCheckable()
    assert not window.act_watch.isChecked()
    try:
        window.act_watch.trigger()  # checks it and starts the watcher
        assert window.act_watch.isChecked()
        assert window.watch.running
        qtbot.waitUntil(lambda: len(completed) >= 2, timeout=8000)  # the catch-up syncs, via the bus
        sim.add_movie(title="Seen By The Window")
        qtbot.waitUntil(lambda: "Seen By The Window" in titles(engine), timeout=8000)
        qtbot.waitUntil(lambda: not window.running, timeout=5000)
        window.act_watch.trigger()  # unchecks it and stops the watcher
        assert not window.act_watch.isChecked()
        assert not window.watch.running
        qtbot.waitUntil(lambda: "Watch stopped" in window.statusBar().currentMessage(), timeout=3000)
    finally:
        window.shutdown()
    assert not window.watch.running


def test_watch_toggle_unchecks_itself_when_the_watcher_cannot_run(
    qtbot: Any, engine: Engine, tmp_path: Path
) -> None:
    settings = QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(engine, settings=settings, check_servers_on_start=False)
    qtbot.addWidget(window)
    try:
        window.act_watch.trigger()  # no servers registered
        qtbot.waitUntil(lambda: not window.act_watch.isChecked(), timeout=3000)
        assert "no servers to watch" in window.statusBar().currentMessage()
    finally:
        window.shutdown()
