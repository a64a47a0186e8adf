"""The catalog's PyMySQL connection escapes every value exactly as PyMySQL does, only faster."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

pymysql = pytest.importorskip("pymysql")

from pymysql.constants import SERVER_STATUS  # noqa: E402

from retrovue.store import schema as t  # noqa: E402
from retrovue.store.mariadb_driver import CatalogConnection  # noqa: E402

_VALUES = st.one_of(
    st.text(),
    st.text(alphabet="'\"\\\x00\n\r\x1a%ab é🎬"),  # every escaped character, often
    st.integers(min_value=-(2**70), max_value=2**70),
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.binary(max_size=20),
)


_OURS = CatalogConnection(defer_connect=True, charset="utf8mb4")
_THEIRS = pymysql.connections.Connection(defer_connect=True, charset="utf8mb4")


@given(value=_VALUES)
def test_values_are_escaped_as_pymysql_escapes_them(value: object) -> None:
    for status in (0, SERVER_STATUS.SERVER_STATUS_NO_BACKSLASH_ESCAPES):
        _OURS.server_status = _THEIRS.server_status = status
        assert _OURS.escape(value) == _THEIRS.escape(value)


def test_a_connection_with_its_own_encoders_keeps_them() -> None:
    conv = dict(pymysql.converters.conversions)
    conv[int] = lambda value, _mapping=None: f"CAST({value} AS SIGNED)"
    conn = CatalogConnection(defer_connect=True, charset="utf8mb4", conv=conv)
    conn.server_status = 0
    assert conn.escape(7) == "CAST(7 AS SIGNED)"


def test_the_catalog_stores_hostile_text_through_the_short_path(catalog: Engine) -> None:
    """On MariaDB the engine connects with `CatalogConnection`; text full of escapes round-trips."""
    if catalog.dialect.name not in ("mysql", "mariadb"):
        pytest.skip("the connection class is MariaDB's")
    names = ['O\'Brien \\ "quoted"', "line\nbreak\r\x1a", "100% %s %(name)s", "é 🎬 plain"]
    with catalog.begin() as conn:
        assert isinstance(conn.connection.dbapi_connection, CatalogConnection)
        conn.execute(
            t.servers.insert(),
            [
                {
                    "name": name,
                    "base_url": f"http://127.0.0.1:{port}",
                    "token": "t",
                    "created_at": 1,
                    "updated_at": 1,
                }
                for port, name in enumerate(names, start=32400)
            ],
        )
    with catalog.connect() as conn:
        stored = conn.execute(sa.select(t.servers.c.name).order_by(t.servers.c.id)).scalars().all()
    assert stored == names
