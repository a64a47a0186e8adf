"""What every command shares: the catalog it works on, and how results are printed."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import typer
from rich.console import Console
from sqlalchemy import Engine

from retrovue.store.db import open_catalog

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class State:
    """Options of the root command, handed to sub-commands through typer's context object."""

    def __init__(self, db_url: str | None) -> None:
        self.db_url = db_url
        self._engine: Engine | None = None

    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = open_catalog(self.db_url)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    if not isinstance(obj, State):  # a command invoked without the root callback (tests)
        obj = State(None)
        ctx.find_root().obj = obj
    return obj


def engine(ctx: typer.Context) -> Engine:
    return state(ctx).engine()


def when(epoch: int | None) -> str:
    """An epoch time for people: local time, minutes precision; '—' when never."""
    if not epoch:
        return "—"
    return dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
