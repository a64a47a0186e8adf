"""When something done every so often is due again, one rule for every such interval."""

from __future__ import annotations

__all__ = ["due"]


def due(last: int | None, now: int, every: int) -> bool:
    """Whether a thing last done at `last` (epoch seconds) is due again at `now`, `every` seconds
    apart: never done, the interval up, or a last time in the future — a clock set back, which
    would otherwise put the next time off for as long as the clock was ahead."""
    if last is None:
        return True
    age = now - last
    return age < 0 or age >= every
