"""Numbers for people: durations and sizes as the CLI and the GUI show them."""

from __future__ import annotations

__all__ = ["duration", "size"]


def duration(ms: int | None) -> str:
    """`1:02:03` or `4:05`; empty when unknown."""
    if ms is None:
        return ""
    seconds = ms // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def size(n: int | None) -> str:
    """`512 B`, `1.5 MB`, `4.1 GB`; empty when unknown."""
    if n is None:
        return ""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
