"""`retrovue gui`: open the desktop window over the catalog (needs the `gui` extra, PySide6)."""

from __future__ import annotations

import importlib.util

import typer

from retrovue.cli import app
from retrovue.cli.common import engine
from retrovue.errors import ConfigError


@app.command("gui")
def gui(ctx: typer.Context) -> None:
    """Open the desktop window: servers and libraries, items, sync with progress, path mappings."""
    if importlib.util.find_spec("PySide6") is None:
        raise ConfigError("the GUI needs PySide6: install it with `pip install 'retrovue-ingest[gui]'`")
    catalog = engine(ctx)  # open (and migrate) first, so catalog errors are one line on stderr
    from retrovue.gui.app import run  # the only place the CLI reaches into the GUI, and only lazily

    code = run(catalog)
    if code:
        raise typer.Exit(code)
