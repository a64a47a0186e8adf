"""A plex.tv stand-in: sign-in PINs, the account, and its servers with their connections.

Why it exists: nothing here reaches plex.tv, and the account features (`retrovue login`, server
discovery, connection choice, token refresh) must be proven against a real HTTP server. Like the
Plex simulator it is built from the documents (the Plex API guide's "Authenticating with Plex" and
the `PlexDevice` schema), never from our client, and shares no code with `retrovue.account`.

    with Simulator(seed=1) as home, PlexTvSim(approve_after_polls=2) as tv:
        tv.add_server("Home", home, connections=[("local", "live")])
        ...  # RETROVUE_PLEX_TV_URL=tv.url; tv.token is the account token

Each listed connection that is "live" is a listener of its own in front of the simulated server
(so one connection can be cut while another answers); "dead" is a port nothing listens on. The
simulated servers check tokens per server as real Plex does: an owned server takes the account token
and its listed access token; a shared server takes only the access token issued for this account.
See docs/simulator.md ("The plex.tv stand-in").
"""

from __future__ import annotations

import datetime as dt
import json
import math
import secrets
import socket
import string
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from retrovue.sim.server import ServerThread
from retrovue.sim.simulator import Simulator
from retrovue.sim.state import PLEX_VERSION

__all__ = ["PlexTvSim", "SimDevice", "build_household", "free_port"]

CONNECTION_KINDS = ("local", "remote", "relay")
_ALNUM = string.ascii_lowercase + string.digits


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on (bound, then released): a connection to it is refused."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _errors(status: int, code: int, message: str) -> JSONResponse:
    """plex.tv's JSON error body."""
    return JSONResponse(
        {"errors": [{"code": code, "message": message, "status": status}]}, status_code=status
    )


@dataclass
class SimPin:
    id: int
    code: str
    client_identifier: str
    product: str
    created_at: float
    lifetime_s: float
    auth_token: str | None = None
    polls: int = 0

    def expired(self, now: float) -> bool:
        return now >= self.created_at + self.lifetime_s


@dataclass
class SimConnection:
    kind: str  # local | remote | relay
    protocol: str  # http | https
    port: int
    front: ServerThread | None = None  # None: nothing listens (a dead address)

    @property
    def uri(self) -> str:
        return f"{self.protocol}://127.0.0.1:{self.port}"


@dataclass
class SimDevice:
    """One device of the account as plex.tv lists it; `sim` is the simulated server behind it."""

    name: str
    client_identifier: str
    owned: bool
    access_token: str
    sim: Simulator | None = None
    owner: str | None = None  # the owner's username, for a shared server
    owner_id: int | None = None
    presence: bool = True
    https_required: bool = False
    provides: str = "server"
    product: str = "Plex Media Server"
    connections: list[SimConnection] = field(default_factory=list)

    def to_json(self, *, https: bool, relay: bool, created: float) -> dict[str, Any]:
        shown = [
            c for c in self.connections if (relay or c.kind != "relay") and (https or c.protocol != "https")
        ]
        return {
            "name": self.name,
            "product": self.product,
            "productVersion": PLEX_VERSION if self.provides == "server" else "10.1.2",
            "platform": "Linux" if self.provides == "server" else "Android",
            "platformVersion": "6.1.0",
            "device": "PC" if self.provides == "server" else "SHIELD Android TV",
            "clientIdentifier": self.client_identifier,
            "createdAt": _iso(created),
            "lastSeenAt": _iso(time.time() if self.presence else created),
            "provides": self.provides,
            "ownerId": None if self.owned else self.owner_id,
            "sourceTitle": None if self.owned else self.owner,
            "publicAddress": "203.0.113.7",
            "accessToken": self.access_token,
            "owned": self.owned,
            "home": False,
            "synced": False,
            "relay": any(c.kind == "relay" for c in self.connections),
            "presence": self.presence,
            "httpsRequired": self.https_required,
            "publicAddressMatches": self.owned,
            "dnsRebindingProtection": False,
            "natLoopbackSupported": True,
            "connections": [
                {
                    "protocol": c.protocol,
                    "address": "127.0.0.1",
                    "port": c.port,
                    "uri": c.uri,
                    "local": c.kind == "local",
                    "relay": c.kind == "relay",
                    "IPv6": False,
                }
                for c in shown
            ],
        }


