"""Headers, retries with backoff, and one typed, token-free, one-line error per failure kind."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator

import httpx
import pytest

from retrovue.errors import (
    ConfigError,
    NotPlexServerError,
    PlexBadResponseError,
    PlexError,
    PlexNotFoundError,
    PlexTLSError,
    PlexUnauthorizedError,
    PlexUnreachableError,
)
from retrovue.plex import PlexClient
from retrovue.plex.http import _ssl_context
from retrovue.plex.retry import MAX_DELAY, backoff_delay
from tests.plex.conftest import BASE_URL, TOKEN, Recorder, container

IDENTITY = {"size": 0, "claimed": True, "machineIdentifier": "m1", "version": "1.41.0"}
UNAUTHORIZED_HTML = (
    "<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>"
)


def script(*steps: httpx.Response | Exception) -> Callable[[httpx.Request], httpx.Response]:
    """A handler that plays `steps` in order (raising exceptions), then keeps repeating the last."""
    queue: Iterator[httpx.Response | Exception] = iter(steps)
    last: list[httpx.Response | Exception] = [steps[-1]]

    def handler(request: httpx.Request) -> httpx.Response:
        step = next(queue, last[0])
        if isinstance(step, Exception):
            raise step
        return step

    return handler


def ok() -> httpx.Response:
    return container(**IDENTITY)


def test_headers_and_no_token_in_url(make_client: Callable[..., PlexClient]) -> None:
    recorder = Recorder(script(ok()))
    client = make_client(recorder, client_identifier="test-id")
    assert client.identity().machine_identifier == "m1"
    (request,) = recorder.requests
    assert request.headers["Accept"] == "application/json"
    assert request.headers["X-Plex-Token"] == TOKEN
    assert request.headers["X-Plex-Client-Identifier"] == "test-id"
    assert request.headers["X-Plex-Product"] == "Retrovue Ingest"
    assert request.headers["X-Plex-Version"]
    assert TOKEN not in str(request.url)


def test_keep_alive_one_client_many_requests(make_client: Callable[..., PlexClient]) -> None:
    client = make_client(script(ok()))
    for _ in range(3):
        client.identity()
    assert client.request_count == 3


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500),
        httpx.Response(503, text="busy"),
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
        httpx.Response(
            200, headers={"content-type": "application/json"}, content=b'{"MediaContainer": {"mach'
        ),
    ],
    ids=["500", "503", "connect", "timeout", "truncated", "cut-json"],
)
def test_transient_failure_then_success(make_client: Callable[..., PlexClient], failure: object) -> None:
    assert isinstance(failure, httpx.Response | Exception)
    client = make_client(script(failure, failure, ok()), max_retries=3)
    assert client.identity().version == "1.41.0"
    assert client.request_count == 3


@pytest.mark.parametrize(
    ("failure", "kind", "words"),
    [
        (httpx.Response(502), PlexBadResponseError, "HTTP 502 after 3 attempts"),
        (httpx.ConnectError("[Errno 111] Connection refused"), PlexUnreachableError, "is the server running"),
        (httpx.ConnectTimeout("timed out"), PlexUnreachableError, "after 3 attempts"),
        (httpx.ReadError("connection reset by peer"), PlexUnreachableError, "Cannot reach"),
        (httpx.RemoteProtocolError("incomplete chunked read"), PlexBadResponseError, "broke off"),
        (httpx.Response(200, json=None, content=b"{not json"), PlexBadResponseError, "unreadable"),
    ],
)
def test_exhausted_retries_raise_one_typed_error(
    make_client: Callable[..., PlexClient],
    failure: httpx.Response | Exception,
    kind: type[PlexError],
    words: str,
) -> None:
    client = make_client(script(failure), max_retries=2)
    with pytest.raises(kind) as raised:
        client.identity()
    assert words in str(raised.value)
    assert client.request_count == 3


@pytest.mark.parametrize(
    ("response", "kind", "advice"),
    [
        (httpx.Response(401, html=UNAUTHORIZED_HTML), PlexUnauthorizedError, "check the token"),
        (httpx.Response(403), PlexUnauthorizedError, "check the token"),
        (httpx.Response(404, html="<html>Not Found</html>"), PlexNotFoundError, "path prefix is wrong"),
        (httpx.Response(400), PlexBadResponseError, "HTTP 400"),
        (
            httpx.Response(301, headers={"location": "https://other:32400/identity"}),
            PlexBadResponseError,
            "https://other",
        ),
        (
            httpx.Response(200, html="<html><body>Router login</body></html>"),
            NotPlexServerError,
            "usually 32400",
        ),
        (httpx.Response(200, json={"status": "ok"}), NotPlexServerError, "not like a Plex Media Server"),
        (
            httpx.Response(200, content=b'<?xml version="1.0"?><MediaContainer size="0"/>'),
            PlexBadResponseError,
            "in XML",
        ),
        (httpx.Response(200, json={"MediaContainer": {"size": 0}}), NotPlexServerError, "machineIdentifier"),
    ],
)
def test_non_retried_failures(
    make_client: Callable[..., PlexClient], response: httpx.Response, kind: type[PlexError], advice: str
) -> None:
    client = make_client(script(response), max_retries=3)
    with pytest.raises(kind) as raised:
        client.identity()
    assert advice in str(raised.value)
    assert client.request_count == 1


def test_wrong_shape_elsewhere_is_a_bad_response(make_client: Callable[..., PlexClient]) -> None:
    client = make_client(script(httpx.Response(200, json={"hello": 1})))
    with pytest.raises(PlexBadResponseError, match="unexpected answer to GET /library/sections"):
        client.sections()


def test_tls_failure_is_not_retried(make_client: Callable[..., PlexClient]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        try:
            raise ssl.SSLCertVerificationError("certificate verify failed: self-signed certificate")
        except ssl.SSLError as exc:
            raise httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed") from exc

    client = make_client(handler, max_retries=3)
    with pytest.raises(PlexTLSError, match="CA bundle"):
        client.identity()
    assert client.request_count == 1


def test_messages_are_one_line_name_server_and_path_and_never_hold_the_token(
    make_client: Callable[..., PlexClient],
) -> None:
    failures: list[httpx.Response | Exception] = [
        httpx.Response(401),
        httpx.Response(404),
        httpx.Response(500),
        httpx.Response(302, headers={"location": f"http://x/?X-Plex-Token={TOKEN}"}),
        httpx.ConnectError(f"refused\nwhile talking to http://h/?X-Plex-Token={TOKEN}"),
        httpx.Response(200, content=f"{{ bad {TOKEN}".encode()),
        httpx.Response(200, html=f"<html>{TOKEN}</html>"),
    ]
    for failure in failures:
        client = make_client(script(failure), max_retries=1)
        with pytest.raises(PlexError) as raised:
            list(client.iter_shows("3"))
        message = str(raised.value)
        assert TOKEN not in message
        assert "\n" not in message
        assert BASE_URL in message
        assert "/library/sections/3/all" in message
        assert TOKEN not in repr(raised.value)


def test_token_absent_from_client_repr(make_client: Callable[..., PlexClient]) -> None:
    client = make_client(script(ok()))
    assert TOKEN not in repr(client)
    assert BASE_URL in repr(client)
    assert TOKEN not in repr(client._http)
    assert TOKEN not in str(vars(client))


def test_bad_base_urls_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="not an http"):
        PlexClient("plex.local:32400", TOKEN)
    with pytest.raises(ConfigError) as raised:
        PlexClient(f"http://h:32400/?X-Plex-Token={TOKEN}", TOKEN)
    assert TOKEN not in str(raised.value)


def test_missing_ca_bundle_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="CA bundle"):
        PlexClient(BASE_URL, TOKEN, verify="/nonexistent/ca.pem")


def test_backoff_waits_grow_with_jitter(make_client: Callable[..., PlexClient]) -> None:
    waits: list[float] = []
    draws = iter([0.0, 1.0, 0.5])
    client = make_client(
        script(httpx.Response(503)),
        max_retries=3,
        backoff=0.5,
        sleep=waits.append,
        jitter=lambda: next(draws),
    )
    with pytest.raises(PlexBadResponseError):
        client.identity()
    # attempt 0: ceiling 0.5 -> 0.25 + 0 ; attempt 1: ceiling 1.0 -> 0.5 + 0.5 ; attempt 2: 2.0 -> 1 + 0.5
    assert waits == [0.25, 1.0, 1.5]
    assert client.request_count == 4


def test_backoff_delay_policy() -> None:
    assert backoff_delay(0, 0.0, lambda: 0.9) == 0.0
    assert backoff_delay(3, 1.0, lambda: 0.0) == 4.0
    assert backoff_delay(3, 1.0, lambda: 0.999) == pytest.approx(7.996)
    assert backoff_delay(20, 1.0, lambda: 1.0) == MAX_DELAY
    delays = [backoff_delay(n, 0.5, lambda: 0.5) for n in range(5)]
    assert delays == sorted(delays)


def test_verify_accepts_a_ca_bundle_path_or_bool() -> None:
    certifi = pytest.importorskip("certifi")
    for verify in (certifi.where(), False, True):
        PlexClient(BASE_URL, TOKEN, verify=verify).close()


def test_the_trust_store_is_loaded_once_and_only_for_https() -> None:
    """Loading the CA bundle takes ~0.2 s: a plain-HTTP server's client never loads it (its context
    verifies, with no CA, so it would fail closed), and https clients share one loaded context."""
    plain = _ssl_context(True, tls=False)
    assert (plain.verify_mode, plain.check_hostname) == (ssl.CERT_REQUIRED, True)
    assert plain.cert_store_stats()["x509_ca"] == 0
    first, second = _ssl_context(True), _ssl_context(True)
    assert first is second
    assert first.cert_store_stats()["x509_ca"] > 0
    assert _ssl_context(False) is False
