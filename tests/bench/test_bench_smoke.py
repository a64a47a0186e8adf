"""Smoke test of the benchmark harness at the `small` size: request and write counts, never times.

Runs scenarios 1-3 for our engine, the seed's algorithm, python-plexapi and the fetch floor against
a small simulator, in this process (no child processes, so RSS is not checked), on SQLite; and
scenarios 1-3 for our engine alone on PostgreSQL and MariaDB, where the write targets are asserted on
every backend: a run where nothing changed writes no item row and sends one request per server, a
run after 1 % of episodes changed writes at most three rows per item added, changed or removed.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from bench.dbs import ADMIN_URLS
from bench.measure import RowCounter, _target
from bench.runner import BEGIN, END, Config, render_markdown, run_benchmark, write_markdown
from tests.conftest import BACKENDS, _unavailable

PAGE, DETAIL_CHUNK = 200, 100


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench")
    config = Config(
        size="small",
        only=("full", "nochange", "changed", "recheck"),
        repeat=1,
        in_process=True,
        output=out / "benchmarks.md",
        json_output=out / "benchmarks.json",
        log=lambda _line: None,
    )
    return run_benchmark(config)


@pytest.fixture(scope="module", params=BACKENDS)
def on_every_db(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Scenarios 1-3 of our engine on each backend (SQLite: the run above)."""
    db = str(request.param)
    if db == "sqlite":
        return dict(request.getfixturevalue("data"))
    try:
        admin = sa.create_engine(ADMIN_URLS[db], poolclass=sa.NullPool)
        with admin.connect():
            pass
        admin.dispose()
    except Exception as exc:  # unreachable: skipped, or failed under RETROVUE_REQUIRE_ALL_DBS=1
        _unavailable(db, type(exc).__name__)
    config = Config(
        size="small",
        dbs=(db,),
        only=("full", "nochange", "changed"),
        repeat=1,
        in_process=True,
        baselines=False,
        log=lambda _line: None,
    )
    return run_benchmark(config)


def result(data: dict[str, Any], scenario: str, tool: str) -> dict[str, Any]:
    (found,) = [
        r for r in data["results"] if (r["scenario"], r["tool"], r["latency_ms"]) == (scenario, tool, 0)
    ]
    return dict(found)


LIBRARIES = 2  # the simulator's: one show section, one movie section


def pages(n: int) -> int:
    return math.ceil(n / PAGE)


def detail_requests(n: int) -> int:
    """Detail for every new item (checkFiles) or show: per listing page of 200, batches of 100."""
    full, rest = divmod(n, PAGE)
    return full * math.ceil(PAGE / DETAIL_CHUNK) + math.ceil(rest / DETAIL_CHUNK)


def test_floor_reads_every_listing_page_once(data: dict[str, Any]) -> None:
    lib = data["library"]
    floor = result(data, "full", "floor")
    listing = pages(lib["shows"]) + pages(lib["episodes"]) + pages(lib["movies"])
    assert floor["requests"] == 1 + listing  # + /library/sections
    assert floor["rows_written"] == 0
    counts = floor["raw"][0]["counts"]
    assert (counts["shows"], counts["episodes"], counts["movies"]) == (
        lib["shows"],
        lib["episodes"],
        lib["movies"],
    )


def test_full_sync_requests_and_writes(data: dict[str, Any]) -> None:
    lib = data["library"]
    ours = result(data, "full", "ours")
    floor = result(data, "full", "floor")
    assert ours["raw"][0]["summary"]["status"] == ["ok"]
    new = detail_requests(lib["episodes"]) + detail_requests(lib["movies"]) + detail_requests(lib["shows"])
    # shows' detail too (every genre); each library's collections listed, each collection walked once
    assert ours["requests"] == floor["requests"] + new + LIBRARIES + lib["collections"]
    assert len(floor["raw"]) == len(ours["raw"])  # taken alternately, a floor run before each sync
    assert ours["raw"][0]["client_requests"] == ours["requests"]
    rows = ours["raw"][0]["rows"]
    assert rows["media_items"] >= lib["episodes"] + lib["movies"]
    assert rows["seasons"] == lib["seasons"]
    assert rows["media_parts"] >= lib["episodes"] + lib["movies"] - (lib["episodes"] + lib["movies"]) // 20


