"""PyMySQL, with its value escaping made cheap for the values a sync sends by the million.

PyMySQL has no server-side parameters: it escapes every value into the SQL text in Python, and
through four calls per value (`Connection.escape` → `_escape_string` → `escape_string` →
`str.translate`, or `escape_item` → the type's encoder). A first sync of 110,595 items sends
about 9 million values; escaping them was 10.7 s of MariaDB's 69 s. `CatalogConnection.escape`
answers the three types nearly every value has (text, integer, NULL) in one call, with the same
text PyMySQL would produce, and hands everything else — and everything under the server's
`NO_BACKSLASH_ESCAPES` mode, or a connection built with its own encoders — to PyMySQL.

`tests/store/test_mariadb_driver.py` holds the two equal for generated values.
"""

from __future__ import annotations

from typing import Any

from pymysql import converters
from pymysql.connections import Connection
from pymysql.constants import SERVER_STATUS

__all__ = ["CatalogConnection"]

_NO_BACKSLASH_ESCAPES = SERVER_STATUS.SERVER_STATUS_NO_BACKSLASH_ESCAPES

_ESCAPES = {"\x00": "\\0", "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\x1a": "\\Z", '"': '\\"', "'": "\\'"}
"""MySQL's escapes inside a quoted string (the server's default SQL mode)."""
_TABLE = [_ESCAPES.get(chr(code), chr(code)) for code in range(128)]
"""`str.translate`'s table (a list is its fastest form; characters past it stay as they are)."""


class CatalogConnection(Connection):  # type: ignore[misc]  # PyMySQL ships no type hints: Any
    """A PyMySQL connection whose `escape` takes a short path for text, integers and NULL."""

    _short_path = False  # until __init__ has seen the connection's encoders

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        encoders = self.encoders  # PyMySQL's own unless the caller gave `conv`
        self._short_path = (
            encoders.get(int) is converters.escape_int and encoders.get(type(None)) is converters.escape_None
        )

    def escape(self, obj: Any, mapping: Any = None) -> str:
        kind = type(obj)
        if mapping is None and self._short_path:
            if kind is str:
                if not self.server_status & _NO_BACKSLASH_ESCAPES:
                    # Seven substring tests run in C: half the cost of translating a string that,
                    # like nearly every title and path, holds nothing to escape.
                    plain = not (
                        "'" in obj
                        or "\\" in obj
                        or '"' in obj
                        or "\x00" in obj
                        or "\n" in obj
                        or "\r" in obj
                        or "\x1a" in obj
                    )
                    text: str = obj if plain else obj.translate(_TABLE)
                    return "'" + text + "'"
            elif kind is int:
                return str(obj)
            elif obj is None:
                return "NULL"
        return str(super().escape(obj, mapping))
