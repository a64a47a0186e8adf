"""`make` finds a Python the locks are proven on, says which, and fails in one line when there is none.

Distributions ship 3.12 or 3.13 as their only Python; `make demo` must not need `python3.11` by name.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PYENV = Path.home() / ".pyenv" / "versions"


def _real(version: str) -> Path | None:
    """A real interpreter of `version` on this machine (pyenv's, or the running one), if any."""
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == version:
        return Path(sys.executable)
    found = sorted(PYENV.glob(f"{version}.*/bin/python{version}"))
    return found[-1] if found else None


def _path_with(tmp_path: Path, **links: Path) -> str:
    """A PATH holding only the named interpreters (name -> real binary)."""
    folder = tmp_path / "bin"
    folder.mkdir(parents=True, exist_ok=True)
    for name, target in links.items():
        (folder / name.replace("_", ".")).symlink_to(target)
    return str(folder)


def _pick(path: str, python: str = "") -> subprocess.CompletedProcess[str]:
    env = {"PATH": path, "PYTHON": python, "HOME": str(Path.home())}
    return subprocess.run(
        ["/bin/sh", str(REPO / "scripts" / "pick-python")], env=env, capture_output=True, text=True
    )


def test_python3_11_is_preferred_when_present(tmp_path: Path) -> None:
    py311, py313 = _real("3.11"), _real("3.13")
    if py311 is None or py313 is None:
        pytest.skip("needs Python 3.11 and 3.13 on this machine")
    picked = _pick(_path_with(tmp_path, python3_11=py311, python3_13=py313))
    assert picked.stdout.strip() == "python3.11"


def test_a_machine_with_only_newer_pythons_uses_the_newest(tmp_path: Path) -> None:
    py312, py313 = _real("3.12"), _real("3.13")
    if py312 is None or py313 is None:
        pytest.skip("needs Python 3.12 and 3.13 on this machine")
    picked = _pick(_path_with(tmp_path, python3_12=py312, python3_13=py313))
    assert (picked.returncode, picked.stdout.strip()) == (0, "python3.13")
    only_312 = _pick(_path_with(tmp_path / "b", python3_12=py312))
    assert only_312.stdout.strip() == "python3.12"


def test_an_interpreter_that_does_not_run_does_not_count(tmp_path: Path) -> None:
    """A pyenv shim for a version that is not selected exists on PATH but fails when run."""
    folder = tmp_path / "bin"
    folder.mkdir()
    shim = folder / "python3.11"
    shim.write_text("#!/bin/sh\necho 'pyenv: python3.11: command not found' >&2\nexit 127\n")
    shim.chmod(0o755)
    assert _pick(str(folder)).returncode == 1


def test_no_usable_python_is_one_line_from_make(tmp_path: Path) -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    old = tmp_path / "old"
    old.mkdir()
    (old / "python3.11").symlink_to("/bin/false")
    venv = tmp_path / "venv"
    env = {**os.environ, "PATH": str(old)}
    for inherited in (
        "PYTHON",
        "MAKEFLAGS",
        "MAKELEVEL",
        "MFLAGS",
    ):  # run as a user would, not as make's child
        env.pop(inherited, None)
    done = subprocess.run(
        [make, "--no-print-directory", "-C", str(REPO), f"VENV={venv}", f"{venv}/bin/python"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if not re.match(r"make(\[\d+\])?: \*\*\*", line)]
    assert len(errors) == 1, done.stderr
    assert "needs Python 3.11, 3.12 or 3.13" in errors[0]
    assert "PYTHON=" in errors[0]
    assert not venv.exists()


def test_an_explicit_python_of_another_version_is_refused(tmp_path: Path) -> None:
    py310 = sorted(PYENV.glob("3.10.*/bin/python3.10"))
    if not py310:
        pytest.skip("needs Python 3.10 on this machine")
    assert _pick(str(tmp_path), python=str(py310[-1])).returncode == 1
    assert _pick(str(tmp_path), python=sys.executable).stdout.strip() == sys.executable