def test_no_change_costs_one_request_with_the_gate(data: dict[str, Any]) -> None:
    lib = data["library"]
    gated = result(data, "nochange", "ours")
    nogate = result(data, "nochange", "ours-nogate")
    assert gated["requests"] == 1
    assert gated["raw"][0]["summary"]["gated"] is True
    listing = 1 + pages(lib["shows"]) + pages(lib["episodes"]) + pages(lib["movies"])
    assert nogate["requests"] == listing + LIBRARIES  # + each library's collections: none walked
    for r in (gated, nogate):
        assert r["raw"][0]["summary"]["changed"] == 0
        assert r["rows_written"] == 0


def test_no_change_writes_no_item_row_on_every_database(on_every_db: dict[str, Any]) -> None:
    lib = on_every_db["library"]
    gated = result(on_every_db, "nochange", "ours")
    nogate = result(on_every_db, "nochange", "ours-nogate")
    verify = result(on_every_db, "nochange", "ours-verify")
    assert gated["requests"] == 1  # one server: its /library/sections, nothing else
    assert gated["raw"][0]["summary"]["gated"] is True
    listing = 1 + pages(lib["shows"]) + pages(lib["episodes"]) + pages(lib["movies"])
    assert nogate["requests"] == verify["requests"] == listing + LIBRARIES  # + their collections
    assert verify["raw"][0]["summary"]["skipped"] == lib["episodes"] + lib["movies"]  # listed, not gated
    for r in (gated, nogate, verify):
        assert r["rows_written"] == 0, r["raw"][0]["rows"]
        assert sum(r["raw"][0]["rows"].values()) == 0  # state history included
    # the gate-off listing's runs alternate with floor runs on this backend, its ratio's base
    beside = result(on_every_db, "nochange", "floor")
    assert beside["requests"] == listing
    assert len(beside["raw"]) == len(nogate["raw"])
    (target,) = [
        t for t in on_every_db["targets"] if t["target"].endswith("gate-off listing <= 1.5x the floor")
    ]
    assert f"floor {beside['median_s']:.2f} s" in target["detail"]


def test_one_percent_changed_writes_at_most_three_rows_per_change(on_every_db: dict[str, Any]) -> None:
    (mutation,) = on_every_db["mutations"]
    changes = mutation["edited"] + mutation["added"] + mutation["removed"]
    ours = result(on_every_db, "changed", "ours")
    assert ours["raw"][0]["summary"]["status"] == ["ok"]
    assert ours["raw"][0]["summary"]["missing"] == mutation["removed"]
    assert 0 < ours["rows_written"] <= 3 * changes, ours["raw"][0]["rows"]


def test_first_sync_writes_each_item_row_once(on_every_db: dict[str, Any]) -> None:
    lib = on_every_db["library"]
    rows = result(on_every_db, "full", "ours")["raw"][0]["rows"]
    assert rows["media_items"] == lib["episodes"] + lib["movies"]
    assert rows["seasons"] == lib["seasons"]


def test_changed_sync_fetches_detail_only_for_changes(data: dict[str, Any]) -> None:
    lib = data["library"]
    (mutation,) = data["mutations"]
    ours = result(data, "changed", "ours")
    summary = ours["raw"][0]["summary"]
    assert summary["status"] == ["ok"]
    assert summary["missing"] == mutation["removed"]
    assert summary["changed"] == mutation["edited"] + mutation["added"]
    listing = 1 + pages(lib["shows"]) + pages(lib["episodes"]) + pages(lib["movies"])
    # at most one detail batch per page here (few changes), shows' detail (new episodes move their
    # show), each library's collections and a walk of those whose members moved
    changed_pages = pages(lib["episodes"]) + pages(lib["shows"]) + LIBRARIES + lib["collections"]
    assert listing < ours["requests"] <= listing + changed_pages + 1  # + the pre-finalize sections check
    parts = ours["raw"][0]["rows"].get("media_parts", 0)
    assert 0 < parts <= 4 * (mutation["edited"] + mutation["added"])


def test_seed_makes_a_request_per_show_season_and_item(data: dict[str, Any]) -> None:
    lib = data["library"]
    expected = (
        pages(lib["shows"])
        + lib["shows"]
        + lib["seasons"]
        + lib["episodes"]
        + pages(lib["movies"])
        + lib["movies"]
    )
    for scenario in ("full", "nochange", "changed"):
        seed = result(data, scenario, "seed")
        # the seed re-expands every show every run (its stored and listed show digests never match)
        assert seed["requests"] == pytest.approx(expected, abs=2), scenario
    full = result(data, "full", "seed")
    assert full["raw"][0]["summary"]["changed"] >= lib["episodes"]


