"""Folded keys: how the catalog searches and sorts titles the same way on every database.

Backend collations and extensions differ (SQLite's LIKE folds ASCII only, PostgreSQL's LIKE refuses
nondeterministic collations and `unaccent` is an extension, MariaDB's accent rules depend on the
collation the database was created with), so the catalog does not ask the database to compare text
loosely. Each title is folded here, in Python, once, when its row is written: Unicode case-folded,
compatibility-decomposed, accents (combining marks) dropped, a few letters that have no
decomposition spelled the way an English reader would type them (ø → o, ł → l, æ → ae, ß → ss),
whitespace collapsed. "Déjà Vu" becomes "deja vu", "МОСКВА" becomes "москва", "Été" sorts with
"Ete". The folded text is stored and indexed; search folds the query the same way and matches
with a plain LIKE, sorting is a plain ORDER BY of the stored key. Plex's own sort title
(`titleSort`: "Office" for "The Office") is what a title sorts by when Plex has one.

Derived columns (see `schema.py`): `sort_title` (title order), `sort_show` (show, season, episode,
title order, as one string so one index serves it), `search_text` (what text search looks in).
Every writer through SQLAlchemy Core fills them from the row's own values (column defaults), and
upserts update them with the row; the migration that introduced them filled existing rows. The sync's
batch writers compute them explicitly, once per row (`item_keys`, `show_keys`): PostgreSQL's COPY
path (`store.upsert`) runs no Python column default, and takes the executemany path for a batch that
leaves a computed column out.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

__all__ = ["SEP", "SORT_LENGTH", "fold", "search_text", "sort_show", "sort_title"]

SORT_LENGTH = 255
"""Stored length of the sort keys: indexable on every backend (MariaDB: 255 utf8mb4 characters)."""

SEP = "\x1f"
"""Between the parts of a composite sort key: sorts before every character a folded title has."""

_LETTERS = str.maketrans(
    {
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "ħ": "h",
        "ı": "i",
        "ŧ": "t",
        "ƀ": "b",
        "ɨ": "i",
        "æ": "ae",
        "œ": "oe",
        "þ": "th",
    }
)
# Control characters, the separator among them, never survive folding: a folded text cannot contain
# SEP, and a search for text cannot reach across the parts of `search_text`.
_CONTROL = dict.fromkeys(range(0x20), " ") | {0x7F: " "}


@lru_cache(maxsize=8192)  # a show's title is folded once per episode: once is enough
def fold(text: str | None) -> str:
    """The text as search and sorting compare it (see the module docstring); "" for None."""
    if not text:
        return ""
    if text.isascii():
        folded = text.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", text.casefold())
        folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_LETTERS)
        folded = unicodedata.normalize("NFC", folded)
    return " ".join(folded.translate(_CONTROL).split())


def _index(value: object) -> str:
    """A season or episode number in a form that sorts as a number (absent ones first)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return ""
    return f"{value + 10**9:010d}" if value > -(10**9) else "0" * 10


def sort_title(title: str | None, title_sort: str | None) -> str:
    """The title order key: Plex's sort title when it has one, folded, cut to the stored length."""
    return fold(title_sort or title)[:SORT_LENGTH]


def sort_show(
    show_title: str | None,
    season_index: object,
    episode_index: object,
    title: str | None,
    title_sort: str | None,
) -> str:
    """The show order key: show, season, episode, then title (movies: their title alone)."""
    head = SEP.join((fold(show_title)[:120], _index(season_index), _index(episode_index)))
    return (head + SEP + sort_title(title, title_sort))[:SORT_LENGTH]


def search_text(*texts: str | None) -> str:
    """What text search looks in: each text folded, one per line."""
    return "\n".join(fold(text) for text in texts if text)


def item_keys(row: Mapping[str, Any]) -> dict[str, str]:
    """The derived key columns of a media item row."""
    title, title_sort = row.get("title"), row.get("title_sort")
    return {
        "sort_title": sort_title(title, title_sort),
        "sort_show": sort_show(
            row.get("show_title"), row.get("season_index"), row.get("episode_index"), title, title_sort
        ),
        "search_text": search_text(title, row.get("show_title"), title_sort),
    }


def show_keys(row: Mapping[str, Any]) -> dict[str, str]:
    """The derived key columns of a show row."""
    title, title_sort = row.get("title"), row.get("title_sort")
    return {"sort_title": sort_title(title, title_sort), "search_text": search_text(title, title_sort)}
