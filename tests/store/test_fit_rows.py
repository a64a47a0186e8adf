"""A batch is fitted column by column; the result is what fitting every row on its own gives."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from retrovue.store import schema as t
from retrovue.store.fit import fit_row, fit_rows

_COLUMNS = ["title", "rating_key", "year", "duration_ms", "streams", "sort_title", "file", "rating", "kind"]

_VALUE = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.text(alphabet="a\x00", max_size=5),
    st.text(min_size=250, max_size=300),  # past VARCHAR(255), VARCHAR(64) and the like
    st.integers(),
    st.integers(min_value=2**31 - 2, max_value=2**31 + 2),  # INTEGER's edge
    st.integers(min_value=2**63 - 2, max_value=2**63 + 2),  # BIGINT's edge
    st.booleans(),
    st.floats(allow_nan=False),
)


@settings(max_examples=300)
@given(
    table=st.sampled_from([t.media_items, t.media_parts]),
    rows=st.lists(st.dictionaries(st.sampled_from(_COLUMNS), _VALUE), max_size=6),
)
def test_a_batch_is_fitted_as_its_rows_are_one_by_one(table: Any, rows: list[dict[str, Any]]) -> None:
    assert fit_rows(table, rows) == [fit_row(table, row) for row in rows]


def test_a_batch_that_fits_is_returned_as_it_is() -> None:
    rows = [
        {"title": "Pilot", "year": 1999, "kind": "episode"},
        {"title": "Two", "year": None, "kind": "movie"},
    ]
    fitted = fit_rows(t.media_items, rows)
    assert fitted == rows
    assert all(a is b for a, b in zip(fitted, rows, strict=True))


def test_one_value_that_does_not_fit_is_cut_and_the_rest_kept() -> None:
    rows = [{"title": "ok", "kind": "episode"}, {"title": "bad\x00title", "kind": "x" * 40}]
    assert fit_rows(t.media_items, rows) == [
        {"title": "ok", "kind": "episode"},
        {"title": "badtitle", "kind": "x" * 16},
    ]
