"""`SimASGI`: the layer in front of the Plex routes. It logs every request (token stripped), checks
the token, and delivers the faults a test asked for (`faults`): latency, resets, error statuses,
cut or garbled bodies, a revoked token, a server gone.

Why it is apart from the routes: faults and the request log apply to every path alike, before any
route runs, and the control routes (`/_sim/...`) pass through it unlogged and never faulted.
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from retrovue.sim.faults import Decision
from retrovue.sim.server import abort_connection
from retrovue.sim.state import SimState
from retrovue.sim.web import BODY_FAULT, html_error

__all__ = ["CONTROL_PREFIX", "SimASGI", "strip_token"]

CONTROL_PREFIX = "/_sim/"
_TOKEN_PARAM = re.compile(r"^x-plex-token$", re.IGNORECASE)


def strip_token(query_string: str) -> str:
    """The query string without any X-Plex-Token parameter (order of the rest preserved)."""
    if not query_string:
        return ""
    kept = [p for p in query_string.split("&") if not _TOKEN_PARAM.match(p.split("=", 1)[0])]
    return "&".join(kept)


def _query_token(query_string: str) -> str | None:
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        if _TOKEN_PARAM.match(name):
            return value
    return None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _delivered(decision: Decision, authorized: bool, gone: bool) -> str | None:
    """The fault an answer really carries (the first that applies, in the order they are served)."""
    if gone:
        return "down"
    if decision.reset:
        return "reset"
    if decision.status is not None:
        return f"status={decision.status}"
    if not authorized:
        return None
    if decision.malformed:
        return "malformed"
    if decision.truncate:
        return "truncate"
    if decision.slow > 0:
        return "slow"
    if decision.latency > 0:
        return "latency"
    return None


class SimASGI:
    """Outer ASGI layer: request log, token check, faults; then the starlette app."""

    def __init__(self, state: SimState, app: ASGIApp) -> None:
        self.state = state
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = self.state
        path: str = scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        token = _header(scope, b"x-plex-token") or _query_token(query)
        if path.startswith(CONTROL_PREFIX):
            if not (token is not None and token == state.token):
                await html_error(401)(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        with state.lock:
            state.request_number += 1
            number = state.request_number
            method = "WEBSOCKET" if scope["type"] == "websocket" else scope["method"]
            state.requests.append((method, path, strip_token(query)))
            limit = state.faults.revoke_after()
            if limit is not None and number - state.faults_base > limit:
                state.revoked = True
            decision = state.faults.decide(state.seed, number, path) if state.faults else Decision()
            down = state.faults.down_after()
            gone = down is not None and number - state.faults_base > down
            if gone:
                decision = Decision(reset=True)
            latency = state.latency_ms / 1000.0 + decision.latency
            authorized = path == "/identity" or state.token_ok(token)
            if scope["type"] == "http":
                kind = _delivered(decision, authorized, gone)
                if kind is None and not authorized and state.revoked:
                    kind = "revoked"  # a valid token refused: revoke-after or revoke_token()
                if kind is not None:
                    state.injected[kind] += 1
        if scope["type"] == "websocket":
            if not authorized:
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        if latency > 0:
            await asyncio.sleep(latency)
        if decision.reset:
            await self._reset(scope, receive)
            return
        if decision.status is not None:
            await html_error(decision.status)(scope, receive, send)
            return
        if not authorized:
            await html_error(401)(scope, receive, send)
            return
        if decision.touches_body:
            await self._faulty_body(
                {**scope, BODY_FAULT: decision.malformed or decision.truncate}, receive, send, decision
            )
            return
        await self.app(scope, receive, send)

    @staticmethod
    async def _wait_disconnect(receive: Receive) -> None:
        try:
            async with asyncio.timeout(5):
                while (await receive())["type"] != "http.disconnect":
                    pass
        except TimeoutError:
            pass

    async def _reset(self, scope: Scope, receive: Receive) -> None:
        abort_connection(scope.get("client"))
        await self._wait_disconnect(receive)

    async def _faulty_body(self, scope: Scope, receive: Receive, send: Send, decision: Decision) -> None:
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        assert start is not None
        body = b"".join(chunks)
        if decision.malformed:
            cut = body[: max(1, len(body) // 2)] + b"\x00<<garbled"
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(cut)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": cut})
            return
        await send(start)
        if decision.truncate:
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            await asyncio.sleep(0.01)
            await self._reset(scope, receive)
            return
        step = max(1, -(-len(body) // 10))
        chunks = [body[offset : offset + step] for offset in range(0, len(body), step)] or [b""]
        for chunk in chunks:
            await asyncio.sleep(decision.slow / len(chunks))
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
