"""The plex.tv stand-in answers like the documents say plex.tv does, and its servers check tokens
per server as real Plex does."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from retrovue.sim import Simulator
from retrovue.sim.plextv import PlexTvSim, build_household, free_port

CLIENT = {"X-Plex-Client-Identifier": "test-install", "X-Plex-Product": "Tests", "Accept": "application/json"}


def _required(spec: str, schema: str) -> set[str]:
    """The `required:` names of a schema in the OpenAPI YAML (first list under the schema)."""
    block = spec.split(f"\n    {schema}:\n", 1)[1]
    names = re.search(r"\n      required:\n((?:        - .+\n)+)", block)
    assert names is not None
    return {line.strip()[2:].strip("'\"") for line in names.group(1).splitlines()}


def _connection_required(spec: str) -> set[str]:
    block = spec.split("\n    PlexDevice:\n", 1)[1].split("connections:", 1)[1]
    names = re.search(r"required:\n((?:\s+- .+\n)+)", block)
    assert names is not None
    return {line.strip()[2:] for line in names.group(1).splitlines()}


@pytest.fixture
def household() -> Iterator[tuple[PlexTvSim, Simulator, list[Simulator]]]:
    with Simulator(seed=3, shows=1, movies=1) as home, PlexTvSim() as tv:
        extra = build_household(tv, home, shows=1, movies=1)
        try:
            yield tv, home, extra
        finally:
            for sim in extra:
                sim.stop()


def test_resources_and_user_carry_every_field_the_spec_requires(
    household: tuple[PlexTvSim, Simulator, list[Simulator]], shared_dir: Path
) -> None:
    tv, _home, _extra = household
    spec = (shared_dir / "reference" / "plex-api-spec.yaml").read_text()
    devices = httpx.get(
        f"{tv.url}/api/v2/resources",
        params={"includeHttps": "1", "includeRelay": "1"},
        headers={**CLIENT, "X-Plex-Token": tv.token},
    ).json()
    assert len(devices) == 5
    device_keys, connection_keys = _required(spec, "PlexDevice"), _connection_required(spec)
    assert {"connections", "accessToken", "owned", "presence"} <= device_keys
    for device in devices:
        assert device_keys <= device.keys(), device_keys - device.keys()
        for conn in device["connections"]:
            assert connection_keys <= conn.keys()
    shared = next(d for d in devices if not d["owned"])
    assert (shared["sourceTitle"], isinstance(shared["ownerId"], int)) == ("grandpa", True)
    assert all(d["ownerId"] is None for d in devices if d["owned"])
    user = httpx.get(f"{tv.url}/api/v2/user", headers={**CLIENT, "X-Plex-Token": tv.token}).json()
    assert _required(spec, "UserPlexAccount") - {"subscription"} <= user.keys()


def test_pins_are_created_checked_and_forgotten(
    household: tuple[PlexTvSim, Simulator, list[Simulator]],
) -> None:
    tv, _home, _extra = household
    with httpx.Client(base_url=tv.url, headers=CLIENT) as client:
        missing = httpx.post(f"{tv.url}/api/v2/pins", headers={"Accept": "application/json"})
        assert missing.status_code == 400
        assert missing.json()["errors"][0]["message"] == "X-Plex-Client-Identifier is missing"
        strong = client.post("/api/v2/pins", params={"strong": "true"})
        assert strong.status_code == 201
        pin = strong.json()
        assert re.fullmatch(r"[a-z0-9]{25}", pin["code"])
        assert (pin["authToken"], pin["expiresIn"]) == (None, 1800)
        assert re.fullmatch(r"[A-Z0-9]{4}", client.post("/api/v2/pins").json()["code"])
        # only the install that made a PIN may check it
        other = httpx.get(
            f"{tv.url}/api/v2/pins/{pin['id']}", headers={**CLIENT, "X-Plex-Client-Identifier": "x"}
        )
        assert other.status_code == 404
        assert client.get(f"/api/v2/pins/{pin['id']}").json()["authToken"] is None
        # approved through the stand-in's own auth page, as a user would
        assert "plex.tv stand-in" in client.get("/auth").text
        assert client.post("/auth/approve", json={"code": pin["code"]}).json() == {"approved": True}
        assert client.get(f"/api/v2/pins/{pin['id']}").json()["authToken"] == tv.token
        tv.expire(pin["id"])
        gone = client.get(f"/api/v2/pins/{pin['id']}")
        assert gone.status_code == 404
        assert gone.json()["errors"][0]["code"] == 1020


def test_servers_check_tokens_per_server(household: tuple[PlexTvSim, Simulator, list[Simulator]]) -> None:
    tv, home, (grandpa, _cabin) = household

    def status(sim: Simulator, token: str) -> int:
        return httpx.get(f"{sim.url}/library/sections", headers={"X-Plex-Token": token}).status_code

    living, shared = tv.device("Living Room"), tv.device("Grandpa's Plex")
    assert status(home, tv.token) == 200  # the owner's account token
    assert status(home, living.access_token) == 200
    assert status(grandpa, tv.token) == 401  # a shared server refuses the account token
    assert status(grandpa, shared.access_token) == 200
    assert status(grandpa, living.access_token) == 401
    old = shared.access_token
    new = tv.rotate_token("Grandpa's Plex")
    assert (status(grandpa, old), status(grandpa, new)) == (401, 200)
    tv.unshare("Grandpa's Plex")
    assert status(grandpa, new) == 401
    assert "Grandpa's Plex" not in [d.name for d in tv.devices]


def test_connections_are_listed_as_asked_and_can_be_cut(
    household: tuple[PlexTvSim, Simulator, list[Simulator]],
) -> None:
    tv, _home, (_grandpa, cabin) = household

    def cabin_connections(**params: str) -> list[dict[str, object]]:
        devices = httpx.get(
            f"{tv.url}/api/v2/resources", params=params, headers={**CLIENT, "X-Plex-Token": tv.token}
        ).json()
        return next(d for d in devices if d["name"] == "Cabin")["connections"]  # type: ignore[no-any-return]

    assert [c["relay"] for c in cabin_connections()] == [False, False]
    listed = cabin_connections(includeRelay="1")
    assert [(c["local"], c["relay"]) for c in listed] == [(True, False), (False, False), (False, True)]
    local, remote, relay = (str(c["uri"]) for c in listed)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{local}/identity")
    for uri in (remote, relay):
        identity = httpx.get(f"{uri}/identity", headers={"Accept": "application/json"}).json()
        assert identity["MediaContainer"]["machineIdentifier"] == cabin.machine_identifier
    tv.cut("Cabin", "remote")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{remote}/identity")
    assert httpx.get(f"{relay}/identity", headers={"Accept": "application/json"}).status_code == 200


def test_account_and_control_need_the_account_token(
    household: tuple[PlexTvSim, Simulator, list[Simulator]],
) -> None:
    tv, _home, _extra = household
    for path in ("/api/v2/user", "/api/v2/resources", "/_plextv/pins"):
        answer = httpx.get(f"{tv.url}{path}", headers={**CLIENT, "X-Plex-Token": "wrong"})
        assert answer.status_code == 401
        assert answer.json()["errors"][0]["message"] == "User could not be authenticated"
    pin = httpx.post(f"{tv.url}/api/v2/pins", headers=CLIENT).json()
    approved = httpx.post(
        f"{tv.url}/_plextv/approve", json={"pin": pin["id"]}, headers={"X-Plex-Token": tv.token}
    )
    assert approved.json() == {"result": None}
    assert tv.pins[pin["id"]].auth_token == tv.token
    tv.revoke_account_token()
    assert httpx.get(f"{tv.url}/api/v2/user", headers={**CLIENT, "X-Plex-Token": tv.token}).status_code == 401


def test_retrovue_sim_serves_the_stand_in_with_its_household(tmp_path: Path) -> None:
    port, tv_port = free_port(), free_port()
    command = [
        sys.executable,
        "-m",
        "retrovue.cli",
        "sim",
        "--port",
        str(port),
        "--shows",
        "1",
        "--movies",
        "1",
    ]
    command += ["--plex-tv", "--plex-tv-port", str(tv_port), "--approve-after", "1"]
    log = tmp_path / "sim.log"
    with log.open("w") as stderr:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        tv_url = f"http://127.0.0.1:{tv_port}"
        deadline = time.monotonic() + 60
        while f"RETROVUE_PLEX_TV_URL={tv_url}" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        with httpx.Client(base_url=tv_url, headers=CLIENT) as client:
            pin = client.post("/api/v2/pins", params={"strong": "true"}).json()
            token = client.get(f"/api/v2/pins/{pin['id']}").json()["authToken"]
            devices = client.get("/api/v2/resources", headers={"X-Plex-Token": token}).json()
        servers = {d["name"]: d for d in devices if d["provides"] == "server"}
        assert sorted(servers) == ["Cabin", "Grandpa's Plex", "Living Room", "Old NAS"]
        living = servers["Living Room"]
        uri = living["connections"][0]["uri"]
        answer = httpx.get(f"{uri}/library/sections", headers={"X-Plex-Token": living["accessToken"]})
        assert answer.status_code == 200
        direct = httpx.get(f"http://127.0.0.1:{port}/identity", headers={"Accept": "application/json"})
        assert direct.json()["MediaContainer"]["machineIdentifier"] == living["clientIdentifier"]
        assert token not in log.read_text()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
