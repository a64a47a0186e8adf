"""`retrovue server …` and `retrovue libraries …` against a real simulated Plex server."""

from __future__ import annotations

import http.server
import json
import shutil
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from retrovue.sim import Simulator
from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def _no_token_anywhere(result: CliResult, token: str) -> None:
    assert token not in result.out
    assert token not in result.err


def test_add_list_and_libraries(cli: Cli, plex_sim: Simulator) -> None:
    added = cli("server", "add", "home", plex_sim.url, "--token", plex_sim.token)
    assert added.code == 0, added.err
    assert "Added server home" in added.out
    assert "TV Shows (show" in added.out
    assert "Movies (movie" in added.out
    listed = cli("server", "list", "--json")
    (server,) = json.loads(listed.out)
    assert server["name"] == "home"
    assert server["machine_identifier"] == plex_sim.machine_identifier
    assert server["libraries"] == 2
    libs = json.loads(cli("libraries", "--json").out)
    assert {(lib["title"], lib["kind"], lib["enabled"]) for lib in libs} == {
        ("TV Shows", "show", True),
        ("Movies", "movie", True),
    }
    assert all(lib["counts"]["ACTIVE"] == 0 for lib in libs)
    for result in (added, listed, cli("server", "list"), cli("libraries")):
        _no_token_anywhere(result, plex_sim.token)


def test_enable_disable_and_options(cli: Cli, plex_sim: Simulator) -> None:
    cli("server", "add", "home", plex_sim.url, "--token", plex_sim.token)
    assert cli("libraries", "disable", "Movies").code == 0
    libs = {lib["title"]: lib for lib in json.loads(cli("libraries", "--json", "--no-refresh").out)}
    assert libs["Movies"]["enabled"] is False
    assert cli("libraries", "enable", "movies").code == 0
    assert cli("libraries", "set", "Movies", "--retention-days", "7").code == 0
    bad = cli("libraries", "set", "Movies", "--missing-threshold", "101")
    assert (bad.code, bad.err.count("\n")) == (2, 1)
    unknown = cli("libraries", "enable", "Cartoons")
    assert unknown.code == 2
    assert "no library 'Cartoons'" in unknown.err


def test_wrong_token_saves_nothing(cli: Cli, plex_sim: Simulator) -> None:
    result = cli("server", "add", "home", plex_sim.url, "--token", "not-the-token")
    assert result.code == 1
    assert result.err.count("\n") == 1
    assert "token" in result.err.lower()
    _no_token_anywhere(result, "not-the-token")
    assert json.loads(cli("server", "list", "--json").out) == []


def test_unreachable_server(cli: Cli) -> None:
    result = cli("server", "add", "home", "http://127.0.0.1:9", "--token", "tok")
    assert result.code == 1
    assert result.err.startswith("error: ")
    assert result.err.count("\n") == 1
    assert "http://127.0.0.1:9" in result.err


@pytest.fixture
def not_plex() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html><body>My router</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_not_a_plex_server(cli: Cli, not_plex: str) -> None:
    result = cli("server", "add", "router", not_plex, "--token", "tok")
    assert result.code == 1
    assert "not a Plex" in result.err or "not look like a Plex" in result.err or "Plex server" in result.err
    assert result.err.count("\n") == 1


@pytest.fixture
def self_signed_https(tmp_path: Path, not_plex: str) -> Iterator[str]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed; needed to make a self-signed certificate")
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
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_tls_failure_is_one_line(cli: Cli, self_signed_https: str) -> None:
    result = cli("server", "add", "secure", self_signed_https, "--token", "tok")
    assert result.code == 1
    assert "certificate" in result.err.lower() or "tls" in result.err.lower()
    assert result.err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("server", "add", "home", "ftp://nas", "--token", "t"), "must start with http"),
        (("server", "add", "home", "nas:32400", "--token", "t"), "needs a scheme"),
        (("server", "add", "home", "http://nas:99999", "--token", "t"), "invalid port"),
        (("server", "add", "home", "http://nas", "--token", " "), "token is empty"),
        (("server", "remove", "ghost", "--yes"), "no server named 'ghost'"),
        (("server", "edit", "ghost", "--url", "http://x"), "no server named 'ghost'"),
        (("libraries", "--server", "ghost"), "no server named 'ghost'"),
    ],
)
def test_usage_errors_exit_2_with_one_line(cli: Cli, args: tuple[str, ...], message: str) -> None:
    result = cli(*args)
    assert result.code == 2, result
    assert message in result.err
    assert result.err.count("\n") == 1


def test_bad_db_url_is_a_usage_error(cli: Cli) -> None:
    result = cli("server", "list", db_url="nonsense://")
    assert result.code == 2
    assert result.err.count("\n") == 1


def test_remove_asks_then_removes(cli: Cli, plex_sim: Simulator) -> None:
    cli("server", "add", "home", plex_sim.url, "--token", plex_sim.token)
    declined = cli("server", "remove", "home", input="n\n")
    assert declined.code == 1
    assert len(json.loads(cli("server", "list", "--json").out)) == 1
    assert cli("server", "remove", "home", input="y\n").code == 0
    assert json.loads(cli("server", "list", "--json").out) == []
    assert json.loads(cli("libraries", "--json").out) == []


def test_edit_rechecks_the_connection(cli: Cli, plex_sim: Simulator) -> None:
    cli("server", "add", "home", plex_sim.url, "--token", plex_sim.token)
    bad = cli("server", "edit", "home", "--token", "wrong-token")
    assert bad.code == 1
    _no_token_anywhere(bad, "wrong-token")
    assert cli("server", "edit", "home", "--name", "living-room").code == 0
    (server,) = json.loads(cli("server", "list", "--json").out)
    assert server["name"] == "living-room"
