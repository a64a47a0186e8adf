"""`retrovue changes`: the change feed, for scripts and schedulers (read through `retrovue.catalog`).

    retrovue changes                      # everything the feed holds, then the cursor
    retrovue changes --since 1234 -f json # {"cursor": "…", "changes": [{"id": …, …}, …]}

The cursor printed is the feed's end when the command started: pass it as `--since` next time.
Output streams: entries are printed as they are read, memory stays flat.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Annotated, Any

import typer

from retrovue.catalog import Catalog, Change
from retrovue.cli import app
from retrovue.cli.common import engine, json_text, printable
from retrovue.errors import ConfigError
from retrovue.store import registry

FORMATS = ("table", "json")


def change_row(change: Change) -> dict[str, Any]:
    """One entry as `changes --format json` prints it (scripts rely on these names)."""
    return {
        "id": change.id,
        "rating_key": change.rating_key,
        "change": change.change,
        "library_id": change.library_id,
        "at": change.at,
        "old_value": change.old_value,
        "new_value": change.new_value,
        "run_id": change.run_id,
        "position": change.position,
    }


@app.command("changes")
def changes_command(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option("--since", help="The cursor a previous `changes` printed.")
    ] = None,
    library: Annotated[str | None, typer.Option("--library", "-l", help="Library title or id.")] = None,
    server: Annotated[
        str | None, typer.Option("--server", "-s", help="Narrow --library to a server.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """What changed in the catalog since a cursor (default: everything kept), and the next cursor."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown --format {fmt!r}; use one of {', '.join(FORMATS)}")
    cat = Catalog(engine(ctx))
    library_id = None
    if library is not None:
        with cat.engine.connect() as conn:
            library_id = registry.get_library(conn, library, server=server).id
    cursor = cat.cursor()
    if since is not None:
        cat.changes(since, limit=1)  # a bad or expired cursor fails before anything is printed
    rows = cat.iter_changes(since, until=cursor, library_id=library_id)
    out = sys.stdout
    if fmt == "json":
        out.write(f'{{"cursor": {json_text(cursor, indent=None)}, "changes": [')
        count = 0
        for change in rows:
            out.write(",\n  " if count else "\n  ")
            out.write(json_text(change_row(change), indent=None))
            count += 1
        out.write("\n]}\n" if count else "]}\n")
        return
    count = 0
    for change in rows:
        at = dt.datetime.fromtimestamp(change.at).strftime("%Y-%m-%d %H:%M:%S")
        moved = f"{change.old_value or ''} -> {change.new_value or ''}" if change.old_value else ""
        line = (
            f"{change.position:>8}  {at}  {change.change:<8} item {change.id} ({change.rating_key})  {moved}"
        )
        out.write(printable(line.rstrip()) + "\n")
        count += 1
    out.write(f"{count} change{'' if count == 1 else 's'}; cursor {cursor}\n")
