"""Any exception as the one line a user sees: the same words in the CLI, the GUI and the watcher.

A deliberate error (`RetrovueError`) is its own message; a database failure becomes a line naming
the catalog and what to do (`store.db.describe_database_error`); anything else is a bug, reported
as `unexpected error (Type: first line)` — the caller adds where the details were logged. Every line
is scrubbed of secrets and of line breaks.
"""

from __future__ import annotations

from dataclasses import dataclass

from retrovue.errors import ConfigError, RetrovueError
from retrovue.redact import scrub
from retrovue.store.db import describe_database_error

__all__ = ["Failure", "describe"]

MAX_DETAIL = 200


@dataclass(frozen=True)
class Failure:
    """What to tell the user about an exception; `expected` is False for a bug (log its traceback)."""

    message: str
    expected: bool
    usage: bool = False  # a ConfigError: the user asked for something that cannot work (exit code 2)


def _one_line(text: str) -> str:
    line = scrub(" ".join(text.split()))
    return line if len(line) <= MAX_DETAIL else line[: MAX_DETAIL - 1] + "…"


def describe(error: BaseException, *, catalog: str | None = None) -> Failure:
    """The user's line for `error`; `catalog` is the catalog URL, named in database messages."""
    if isinstance(error, RetrovueError):
        return Failure(_one_line(str(error)), True, isinstance(error, ConfigError))
    database = describe_database_error(error, catalog)
    if database is not None:
        return Failure(str(database), True)
    detail = str(error).strip().splitlines()
    head = f"{type(error).__name__}: {detail[0]}" if detail else type(error).__name__
    return Failure(f"unexpected error ({_one_line(head)})", False)