class PlexTvSim:
    """The plex.tv stand-in: a real HTTP server on an ephemeral port (or `port`).

    `approve_after_polls=N` approves every PIN on its N-th check (None: only `approve()` or the
    stand-in's `/auth` page approve it); `pin_lifetime_s` is how long a PIN lives.
    """

    def __init__(
        self,
        *,
        username: str = "retrovue-fan",
        token: str | None = None,
        approve_after_polls: int | None = None,
        pin_lifetime_s: float = 1800.0,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lock = threading.RLock()
        self.username = username
        self.user_id = 1000 + secrets.randbelow(9000)
        self.user_uuid = secrets.token_hex(8)
        self._token = token or secrets.token_urlsafe(15)
        self.approve_after_polls = approve_after_polls
        self.pin_lifetime_s = pin_lifetime_s
        self.clock = clock
        self.created = clock()
        self.pins: dict[int, SimPin] = {}
        self.devices: list[SimDevice] = []
        self.requests: list[tuple[str, str, str]] = []
        self.refused_tokens: set[str] = set()
        self._next_pin = 564_964_751
        self._host = host
        self._server = ServerThread(_build_app(self), host, port)
        self._fronts: list[ServerThread] = []
        self._running = False

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> PlexTvSim:
        if not self._running:
            self._server.start()
            self._running = True
        return self

    def stop(self) -> None:
        """Stop every listener at once (each takes a tick of uvicorn's loop to wind down)."""
        servers = [*self._fronts, *([self._server] if self._running else [])]
        stoppers = [threading.Thread(target=server.stop) for server in servers]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join()
        self._fronts.clear()
        self._running = False

    def __enter__(self) -> PlexTvSim:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._server.port}"

    @property
    def token(self) -> str:
        """The account token (what a user gets by signing in)."""
        return self._token

    # -- the account's devices --------------------------------------------------------------------
    def add_server(
        self,
        name: str,
        sim: Simulator | None,
        *,
        owned: bool = True,
        owner: str = "grandpa",
        connections: Sequence[tuple[str, str | Simulator] | tuple[str, str | Simulator, str]] = (
            ("local", "live"),
        ),
        presence: bool = True,
        https_required: bool = False,
    ) -> SimDevice:
        """List a server; `connections` are (kind, "live" | "dead" | other[, protocol]) in plex.tv's order.

        A live connection needs a running `sim`; an offline server (`presence=False`) may have none.
        A simulator instead of "live" lists an address of this server where that other server
        answers (a DHCP lease handed to another machine, a stale port forward).
        """
        with self.lock:
            device = SimDevice(
                name=name,
                client_identifier=sim.machine_identifier if sim else secrets.token_hex(20),
                owned=owned,
                access_token=secrets.token_urlsafe(15),
                sim=sim,
                owner=None if owned else owner,
                owner_id=None if owned else 2000 + len(self.devices),
                presence=presence,
                https_required=https_required,
            )
            for spec in connections:
                kind, state = spec[0], spec[1]
                protocol = spec[2] if len(spec) > 2 else "http"
                device.connections.append(self._connection(sim, kind, state, protocol))
            if sim is not None:
                sim.accept_token(device.access_token)
                if owned:
                    sim.accept_token(self._token)
            self.devices.append(device)
            return device

    def add_player(self, name: str = "Living Room TV") -> SimDevice:
        """A device that is not a server (discovery must leave it out)."""
        with self.lock:
            device = SimDevice(
                name=name,
                client_identifier=secrets.token_hex(12),
                owned=True,
                access_token=secrets.token_urlsafe(15),
                provides="client,player,pubsub-player",
                product="Plex for Android (TV)",
            )
            device.connections.append(SimConnection("local", "http", 32500))
            self.devices.append(device)
            return device

    def _connection(
        self, sim: Simulator | None, kind: str, state: str | Simulator, protocol: str
    ) -> SimConnection:
        if isinstance(state, Simulator):  # another server answers at this address
            sim, state = state, "live"
        if kind not in CONNECTION_KINDS or state not in ("live", "dead") or protocol not in ("http", "https"):
            raise ValueError(f"bad connection spec {(kind, state, protocol)!r}")
        if state == "dead":
            return SimConnection(kind, protocol, free_port())
        if sim is None:
            raise ValueError("a live connection needs a simulated server")
        front = ServerThread(sim.app, self._host, 0)
        front.start()
        self._fronts.append(front)
        return SimConnection(kind, protocol, front.port, front)

    def device(self, name: str) -> SimDevice:
        with self.lock:
            for dev in self.devices:
                if dev.name == name:
                    return dev
        raise KeyError(name)

    def cut(self, name: str, kind: str) -> None:
        """Stop answering on the server's live connections of `kind` (a link going down)."""
        with self.lock:
            for conn in self.device(name).connections:
                if conn.kind == kind and conn.front is not None:
                    conn.front.stop()
                    conn.front = None

    def restore(self, name: str, kind: str) -> None:
        """The server's cut connections of `kind` answer again, at the same addresses."""
        with self.lock:
            dev = self.device(name)
            for conn in dev.connections:
                if conn.kind == kind and conn.front is None and dev.sim is not None:
                    front = ServerThread(dev.sim.app, self._host, conn.port)
                    front.start()
                    self._fronts.append(front)
                    conn.front = front

    def readdress(self, name: str) -> None:
        """Every address of the server changes (a new ISP, a new DHCP lease): the old ones stop
        answering, and plex.tv lists new live ones of the same kinds."""
        with self.lock:
            dev = self.device(name)
            for conn in list(dev.connections):
                if conn.front is not None:
                    conn.front.stop()
                    conn.front = None
            kinds = [(c.kind, c.protocol) for c in dev.connections]
            dev.connections = [self._connection(dev.sim, kind, "live", proto) for kind, proto in kinds]

    def rotate_token(self, name: str) -> str:
        """plex.tv issues the server a new access token for this account; the old one stops working."""
        with self.lock:
            dev = self.device(name)
            if dev.sim is not None:
                dev.sim.refuse_token(dev.access_token)
            dev.access_token = secrets.token_urlsafe(15)
            if dev.sim is not None:
                dev.sim.accept_token(dev.access_token)
            return dev.access_token

    def unshare(self, name: str) -> None:
        """The owner stops sharing: the server leaves the list and refuses its access token."""
        with self.lock:
            dev = self.device(name)
            if dev.sim is not None:
                dev.sim.refuse_token(dev.access_token)
            self.devices.remove(dev)

    # -- PINs ---------------------------------------------------------------------------------------
    def _find_pin(self, pin: int | str) -> SimPin:
        with self.lock:
            for candidate in self.pins.values():
                if str(pin) in (str(candidate.id), candidate.code):
                    return candidate
        raise KeyError(f"no PIN {pin!r}")

    def approve(self, pin: int | str) -> None:
        """The user signs in at the auth page and approves the PIN (by id or code)."""
        with self.lock:
            found = self._find_pin(pin)
            if found.expired(self.clock()):
                raise ValueError("the PIN has expired")
            found.auth_token = self._token

    def expire(self, pin: int | str) -> None:
        with self.lock:
            found = self._find_pin(pin)
            found.lifetime_s = 0

    def revoke_account_token(self) -> None:
        """plex.tv stops accepting the account token (signed out everywhere, password changed)."""
        with self.lock:
            self.refused_tokens.add(self._token)

    def token_ok(self, token: str | None) -> bool:
        return token is not None and token == self._token and token not in self.refused_tokens

    def reset_requests(self) -> None:
        with self.lock:
            self.requests.clear()

    # -- JSON ---------------------------------------------------------------------------------------
    def pin_json(self, pin: SimPin) -> dict[str, Any]:
        now = self.clock()
        return {
            "id": pin.id,
            "code": pin.code,
            "product": pin.product,
            "trusted": False,
            "qr": f"https://plex.tv/api/v2/pins/qr/{pin.code}",
            "clientIdentifier": pin.client_identifier,
            "location": {
                "code": "US",
                "european_union_member": False,
                "continent_code": "NA",
                "country": "United States",
                "city": "Springfield",
                "time_zone": "America/Chicago",
                "postal_code": "62701",
                "in_privacy_restricted_country": False,
                "subdivisions": "Illinois",
                "coordinates": "39.8,-89.6",
            },
            "expiresIn": max(0, math.ceil(pin.created_at + pin.lifetime_s - now)),
            "createdAt": _iso(pin.created_at),
            "expiresAt": _iso(pin.created_at + pin.lifetime_s),
            "authToken": pin.auth_token,
            "newRegistration": None,
        }

    def user_json(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "uuid": self.user_uuid,
            "username": self.username,
            "title": self.username,
            "email": f"{self.username}@example.com",
            "friendlyName": self.username.replace("-", " ").title(),
            "locale": None,
            "confirmed": True,
            "joinedAt": int(self.created) - 86_400 * 400,
            "emailOnlyAuth": False,
            "hasPassword": True,
            "protected": False,
            "thumb": f"https://plex.tv/users/{self.user_uuid}/avatar",
            "authToken": self._token,
            "mailingListStatus": "active",
            "mailingListActive": False,
            "scrobbleTypes": "",
            "country": "US",
            "restricted": False,
            "anonymous": False,
            "home": False,
            "guest": False,
            "homeSize": 1,
            "homeAdmin": False,
            "maxHomeSize": 15,
            "rememberExpiresAt": int(self.created) + 86_400 * 14,
            "entitlements": [],
            "roles": [],
            "services": [],
            "adsConsent": None,
            "adsConsentSetAt": None,
            "adsConsentReminderAt": None,
            "experimentalFeatures": False,
            "twoFactorEnabled": False,
            "backupCodesCreated": False,
        }


