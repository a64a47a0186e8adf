"""No secret in any output: the redaction layer, tokens as pasted, URL passwords, and the log file.

Every test here also runs under the leak scan (tests/leakscan.py), which fails it if a token it
used shows up in its output, its log records or its log file.
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from retrovue import redact
from retrovue.errors import PlexUnreachableError, RetrovueError
from retrovue.sim import Simulator
from retrovue.store import registry
from retrovue.store import schema as t
from retrovue.store.db import open_catalog
from tests import leakscan
from tests.conftest import CliResult

TOKEN = "Secrets-Test-Token-x7Q2"
PASSWORD = "Pr0xy-Passw0rd-91kd"
leakscan.watch(TOKEN, PASSWORD)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(seed=5, shows=1, movies=3, seasons_per_show=1, episodes_per_season=2, token=TOKEN) as s:
        yield s


# --- the layer itself -------------------------------------------------------------------------------


def test_a_registered_secret_is_scrubbed_in_every_form_other_code_writes_it() -> None:
    secret = "Reg1stered-Tok\u00e9n-42\r"
    redact.register(secret)
    core = secret.strip()
    forms = [
        f"Illegal header value {secret.encode('utf-8')!r}",  # b'Reg1stered-Tok\xc3\xa9n-42\r'
        f"value {secret!r}",  # 'Reg1stered-Tokén-42\r'
        f"value {secret!a}",  # '\xe9' escapes
        f"json {json.dumps(secret)}",
        f"/path/{quote(core, safe='')}/x",
        f"plain {core} and again {core}",
    ]
    for text in forms:
        scrubbed = redact.scrub(text)
        assert "Reg1stered-Tok" not in scrubbed, (text, scrubbed)
        assert redact.MASK in scrubbed


def test_shapes_are_scrubbed_without_registration() -> None:
    samples = {
        "GET /library/sections?X-Plex-Token=UnRegistered123&x=1": "UnRegistered123",
        "headers {'X-Plex-Token': 'UnRegistered456'}": "UnRegistered456",
        "(b'x-plex-token', b'UnRegistered789')": "UnRegistered789",
        '{"X-Plex-Token": "UnRegisteredJSON"}': "UnRegisteredJSON",
        "fetching http://alice:OnlyInUrl-pw1@nas.local:32400/identity": "OnlyInUrl-pw1",
        "mysql+pymysql://retro:db-Passw0rd@db/retrovue": "db-Passw0rd",
    }
    for text, secret in samples.items():
        scrubbed = redact.scrub(text)
        assert secret not in scrubbed, scrubbed
    assert (
        redact.scrub_url("http://alice:OnlyInUrl-pw2@nas.local:32400") == "http://alice:***@nas.local:32400"
    )
    assert "OnlyInUrl-pw2" not in redact.scrub("the password OnlyInUrl-pw2 alone")  # registered by scrub_url


def test_errors_are_scrubbed_when_made() -> None:
    redact.register(TOKEN)
    error = PlexUnreachableError(f"cannot reach http://h:32400/{TOKEN}/x\n(second line)")
    assert TOKEN not in str(error)
    assert TOKEN not in repr(error)
    assert "\n" not in str(error)
    assert isinstance(error, RetrovueError)


def test_the_log_filter_scrubs_message_arguments_and_traceback() -> None:
    redact.register(TOKEN)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    redact.install_filter(handler)
    redact.install_filter(handler)  # once is enough
    assert len(handler.filters) == 1
    logger = logging.getLogger("retrovue.test.filter")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise ValueError(f"(psycopg.errors.X) [parameters: {{'token': '{TOKEN}'}}]")
        except ValueError:
            logger.exception("failed with token %s and url %s", TOKEN, f"http://u:{PASSWORD}@h")
        logger.warning("escaped %r", (TOKEN + "\r").encode())
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    text = stream.getvalue()
    assert "Traceback" in text  # the details are kept…
    assert TOKEN not in text  # …without the secrets
    assert PASSWORD not in text
    assert text.count(redact.MASK) >= 4


# --- tokens as users paste them ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "pasted", ["\r\n", "\n", "\t", "  ", "\r"], ids=["crlf", "lf", "tab", "spaces", "cr"]
)
def test_a_token_pasted_with_surrounding_whitespace_works(
    cli: Callable[..., CliResult], sim: Simulator, tmp_path: Path, pasted: str
) -> None:
    added = cli("server", "add", "home", sim.url, "--token", pasted + TOKEN + pasted)
    assert added.code == 0, added.err
    assert cli("sync", "--json").code == 0
    engine = open_catalog(f"sqlite:///{tmp_path / 'cli.sqlite'}")
    try:
        with engine.connect() as conn:
            assert registry.get_server(conn, "home").token == TOKEN
    finally:
        engine.dispose()
    edited = cli("server", "edit", "home", "--token", TOKEN + pasted)
    assert edited.code == 0, edited.err


def test_a_token_stored_with_whitespace_by_an_older_version_still_works(
    cli: Callable[..., CliResult], sim: Simulator, tmp_path: Path
) -> None:
    assert cli("server", "add", "home", sim.url, "--token", TOKEN).code == 0
    engine = open_catalog(f"sqlite:///{tmp_path / 'cli.sqlite'}")
    try:
        with engine.begin() as conn:
            conn.execute(t.servers.update().values(token=TOKEN + "\r\n"))
    finally:
        engine.dispose()
    synced = cli("sync", "--json")
    assert synced.code == 0, synced.err


def test_plex_token_from_the_environment_is_stripped_too(
    cli: Callable[..., CliResult], sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLEX_TOKEN", TOKEN + "\r\n")
    added = cli("server", "add", "home", sim.url)
    assert added.code == 0, added.err


# --- URL credentials --------------------------------------------------------------------------------


def test_url_credentials_are_never_shown_or_kept_in_run_history(
    cli: Callable[..., CliResult], sim: Simulator, tmp_path: Path
) -> None:
    url = sim.url.replace("http://", f"http://alice:{PASSWORD}@")
    added = cli("server", "add", "home", url, "--token", TOKEN)
    assert added.code == 0, added.err
    assert cli("server", "list").code == 0
    (listed,) = json.loads(cli("server", "list", "--json").out)
    assert listed["url"] == url.replace(PASSWORD, "***")
    assert cli("sync").code == 0
    sim.set_faults("status=500")  # failing runs quote the server's URL in their reason
    failed = cli("sync", "--json")
    assert failed.code == 1
    sim.clear_faults()
    sim.stop()
    unreachable = cli("sync")
    assert unreachable.code == 1
    for args in (
        ("runs",),
        ("runs", "--json"),
        ("libraries", "--no-refresh"),
        ("server", "edit", "home", "--url", url),
    ):
        cli(*args)  # each scanned for the password by the leak scan
    engine = open_catalog(f"sqlite:///{tmp_path / 'cli.sqlite'}")
    try:
        with engine.connect() as conn:
            reasons = [r for (r,) in conn.execute(sa.select(t.sync_runs.c.error_text)) if r]
    finally:
        engine.dispose()
    assert reasons, "the failed runs recorded no reason"
    assert all(PASSWORD not in reason for reason in reasons), reasons


# --- anything unforeseen ----------------------------------------------------------------------------


def test_an_unexpected_error_is_one_line_and_its_traceback_goes_to_the_log(
    cli: Callable[..., CliResult], sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("server", "add", "home", sim.url, "--token", TOKEN).code == 0

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(f"a bug holding the token {TOKEN} and\nmore lines")

    monkeypatch.setattr(registry, "list_servers", broken)
    result = cli("server", "list")
    assert result.code == 1
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    (line,) = lines
    assert line.startswith("error: unexpected error (RuntimeError: a bug holding the token ***")
    log_file = Path(line.rsplit("details in ", 1)[1])
    assert log_file.is_file()
    assert log_file.is_relative_to(Path(os.environ["RETROVUE_STATE_DIR"]))
    logged = log_file.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in logged
    assert "RuntimeError: a bug holding the token ***" in logged
    assert (log_file.stat().st_mode & 0o077) == 0  # the log is private, like the catalog


def test_without_a_writable_state_directory_the_error_still_is_one_line(
    cli: Callable[..., CliResult], sim: Simulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the state directory should be")
    monkeypatch.setenv("RETROVUE_STATE_DIR", str(blocker))

    def broken(*_args: object, **_kwargs: object) -> None:
        raise KeyError("x")

    monkeypatch.setattr(registry, "list_servers", broken)
    result = cli("server", "list")
    assert result.code == 1
    assert result.err.strip() == "error: unexpected error (KeyError: 'x'); no log file could be written"