def test_plexapi_makes_a_request_per_show(data: dict[str, Any]) -> None:
    lib = data["library"]
    api = result(data, "full", "plexapi")
    assert api["requests"] >= lib["shows"] + pages(lib["movies"])
    assert api["raw"][0]["summary"]["processed"] == lib["episodes"] + lib["movies"]
    assert result(data, "nochange", "plexapi")["raw"][0]["summary"]["changed"] == 0


def test_outputs_written(data: dict[str, Any], tmp_path: Path) -> None:
    assert data["targets"], "targets evaluated"
    doc = tmp_path / "b.md"
    doc.write_text(f"# Title\n\nhand-written\n\n{BEGIN}\nSTALE-BLOCK\n{END}\n\nafter\n", encoding="utf-8")
    write_markdown(doc, render_markdown(data))
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Title\n\nhand-written")
    assert text.rstrip().endswith("after")
    assert "STALE-BLOCK" not in text
    assert "Retrovue (ours)" in text
    # every operation's CPU time is measured (in this process: no separate simulator figure)
    floor = result(data, "full", "floor")
    assert floor["cpu_s"] > 0
    assert floor["sim_cpu_s"] is None
    assert "| CPU s ours / simulator |" in text


def test_row_counter_parses_write_targets() -> None:
    assert _target("INSERT INTO media_items (a) VALUES (?)") == "media_items"
    assert _target('UPDATE "shows" SET x=1') == "shows"
    assert _target("DELETE FROM media_parts WHERE item_id IN (1)") == "media_parts"
    assert _target("INSERT INTO `seasons` (a) VALUES (%s) ON DUPLICATE KEY UPDATE a=a") == "seasons"
    assert _target("SELECT 1") is None
    assert RowCounter.__doc__


def test_row_counter_caps_mariadb_upserts_at_the_rows_sent_but_not_upserts_from_a_select() -> None:
    """MariaDB reports 2 for a row its upsert updated: a statement that sent rows counts at most
    those; an upsert from a SELECT (the unmapped local pass) sent none and counts what it made."""
    counter = RowCounter(sa.create_engine("sqlite://"))
    try:
        cursor = SimpleNamespace(rowcount=6)
        sent = (
            "INSERT INTO local_verdicts (item_id, local) VALUES (%s, %s) "
            "ON DUPLICATE KEY UPDATE local = VALUES(local)"
        )
        counter._on_execute(None, cursor, sent, [(1, 0), (2, 0), (3, 0)], None, True)
        made = (
            "INSERT INTO local_verdicts (item_id, local) SELECT media_items.id, false FROM media_items "
            "ON DUPLICATE KEY UPDATE local = VALUES(local)"
        )
        counter._on_execute(None, SimpleNamespace(rowcount=107), made, (), None, False)
        assert counter.rows["local_verdicts"] == 3 + 107
    finally:
        counter.close()


def test_a_replaced_mapping_root_is_rechecked_without_asking_plex(data: dict[str, Any]) -> None:
    recheck = result(data, "recheck", "ours")
    assert recheck["requests"] == 1
    assert recheck["rows_written"] == 0  # same files behind the new root: no item row, no verdict
    assert recheck["raw"][0]["rows"].get("local_verdicts", 0) == 0


def test_a_second_backends_first_sync_is_compared_with_one_taken_beside_it() -> None:
    """Each first sync on a second backend follows one on the first backend, and the backends'
    ratio target compares those: the machine's speed drifts between the two backends' turns."""
    if "postgresql" not in BACKENDS:
        pytest.skip("PostgreSQL is not among the backends of this run")
    config = Config(
        size="small",
        dbs=("sqlite", "postgresql"),
        only=("full", "databases"),
        repeat=2,
        in_process=True,
        baselines=False,
        log=lambda _line: None,
    )
    data = run_benchmark(config)
    beside = [r for r in data["results"] if (r["tool"], r["db"]) == ("beside", "postgresql")]
    (pg,) = [
        r for r in data["results"] if (r["scenario"], r["tool"], r["db"]) == ("full", "ours", "postgresql")
    ]
    assert [b["runs"] for b in beside] == [pg["runs"]] == [2]
    assert beside[0]["rows_written"] == pg["rows_written"]  # the same library, written once each
    (target,) = [t for t in data["targets"] if t["target"] == "postgresql: first full sync <= 1.5x sqlite's"]
    assert f"sqlite {beside[0]['median_s']:.2f} s" in target["detail"]
