"""Security properties: tokens never leak, TLS is verified, SQL is bound, files are private."""

from __future__ import annotations

import ast
import http.server
import inspect
import logging
import os
import shutil
import socket
import ssl
import stat
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from retrovue import desktop, servers
from retrovue.errors import PlexError, PlexUnauthorizedError
from retrovue.plex import PlexClient
from retrovue.sim import Simulator
from retrovue.store import registry
from retrovue.store.db import open_catalog
from tests.conftest import CliResult

SRC = Path(__file__).resolve().parents[2] / "src" / "retrovue"
TOKEN = "Tk-S3cr3t-zq9XW7-plex"


@pytest.fixture
def secret_sim() -> Iterator[Simulator]:
    with Simulator(seed=2, shows=2, movies=3, token=TOKEN) as sim:
        yield sim


def _scan(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text, f"secret leaked: …{text[max(0, text.find(secret) - 80) :][:200]}…"


def test_token_never_appears_in_cli_output_or_logs(
    cli: Callable[..., CliResult],
    secret_sim: Simulator,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-T0ken-ABCDEFG"
    local = tmp_path / "media"
    local.mkdir()
    runs: list[tuple[str, ...]] = [
        ("server", "add", "bad", secret_sim.url, "--token", wrong),  # refused: 401
        ("server", "add", "home", secret_sim.url, "--token", TOKEN),
        ("server", "list"),
        ("server", "list", "--json"),
        ("libraries",),
        ("libraries", "--json"),
        ("sync",),
        ("sync", "--json", "--deep"),
        ("items",),
        ("items", "--format", "json"),
        ("items", "--format", "csv"),
        ("runs",),
        ("runs", "--json"),
        ("paths", "add", "home", "/data/media", str(local)),
        ("paths", "list", "--json"),
        ("paths", "test", "home", "/data/media/x.mkv", "--json"),
        ("paths", "check", "--json"),
        ("paths", "suggest", "home", str(local), "--no-disk-check"),
        ("paths", "apply"),
        ("libraries", "set", "Movies", "--retention-days", "10"),
        ("purge", "--library", "Movies", "--yes"),
        ("server", "edit", "home", "--token", wrong),  # refused: 401
        ("server", "edit", "home", "--url", secret_sim.url),
    ]
    outputs = []
    for args in runs:
        result = cli(*args)
        outputs.append((args, result))
    secret_sim.revoke_token()  # the server now refuses the stored token: errors must not show it
    outputs.append((("sync",), cli("sync")))
    outputs.append((("libraries",), cli("libraries")))
    secret_sim.restore_token()
    secret_sim.set_faults("status=500")
    outputs.append((("sync", "--json"), cli("sync", "--json")))
    secret_sim.clear_faults()
    assert outputs[1][1].code == 0, outputs[1][1]
    assert outputs[0][1].code == 1
    assert "401" in outputs[0][1].err or "token" in outputs[0][1].err.lower()
    for args, result in outputs:
        _scan(result.out + result.err, TOKEN, wrong)
        assert "Traceback" not in result.err, (args, result.err)
    for record in caplog.records:
        _scan(record.getMessage(), TOKEN, wrong)
        if record.exc_info and record.exc_info[1] is not None:
            _scan(repr(record.exc_info[1]), TOKEN, wrong)


def test_reprs_and_errors_hide_the_token(secret_sim: Simulator, tmp_path: Path) -> None:
    engine = open_catalog(f"sqlite:///{tmp_path / 'c.sqlite'}")
    try:
        servers.add_server(engine, "home", secret_sim.url, TOKEN)
        with engine.connect() as conn:
            row = registry.get_server(conn, "home")
        _scan(repr(row), TOKEN)
        _scan(str(row), TOKEN)
        assert TOKEN not in row.masked_token
        with servers.client_for(row) as client:
            _scan(repr(client), TOKEN)
            _scan(repr(client.__dict__), TOKEN)
        # A token smuggled into the base URL path is scrubbed from messages too.
        with PlexClient(f"{secret_sim.url}/{TOKEN}", TOKEN, max_retries=0) as client:
            _scan(repr(client), TOKEN)
            with pytest.raises(PlexError) as caught:
                client.sections()
            _scan(str(caught.value), TOKEN)
            _scan(repr(caught.value), TOKEN)
        secret_sim.revoke_token()
        with servers.client_for(row) as client, pytest.raises(PlexUnauthorizedError) as unauthorized:
            client.sections()
        for text in (str(unauthorized.value), repr(unauthorized.value), repr(unauthorized.value.__cause__)):
            _scan(text, TOKEN)
    finally:
        secret_sim.restore_token()
        engine.dispose()


# --- TLS ---------------------------------------------------------------------------------------


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make a self-signed certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,digitalSignature,keyCertSign",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def https_plex(self_signed: tuple[Path, Path], small_sim: Simulator) -> Iterator[str]:
    """A tiny HTTPS front for the simulator: TLS with a self-signed certificate, proxying GETs."""
    cert, key = self_signed
    upstream = httpx.Client(base_url=small_sim.url)

    class Proxy(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            headers = {k: v for k, v in self.headers.items() if k.lower() in ("accept", "x-plex-token")}
            answer = upstream.get(self.path, headers=headers)
            self.send_response(answer.status_code)
            self.send_header("Content-Type", answer.headers.get("content-type", "text/plain"))
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        upstream.close()


def test_tls_is_verified_by_default_and_a_custom_ca_can_be_trusted(
    cli: Callable[..., CliResult], https_plex: str, self_signed: tuple[Path, Path], small_sim: Simulator
) -> None:
    cert, _key = self_signed
    refused = cli("server", "add", "tls", https_plex, "--token", small_sim.token)
    assert refused.code == 1
    (line,) = [x for x in refused.err.splitlines() if x.strip()]
    assert "certificate" in line.lower() or "tls" in line.lower(), line
    added = cli("server", "add", "tls", https_plex, "--token", small_sim.token, "--ca-bundle", str(cert))
    assert added.code == 0, added.err
    synced = cli("sync", "--json")
    assert synced.code == 0, synced.err + synced.out
    # --no-verify-tls works too, and is shown as a risk in `server list` (a catalog holds one
    # server per Plex machine, so the same server goes into another catalog here).
    other = f"sqlite:///{self_signed[0].parent / 'other.sqlite'}"
    insecure = cli(
        "server", "add", "insecure", https_plex, "--token", small_sim.token, "--no-verify-tls", db_url=other
    )
    assert insecure.code == 0, insecure.err
    listing = cli("server", "list", db_url=other)
    assert "NO" in listing.out


# --- SQL, subprocesses, binding, file modes -------------------------------------------------------

SQL_CALLS = {"text", "exec_driver_sql", "execute", "executemany", "executescript"}
# f-strings that only interpolate module constants that are literal integers, checked below.
SAFE_INTERPOLATIONS = {"SQLITE_BUSY_TIMEOUT_MS"}


def _dynamic_sql(node: ast.expr) -> list[str]:
    """Names interpolated into a SQL string built with an f-string, `%` or `.format()`."""
    if isinstance(node, ast.JoinedStr):
        return [ast.unparse(v.value) for v in node.values if isinstance(v, ast.FormattedValue)]
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Mod | ast.Add)
        and any(
            isinstance(side, ast.Constant) and isinstance(side.value, str) for side in (node.left, node.right)
        )
    ):
        return [ast.unparse(node)]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return [ast.unparse(node)]
    return []


def test_sql_is_built_only_with_bound_parameters() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {
            target.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, int)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name not in SQL_CALLS:
                continue
            for used in _dynamic_sql(node.args[0]):
                if used in SAFE_INTERPOLATIONS and used in constants:
                    continue
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}: {name}(…{used}…)")
    assert offenders == []


