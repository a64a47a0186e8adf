"""`retrovue gui` and the house rules: nothing outside `retrovue.gui` imports Qt, and only the read
API and the store run SQL."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

import retrovue
import retrovue.gui.app


def test_gui_command_opens_the_catalog_and_runs_the_window(
    cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Engine] = []

    def fake_run(engine: Engine, argv: list[str] | None = None) -> int:
        seen.append(engine)
        return 0

    monkeypatch.setattr(retrovue.gui.app, "run", fake_run)
    result = cli("gui")
    assert result.code == 0, result.err
    assert len(seen) == 1
    assert seen[0].url.get_backend_name() == "sqlite"
    help_result = cli("gui", "--help")
    assert help_result.code == 0
    assert "desktop window" in help_result.out


def test_core_never_imports_qt() -> None:
    code = (
        "import sys, retrovue.ingest, retrovue.store.items, retrovue.store.registry, retrovue.paths, "
        "retrovue.servers, retrovue.desktop, retrovue.cli; "
        "print(sorted(m for m in sys.modules if m.startswith('PySide6')))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


def test_only_the_read_api_and_the_store_run_sql() -> None:
    """The GUI, the CLI, the engine and the mapping service read through `retrovue.catalog` and write
    through `retrovue.store`: no other module executes a statement."""
    src = Path(retrovue.__file__).resolve().parent
    allowed = (src / "store", src / "catalog")
    offenders = sorted(
        str(path.relative_to(src))
        for path in src.rglob("*.py")
        if not any(path.is_relative_to(a) for a in allowed)
        and re.search(r"\.execute\(|exec_driver_sql", path.read_text())
    )
    assert offenders == []
