"""Database failures as one line naming the catalog, what went wrong and what to do.

The CLI, the GUI and the watcher all report a failed database operation through
`describe_database_error`: locked (another writer held on for longer than the busy timeout),
read-only, full, damaged, a value too long or too large for its column, a catalog that cannot be
reached, or rows changed under the command by another program. The kind is read from the driver's
own code (SQLite's extended result name, PostgreSQL's SQLSTATE, MariaDB's error number) and, when a
driver gives none, from its message. The message quotes the driver's first line, scrubbed, and never
the SQL or its parameters: a failed `INSERT INTO servers` carries the token among them.
"""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from retrovue.errors import CatalogError, RetrovueError
from retrovue.redact import scrub

__all__ = ["explain"]

_SQLITE_KINDS = {
    "SQLITE_BUSY": "locked",
    "SQLITE_LOCKED": "locked",
    "SQLITE_READONLY": "readonly",
    "SQLITE_FULL": "full",
    "SQLITE_CORRUPT": "corrupt",
    "SQLITE_NOTADB": "corrupt",
    "SQLITE_CANTOPEN": "cannot-open",
    # Bounded input keeps every value Retrovue writes far below SQLite's 1 GB limit, so a value
    # "too big" can only come from reading a damaged page.
    "SQLITE_TOOBIG": "corrupt",
    "SQLITE_CONSTRAINT_FOREIGNKEY": "changed",
}
_PG_KINDS = {
    "53100": "full",
    "25006": "readonly",
    "55P03": "locked",
    "40P01": "locked",
    "57014": "locked",
    "22001": "too-big",
    "22003": "too-big",
    "54000": "too-big",
    "XX001": "corrupt",
    "XX002": "corrupt",
    "23503": "changed",
}
_MYSQL_KINDS = {
    1205: "locked",
    1213: "locked",
    1114: "full",
    1021: "full",
    1290: "readonly",
    1792: "readonly",
    1036: "readonly",
    1406: "too-big",
    1264: "too-big",
    1153: "too-big",
    145: "corrupt",
    1194: "corrupt",
    1034: "corrupt",
    1452: "changed",
    1451: "changed",
    2003: "cannot-open",
    1045: "cannot-open",
    1049: "cannot-open",
}
_TEXT_KINDS = (  # when the driver gives no code: (fragment of the lower-cased message, kind)
    ("database is locked", "locked"),
    ("readonly database", "readonly"),
    ("read-only", "readonly"),
    ("disk is full", "full"),
    ("no space left", "full"),
    ("malformed", "corrupt"),
    ("not a database", "corrupt"),
    ("unable to open database", "cannot-open"),
    ("too long", "too-big"),
    ("too large", "too-big"),
    ("out of range", "too-big"),
    ("too complex", "too-big"),
    ("foreign key", "changed"),
    ("connection refused", "cannot-open"),
    ("could not connect", "cannot-open"),
    ("can't connect", "cannot-open"),
)


def _kind(error: BaseException) -> str | None:
    name = getattr(error, "sqlite_errorname", None)
    if isinstance(name, str):
        kind = _SQLITE_KINDS.get(name) or _SQLITE_KINDS.get(name.rsplit("_", 1)[0])
        if kind is None and name.startswith("SQLITE_IOERR"):
            kind = "full" if "full" in str(error).lower() else None
        if kind is not None:
            return kind
    state = getattr(error, "sqlstate", None)
    if isinstance(state, str) and state in _PG_KINDS:
        return _PG_KINDS[state]
    args = getattr(error, "args", ())
    if args and isinstance(args[0], int) and args[0] in _MYSQL_KINDS:
        return _MYSQL_KINDS[args[0]]
    text = str(error).lower()
    return next((kind for fragment, kind in _TEXT_KINDS if fragment in text), None)


def explain(error: BaseException, where: str, busy_seconds: int) -> CatalogError | None:
    """One line naming the catalog (`where`), what went wrong and what to do, for a database failure.

    None when `error` is not a database failure Retrovue recognises (the caller reports it as an
    unexpected error, with details in the log). The driver's own message is quoted (first line,
    scrubbed); never the SQL or its parameters, which may hold a token.
    """
    if isinstance(error, RetrovueError):
        return None
    original = getattr(error, "orig", None) if isinstance(error, SQLAlchemyError) else error
    if isinstance(error, SQLAlchemyError) and original is None:
        original = error
    if original is None or not isinstance(error, SQLAlchemyError | sqlite3.Error | OverflowError):
        return None
    kind = _kind(original)
    if isinstance(original, OverflowError):
        kind = "too-big"
    lines = str(original).strip().splitlines()
    reason = scrub(lines[0] if lines else type(original).__name__)[:160]
    messages = {
        "locked": f"{where} is busy: another program held a lock on it for too long ({reason}; waited "
        f"{busy_seconds} s on SQLite); try again when the other sync or tool has finished",
        "readonly": f"{where} is read-only ({reason}); commands that only read it still work: give this "
        "user write access to it (and its folder), or use a writable copy",
        "full": f"{where} has run out of space ({reason}); free some space on its disk and run the "
        "command again (the change that did not fit was rolled back)",
        "corrupt": f"{where} is damaged ({reason}); restore it from a backup, or move it away and add "
        "your servers again to start a new catalog",
        "cannot-open": f"cannot open {where} ({reason}); check DB_URL, the file's folder, and that the "
        "database server is running",
        "too-big": f"a value does not fit {where} ({reason}); shorten the value given, or report it if "
        "it came from Plex",
        "changed": f"{where} changed under this command ({reason}): another program removed or changed a "
        "row it needed; run the command again",
    }
    if kind in messages:
        return CatalogError(messages[kind])
    if isinstance(error, sa.exc.OperationalError):
        return CatalogError(f"{where} failed ({reason}); check it is reachable and try again")
    return None
