"""`check_exists` against real and slow file systems, and the ACTIVE / REMOTE_ONLY rule."""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from retrovue.paths import PathMapping, Resolver, check_exists, local_answer

from .conftest import SlowStat

MakeStat = Callable[..., SlowStat]


class TestCheckExists:
    def test_real_files(self, tmp_path: Path) -> None:
        present = tmp_path / "a.mkv"
        present.write_bytes(b"")
        missing = tmp_path / "b.mkv"
        under_a_file = present / "c.mkv"
        got = check_exists([str(present), str(missing), str(under_a_file), str(tmp_path)])
        assert got == {str(present): True, str(missing): False, str(under_a_file): False, str(tmp_path): True}

    def test_nul_in_a_path_means_no_such_file(self) -> None:
        assert check_exists(["/tmp/a\x00b"]) == {"/tmp/a\x00b": False}

    def test_empty_and_duplicates(self, slow_stat: MakeStat) -> None:
        stat = slow_stat({"/a"})
        assert check_exists([], stat=stat) == {}
        assert check_exists(["/a", "/a", "/b", "/a"], stat=stat) == {"/a": True, "/b": False}
        assert sorted(stat.calls) == ["/a", "/b"]

    def test_errors_other_than_not_found_are_unknown(self, slow_stat: MakeStat) -> None:
        stat = slow_stat(
            {"/a", "/b"}, errors={"/a": PermissionError(errno.EACCES, "denied"), "/b": OSError(116)}
        )
        assert check_exists(["/a", "/b", "/c"], stat=stat) == {"/a": None, "/b": None, "/c": False}

    def test_a_hung_mount_answers_none_within_the_timeout(self, slow_stat: MakeStat) -> None:
        fine = [f"/local/{i}" for i in range(40)]
        stat = slow_stat(set(fine), hang={"/nfs/hung.mkv"})
        start = time.monotonic()
        got = check_exists(["/nfs/hung.mkv", *fine], max_workers=4, timeout=0.2, stat=stat)
        elapsed = time.monotonic() - start
        assert got["/nfs/hung.mkv"] is None
        assert all(got[p] is True for p in fine)
        assert elapsed < 5.0  # far below the hang (which lasts until the test ends), generous for CI

    def test_everything_hung_still_returns_promptly(self, slow_stat: MakeStat) -> None:
        hung = [f"/nfs/{i}" for i in range(60)]
        stat = slow_stat(set(), hang=set(hung))
        start = time.monotonic()
        got = check_exists(hung, max_workers=4, timeout=0.1, stat=stat)
        elapsed = time.monotonic() - start
        assert got == dict.fromkeys(hung)
        assert elapsed < 5.0  # far below the hang (which lasts until the test ends), generous for CI
        assert len(stat.calls) <= 8  # the workers, plus one replacement each: no thread per path

    def test_concurrency_is_bounded(self, slow_stat: MakeStat) -> None:
        paths = [f"/p/{i}" for i in range(200)]
        stat = slow_stat(set(paths))
        got = check_exists(paths, max_workers=3, stat=stat)
        assert set(got.values()) == {True}
        assert 1 <= stat.peak <= 3

    def test_abandoned_threads_do_not_answer_later(self, slow_stat: MakeStat) -> None:
        stat = slow_stat({"/x"}, hang={"/x"})
        got = check_exists(["/x"], max_workers=1, timeout=0.05, stat=stat)
        stat.release.set()
        time.sleep(0.05)
        assert got == {"/x": None}

    def test_workers_are_daemon_threads(self, slow_stat: MakeStat) -> None:
        stat = slow_stat(set(), hang={"/x"})
        check_exists(["/x"], max_workers=1, timeout=0.05, stat=stat)
        stuck = [t for t in threading.enumerate() if t.name == "retrovue-exists" and t.is_alive()]
        assert stuck
        assert all(t.daemon for t in stuck)

    def test_needs_a_worker(self) -> None:
        with pytest.raises(ValueError, match="max_workers"):
            check_exists(["/a"], max_workers=0)


