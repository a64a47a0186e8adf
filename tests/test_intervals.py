"""One rule for every "every so often": never done, interval up, or a clock set back."""

from __future__ import annotations

import pytest

from retrovue.intervals import due


@pytest.mark.parametrize(
    ("last", "now", "every", "expected"),
    [
        (None, 1_000, 3_600, True),  # never done
        (1_000, 1_000, 3_600, False),  # just done
        (1_000, 4_599, 3_600, False),  # a second short of the interval
        (1_000, 4_600, 3_600, True),  # the interval up
        (5_000, 1_000, 3_600, True),  # done "in the future": the clock was set back
        (1_000, 1_000, 0, True),  # an interval of 0: every time
    ],
)
def test_due(last: int | None, now: int, every: int, expected: bool) -> None:
    assert due(last, now, every) is expected
