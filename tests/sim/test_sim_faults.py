"""Faults: SPEC parsing, each fault over real HTTP, path scoping, deterministic replay."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import pytest

from retrovue.errors import ConfigError
from retrovue.sim import FaultSpec, Simulator


def test_parse_round_trip() -> None:
    spec = FaultSpec.parse(
        "status=503:0.05, reset:0.01, latency:20ms, revoke-after:100, slow=2s:0.5@/library/*"
    )
    assert [r.kind for r in spec.rules] == ["status", "reset", "latency", "revoke-after", "slow"]
    assert spec.rules[0].arg == 503
    assert spec.rules[0].probability == 0.05
    assert spec.rules[2].arg == pytest.approx(0.02)
    assert spec.rules[4].pattern == "/library/*"
    assert spec.rules[4].arg == 2.0
    assert spec.revoke_after() == 100
    assert FaultSpec.parse(str(spec)) == spec
    assert not FaultSpec.parse("")


@pytest.mark.parametrize(
    "bad",
    [
        "bogus",
        "status",
        "status=200",
        "status=503:2",
        "latency=fast",
        "reset:x",
        "revoke-after=1:0.5",
        "reset@",
    ],
)
def test_parse_errors_are_config_errors(bad: str) -> None:
    with pytest.raises(ConfigError):
        FaultSpec.parse(bad)


def test_decisions_are_deterministic() -> None:
    spec = FaultSpec.parse("status=503:0.3")
    first = [spec.decide(5, n, "/x").status for n in range(1, 200)]
    assert first == [spec.decide(5, n, "/x").status for n in range(1, 200)]
    assert 30 < first.count(503) < 90
    assert first != [spec.decide(6, n, "/x").status for n in range(1, 200)]


def _statuses(s: Simulator, c: httpx.Client, n: int) -> list[int]:
    return [c.get("/library/sections").status_code for _ in range(n)]


def test_status_rate_replays_with_seed(client_for: Callable[..., httpx.Client]) -> None:
    runs = []
    for _ in range(2):
        with Simulator(seed=8, shows=1, movies=1, faults="status=500:0.25") as s:
            runs.append(_statuses(s, client_for(s), 40))
    assert runs[0] == runs[1]
    assert set(runs[0]) == {200, 500}


def test_status_scoped_to_pattern(client_for: Callable[..., httpx.Client]) -> None:
    with Simulator(seed=1, shows=1, movies=2) as s:
        c = client_for(s)
        s.set_faults("status=503", pattern="/library/metadata/*")
        r = c.get("/library/metadata/1")
        assert r.status_code == 503
        assert r.text.startswith("<html>")
        assert c.get("/library/sections").status_code == 200
        s.clear_faults()
        assert c.get("/library/sections/2/all").status_code == 200


def test_reset_truncate_malformed(client_for: Callable[..., httpx.Client]) -> None:
    with Simulator(seed=1, shows=2, movies=5) as s:
        c = client_for(s)
        s.set_faults("reset")
        with pytest.raises(httpx.TransportError):
            c.get("/library/sections/2/all")
        s.set_faults("truncate")
        with pytest.raises(httpx.TransportError):
            c.get("/library/sections/2/all")
        s.set_faults("malformed")
        r = c.get("/library/sections/2/all")
        assert r.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(r.content)
        s.clear_faults()
        assert c.get("/library/sections/2/all").status_code == 200


def test_latency_and_slow_body(client_for: Callable[..., httpx.Client]) -> None:
    with Simulator(seed=1, shows=1, movies=5, latency_ms=150) as s:
        c = client_for(s)
        t0 = time.perf_counter()
        assert c.get("/library/sections").status_code == 200
        assert time.perf_counter() - t0 >= 0.14
        s.set_latency(0)
        s.set_faults("slow=300ms")
        t0 = time.perf_counter()
        r = c.get("/library/sections/2/all")
        assert time.perf_counter() - t0 >= 0.28
        assert r.json()["MediaContainer"]["size"] == 5


def test_token_revoked_after_n_requests(client_for: Callable[..., httpx.Client]) -> None:
    with Simulator(seed=1, shows=1, movies=1, faults="revoke-after=3") as s:
        c = client_for(s)
        assert _statuses(s, c, 5) == [200, 200, 200, 401, 401]
        assert c.get("/identity").status_code == 200
        s.restore_token()
        assert c.get("/library/sections").status_code == 200
        s.revoke_token()
        assert c.get("/library/sections").status_code == 401
        s.restore_token("new-token")
        assert c.get("/library/sections").status_code == 401
        assert c.get("/library/sections", headers={"X-Plex-Token": "new-token"}).status_code == 200
