"""Smoke test of `bench.catalog_read` on a small catalog: counts and output, never times."""

from __future__ import annotations

from pathlib import Path

from bench.catalog_read import build, measure_cli, measure_playable


def test_catalog_read_scenario_on_a_small_catalog(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    build(url, tmp_path, 120)
    playable = measure_playable(url)
    assert (playable["items"], playable["files"]) == (120, 120)  # every file is there
    listed = measure_cli(url, "json")
    assert listed["code"] == 0
    assert listed["lines"] == 120 + 2  # one row a line, between the brackets
    assert listed["first_row_s"] is not None
