"""Plex's listing filters (`addedAt>>=-7d`, `episode.year<<2000`) and sorting (`sort=year:desc`).

Why it exists: clients narrow and order listings this way (python-plexapi's `search`, Plex Web's
"recently added"), and the simulator must answer them as Plex does, 400 for what Plex refuses.
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from retrovue.sim.model import Item
from retrovue.sim.web import BadRequestError

__all__ = ["apply_sort", "build_filters"]

_FILTER_KEY = re.compile(r"^(?:(movie|show|season|episode)\.)?([A-Za-z]+)(>>|<<)$")
_RELATIVE = re.compile(r"^-(\d+)(s|m|h|d|w|mon|y)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "mon": 30 * 86400, "y": 365 * 86400}
_FILTER_FIELDS: dict[str, Callable[[Item], int | None]] = {
    "addedAt": lambda i: i.added_at,
    "updatedAt": lambda i: i.updated_at,
    "year": lambda i: i.year,
    "index": lambda i: i.index,
    "duration": lambda i: i.duration,
}
_SORT_FIELDS: dict[str, Callable[[Item], Any]] = {
    "titleSort": lambda i: (i.sort_key, i.rating_key),
    "title": lambda i: (i.sort_key, i.rating_key),
    "addedAt": lambda i: (i.added_at, i.rating_key),
    "updatedAt": lambda i: (i.updated_at or 0, i.rating_key),
    "year": lambda i: (i.year or 0, i.rating_key),
    "originallyAvailableAt": lambda i: (i.originally_available_at or "", i.rating_key),
    "duration": lambda i: (i.duration or 0, i.rating_key),
    "index": lambda i: (i.index or 0, i.rating_key),
}


def _filter_value(raw: str, now: int) -> int:
    raw = raw.strip()
    m = _RELATIVE.match(raw)
    if m:
        return now - int(m.group(1)) * _UNITS[m.group(2)]
    if re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        return calendar.timegm(time.strptime(raw, "%Y-%m-%d"))
    raise BadRequestError(f"bad filter value {raw!r}")


def _related(item: Item, kind: str) -> list[Item]:
    """Items of `kind` related to `item`: itself, its ancestor of that kind, or its descendants."""
    if item.kind == kind:
        return [item]
    node: Item | None = item.parent
    while node is not None:
        if node.kind == kind:
            return [node]
        node = node.parent
    if kind == "episode":
        return list(item.leaves())
    if kind == "season" and item.kind == "show":
        return list(item.children)
    return []


def build_filters(request: Request, now: int, inclusive: bool) -> list[Callable[[Item], bool]]:
    filters: list[Callable[[Item], bool]] = []
    for name, value in parse_qsl(request.url.query, keep_blank_values=True):
        if not (name.endswith(">>") or name.endswith("<<")):
            continue
        m = _FILTER_KEY.match(name)
        if not m or m.group(2) not in _FILTER_FIELDS:
            raise BadRequestError(f"unknown filter {name}")
        scope_kind, field_name, op = m.group(1), m.group(2), m.group(3)
        getter = _FILTER_FIELDS[field_name]
        bound = _filter_value(value, now)

        def test(v: int | None, bound: int = bound, op: str = op) -> bool:
            if v is None:
                return False
            if op == ">>":
                return v >= bound if inclusive else v > bound
            return v <= bound if inclusive else v < bound

        def check(
            item: Item, getter: Callable[[Item], int | None] = getter, scope: str | None = scope_kind
        ) -> bool:
            targets = [item] if scope is None else _related(item, scope)
            return any(test(getter(t)) for t in targets)

        filters.append(check)
    return filters


def apply_sort(request: Request, items: list[Item]) -> list[Item]:
    raw = request.query_params.get("sort")
    if not raw:
        return items
    keys = []
    for chunk in reversed(raw.split(",")):
        name, _, direction = chunk.partition(":")
        if name not in _SORT_FIELDS or direction not in ("", "asc", "desc"):
            raise BadRequestError(f"bad sort {raw}")
        keys.append((_SORT_FIELDS[name], direction == "desc"))
    out = list(items)
    for key, desc in keys:
        out.sort(key=key, reverse=desc)
    return out
