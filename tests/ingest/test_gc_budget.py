"""A sync collects cycles in fewer, larger passes, and leaves the collector as it found it."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from retrovue.ingest import Event, sync
from retrovue.ingest.gc_budget import SYNC_GEN0_THRESHOLD, fewer_collections
from tests.ingest.conftest import Home


@pytest.fixture
def threshold() -> Iterator[tuple[int, ...]]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)  # CPython's default
    yield gc.get_threshold()
    gc.set_threshold(*saved)


def test_a_sync_raises_the_threshold_while_it_runs_and_puts_it_back(
    home: Home, threshold: tuple[int, ...]
) -> None:
    during: list[tuple[int, int]] = []
    frozen = gc.get_freeze_count()

    def record(_event: Event) -> None:
        during.append((gc.get_threshold()[0], gc.get_freeze_count()))

    sync(home.engine, on_event=record)
    assert during
    assert {threshold for threshold, _frozen in during} == {SYNC_GEN0_THRESHOLD}
    assert all(count > frozen for _threshold, count in during)  # what existed before is frozen
    assert gc.get_threshold() == threshold
    assert gc.get_freeze_count() == frozen


def test_concurrent_blocks_restore_the_threshold_when_the_last_one_ends(threshold: tuple[int, ...]) -> None:
    first_in, second_done = threading.Event(), threading.Event()

    def other() -> None:
        with fewer_collections():
            first_in.set()
            second_done.wait(5)

    thread = threading.Thread(target=other)
    thread.start()
    first_in.wait(5)
    with fewer_collections():
        assert gc.get_threshold()[0] == SYNC_GEN0_THRESHOLD
    assert gc.get_threshold()[0] == SYNC_GEN0_THRESHOLD  # the other block still runs
    second_done.set()
    thread.join(5)
    assert gc.get_threshold() == threshold


def test_a_collector_turned_off_stays_off(threshold: tuple[int, ...]) -> None:
    gc.set_threshold(0)
    with fewer_collections():
        assert gc.get_threshold()[0] == 0
    assert gc.get_threshold()[0] == 0


def test_the_threshold_comes_back_after_an_error(threshold: tuple[int, ...]) -> None:
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("boom")
    assert gc.get_threshold() == threshold


def test_what_the_program_froze_stays_frozen(threshold: tuple[int, ...]) -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with fewer_collections():
            pass
        assert gc.get_freeze_count() > frozen // 2  # unfrozen it would be 0 (objects freed may leave)
    finally:
        gc.unfreeze()