def _token(request: Request) -> str | None:
    return request.headers.get("x-plex-token") or request.query_params.get("X-Plex-Token")


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "0") in ("1", "true")


def _build_app(tv: PlexTvSim) -> Starlette:
    def log(request: Request) -> None:
        query = "&".join(
            f"{k}={v}" for k, v in request.query_params.multi_items() if k.lower() != "x-plex-token"
        )
        with tv.lock:
            tv.requests.append((request.method, request.url.path, query))

    async def create_pin(request: Request) -> Response:
        log(request)
        client_id = request.headers.get("x-plex-client-identifier", "")
        if not client_id:
            return _errors(400, 1000, "X-Plex-Client-Identifier is missing")
        strong = _flag(request, "strong")
        with tv.lock:
            pin_id = tv._next_pin
            tv._next_pin += 1
            if strong:
                code = "".join(secrets.choice(_ALNUM) for _ in range(25))
            else:
                code = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(4))
            lifetime = tv.pin_lifetime_s if strong else min(tv.pin_lifetime_s, 900.0)
            pin = SimPin(
                pin_id, code, client_id, request.headers.get("x-plex-product", ""), tv.clock(), lifetime
            )
            tv.pins[pin_id] = pin
            body = tv.pin_json(pin)
        return JSONResponse(body, status_code=201)

    async def check_pin(request: Request) -> Response:
        log(request)
        client_id = request.headers.get("x-plex-client-identifier", "")
        if not client_id:
            return _errors(400, 1000, "X-Plex-Client-Identifier is missing")
        with tv.lock:
            try:
                pin = tv.pins[int(request.path_params["pin_id"])]
            except (KeyError, ValueError):
                return _errors(404, 1020, "Code not found or expired")
            if pin.client_identifier != client_id or pin.expired(tv.clock()):
                return _errors(404, 1020, "Code not found or expired")
            pin.polls += 1
            if tv.approve_after_polls is not None and pin.polls >= tv.approve_after_polls:
                pin.auth_token = tv.token
            body = tv.pin_json(pin)
        return JSONResponse(body)

    async def user(request: Request) -> Response:
        log(request)
        if not tv.token_ok(_token(request)):
            return _errors(401, 1001, "User could not be authenticated")
        with tv.lock:
            return JSONResponse(tv.user_json())

    async def resources(request: Request) -> Response:
        log(request)
        if not tv.token_ok(_token(request)):
            return _errors(401, 1001, "User could not be authenticated")
        https, relay = _flag(request, "includeHttps"), _flag(request, "includeRelay")
        with tv.lock:
            body = [d.to_json(https=https, relay=relay, created=tv.created) for d in tv.devices]
        return JSONResponse(body)

    async def auth_page(request: Request) -> Response:
        """The stand-in for app.plex.tv/auth: one button that approves the code in the URL fragment."""
        page = _AUTH_PAGE.replace("{username}", tv.username)
        return HTMLResponse(page)

    async def auth_approve(request: Request) -> Response:
        form = await request.body()
        try:
            code = json.loads(form or b"{}").get("code", "")
            tv.approve(str(code))
        except (ValueError, KeyError, AttributeError):
            return JSONResponse({"approved": False}, status_code=404)
        return JSONResponse({"approved": True})

    async def control(request: Request) -> Response:
        if not tv.token_ok(_token(request)):
            return _errors(401, 1001, "User could not be authenticated")
        op = request.path_params["op"].replace("-", "_")
        raw = await request.body()
        try:
            kwargs = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        ops: dict[str, Callable[..., Any]] = {
            "approve": tv.approve,
            "expire": tv.expire,
            "rotate_token": tv.rotate_token,
            "unshare": tv.unshare,
            "cut": tv.cut,
            "readdress": tv.readdress,
            "restore": tv.restore,
            "revoke_account_token": tv.revoke_account_token,
            "reset_requests": tv.reset_requests,
            "requests": lambda: [list(r) for r in tv.requests],
            "pins": lambda: [tv.pin_json(p) | {"authToken": bool(p.auth_token)} for p in tv.pins.values()],
        }
        if op not in ops or not isinstance(kwargs, dict):
            return JSONResponse({"error": f"unknown op {op!r}"}, status_code=404)
        try:
            result = ops[op](**kwargs)
        except KeyError as exc:
            return JSONResponse({"error": str(exc).strip("'\"")}, status_code=404)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"result": result})

    return Starlette(
        routes=[
            Route("/api/v2/pins", create_pin, methods=["POST"]),
            Route("/api/v2/pins/{pin_id}", check_pin, methods=["GET"]),
            Route("/api/v2/user", user, methods=["GET"]),
            Route("/api/v2/resources", resources, methods=["GET"]),
            Route("/auth", auth_page, methods=["GET"]),
            Route("/auth/approve", auth_approve, methods=["POST"]),
            Route("/_plextv/{op}", control, methods=["GET", "POST"]),
        ]
    )


