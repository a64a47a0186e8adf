"""The leak scan (tests/leakscan.py) really catches a leak: planted leaks of each kind fail their test.

An inner pytest session (a subprocess, with only the scan plugin) runs tests that leak on purpose —
a simulator token on stdout, a token in a log record, a token in the log file, a traceback on
stderr, a token in a CLI run's output — beside tests that print harmless text. Every leaking test
must fail with a "leak scan" / "secret" message that does not itself quote the secret, and every
clean one must pass: a scan that never fires, or fires on everything, fails here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PLANTED = "Planted-Token-0123456789"

INNER = f"""
import logging, os, sys, traceback
from pathlib import Path

from retrovue.sim import Simulator
from tests import leakscan

PLANTED = {PLANTED!r}


def test_simulator_token_on_stdout():
    with Simulator(seed=1, shows=1, movies=1, token=PLANTED) as sim:
        print("connecting with", sim.token)


def test_escaped_free_token_on_stdout_is_fine():
    with Simulator(seed=1, shows=1, movies=1, token=PLANTED) as sim:
        print("connecting with", sim.token[:4] + "…")


def test_watched_token_in_a_log_record():
    leakscan.watch(PLANTED)
    logging.getLogger("retrovue.test").warning("header X-Plex-Token: %s", PLANTED)


def test_token_in_the_log_file():
    leakscan.watch(PLANTED)
    log = Path(os.environ["XDG_STATE_HOME"]) / "retrovue" / "retrovue.log"  # a state directory it scans
    log.parent.mkdir(parents=True)
    log.write_text("GET /library/sections?X-Plex-Token=" + PLANTED + "\\n")


def test_traceback_on_stderr():
    try:
        1 / 0
    except ZeroDivisionError:
        traceback.print_exc()


def test_traceback_in_a_log_record_is_fine():
    try:
        1 / 0
    except ZeroDivisionError:
        logging.getLogger("retrovue.test").exception("details for the log")


def test_cli_output_with_a_token():
    leakscan.check_cli(["server", "list"], "home  http://h:32400  " + PLANTED, "")


def test_clean_output():
    print("nothing secret here")
    print("error: unexpected error (ZeroDivisionError: division by zero); details in /x.log", file=sys.stderr)
"""


def test_the_scan_fails_each_planted_leak_and_passes_clean_tests(tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(INNER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # a plain subprocess, not pytester: pytester echoes the inner output, planted traceback and
    # all, into this test's own output, which the scan would then (rightly) fail
    inner = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.leakscan",
            "-p",
            "no:cacheprovider",
            "-rA",
            "-o",
            "addopts=",
            "test_inner.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    report = inner.stdout
    outcomes = {
        word: int(n) for n, word in re.findall(r"(\d+) (failed|passed|errors?)", report.splitlines()[-1])
    }
    outcomes["errors"] = outcomes.pop("error", outcomes.get("errors", 0))
    leaking = [
        "test_simulator_token_on_stdout",
        "test_watched_token_in_a_log_record",
        "test_traceback_on_stderr",
        "test_cli_output_with_a_token",
    ]
    clean = [
        "test_escaped_free_token_on_stdout_is_fine",
        "test_traceback_in_a_log_record_is_fine",
        "test_clean_output",
    ]
    for name in leaking:
        assert f"FAILED test_inner.py::{name}" in report, report
    for name in clean:
        assert f"PASSED test_inner.py::{name}" in report, report
    # the log-file leak is found at teardown: the test passes its call and errors in teardown
    assert "ERROR at teardown of test_token_in_the_log_file" in report, report
    assert "log files hold secrets" in report
    assert outcomes.get("failed") == len(leaking), outcomes
    assert outcomes.get("errors") == 1, outcomes
    assert "leak scan" in report
    assert "secret" in report
    # the scan names where a secret appeared, never the secret (the inner tests' own captured
    # output, which pytest echoes for failed tests, is the only place it may be)
    scan_lines = [line for line in report.splitlines() if "leak scan" in line or "hold secrets" in line]
    assert scan_lines
    assert all(PLANTED not in line for line in scan_lines), scan_lines
