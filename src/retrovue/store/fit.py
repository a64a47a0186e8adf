"""Make a row fit its table on every database, so one hostile value cannot fail a whole page.

PostgreSQL and MariaDB enforce what SQLite does not: `VARCHAR(n)` lengths, 32-bit `INTEGER`, no NUL
character in text (PostgreSQL), and MariaDB's `TEXT` holds at most 65,535 bytes. A Plex server can
send any of these — an absurd year, a 500-character codec name, a NUL in a title, a 70,000-character
title — and one such value would abort the page's transaction and fail the library on every run.
Fitting happens here, once, driven by the schema itself, and the same on every backend (a catalog
moved from SQLite to MariaDB holds the same values): text loses NULs and is cut to its column's
length (`TEXT` to 65,535 UTF-8 bytes), integers outside their column's range become NULL, and a JSON
document too long for its column (`info={"json": True}`) becomes NULL rather than invalid JSON.

Values the *user* typed are not cut: `require_fit` refuses them with one line naming the field and
its limit (a server name cut to 128 characters would be a different name).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache, partial
from operator import is_not, itemgetter
from typing import Any

from sqlalchemy import BigInteger, Integer, String, Table

from retrovue.errors import ConfigError

__all__ = ["TEXT_BYTES", "fit_row", "fit_rows", "require_fit", "same_keys"]

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
TEXT_BYTES = 65_535
"""MariaDB's TEXT limit, in bytes (utf8mb4: up to 4 per character); applied on every backend."""
_SAFE_CHARS = TEXT_BYTES // 4  # a string this short cannot exceed TEXT_BYTES in UTF-8


@cache
def _limits(table: Table) -> dict[str, tuple[str, Any, bool]]:
    """Per column: (kind, bound, json) with kind "text" (max characters, None for TEXT) or "int"."""
    out: dict[str, tuple[str, Any, bool]] = {}
    for column in table.columns:
        kind = column.type
        is_json = bool(column.info.get("json"))
        if isinstance(kind, BigInteger):
            out[column.name] = ("int", _INT64, False)
        elif isinstance(kind, Integer):
            out[column.name] = ("int", _INT32, False)
        elif isinstance(kind, String):  # Text is a String without a length
            out[column.name] = ("text", kind.length, is_json)
    return out


def _cut_bytes(text: str, limit: int) -> str:
    if len(text) <= _SAFE_CHARS:
        return text
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


def _fit_text(text: str, bound: int | None, is_json: bool) -> str | None:
    if "\x00" in text:
        text = text.replace("\x00", "")
    if bound is not None:
        fitted = text[:bound] if len(text) > bound else text
    else:
        fitted = _cut_bytes(text, TEXT_BYTES)
    if is_json and len(fitted) != len(text):
        return None  # a cut JSON document is not JSON
    return fitted


@cache
def _rules(table: Table) -> tuple[tuple[str, str, Any, bool], ...]:
    """`_limits` as a flat tuple, the shape the per-row loop below walks fastest."""
    return tuple((name, kind, bound, is_json) for name, (kind, bound, is_json) in _limits(table).items())


def fit_row(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """`row` with values every supported database accepts for `table`: a fitted copy when a value
    had to change, else the row itself (as a dict).

    Called for every row a sync writes, so the common case — everything fits — costs one dict
    lookup and one comparison per column and no copy.
    """
    fitted: dict[str, Any] | None = None
    for name, kind, bound, is_json in _rules(table):
        value = row.get(name)
        if value is None or isinstance(value, bool):
            continue
        if kind == "text":
            if not isinstance(value, str) or ("\x00" not in value and len(value) <= (bound or _SAFE_CHARS)):
                continue
            new: Any = _fit_text(value, bound, is_json)
        else:
            low, high = bound
            if not isinstance(value, int) or low <= value <= high:
                continue
            new = None
        if fitted is None:
            fitted = dict(row)
        fitted[name] = new
    if fitted is not None:
        return fitted
    return row if isinstance(row, dict) else dict(row)


def fit_rows(
    table: Table, rows: Sequence[Mapping[str, Any]], *, uniform: bool | None = None
) -> list[dict[str, Any]]:
    """`fit_row` for a batch: the rows themselves (as dicts) when every value fits, which a batch
    of rows with the same keys proves a column at a time in C (the rows transposed by `zip`, then
    `max(map(len, …))`, one NUL search in the column's joined text, `min`/`max` of its integers):
    a first sync fits 450,000 rows, and walking every value of every row in Python was 3 s of it.
    A column that does not pass, or holds values of another type than its own, and rows of
    different keys, go through `fit_row` row by row. `uniform`: whether the rows have the same
    keys, when the caller already knows (None: checked here)."""
    dicts = [row if type(row) is dict else dict(row) for row in rows]
    if not dicts:
        return dicts
    names = list(dicts[0])
    if not (same_keys(dicts) if uniform is None else uniform):
        return [fit_row(table, row) for row in dicts]
    if not names:
        return dicts
    rules = _limits(table)
    columns = (
        zip(*map(itemgetter(*names), dicts), strict=True)
        if len(names) > 1
        else ([row[names[0]] for row in dicts],)
    )
    for name, values in zip(names, columns, strict=True):
        rule = rules.get(name)
        if rule is not None and not _column_fits(values, *rule):
            return [fit_row(table, row) for row in dicts]
    return dicts


def _column_fits(column: Iterable[Any], kind: str, bound: Any, _is_json: bool) -> bool:
    """Whether every value of a column fits as it is (False when unsure)."""
    values = list(filter(_NOT_NONE, column))
    if not values:
        return True
    try:
        if kind == "text":
            return max(map(len, values)) <= (bound or _SAFE_CHARS) and "\x00" not in "".join(values)
        low, high = bound
        return bool(low <= min(values) and max(values) <= high)
    except TypeError:  # a value of another type: `fit_row` decides it
        return False


_NOT_NONE = partial(is_not, None)


def same_keys(rows: Sequence[dict[str, Any]]) -> bool:
    """Whether every row has the first row's keys, checked in C: equal sizes, and the first row's
    keys holding each row's keys (a set built per row took longer than writing it)."""
    if not rows:
        return True
    if len(set(map(len, rows))) != 1:
        return False
    return all(map(rows[0].keys().__ge__, map(dict.keys, rows)))


def require_fit(table: Table, values: Mapping[str, Any], labels: Mapping[str, str]) -> None:
    """Refuse (ConfigError, one line) a user-given value its column cannot hold as it is.

    `labels` names each checked column for the message ("server name", "Plex prefix"); columns
    without a label are not checked.
    """
    limits = _limits(table)
    for name, label in labels.items():
        value = values.get(name)
        rule = limits.get(name)
        if rule is None or value is None or isinstance(value, bool):
            continue
        kind, bound, _json = rule
        if kind == "text" and isinstance(value, str):
            if "\x00" in value:
                raise ConfigError(f"the {label} contains a NUL character; type it again without it")
            try:
                size = len(value.encode("utf-8"))
            except UnicodeEncodeError:
                raise ConfigError(
                    f"the {label} contains bytes that are not UTF-8 text; type it again"
                ) from None
            limit = bound if bound is not None else TEXT_BYTES
            length = len(value) if bound is not None else size
            if length > limit:
                unit = "characters" if bound is not None else "bytes"
                raise ConfigError(
                    f"the {label} is {length:,} {unit} long; the catalog holds at most {limit:,}: shorten it"
                )
        elif kind == "int" and isinstance(value, int):
            low, high = bound
            if not low <= value <= high:
                raise ConfigError(f"the {label} {value:,} is out of range; use at most {high:,}")