RESOLVER = Resolver(
    [PathMapping("/data", "/mnt/data", 1), PathMapping("/nas", "/mnt/nas", 2)], local_os="posix"
)
A, B, UNMAPPED = "/data/film.cd1.avi", "/data/film.cd2.avi", "/elsewhere/film.avi"
LOCAL_A, LOCAL_B = "/mnt/data/film.cd1.avi", "/mnt/data/film.cd2.avi"
ON_NAS, LOCAL_NAS = "/nas/film.mkv", "/mnt/nas/film.mkv"


@pytest.mark.parametrize(
    ("versions", "on_disk", "expected"),
    [
        pytest.param([[A]], {LOCAL_A: True}, True, id="present"),
        pytest.param([[A]], {LOCAL_A: False}, False, id="absent"),
        pytest.param([[UNMAPPED]], {}, False, id="no-mapping"),
        pytest.param([[A, B]], {LOCAL_A: True, LOCAL_B: True}, True, id="every-part-present"),
        pytest.param([[A, B]], {LOCAL_A: True, LOCAL_B: False}, False, id="one-part-missing"),
        pytest.param([[A, UNMAPPED]], {LOCAL_A: True}, False, id="one-part-unmapped"),
        pytest.param([[A]], {LOCAL_A: None}, None, id="cannot-tell-is-not-yes"),
        pytest.param([[A, B]], {LOCAL_A: None, LOCAL_B: False}, False, id="known-missing-wins"),
        pytest.param([[A, B]], {LOCAL_A: None, LOCAL_B: True}, None, id="partly-unknown"),
        pytest.param([[UNMAPPED], [A]], {LOCAL_A: True}, True, id="one-version-plays"),
        pytest.param([[A], [B]], {LOCAL_A: None, LOCAL_B: False}, None, id="a-version-could-not-tell"),
        pytest.param([[A], [B]], {LOCAL_A: False, LOCAL_B: False}, False, id="no-version-plays"),
        pytest.param([], {}, False, id="no-parts"),
        pytest.param([[""]], {}, False, id="no-file-path"),
    ],
)
def test_local_answer(
    versions: list[list[str]], on_disk: dict[str, bool | None], expected: bool | None
) -> None:
    answer = local_answer(versions, RESOLVER, on_disk.__getitem__)
    assert answer.local is expected
    assert answer.files == (tuple(RESOLVER.resolve(f) for f in versions[-1]) if expected else None)


def test_local_answer_names_the_files_of_the_version_that_plays() -> None:
    answer = local_answer([[UNMAPPED], [A, B]], RESOLVER, lambda _: True)
    assert answer.files == (LOCAL_A, LOCAL_B)


def test_files_under_a_down_root_are_not_asked_about() -> None:
    asked: list[str] = []

    def exists(path: str) -> bool:
        asked.append(path)
        return True

    down = local_answer([[ON_NAS]], RESOLVER, exists, down={2})
    assert (down.local, down.root_down, asked) == (None, True, [])
    # Another version that plays still plays; one on a root that is up is asked about.
    assert local_answer([[ON_NAS], [A]], RESOLVER, exists, down={2}).files == (LOCAL_A,)
    assert asked == [LOCAL_A]
    assert local_answer([[ON_NAS]], RESOLVER, exists, down={1}).files == (LOCAL_NAS,)


def test_local_answer_with_check_exists(tmp_path: Path) -> None:
    (tmp_path / "one.mkv").write_bytes(b"")
    resolver = Resolver([PathMapping("/srv", str(tmp_path))])
    parts = ["/srv/one.mkv", "/srv/two.mkv"]
    known = check_exists(p for p in map(resolver, parts) if p is not None)
    assert local_answer([parts[:1]], resolver, known.__getitem__).local is True
    assert local_answer([parts], resolver, known.__getitem__).local is False
