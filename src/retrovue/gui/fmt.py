"""How the window writes numbers, sizes, durations and times (plain functions, no Qt)."""

from __future__ import annotations

import datetime as dt

from retrovue.catalog import Item
from retrovue.humanize import duration, size

__all__ = ["duration", "episode", "metadata_fields", "short_when", "size", "when", "when_seconds"]


def when(epoch: int | None) -> str:
    """Local time to the minute; empty when never."""
    if not epoch:
        return ""
    return dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M")


def episode(season: int | None, number: int | None) -> str:
    if season is None and number is None:
        return ""
    s = f"S{season:02d}" if season is not None else ""
    e = f"E{number:02d}" if number is not None else ""
    return s + e


def when_seconds(epoch: float) -> str:
    """Local time to the second, with the date only when it is not today."""
    moment = dt.datetime.fromtimestamp(epoch)
    if moment.date() == dt.date.today():
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def short_when(epoch: int | None) -> str:
    """`18:54` today, `30 Nov` this year, `2025-11-30` before: for narrow columns."""
    if not epoch:
        return ""
    moment = dt.datetime.fromtimestamp(epoch)
    today = dt.date.today()
    if moment.date() == today:
        return moment.strftime("%H:%M")
    if moment.year == today.year:
        return moment.strftime("%d %b").lstrip("0")
    return moment.strftime("%Y-%m-%d")


def metadata_fields(item: Item) -> list[tuple[str, str]]:
    """What a scheduler knows of an item, as (label, text) rows for the detail pane; rows Plex gave
    nothing for are left out."""
    ratings = ", ".join(
        f"{name} {value:g}"
        for name, value in (("critics", item.rating), ("audience", item.audience_rating))
        if value is not None
    )
    ids = ", ".join(f"{k} {v}" for k, v in item.external_ids.items())
    rows = [
        ("Aired" if item.kind == "episode" else "Released", item.originally_available_at or ""),
        ("Rated", item.content_rating or ""),
        ("Network" if item.kind == "episode" else "Studio", item.studio or ""),
        ("Genres", ", ".join(item.genres)),
        ("Collections", ", ".join(item.collections)),
        ("Labels", ", ".join(item.labels)),
        ("Ratings", ratings),
        ("External ids", ids),
        ("Summary", item.summary or ""),
    ]
    return [(label, text) for label, text in rows if text]
