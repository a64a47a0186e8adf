"""Make a row fit its table on every database, so one hostile value cannot fail a whole page.

PostgreSQL and MariaDB enforce what SQLite does not: `VARCHAR(n)` lengths, 32-bit `INTEGER`, no NUL
character in text (PostgreSQL). A Plex server can send any of these — an absurd year, a 500-character
codec name, a NUL in a title — and one such value would abort the page's transaction and fail the
library on every run. Fitting happens here, once, driven by the schema itself: text loses NULs and
is cut to its column's length, integers outside their column's range become NULL.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, Integer, String, Table

__all__ = ["fit_row"]

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


@cache
def _limits(table: Table) -> dict[str, tuple[str, Any]]:
    """Per column: ("text", max length or None) or ("int", (low, high))."""
    out: dict[str, tuple[str, Any]] = {}
    for column in table.columns:
        kind = column.type
        if isinstance(kind, BigInteger):
            out[column.name] = ("int", _INT64)
        elif isinstance(kind, Integer):
            out[column.name] = ("int", _INT32)
        elif isinstance(kind, String):  # Text is a String without a length
            out[column.name] = ("text", kind.length)
    return out


def fit_row(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `row` whose values every supported database accepts for `table`."""
    limits = _limits(table)
    fitted = dict(row)
    for name, value in row.items():
        rule = limits.get(name)
        if rule is None or value is None or isinstance(value, bool):
            continue
        kind, bound = rule
        if kind == "text" and isinstance(value, str):
            text = value.replace("\x00", "") if "\x00" in value else value
            fitted[name] = text[:bound] if bound is not None and len(text) > bound else text
        elif kind == "int" and isinstance(value, int):
            low, high = bound
            if not low <= value <= high:
                fitted[name] = None
    return fitted
