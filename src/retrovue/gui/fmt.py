"""How the window writes numbers, sizes, durations and times (plain functions, no Qt)."""

from __future__ import annotations

import datetime as dt

from retrovue.humanize import duration, size

__all__ = ["duration", "episode", "short_when", "size", "when", "when_seconds"]


def when(epoch: int | None) -> str:
    """Local time to the minute; empty when never."""
    if not epoch:
        return ""
    return dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M")


def episode(season: int | None, number: int | None) -> str:
    if season is None and number is None:
        return ""
    s = f"S{season:02d}" if season is not None else ""
    e = f"E{number:02d}" if number is not None else ""
    return s + e


def when_seconds(epoch: float) -> str:
    """Local time to the second, with the date only when it is not today."""
    moment = dt.datetime.fromtimestamp(epoch)
    if moment.date() == dt.date.today():
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def short_when(epoch: int | None) -> str:
    """`18:54` today, `30 Nov` this year, `2025-11-30` before: for narrow columns."""
    if not epoch:
        return ""
    moment = dt.datetime.fromtimestamp(epoch)
    today = dt.date.today()
    if moment.date() == today:
        return moment.strftime("%H:%M")
    if moment.year == today.year:
        return moment.strftime("%d %b").lstrip("0")
    return moment.strftime("%Y-%m-%d")
