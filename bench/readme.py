"""The README's figures, generated from docs/benchmarks.json and nothing else.

The README carries one block between `BEGIN` and `END`; `render_block(data)` writes it from the
benchmark JSON, `python -m bench` rewrites it after a published run, `python -m bench --readme-only`
rewrites it from the JSON on disk, and tests/bench/test_readme_figures.py fails when the README and
the JSON disagree (or when a figure appears outside the block).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["BEGIN", "END", "readme_block", "render_block", "update_readme"]

BEGIN, END = "<!-- bench:readme:begin -->", "<!-- bench:readme:end -->"

_RUNS = (
    ("full", "ours", "first full sync into an empty catalog"),
    ("nochange", "ours", "nothing changed (the change gate holds)"),
    ("nochange", "ours-nogate", "nothing changed, listed anyway (gate off)"),
    ("nochange", "ours-verify", "nothing changed, the verification listing due"),
    ("recheck", "ours", "a mapping root replaced: local states re-checked"),
    ("changed", "ours", "after 1 % of episodes changed, 0.5 % added, 0.5 % removed"),
    ("full", "floor", "fetch and decode every listing page, no catalog (the floor)"),
)


def _find(data: dict[str, Any], scenario: str, tool: str, db: str) -> dict[str, Any] | None:
    for r in data["results"]:
        if (r["scenario"], r["tool"], r["db"], float(r["latency_ms"])) == (scenario, tool, db, 0.0):
            return dict(r)
    return None


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def _count(value: float | None) -> str:
    return "—" if value is None else f"{round(value):,}"


def _source(data: dict[str, Any]) -> str:
    source = data.get("source")
    if not source:  # a run from before the harness recorded what it measured
        git = data["machine"].get("git", "unknown")
        return f"commit {git} (as written in the JSON, not recorded by the harness)"
    text = f"code of commit {source['code_commit']}"
    return text + (" **with uncommitted changes (dirty)**" if source.get("dirty") else "")


def render_block(data: dict[str, Any]) -> str:
    """The README's figure block (markers included) for the benchmark results `data`."""
    lib = data["library"]
    items = lib["episodes"] + lib["movies"]
    cores = data["machine"].get("cpus_usable")
    lines = [BEGIN]
    if data.get("dirty") or (data.get("source") or {}).get("dirty"):
        lines += ["**DIRTY: measured on uncommitted code; these figures belong to no commit.**", ""]
    lines += [
        f"_Generated from [docs/benchmarks.json](docs/benchmarks.json) (`python -m bench --readme-only`): "
        f"the run of {data['generated_at']}, {_source(data)}, size `{data['config']['size']}`, "
        f"{cores} cores; a {items:,}-item library ({lib['shows']:,} shows, {lib['episodes']:,} episodes, "
        f"{lib['movies']:,} movies) on the simulator, medians of the runs._",
        "",
        "| run | database | seconds | requests to Plex | item rows written |",
        "|---|---|---:|---:|---:|",
    ]
    for db in data["config"]["dbs"]:
        for scenario, tool, label in _RUNS:
            r = _find(data, scenario, tool, db)
            if r is None:
                continue
            lines.append(
                f"| {label} | {db} | {_seconds(r['median_s'])} | {_count(r['requests'])} | "
                f"{_count(r['rows_written'])} |"
            )
    peaks = [r["rss_peak_mb"] for r in data["results"] if r["tool"] == "ours" and r.get("rss_peak_mb")]
    notes = []
    if peaks and not data["config"].get("in_process"):
        notes.append(f"Peak memory of a sync: {max(peaks):,.0f} MB at worst.")
    for r in data["results"]:
        if r["scenario"] == "gui" and r.get("raw"):
            g = r["raw"][0]
            notes.append(
                f"The GUI scrolls {g['rows_loaded']:,} rows to the end with a longest event-loop stall of "
                f"{float(g['max_stall_ms']):,.0f} ms, peak memory {_count(g.get('rss_peak_mb'))} MB."
            )
    if notes:
        lines += ["", " ".join(notes)]
    lines.append(END)
    return "\n".join(lines) + "\n"


def readme_block(text: str) -> str | None:
    """The generated block of a README's text (markers included), or None."""
    if BEGIN not in text or END not in text:
        return None
    head, rest = text.split(BEGIN, 1)
    body, _tail = rest.split(END, 1)
    del head
    return BEGIN + body + END + "\n"


def update_readme(path: Path, data: dict[str, Any]) -> bool:
    """Replace the README's figure block; returns whether it changed. A README without the
    markers is left alone."""
    text = path.read_text(encoding="utf-8")
    old = readme_block(text)
    if old is None:
        return False
    new = render_block(data)
    if old == new:
        return False
    head, rest = text.split(BEGIN, 1)
    _body, tail = rest.split(END, 1)
    path.write_text(head + new.rstrip("\n") + tail, encoding="utf-8")
    return True
