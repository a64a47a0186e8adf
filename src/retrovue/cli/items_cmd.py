"""`retrovue items`, `retrovue runs` and `retrovue purge`: reading and cleaning the catalog."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import sys
from typing import Annotated

import typer
from rich import box
from rich.console import JustifyMethod
from rich.table import Table

from retrovue import humanize
from retrovue.cli import app
from retrovue.cli.common import console, engine, print_json, printable, when
from retrovue.errors import ConfigError
from retrovue.states import ItemState
from retrovue.store import items, registry, runs

FORMATS = ("table", "json", "csv")
MAX_LIMIT = 10_000_000
MAX_SEARCH = 1_000  # characters: a LIKE pattern far longer fails on SQLite ("pattern too complex")


@app.command("items")
def items_command(
    ctx: typer.Context,
    library: Annotated[str | None, typer.Option("--library", "-l", help="Library title or id.")] = None,
    server: Annotated[str | None, typer.Option("--server", "-s", help="Only this server.")] = None,
    state: Annotated[
        str | None, typer.Option("--state", help="ACTIVE, REMOTE_ONLY, UNAVAILABLE, MISSING or DELETED.")
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", "-q", help="Text in the title or show title.")
    ] = None,
    sort: Annotated[str, typer.Option("--sort", help=f"One of: {', '.join(items.ITEM_SORTS)}.")] = "show",
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, max=MAX_LIMIT, help="At most this many rows.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")] = "table",
) -> None:
    """List catalog items with their state and Plex path."""
    if search is not None and len(search) > MAX_SEARCH:
        raise ConfigError(f"--search text is {len(search):,} characters long; use at most {MAX_SEARCH:,}")
    if fmt not in FORMATS:
        raise ConfigError(f"unknown --format {fmt!r}; use one of {', '.join(FORMATS)}")
    if sort not in items.ITEM_SORTS:
        raise ConfigError(f"unknown --sort {sort!r}; use one of {', '.join(items.ITEM_SORTS)}")
    if state is not None:
        try:
            state = ItemState(state.upper()).value
        except ValueError:
            raise ConfigError(
                f"unknown state {state!r}; use one of {', '.join(s.value for s in ItemState)}"
            ) from None
    with engine(ctx).connect() as conn:
        library_id = registry.get_library(conn, library, server=server).id if library else None
        server_id = registry.get_server(conn, server).id if server and not library else None
        rows = items.list_items(
            conn,
            library_id=library_id,
            server_id=server_id,
            state=state,
            search=search,
            sort=sort,
            limit=limit,
        )
    if fmt == "json":
        print_json([dataclasses.asdict(r) for r in rows])
        return
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        names = [f.name for f in dataclasses.fields(items.ItemRow)]
        writer.writerow(names)
        shown = printable if sys.stdout.isatty() else str  # to a pipe it is data: kept whole
        for r in rows:
            writer.writerow([v if v is None else shown(str(v)) for v in (getattr(r, n) for n in names)])
        return
    table = Table(
        "Id", "Library", "Show", "S/E", "Title", "Year", "Duration", "Size", "State", "Last seen", "Plex path"
    )
    for r in rows:
        episode = (
            f"S{r.season_index:02d}E{r.episode_index:02d}"
            if r.season_index is not None and r.episode_index is not None
            else ""
        )
        table.add_row(
            str(r.id),
            r.library_title,
            r.show_title or "",
            episode,
            r.title,
            str(r.year or ""),
            humanize.duration(r.duration_ms),
            humanize.size(r.file_size),
            r.state,
            when(r.last_seen_at),
            r.file or "",
        )
    console.print(table)
    console.print(f"{len(rows)} items")


@app.command("runs")
def runs_command(
    ctx: typer.Context,
    library: Annotated[str | None, typer.Option("--library", "-l", help="Library title or id.")] = None,
    server: Annotated[
        str | None, typer.Option("--server", "-s", help="Narrow --library to a server.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=MAX_LIMIT, help="How many runs.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Show the sync history, newest first."""
    with engine(ctx).connect() as conn:
        library_id = registry.get_library(conn, library, server=server).id if library else None
        rows = runs.list_runs(conn, library_id=library_id, limit=limit)
    if as_json:
        print_json([dataclasses.asdict(r) for r in rows])
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    numbers = ("Run", "Seen", "+Chg", "!Err", "Miss↑", "Del↑", "Secs")
    for header in ("Run", "Started", "Library", "Status", *numbers[1:]):
        justify: JustifyMethod = "right" if header in numbers else "left"
        table.add_column(
            header,
            justify=justify,
            min_width=len(header),
            no_wrap=True,
            max_width=22 if header == "Library" else None,
            overflow="ellipsis",
        )
    notes = []
    for r in rows:
        secs = str(r.finished_at - r.started_at) if r.finished_at else "…"
        status = r.status if r.mode == "incremental" else f"{r.status} ({r.mode})"
        started = dt.datetime.fromtimestamp(r.started_at).strftime("%m-%d %H:%M")
        table.add_row(
            str(r.id),
            started,
            f"{r.server_name}/{r.library_title}",
            status,
            str(r.counts.processed),
            str(r.counts.changed),
            str(r.counts.errors),
            str(r.counts.missing),
            str(r.counts.deleted),
            secs,
        )
        if r.error_text:
            notes.append(f"  run {r.id}: {r.error_text}")
    console.print(table)
    for note in notes:
        console.print(note)


@app.command("purge")
def purge_command(
    ctx: typer.Context,
    library: Annotated[str, typer.Option("--library", "-l", help="Library title or id.")],
    server: Annotated[
        str | None, typer.Option("--server", "-s", help="Narrow --library to a server.")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a library's DELETED items from the catalog for good (with their parts and history)."""
    eng = engine(ctx)
    with eng.connect() as conn:
        lib = registry.get_library(conn, library, server=server)
        doomed = items.library_state_counts(conn, lib.id)[ItemState.DELETED.value]
    if not doomed:
        console.print(f"{lib.server_name}/{lib.title} has no DELETED items.")
        return
    if not yes:
        typer.confirm(
            f"Permanently remove {doomed} DELETED items of {lib.server_name}/{lib.title}?", abort=True
        )
    with eng.begin() as conn:
        removed = items.purge_deleted(conn, lib.id)
    console.print(f"Removed {removed} items from {lib.server_name}/{lib.title}.")
