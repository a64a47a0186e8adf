"""How the window writes numbers, sizes, durations and times (plain functions, no Qt)."""

from __future__ import annotations

import datetime as dt

__all__ = ["duration", "episode", "size", "when"]


def when(epoch: int | None) -> str:
    """Local time to the minute; empty when never."""
    if not epoch:
        return ""
    return dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M")


def duration(ms: int | None) -> str:
    if ms is None:
        return ""
    seconds = ms // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def size(n: int | None) -> str:
    if n is None:
        return ""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def episode(season: int | None, number: int | None) -> str:
    if season is None and number is None:
        return ""
    s = f"S{season:02d}" if season is not None else ""
    e = f"E{number:02d}" if number is not None else ""
    return s + e
