"""The seed baseline's per-item store helpers (bench/baselines/seed_store.py) on every backend."""

from __future__ import annotations

from sqlalchemy import Engine

from bench.baselines import seed_store
from retrovue.store import items as dal
from tests.store.test_items import _library


def test_show_digest_helpers(catalog: Engine) -> None:
    _, lib_id = _library(catalog)
    with catalog.begin() as conn:
        assert seed_store.show_digest_changed(conn, lib_id, "100", "abc")
        assert not seed_store.children_hydrated(conn, lib_id, "100")
        dal.upsert_shows(conn, lib_id, [dal.ShowRecord("100", "Show", "abc", False)], now=1)
        assert not seed_store.show_digest_changed(conn, lib_id, "100", "abc")
        seed_store.upsert_show_digest(conn, lib_id, "100", "def", children_hydrated=True)
        assert seed_store.show_digest_changed(conn, lib_id, "100", "abc")
        assert seed_store.children_hydrated(conn, lib_id, "100")
