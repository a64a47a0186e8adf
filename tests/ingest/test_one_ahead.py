"""`one_ahead`: pages handed to the writer one late, and never lost when the listing breaks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from retrovue.ingest.sync_common import CancelledError, one_ahead


def _pages(n: int, then: Exception | None = None) -> Iterator[int]:
    yield from range(n)
    if then is not None:
        raise then


def test_each_page_is_handed_on_once_in_order_with_whether_more_follow() -> None:
    assert list(one_ahead(_pages(3), lambda p: p * 10)) == [(0, True), (10, True), (20, False)]


def test_the_page_in_hand_is_handed_on_before_the_listing_error() -> None:
    got: list[tuple[int, bool]] = []
    with pytest.raises(ConnectionError):
        got.extend(one_ahead(_pages(2, ConnectionError("gone")), lambda p: p))
    assert got == [(0, True), (1, False)]  # page 1 was read and compared: it is written


def test_a_cancel_hands_on_nothing_more() -> None:
    got: list[tuple[int, bool]] = []
    with pytest.raises(CancelledError):
        got.extend(one_ahead(_pages(2, CancelledError()), lambda p: p))
    assert got == [(0, True)]
