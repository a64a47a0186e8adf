"""Desktop actions: the argv built per platform, and the errors a user sees.

The runner is the one thing replaced here: opening a player cannot happen on a test machine.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from retrovue.desktop import (
    DesktopActionError,
    launch_detached,
    open_command,
    open_file,
    reveal_command,
    reveal_file,
)
from retrovue.errors import RetrovueError

from .conftest import Recorder

Action = Callable[..., list[str]]
UNIX_FILE = "/mnt/nas/TV/My Show; rm -rf $HOME 'pilot' & co.mkv"
WIN_FILE = 'M:\\TV\\My Show, Part 1\\S01E01 "pilot".mkv'


@pytest.mark.parametrize(
    ("platform", "path", "opened", "revealed"),
    [
        pytest.param("linux", UNIX_FILE, ["xdg-open", UNIX_FILE], ["xdg-open", "/mnt/nas/TV"], id="linux"),
        pytest.param("freebsd14", UNIX_FILE, ["xdg-open", UNIX_FILE], ["xdg-open", "/mnt/nas/TV"], id="bsd"),
        pytest.param("darwin", UNIX_FILE, ["open", UNIX_FILE], ["open", "-R", UNIX_FILE], id="macos"),
        pytest.param(
            "win32", WIN_FILE, ["explorer", WIN_FILE], ["explorer", "/select,", WIN_FILE], id="windows"
        ),
        pytest.param(
            "win32",
            "\\\\NAS\\tv\\x.mkv",
            ["explorer", "\\\\NAS\\tv\\x.mkv"],
            ["explorer", "/select,", "\\\\NAS\\tv\\x.mkv"],
            id="windows-unc",
        ),
        pytest.param(
            "cygwin", WIN_FILE, ["explorer", WIN_FILE], ["explorer", "/select,", WIN_FILE], id="cygwin"
        ),
    ],
)
def test_argv_per_platform(platform: str, path: str, opened: list[str], revealed: list[str]) -> None:
    assert open_command(path, platform) == opened
    assert reveal_command(path, platform) == revealed


def test_reveal_of_a_top_level_file_opens_the_root() -> None:
    assert reveal_command("/x.mkv", "linux") == ["xdg-open", "/"]


def test_default_platform_is_this_one(tmp_path: Path) -> None:
    path = str(tmp_path / "x.mkv")
    assert open_command(path) == open_command(path, sys.platform)


@pytest.mark.parametrize(
    ("platform", "path"),
    [
        ("linux", "x.mkv"),
        ("linux", "-rf"),
        ("darwin", "--help"),
        ("linux", "M:\\TV\\x.mkv"),
        ("win32", "/mnt/x.mkv"),
        ("win32", "TV\\x.mkv"),
        ("win32", "M:x.mkv"),
    ],
)
def test_relative_paths_are_refused(platform: str, path: str) -> None:
    for build in (open_command, reveal_command):
        with pytest.raises(DesktopActionError, match="not an absolute path"):
            build(path, platform)


class TestOpenAndReveal:
    def test_open_runs_the_command(self, tmp_path: Path, recorder: Recorder) -> None:
        film = tmp_path / "Amélie (2001).mkv"
        film.write_bytes(b"")
        argv = open_file(str(film), recorder, platform="linux")
        assert recorder.calls == [argv] == [["xdg-open", str(film)]]

    def test_reveal_runs_the_command(self, tmp_path: Path, recorder: Recorder) -> None:
        film = tmp_path / "x.mkv"
        film.write_bytes(b"")
        reveal_file(str(film), recorder, platform="darwin")
        assert recorder.calls == [["open", "-R", str(film)]]

    def test_windows_reveal_with_injected_existence(self, recorder: Recorder) -> None:
        reveal_file(WIN_FILE, recorder, platform="win32", exists=lambda _: True)
        assert recorder.calls == [["explorer", "/select,", WIN_FILE]]

    @pytest.mark.parametrize("action", [open_file, reveal_file])
    def test_unresolved_path(self, action: Action, recorder: Recorder) -> None:
        with pytest.raises(DesktopActionError, match=r"no local path for this item.*retrovue paths add"):
            action(None, recorder)
        assert recorder.calls == []

    @pytest.mark.parametrize("action", [open_file, reveal_file])
    def test_missing_file(self, action: Action, tmp_path: Path, recorder: Recorder) -> None:
        with pytest.raises(DesktopActionError, match=r"no such file on this machine.*mounted"):
            action(str(tmp_path / "gone.mkv"), recorder)
        assert recorder.calls == []

    def test_missing_opener(self, tmp_path: Path) -> None:
        film = tmp_path / "x.mkv"
        film.write_bytes(b"")
        runner = Recorder(FileNotFoundError(errno.ENOENT, "No such file", "xdg-open"))
        with pytest.raises(DesktopActionError, match="'xdg-open' was not found; install it") as caught:
            open_file(str(film), runner, platform="linux")
        assert isinstance(caught.value, RetrovueError)
        assert "\n" not in str(caught.value)

    def test_opener_that_cannot_start(self, tmp_path: Path) -> None:
        film = tmp_path / "x.mkv"
        film.write_bytes(b"")
        runner = Recorder(PermissionError(errno.EACCES, "Permission denied"))
        with pytest.raises(DesktopActionError, match="open failed to start \\(Permission denied\\)"):
            reveal_file(str(film), runner, platform="darwin")


def test_launch_detached_starts_and_reaps_a_process() -> None:
    process = launch_detached([sys.executable, "-c", "pass"])
    assert process.wait(timeout=30) == 0
