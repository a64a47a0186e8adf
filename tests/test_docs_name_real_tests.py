"""Every test a document names as the proof of a promise exists: docs say only what a test shows."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NAMED = re.compile(r"`(test_[a-z0-9_]+)`")
DEFINED = re.compile(r"^\s*(?:async\s+)?def (test_[a-z0-9_]+)\(", re.MULTILINE)


def test_every_test_named_in_the_docs_exists() -> None:
    defined = {name for path in (ROOT / "tests").rglob("*.py") for name in DEFINED.findall(path.read_text())}
    # The library's own functions that happen to start with test_ (mapping.test_path) are not proofs.
    api = {name for path in (ROOT / "src").rglob("*.py") for name in DEFINED.findall(path.read_text())}
    named = {(doc.name, name) for doc in DOCS for name in NAMED.findall(doc.read_text()) if name not in api}
    assert named, "the docs name no test at all"
    missing = sorted(f"{doc}: {name}" for doc, name in named if name not in defined)
    assert not missing, missing
