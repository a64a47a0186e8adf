"""Every figure in the README comes from docs/benchmarks.json: the README's figure block is what
`bench.readme.render_block` makes of the JSON, and the rest of the README states no measurement."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bench.readme import BEGIN, END, readme_block, render_block

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
JSON = ROOT / "docs" / "benchmarks.json"
# A number with a unit of time, memory or speed-up: what a measurement looks like in prose.
FIGURE = re.compile(r"\b\d[\d,]*(?:\.\d+)?\s?(?:s|ms|sec|seconds|minutes|MB|MiB|GB|GiB|×|x faster)(?![\w-])")


def test_readme_figures_come_from_the_benchmark_json() -> None:
    block = readme_block(README.read_text(encoding="utf-8"))
    assert block is not None, f"README.md lost its {BEGIN} … {END} block"
    expected = render_block(json.loads(JSON.read_text(encoding="utf-8")))
    assert block == expected, (
        "README.md's figures differ from docs/benchmarks.json: run `python -m bench --readme-only`"
    )


def test_readme_states_no_figure_outside_its_generated_block() -> None:
    text = README.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    _block, tail = rest.split(END, 1)
    outside = re.sub(r"```.*?```", "", head + tail, flags=re.S)  # commands, not claims
    assert FIGURE.findall(outside) == []


def test_a_figure_pattern_catches_what_it_must() -> None:
    assert FIGURE.findall("takes about 23 s, 0.6 s for 110,000 items, 202 MB, 7× faster") == [
        "23 s",
        "0.6 s",
        "202 MB",
        "7×",
    ]
    assert FIGURE.findall("30 days, 200 entries a page, 0600 mode, 4 in flight") == []
