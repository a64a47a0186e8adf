"""File checks against a hung share: a bounded pool that is reused, and a per-root "not answering".

The share is a `SlowStat` whose paths under `/nfs` block until the test releases them (a `stat` on
a hung NFS mount blocks just so, and no thread can interrupt it). What is counted is exact: threads
alive, `stat` calls made, answers given.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from retrovue.existence import ExistencePool, default_root
from retrovue.paths import check_exists

from .conftest import SlowStat

MakeStat = Callable[..., SlowStat]


def _exists_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "retrovue-exists" and t.is_alive())


def test_ten_checks_against_a_hung_share_add_no_threads(slow_stat: MakeStat) -> None:
    hung = [f"/nfs/media/{i}.mkv" for i in range(4)]
    fine = [f"/local/media/{i}.mkv" for i in range(20)]
    stat = slow_stat(set(fine), hang=set(hung))
    before = _exists_threads()
    for _ in range(10):  # ten re-evaluations, as `paths apply` or a watch sync would run them
        got = check_exists([*hung, *fine], max_workers=4, timeout=0.1, stat=stat)
        assert all(got[p] is None for p in hung)
        assert all(got[p] is True for p in fine)
    assert _exists_threads() - before <= 4  # the pool's size, whatever the number of checks
    assert len([c for c in stat.calls if c.startswith("/nfs")]) <= 4  # then "not answering": no stat


def test_a_root_that_does_not_answer_is_answered_at_once_until_it_does(slow_stat: MakeStat) -> None:
    stat = slow_stat(
        {"/nfs/media/a.mkv", "/nfs/media/b.mkv", "/local/media/c.mkv"}, hang={"/nfs/media/a.mkv"}
    )
    pool = ExistencePool(size=4)
    first = pool.check(["/nfs/media/a.mkv", "/local/media/c.mkv"], timeout=0.1, stat=stat)
    assert first == {"/nfs/media/a.mkv": None, "/local/media/c.mkv": True}
    assert set(pool.not_answering()) == {"/nfs/media"}
    calls = len(stat.calls)
    again = pool.check(["/nfs/media/b.mkv", "/local/media/c.mkv"], timeout=0.1, stat=stat)
    assert again == {"/nfs/media/b.mkv": None, "/local/media/c.mkv": True}
    assert "/nfs/media/b.mkv" not in stat.calls[calls:]  # not even tried
    stat.release.set()  # the share answers again: the stuck check returns
    for _ in range(200):
        if not pool.not_answering():
            break
        threading.Event().wait(0.01)
    assert pool.not_answering() == {}
    assert pool.check(["/nfs/media/b.mkv"], timeout=1.0, stat=stat) == {"/nfs/media/b.mkv": True}
    assert pool.threads <= 4


def test_a_hung_root_cannot_starve_the_others(slow_stat: MakeStat) -> None:
    hung = [f"/nfs/media/{i}.mkv" for i in range(40)]
    fine = [f"/local/media/{i}.mkv" for i in range(40)]
    stat = slow_stat(set(fine), hang=set(hung))
    pool = ExistencePool(size=4)
    got = pool.check([*hung, *fine], timeout=0.2, stat=stat)
    assert all(got[p] is None for p in hung)
    assert all(got[p] is True for p in fine)
    assert stat.peak <= 4
    assert len([c for c in stat.calls if c.startswith("/nfs")]) <= pool.per_root < pool.size


def test_every_worker_stuck_still_answers_promptly(slow_stat: MakeStat) -> None:
    roots = [f"/nfs{i}/media/x.mkv" for i in range(6)]  # six different hung shares, four workers
    stat = slow_stat(set(), hang=set(roots))
    pool = ExistencePool(size=4)
    assert pool.check(roots, timeout=0.1, stat=stat) == dict.fromkeys(roots)
    assert pool.check(["/nfs9/media/y.mkv"], timeout=0.1, stat=stat) == {"/nfs9/media/y.mkv": None}
    assert pool.threads == 4


@pytest.mark.parametrize(
    ("path", "root"),
    [
        ("/mnt/nas/tv/Show/x.mkv", "/mnt/nas"),
        ("/nfs/x.mkv", "/nfs"),
        ("/x.mkv", "/"),
        ("D:\\Media\\TV\\x.mkv", "d:/media"),
        ("\\\\NAS\\Share\\tv\\x.mkv", "//nas/share"),
        ("//nas/share/x.mkv", "//nas/share"),
    ],
)
def test_default_roots(path: str, root: str) -> None:
    assert default_root(path) == root


def test_roots_kept_by_folder_are_default_roots() -> None:
    """`roots_by_folder` answers as `default_root` for every path, shares and odd ones included,
    in any order (a folder's answer is reused only where it cannot differ)."""
    import itertools

    from retrovue.existence import roots_by_folder

    paths = [
        "/mnt/nas/tv/show/1.mkv", "/mnt/nas/tv/show/2.mkv", "/mnt/nas/tv/show/", "/mnt/nas/tv/show",
        "/mnt/nas/x", "/mnt/x", "/x", "/", "x", "", "/:x", "/:", "C:/a/b/c.mkv", "C:\\a\\b\\c.mkv",
        "c:\\A\\b.mkv", "C:\\x", "C:x", "//nas/share/a/b.mkv", "//nas/share/b.mkv", "//nas/a.mkv",
        "//nas/b.mkv", "\\\\nas\\share\\a.mkv", "\\\\nas\\b.mkv", "/\\nas\\c.mkv", "\\/nas/d.mkv",
        "/mnt//nas/a.mkv", "/mnt//nas/b.mkv", "/mnt/nas\\a.mkv", "/mnt/nas/a\\b.mkv",
    ]  # fmt: skip
    for order in (paths, paths[::-1], sorted(paths)):
        root_of = roots_by_folder()
        assert [root_of(p) for p in order] == [default_root(p) for p in order]
    alphabet = ["/", "\\", ":", "a", "B"]
    words = ["".join(w) for n in range(1, 6) for w in itertools.product(alphabet, repeat=n)]
    root_of = roots_by_folder()
    assert [root_of(w) for w in words] == [default_root(w) for w in words]
    assert [root_of(w) for w in reversed(words)] == [default_root(w) for w in reversed(words)]
