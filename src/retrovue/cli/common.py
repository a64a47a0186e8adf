"""What every command shares: the catalog it works on, and how results are printed.

Everything printed goes through one gate: secrets are scrubbed (`retrovue.redact`) and control
characters are shown escaped (`\\x1b`), so a title carrying terminal escapes (download names do) can
neither retitle, clear nor reprogram the user's terminal, and text that is not valid rich markup is
printed as plain text instead of failing.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import sys
from typing import Any, ClassVar

import typer
from rich.console import Console
from rich.errors import MarkupError
from rich.text import Text
from sqlalchemy import Engine

from retrovue.redact import scrub
from retrovue.store.db import open_catalog, resolve_db_url

# C0 controls but tab and newline, DEL, and the C1 controls (`\x9b` is CSI on 8-bit terminals)
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _escaped(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def printable(text: str) -> str:
    """`text` scrubbed of secrets, its control characters written as `\\xNN`."""
    return _CONTROLS.sub(_escaped, scrub(text))


class SafeConsole(Console):
    """A rich console that prints every string through `printable()` and never fails on markup."""

    def render_str(self, text: str, **options: Any) -> Text:
        safe = printable(text)
        try:
            return super().render_str(safe, **options)
        except MarkupError:  # data that happens to contain `[/]`: show it as it is
            return super().render_str(safe, **{**options, "markup": False})


console = SafeConsole(highlight=False)
err_console = SafeConsole(stderr=True, highlight=False)


class State:
    """Options of the root command, handed to sub-commands through typer's context object."""

    last: ClassVar[State | None] = None

    def __init__(self, db_url: str | None) -> None:
        self.db_url = db_url
        self._engine: Engine | None = None
        State.last = self

    @classmethod
    def last_catalog(cls) -> str | None:
        """The catalog URL the running command uses (named in database error messages)."""
        return resolve_db_url(cls.last.db_url) if cls.last is not None else None

    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = open_catalog(self.db_url)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def finite(value: float | None) -> float | None:
    """Option callback: refuse `nan` and `inf`, which pass any min/max range check."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a finite number")
    return value


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


_JSON_UNSAFE = re.compile("[\x7f-\x9f]")  # json.dumps escapes C0 itself; these it leaves raw


def json_text(data: Any, *, indent: int | None = 2) -> str:
    """JSON as the CLI prints it: secrets scrubbed, DEL and C1 controls as \\u escapes (the same
    string once decoded), so no terminal is reprogrammed by a title."""
    text = json.dumps(data, indent=indent, ensure_ascii=False, default=str)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", scrub(text))


def print_json(data: Any) -> None:
    """JSON on stdout (see `json_text`)."""
    sys.stdout.write(json_text(data) + "\n")
