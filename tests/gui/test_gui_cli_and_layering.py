"""`retrovue gui` and the house rule that nothing outside `retrovue.gui` imports Qt."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine

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
