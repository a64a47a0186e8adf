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


def test_the_simulator_counts_each_fault_it_really_delivered(client_for: Callable[..., httpx.Client]) -> None:
    """Harnesses count faults from `injected`, so it must count what a client saw, and only that."""
    with Simulator(seed=1, shows=1, movies=5) as s:
        c = client_for(s)
        s.set_faults("status=503:0.5")
        answers = _statuses(s, c, 40)
        assert s.injected == {"status=503": answers.count(503)}
        s.reset_injected()
        s.set_faults("reset")
        with pytest.raises(httpx.TransportError):
            c.get("/library/sections/2/all")
        s.set_faults("truncate")
        with pytest.raises(httpx.TransportError):
            c.get("/library/sections/2/all")
        s.set_faults("malformed,slow=10ms")
        c.get("/library/sections/2/all")
        s.set_faults("revoke-after=1")
        assert _statuses(s, c, 3) == [200, 401, 401]
        s.restore_token()
        s.set_faults("down-after=0")
        with pytest.raises(httpx.TransportError):
            c.get("/library/sections")
        s.clear_faults()
        c.get("/library/sections")  # a clean answer counts nothing
        assert s.injected == {"reset": 1, "truncate": 1, "malformed": 1, "revoked": 2, "down": 1}
        assert s.faults_injected == 6
        assert s.stats()["injected"] == s.injected


@pytest.mark.parametrize(
    ("spec", "pages", "lies"),
    [
        ("total=3", 3, {"listing:total": 3}),  # 5 movies, pages of 2: every page says 3
        ("nototal", 3, {"listing:nototal": 3}),
        ("cap=1", 3, {"listing:cap": 2}),  # pages of 2 asked for, 1 served (the last has 1 left)
        ("cap=9", 3, {}),  # a cap above the page size changes nothing
        ("shift=1", 3, {"listing:shift": 2}),  # the first page is told the truth
        ("dup=1", 3, {"listing:dup": 2}),
        ("empty", 1, {"listing:empty": 1}),
        ("total=5", 3, {}),  # the truth, whatever the rule
    ],
)
def test_listing_lies_are_counted_per_page_that_tells_one(
    client_for: Callable[..., httpx.Client], spec: str, pages: int, lies: dict[str, int]
) -> None:
    with Simulator(seed=1, shows=1, movies=5) as s:
        c = client_for(s)
        s.set_faults(spec)
        for n in range(pages):
            r = c.get(
                "/library/sections/2/all",
                params={"type": 1, "X-Plex-Container-Start": 2 * n, "X-Plex-Container-Size": 2},
            )
            assert r.status_code == 200
        assert s.injected == lies


def test_offline_section_pages_are_counted(client_for: Callable[..., httpx.Client]) -> None:
    with Simulator(seed=1, shows=1, movies=5) as s:
        c = client_for(s)
        s.set_section_offline("2")
        params = {"type": 1, "X-Plex-Container-Start": 0, "X-Plex-Container-Size": 2}
        assert c.get("/library/sections/2/all", params=params).json()["MediaContainer"]["size"] == 0
        assert s.injected == {"offline": 1}
