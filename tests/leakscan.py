"""A pytest plugin that fails any test whose output shows a secret it used, or a Python traceback.

The promise it enforces (README, "Bad input"): a token never appears in any output, and a failure is
one line, never a traceback. Rather than trusting each test to look, this plugin looks at everything
every test printed:

* the secrets: every simulator's token (recorded when a `Simulator` is made, and again when a test
  changes it or makes it accept another), every plex.tv stand-in's account token, every value
  passed to `--token` or `PLEX_TOKEN` through the `cli` fixture, and anything a test hands to
  `watch()`; strings shorter than `MIN_LENGTH` are ignored (they would
  match by accident), so tests use realistic tokens;
* where it looks: the test's captured stdout, stderr and log records (setup and call), each CLI run
  of the `cli` fixture (`check_cli`), and every log file under the test's state directories
  (`XDG_STATE_HOME`, `RETROVUE_STATE_DIR`), read at teardown (not the sign-in file beside them,
  whose job is to keep the account token);
* "Traceback" is looked for in stdout, stderr and CLI output, not in log records or the log file,
  where a traceback is where it belongs.

A leak turns the test's report into a failure naming where the secret appeared (never the secret).
`tests/reliability/test_leakscan.py` proves the scan catches a planted leak of each kind.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from retrovue.sim import DEFAULT_TOKEN, Simulator
from retrovue.sim.plextv import PlexTvSim

MIN_LENGTH = 8
TRACEBACK = "Traceback (most recent call last)"
_secrets: set[str] = {DEFAULT_TOKEN}


def watch(*secrets: str | None) -> None:
    """Look for these secrets in every later test's output too."""
    _secrets.update(s for s in secrets if s and len(s.strip()) >= MIN_LENGTH)
    _secrets.update(s.strip() for s in secrets if s and len(s.strip()) >= MIN_LENGTH)


def secrets() -> frozenset[str]:
    return frozenset(_secrets)


def leaks(text: str, *, tracebacks: bool) -> list[str]:
    """What is wrong with `text`: a described leak per secret found (never the secret itself)."""
    found = []
    for secret in _secrets:
        at = text.find(secret)
        if at >= 0:
            context = text[max(0, at - 60) : at].replace("\n", " ")
            found.append(f"a {len(secret)}-character secret after …{context!r}")
    if tracebacks and TRACEBACK in text:
        at = text.find(TRACEBACK)
        found.append(f"a traceback: {text[at : at + 300]!r}")
    return found


def check_cli(argv: Iterable[str], out: str, err: str) -> None:
    """Fail at once when a CLI run printed a secret or a traceback."""
    problems = leaks(out + err, tracebacks=True)
    if problems:
        pytest.fail(f"`retrovue {' '.join(argv)}` printed {'; '.join(problems)}", pytrace=False)


def _record_simulator_tokens() -> None:
    init = Simulator.__init__
    if getattr(init, "_leakscan", False):
        return

    @functools.wraps(init)
    def recording_init(self: Simulator, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        watch(self.token)

    recording_init._leakscan = True  # type: ignore[attr-defined]
    Simulator.__init__ = recording_init  # type: ignore[method-assign]
    restore = Simulator.restore_token

    @functools.wraps(restore)
    def recording_restore(self: Simulator, new_token: str | None = None) -> None:
        watch(new_token)
        restore(self, new_token)

    Simulator.restore_token = recording_restore  # type: ignore[method-assign]
    accept = Simulator.accept_token

    @functools.wraps(accept)
    def recording_accept(self: Simulator, token: str) -> None:
        watch(token)
        accept(self, token)

    Simulator.accept_token = recording_accept  # type: ignore[method-assign]
    tv_init = PlexTvSim.__init__

    @functools.wraps(tv_init)
    def recording_tv_init(self: PlexTvSim, *args: Any, **kwargs: Any) -> None:
        tv_init(self, *args, **kwargs)
        watch(self.token)

    PlexTvSim.__init__ = recording_tv_init  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    _record_simulator_tokens()


@pytest.fixture(autouse=True)
def _state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test gets its own XDG state and data directories: the CLI's log file lands there (and
    is scanned afterwards), and nothing a test runs can touch the real user's catalog or log."""
    base = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_STATE_HOME", str(base / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(base / "data"))
    monkeypatch.delenv("DB_URL", raising=False)
    monkeypatch.delenv("PLEX_TOKEN", raising=False)
    yield base
    problems = []
    roots = {base, *(Path(p) for p in [os.environ.get("RETROVUE_STATE_DIR")] if p)}
    for path in sorted(p for root in roots for p in root.rglob("*")):
        if path.is_file() and ".log" in path.name:
            text = path.read_text(encoding="utf-8", errors="backslashreplace")
            problems += [f"{path.name}: {p}" for p in leaks(text, tracebacks=False)]
    if problems:
        pytest.fail("log files hold secrets: " + "; ".join(problems), pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.when != "call" or report.skipped:
        return
    problems = []
    for title, content in report.sections:
        if "teardown" in title:
            continue
        where = title.removeprefix("Captured ").strip()
        problems += [f"{where}: {p}" for p in leaks(content, tracebacks="log" not in title)]
    if problems:
        report.outcome = "failed"
        report.longrepr = "leak scan: the test's output shows " + "; ".join(problems)
