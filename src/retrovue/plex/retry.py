"""How long to wait before retrying a request: exponential backoff with jitter.

Kept apart from the HTTP code so the policy is a pure function of (attempt, base, random draw) and
can be tested exactly.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["MAX_DELAY", "backoff_delay"]

MAX_DELAY = 30.0
"""No single wait is longer than this many seconds, however many retries are allowed."""


def backoff_delay(attempt: int, base: float, draw: Callable[[], float], *, cap: float = MAX_DELAY) -> float:
    """Seconds to wait after failed attempt number `attempt` (0 for the first failure).

    "Equal jitter": half of ``base * 2**attempt`` (capped) is waited for sure, the other half is
    scaled by `draw()` in [0, 1). The fixed half keeps the waits growing; the random half stops
    several workers that failed together from retrying in lockstep against a struggling server.
    A `base` of 0 disables waiting (tests).
    """
    if base <= 0:
        return 0.0
    ceiling = min(cap, base * 2.0**attempt)
    return ceiling / 2 + draw() * ceiling / 2