_AUTH_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in with Plex (stand-in)</title></head>
<body style="font-family: sans-serif; max-width: 32em; margin: 4em auto">
<h1>plex.tv stand-in</h1>
<p>An app asks to sign in to the account <b>{username}</b>.</p>
<p>Code: <code id="code">?</code></p>
<button id="approve">Approve</button> <span id="result"></span>
<script>
const params = new URLSearchParams(location.hash.replace(/^#\\??/, ""));
const code = params.get("code") || "";
document.getElementById("code").textContent = code;
document.getElementById("approve").onclick = async () => {
  const answer = await fetch("/auth/approve", {method: "POST", body: JSON.stringify({code})});
  document.getElementById("result").textContent =
    answer.ok ? "Approved: return to the app." : "Unknown or expired code.";
};
</script>
</body></html>
"""


def build_household(
    tv: PlexTvSim, main: Simulator, *, shows: int = 2, movies: int = 3, seed: int = 100
) -> list[Simulator]:
    """The stand-in's standard account: four servers that cover the cases a household meets.

    * "Living Room": owned, answers on its local address (`main`).
    * "Grandpa's Plex": shared by grandpa; his LAN address is dead from here, his public one answers;
      it takes only the access token issued for this account.
    * "Cabin": owned; its local address is dead, the remote one answers, a relay too.
    * "Old NAS": owned, offline (plex.tv shows it absent; nothing answers).

    Returns the extra simulators started (the caller stops them).
    """
    grandpa = Simulator(seed=seed + 1, shows=shows, movies=movies, seasons_per_show=1).start()
    cabin = Simulator(seed=seed + 2, shows=shows, movies=movies, seasons_per_show=1).start()
    tv.add_server("Living Room", main, connections=[("local", "live")])
    tv.add_server(
        "Grandpa's Plex",
        grandpa,
        owned=False,
        owner="grandpa",
        connections=[("local", "dead"), ("remote", "live")],
    )
    tv.add_server("Cabin", cabin, connections=[("local", "dead"), ("remote", "live"), ("relay", "live")])
    tv.add_server("Old NAS", None, presence=False, connections=[("local", "dead"), ("remote", "dead")])
    tv.add_player()
    return [grandpa, cabin]