def test_programs_are_started_with_argv_lists_never_a_shell() -> None:
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "shell=True" not in text, path
        assert "os.system(" not in text, path
        assert "os.popen(" not in text, path
    for platform in ("linux", "darwin", "win32"):
        hostile = (
            r"C:\media\a file & calc.exe ^ %PATH%.mkv"
            if platform == "win32"
            else "/media/a file; rm -rf ~ & $(reboot) `x`.mkv"
        )
        for argv in (desktop.open_command(hostile, platform), desktop.reveal_command(hostile, platform)):
            assert isinstance(argv, list)
            assert all(isinstance(a, str) for a in argv)
            assert any(hostile in a or a in hostile for a in argv[1:])
    with pytest.raises(desktop.DesktopActionError):
        desktop.open_command("-rf", "linux")  # a relative path that looks like an option


def test_simulator_binds_to_loopback_by_default(small_sim: Simulator, cli: Callable[..., CliResult]) -> None:
    assert small_sim.host == "127.0.0.1"
    assert small_sim.url.startswith("http://127.0.0.1:")
    assert inspect.signature(Simulator).parameters["host"].default == "127.0.0.1"
    help_text = cli("sim", "--help").out
    assert "127.0.0.1" in help_text
    # Nothing answers on another address of this host.
    other = socket.gethostbyname(socket.gethostname())
    if other.startswith("127."):
        return
    with socket.socket() as probe:
        probe.settimeout(1)
        assert probe.connect_ex((other, small_sim.port)) != 0


def test_catalog_files_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "sub" / "catalog.sqlite"
        path.parent.mkdir()  # an explicit URL's folder must exist (only the default one is created)
        engine = open_catalog(f"sqlite:///{path}")
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))
            conn.execute(sa.text("INSERT INTO probe VALUES (:x)"), {"x": 1})
        with engine.connect() as conn:  # keep a connection so -wal and -shm exist
            conn.execute(sa.text("SELECT * FROM probe")).all()
            files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
            assert all(f.exists() for f in files), [f for f in files if not f.exists()]
            modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in files}
        engine.dispose()
    finally:
        os.umask(old)
    assert modes == dict.fromkeys(modes, 0o600), {k: oct(v) for k, v in modes.items()}
