"""Notifications over the websocket, the `/_sim/` control API, and the `retrovue sim` command."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidHandshake, WebSocketException
from websockets.sync.client import connect

from retrovue.cli import main
from retrovue.sim import Simulator


def _ws_url(s: Simulator, token: str | None) -> str:
    base = s.url.replace("http://", "ws://") + "/:/websockets/notifications"
    return f"{base}?X-Plex-Token={token}" if token else base


def _wait_subscribed(s: Simulator) -> None:
    deadline = time.monotonic() + 5
    while s.stats()["subscribers"] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)


def _collect(ws: Any, until: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + 5
    while not until(got) and time.monotonic() < deadline:
        got.append(json.loads(ws.recv(timeout=5))["NotificationContainer"])
    return got


def test_websocket_timeline_and_activity(fresh_sim: Simulator) -> None:
    with connect(_ws_url(fresh_sim, fresh_sim.token)) as ws:
        _wait_subscribed(fresh_sim)
        season = fresh_sim.ground_truth()["sections"][0]["shows"][0]["seasons"][0]
        rk = fresh_sim.add_episode(season["ratingKey"], title="Pilot")
        got = _collect(ws, lambda g: sum(m["type"] == "activity" for m in g) >= 2)
        kinds = [m["type"] for m in got]
        assert kinds == ["activity", "timeline", "activity"]
        assert got[0]["ActivityNotification"][0]["event"] == "started"
        assert got[0]["ActivityNotification"][0]["Activity"]["type"] == "library.update.section"
        assert got[2]["ActivityNotification"][0]["event"] == "ended"
        entries = got[1]["TimelineEntry"]
        assert {(e["itemID"], e["state"]) for e in entries} == {(rk, 0), (rk, 5)}
        assert all(e["sectionID"] == "1" and e["type"] == 4 and e["title"] == "Pilot" for e in entries)
        fresh_sim.remove(rk)
        got = _collect(ws, lambda g: any(m["type"] == "timeline" for m in g))
        deleted = next(m for m in got if m["type"] == "timeline")["TimelineEntry"]
        assert deleted[0]["itemID"] == rk
        assert deleted[0]["state"] == 9
    assert len(fresh_sim.notifications) >= 6


def test_websocket_needs_token(fresh_sim: Simulator) -> None:
    with pytest.raises((InvalidHandshake, WebSocketException)), connect(_ws_url(fresh_sim, "wrong")) as ws:
        ws.recv(timeout=2)


def test_control_api(fresh_sim: Simulator, client_for: Callable[..., httpx.Client]) -> None:
    c = client_for(fresh_sim)
    assert httpx.get(f"{fresh_sim.url}/_sim/sections").status_code == 401
    sections = c.get("/_sim/sections").json()["result"]
    assert [s["type"] for s in sections] == ["show", "movie"]
    fresh_sim.reset_requests()
    rk = c.post("/_sim/add_movie", json={"title": "Über Control"}).json()["result"]
    c.post("/_sim/edit", json={"rating_key": rk, "title": "Renamed"})
    truth = c.get("/_sim/ground-truth").json()["result"]
    assert any(m["ratingKey"] == rk and m["title"] == "Renamed" for m in truth["sections"][1]["movies"])
    assert fresh_sim.request_count == 0  # control requests are not logged
    c.post("/_sim/set_faults", json={"spec": "status=503", "pattern": "/library/sections"})
    assert c.get("/library/sections").status_code == 503
    c.post("/_sim/clear_faults")
    assert c.get("/library/sections").status_code == 200
    assert c.get("/_sim/requests").json()["result"]["count"] == 2
    assert c.post("/_sim/remove", json={"rating_key": 1}).status_code == 404
    assert c.post("/_sim/edit", json={"rating_key": rk, "nope": 1}).status_code == 400
    assert c.post("/_sim/shutdown").status_code == 404


def test_cli_rejects_bad_fault_spec(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["sim", "--fault", "status=200"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:")
    assert "\n" not in err


def test_cli_rejects_bad_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["sim", "--shows", "-1"])
    assert exc.value.code == 2
    assert "--shows" in capsys.readouterr().err
