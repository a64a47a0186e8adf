"""The run's compact sets: `IdSet` (catalog ids a listing saw) and `KeySet` (rating keys a first
sync listed) hold exactly what was added, whatever values Plex or the catalog gives."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from retrovue.ingest.idset import IdSet, KeySet

_KEYS = st.one_of(
    st.integers(min_value=0, max_value=KeySet.BOUND + 5).map(str),  # the bitmap's range and past it
    st.integers(min_value=0, max_value=999).map(lambda n: f"0{n}"),  # a leading zero: not a number
    st.text(alphabet="0123456789", max_size=12),
    st.text(max_size=8),  # anything else Plex might send, non-ASCII digits included
)


@given(added=st.lists(_KEYS, max_size=60), probes=st.lists(_KEYS, max_size=60))
def test_a_key_set_holds_exactly_the_keys_added(added: list[str], probes: list[str]) -> None:
    keys = KeySet()
    keys.update(added)
    assert len(keys) == len(set(added))
    for key in [*added, *probes]:
        assert (key in keys) == (key in set(added)), key


def test_a_key_set_tells_apart_keys_that_are_the_same_number() -> None:
    keys = KeySet()
    keys.update(["7", "١٢"])  # Arabic-Indic digits: str.isdigit() is true for them
    assert "07" not in keys
    assert "007" not in keys
    assert "12" not in keys
    assert "7" in keys
    assert "١٢" in keys
    assert 7 not in keys


@given(
    added=st.lists(st.integers(min_value=0, max_value=5000), max_size=80), gone=st.lists(st.integers(0, 5000))
)
def test_an_id_set_holds_exactly_the_ids_added(added: list[int], gone: list[int]) -> None:
    ids = IdSet(added)
    expected = set(added)
    for item_id in gone:
        ids.discard(item_id)
        expected.discard(item_id)
    assert len(ids) == len(expected)
    for item_id in range(-2, 5002):
        assert (item_id in ids) == (item_id in expected)
