"""Open a resolved local file, or show it in the file manager, for the GUI and CLI.

The engine only builds argument lists; nothing here goes through a shell, so a file name with
spaces, quotes, `;` or `&` is passed to the opener as one argument and never interpreted. Which
program does the work, per platform:

    platform   open                          reveal
    Linux/BSD  xdg-open FILE                 xdg-open PARENT-FOLDER
    macOS      open FILE                     open -R FILE
    Windows    explorer FILE                 explorer /select, FILE

Linux has no portable "select this file" request without D-Bus (the FileManager1 interface is not
universally implemented), so reveal opens the containing folder, which works everywhere xdg-open
does. On Windows, `explorer FILE` hands the file to its registered application, which is what
`os.startfile` does, without going through `cmd /c start` and its quoting rules. `/select,` and the
file are two separate arguments so that Windows' argument quoting applies to the path alone (a
path with spaces would otherwise be quoted together with the switch, which Explorer misreads).

Launching is done by an injectable `runner` (by default a detached `subprocess.Popen`), so tests
check the exact argv without starting anything. Whether the file is there is asked of the bounded
existence pool (`retrovue.existence.exists_now`, at most a second): a file on a share that does
not answer is reported as such instead of hanging the caller. The GUI calls these off its own
thread all the same.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import PurePosixPath, PureWindowsPath

from retrovue.errors import RetrovueError
from retrovue.existence import exists_now

__all__ = [
    "DesktopActionError",
    "Runner",
    "launch_detached",
    "open_command",
    "open_file",
    "reveal_command",
    "reveal_file",
]

Runner = Callable[[Sequence[str]], object]
"""Starts a program from an argv list; `subprocess.Popen` fits, and so does a test recorder."""


class DesktopActionError(RetrovueError):
    """Opening or revealing a file could not be done; the message says what to fix."""


def _kind(platform: str | None) -> str:
    """Collapse `sys.platform` values to the three desktop families we know how to drive."""
    name = sys.platform if platform is None else platform
    if name.startswith("win") or name == "cygwin":
        return "windows"
    if name == "darwin":
        return "macos"
    return "linux"  # Linux and the BSDs all speak xdg-open


def _checked(local_path: str, kind: str) -> str:
    """Refuse a relative path: it would depend on the working directory, and one starting with `-`
    could be read by the opener as an option."""
    absolute = (
        PureWindowsPath(local_path).is_absolute()
        if kind == "windows"
        else PurePosixPath(local_path).is_absolute()
    )
    if not absolute:
        raise DesktopActionError(f"cannot open {local_path!r}: it is not an absolute path on this machine")
    return local_path


def open_command(local_path: str, platform: str | None = None) -> list[str]:
    """The argv that opens `local_path` in its default application (see module table)."""
    kind = _kind(platform)
    path = _checked(local_path, kind)
    if kind == "windows":
        return ["explorer", path]
    if kind == "macos":
        return ["open", path]
    return ["xdg-open", path]


def reveal_command(local_path: str, platform: str | None = None) -> list[str]:
    """The argv that shows `local_path` in the file manager (its folder, on Linux)."""
    kind = _kind(platform)
    path = _checked(local_path, kind)
    if kind == "windows":
        return ["explorer", "/select,", path]
    if kind == "macos":
        return ["open", "-R", path]
    return ["xdg-open", str(PurePosixPath(path).parent)]


def launch_detached(argv: Sequence[str]) -> subprocess.Popen[bytes]:
    """Start a desktop opener without tying it to us.

    Its output goes nowhere (openers are chatty), it gets its own session so a Ctrl-C in our
    terminal does not reach the player, and a daemon thread waits for it so no zombie or
    "subprocess still running" warning is left behind.
    """
    process = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=os.name != "nt",
    )
    threading.Thread(target=process.wait, name="retrovue-opener", daemon=True).start()
    return process


def _run(
    action: str,
    build: Callable[[str, str | None], list[str]],
    local_path: str | None,
    runner: Runner,
    platform: str | None,
    exists: Callable[[str], bool | None],
) -> list[str]:
    if local_path is None:
        raise DesktopActionError(
            f"cannot {action}: no local path for this item; add a path mapping with `retrovue paths add`"
        )
    found = exists(local_path)
    if found is None:
        raise DesktopActionError(
            f"cannot {action} {local_path!r}: the share holding it is not answering; check that it is "
            "mounted and reachable, then try again"
        )
    if not found:
        raise DesktopActionError(
            f"cannot {action} {local_path!r}: no such file on this machine; "
            "check the share is mounted and the path mapping is right"
        )
    argv = build(local_path, platform)
    try:
        runner(argv)
    except FileNotFoundError as error:
        raise DesktopActionError(
            f"cannot {action} {local_path!r}: the program {argv[0]!r} was not found; "
            "install it (on Linux, xdg-utils) or open the file yourself"
        ) from error
    except OSError as error:
        reason = error.strerror or str(error)
        raise DesktopActionError(
            f"cannot {action} {local_path!r}: {argv[0]} failed to start ({reason})"
        ) from error
    return argv


def open_file(
    local_path: str | None,
    runner: Runner = launch_detached,
    *,
    platform: str | None = None,
    exists: Callable[[str], bool | None] = exists_now,
) -> list[str]:
    """Open a resolved local file in its default application; returns the argv that was run.

    `local_path` is what `Resolver.resolve` gave, so None (no mapping) is accepted and reported.
    """
    return _run("open", open_command, local_path, runner, platform, exists)


def reveal_file(
    local_path: str | None,
    runner: Runner = launch_detached,
    *,
    platform: str | None = None,
    exists: Callable[[str], bool | None] = exists_now,
) -> list[str]:
    """Show a resolved local file in the file manager; returns the argv that was run."""
    return _run("show", reveal_command, local_path, runner, platform, exists)
