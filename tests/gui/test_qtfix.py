"""PySide6 6.12 takes references from None, True and False it does not own (see qtfix.py): the window
must survive a long session of emissions and timer callbacks on Python 3.11."""

from __future__ import annotations

import sys
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

import retrovue.gui  # noqa: F401 (installs the guard)
from retrovue.gui import qtfix


class _Emitter(QObject):
    plain = Signal()
    payload = Signal(object)


def test_a_long_session_of_signals_and_timers_does_not_abort(qtbot: Any) -> None:
    emitter = _Emitter()
    got: list[object] = []
    emitter.payload.connect(got.append)
    for n in range(20_000):  # without the guard, Python 3.11 aborts after a few thousand
        emitter.plain.emit()
        emitter.payload.emit(n)
    ticks: list[int] = []
    timer = QTimer()
    timer.setInterval(0)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    qtbot.waitUntil(lambda: len(ticks) >= 6000, timeout=60_000)
    timer.stop()
    assert len(got) == 20_000
    if sys.version_info < (3, 12):
        assert sys.getrefcount(None) > qtfix.PAD  # padded: immortal in practice, as from 3.12 on
