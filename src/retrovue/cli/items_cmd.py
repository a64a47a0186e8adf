"""`retrovue items`, `retrovue runs` and `retrovue purge`: reading and cleaning the catalog.

`items` reads through the read API (`retrovue.catalog`) and streams: rows are printed page by page
as they are read, so the first ones appear at once and memory stays flat however many there are.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Annotated, Any, TextIO

import typer
from rich import box
from rich.console import JustifyMethod
from rich.table import Table

from retrovue import humanize
from retrovue.catalog import ITEM_SORTS, Catalog, Item, ItemQuery, Library, Show
from retrovue.cli import app
from retrovue.cli.common import console, engine, json_text, print_json, printable, when
from retrovue.errors import ConfigError
from retrovue.states import ItemState
from retrovue.store import feed, items, lifecycle, registry, runs
from retrovue.store.keys import fold

FORMATS = ("table", "json", "csv", "m3u")
PAGE = 1000
MAX_LIMIT = 10_000_000
MAX_SEARCH = 1_000  # characters: a LIKE pattern far longer fails on SQLite ("pattern too complex")


@app.command("items")
def items_command(
    ctx: typer.Context,
    library: Annotated[str | None, typer.Option("--library", "-l", help="Library title or id.")] = None,
    server: Annotated[str | None, typer.Option("--server", "-s", help="Only this server.")] = None,
    show: Annotated[str | None, typer.Option("--show", help="Only this show (title or id).")] = None,
    season: Annotated[int | None, typer.Option("--season", help="Only this season of --show.")] = None,
    state: Annotated[
        str | None, typer.Option("--state", help="ACTIVE, REMOTE_ONLY, UNAVAILABLE, MISSING or DELETED.")
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="episode or movie.")] = None,
    search: Annotated[
        str | None,
        typer.Option("--search", "-q", help="Words in the title or show title (case and accents ignored)."),
    ] = None,
    sort: Annotated[str, typer.Option("--sort", help=f"One of: {', '.join(ITEM_SORTS)}.")] = "show",
    descending: Annotated[bool, typer.Option("--desc", help="Reverse the order.")] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, max=MAX_LIMIT, help="At most this many rows.")
    ] = None,
    local: Annotated[
        bool, typer.Option("--local", help="Show each item's local path on this machine.")
    ] = False,
    playable: Annotated[
        bool, typer.Option("--playable", help="Only items whose files are on this machine now (checked).")
    ] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json, csv or m3u.")] = "table",
    genre: Annotated[
        str | None, typer.Option("--genre", help="Only this genre (an episode's show's count).")
    ] = None,
    content_rating: Annotated[
        list[str] | None, typer.Option("--content-rating", help="Only this content rating (repeatable).")
    ] = None,
    collection: Annotated[str | None, typer.Option("--collection", help="Only this Plex collection.")] = None,
    label: Annotated[str | None, typer.Option("--label", help="Only this Plex label.")] = None,
    studio: Annotated[
        str | None, typer.Option("--studio", help="Only this studio (an episode's show's network).")
    ] = None,
    aired_from: Annotated[
        str | None, typer.Option("--aired-from", help="Aired or released on or after (YYYY[-MM[-DD]]).")
    ] = None,
    aired_to: Annotated[
        str | None, typer.Option("--aired-to", help="Aired or released on or before (YYYY[-MM[-DD]]).")
    ] = None,
) -> None:
    """List catalog items with their state and Plex path (and local path), streamed."""
    if search is not None and len(search) > MAX_SEARCH:
        raise ConfigError(f"--search text is {len(search):,} characters long; use at most {MAX_SEARCH:,}")
    if fmt not in FORMATS:
        raise ConfigError(f"unknown --format {fmt!r}; use one of {', '.join(FORMATS)}")
    if sort not in ITEM_SORTS:
        raise ConfigError(f"unknown --sort {sort!r}; use one of {', '.join(ITEM_SORTS)}")
    if season is not None and show is None:
        raise ConfigError("--season needs --show: name the show whose season to list")
    cat = Catalog(engine(ctx))
    query = dataclasses.replace(
        _query(cat, library, server, show, season, state, kind, search),
        genre=genre,
        content_rating=tuple(content_rating) if content_rating else None,
        collection=collection,
        label=label,
        studio=studio,
        aired_from=aired_from,
        aired_to=aired_to,
    )
    libraries = {lib.id: lib for lib in cat.libraries(counts=False)}
    rows: Iterable[Item]
    if playable:
        rows = (p.item for p in cat.playable(query, sort=sort, descending=descending, page_size=PAGE))
    else:
        rows = cat.iter_items(query, sort=sort, descending=descending, page_size=PAGE, local_paths=True)
    if limit is not None:
        rows = _first(rows, limit)
    out = sys.stdout
    writer = {"json": _json, "csv": _csv, "m3u": _m3u, "table": _table}[fmt]
    count = writer(out, rows, libraries, local)
    if fmt == "table":
        out.write(f"{count} item{'' if count == 1 else 's'}\n")


def _first(rows: Iterable[Item], n: int) -> Iterator[Item]:
    for i, row in enumerate(rows):
        if i >= n:
            return
        yield row


def _query(
    cat: Catalog,
    library: str | None,
    server: str | None,
    show: str | None,
    season: int | None,
    state: str | None,
    kind: str | None,
    search: str | None,
) -> ItemQuery:
    """The listing's filters, names resolved to ids (one-line errors for unknown or ambiguous ones)."""
    if state is not None:
        try:
            state = ItemState(state.upper()).value
        except ValueError:
            raise ConfigError(
                f"unknown state {state!r}; use one of {', '.join(s.value for s in ItemState)}"
            ) from None
    if kind is not None and kind not in ("episode", "movie"):
        raise ConfigError(f"unknown --kind {kind!r}; use episode or movie")
    with cat.engine.connect() as conn:
        library_id = registry.get_library(conn, library, server=server).id if library else None
        server_id = registry.get_server(conn, server).id if server and not library else None
    show_id = _show(cat, show, library_id).id if show is not None else None
    return ItemQuery(
        server_id=server_id,
        library_id=library_id,
        show_id=show_id,
        season_index=season,
        state=state,
        kind=kind,
        text=search,
    )


def _show(cat: Catalog, spec: str, library_id: int | None) -> Show:
    """The show named `spec` (its title, any case and accents, or its id)."""
    if spec.isascii() and spec.isdigit():  # "²".isdigit() is True too
        found = cat.show(int(spec))
        if found is not None and (library_id is None or found.library_id == library_id):
            return found
    wanted = fold(spec)
    candidates: list[Show] = []
    after = None
    while True:
        page = cat.shows(library_id=library_id, text=spec, limit=500, after=after)
        candidates += page.rows
        if page.next is None:
            break
        after = page.next
    exact = [s for s in candidates if wanted in (fold(s.title), fold(s.title_sort))]
    matches = exact or candidates
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ConfigError(f"no show {spec!r}; list them with `retrovue items --kind episode --sort show`")
    names = ", ".join(f"{s.title} (id {s.id})" for s in matches[:5])
    more = f" and {len(matches) - 5} more" if len(matches) > 5 else ""
    raise ConfigError(f"show {spec!r} is ambiguous ({names}{more}); give its id or add --library")


def _row(item: Item, libraries: dict[int, Library]) -> dict[str, Any]:
    """An item as `items --format json|csv` prints it (names scripts rely on: keep them stable)."""
    lib = libraries.get(item.library_id)
    return {
        "id": item.id,
        "server_name": lib.server_name if lib else None,
        "library_title": lib.title if lib else None,
        "rating_key": item.rating_key,
        "kind": item.kind,
        "title": item.title,
        "show_title": item.show_title,
        "season_index": item.season_index,
        "episode_index": item.episode_index,
        "year": item.year,
        "duration_ms": item.duration_ms,
        "file_size": item.file_size,
        "state": item.state,
        "last_seen_at": item.last_seen_at,
        "first_seen_at": item.first_seen_at,
        "file": item.file,
        "last_error": item.last_error,
        "local_paths": list(item.local_paths) if item.local_paths is not None else [],
        "confirmed_at": item.confirmed_at,
        "plex_state": item.plex_state,
        "title_sort": item.title_sort,
        "library_id": item.library_id,
        "summary": item.summary,
        "content_rating": item.content_rating,
        "originally_available_at": item.originally_available_at,
        "studio": item.studio,
        "genres": list(item.genres),
        "collections": list(item.collections),
        "labels": list(item.labels),
        "external_ids": dict(item.external_ids),
    }


def _shown(out: TextIO) -> Callable[[str], str]:
    """To a terminal, text is scrubbed and its control characters escaped; to a pipe, CSV and M3U are
    data, kept whole (JSON escapes control characters by itself, the table always)."""
    return printable if out.isatty() else str


def _json(out: TextIO, rows: Iterable[Item], libraries: dict[int, Library], _local: bool) -> int:
    """A JSON array written a row at a time: valid JSON once complete, never held whole."""
    count = 0
    out.write("[")
    for item in rows:
        out.write(",\n  " if count else "\n  ")
        out.write(json_text(_row(item, libraries), indent=None))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def _csv(out: TextIO, rows: Iterable[Item], libraries: dict[int, Library], _local: bool) -> int:
    writer: Any = None
    count = 0
    shown = _shown(out)
    for item in rows:
        row = _row(item, libraries)
        if writer is None:
            writer = csv.writer(out)
            writer.writerow(list(row))
        values = (
            json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v for v in row.values()
        )
        writer.writerow([v if v is None else shown(str(v)) for v in values])
        count += 1
    if writer is None:
        csv.writer(out).writerow(list(_row_names()))
    return count


def _row_names() -> Iterable[str]:
    return [
        "id",
        "server_name",
        "library_title",
        "rating_key",
        "kind",
        "title",
        "show_title",
        "season_index",
        "episode_index",
        "year",
        "duration_ms",
        "file_size",
        "state",
        "last_seen_at",
        "first_seen_at",
        "file",
        "last_error",
        "local_paths",
        "confirmed_at",
        "plex_state",
        "title_sort",
        "library_id",
        "summary",
        "content_rating",
        "originally_available_at",
        "studio",
        "genres",
        "collections",
        "labels",
        "external_ids",
    ]


def _label(item: Item) -> str:
    if item.kind == "episode":
        return f"{item.show_title or ''} - {_episode(item)} - {item.title}".strip(" -")
    return f"{item.title} ({item.year})" if item.year else item.title


def _m3u(out: TextIO, rows: Iterable[Item], _libraries: dict[int, Library], _local: bool) -> int:
    """An extended M3U playlist: one entry per file, the local path where it resolves here."""
    out.write("#EXTM3U\n")
    count = 0
    shown = _shown(out)
    for item in rows:
        seconds = (item.duration_ms or 0) // 1000 or -1
        files = item.local_paths or ()
        plex_files = [item.file] if item.file else []
        entries = [p for p in files if p] if files and all(files) else plex_files
        for path in entries:
            out.write(f"#EXTINF:{seconds},{shown(_label(item))}\n{shown(path)}\n")
        count += 1
    return count


def _episode(item: Item) -> str:
    if item.season_index is None or item.episode_index is None:
        return ""
    return f"S{item.season_index:02d}E{item.episode_index:02d}"


def _cell(text: str, width: int) -> str:
    return text.ljust(width) if len(text) <= width else text[: width - 1] + "…"


_COLUMNS: tuple[tuple[str, int, Callable[[Item, Library | None], str]], ...] = (
    ("Id", 7, lambda i, _l: str(i.id)),
    ("Library", 14, lambda _i, lib: lib.title if lib else ""),
    ("Show", 22, lambda i, _l: i.show_title or ""),
    ("S/E", 6, lambda i, _l: _episode(i)),
    ("Title", 30, lambda i, _l: i.title),
    ("Year", 4, lambda i, _l: str(i.year or "")),
    ("Duration", 8, lambda i, _l: humanize.duration(i.duration_ms)),
    ("Size", 9, lambda i, _l: humanize.size(i.file_size)),
    ("State", 11, lambda i, _l: i.state),
    ("Last seen", 16, lambda i, _l: when(i.last_seen_at)),
)


def _table(out: TextIO, rows: Iterable[Item], libraries: dict[int, Library], local: bool) -> int:
    """Fixed-width columns written as rows arrive (a rich table would hold every row first)."""
    last = "Local path" if local else "Plex path"
    header = "  ".join(_cell(name, width) for name, width, _ in _COLUMNS) + "  " + last
    out.write(header + "\n" + "-" * len(header) + "\n")
    count = 0
    shown = printable  # a table is for people, wherever it goes
    for item in rows:
        lib = libraries.get(item.library_id)
        cells = "  ".join(_cell(shown(get(item, lib)), width) for _, width, get in _COLUMNS)
        if local:
            paths = item.local_paths or ()
            path = paths[0] if paths and paths[0] else f"(not mapped) {item.file or ''}"
        else:
            path = item.file or ""
        out.write(f"{cells}  {shown(path)}\n")
        count += 1
    return count


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
    """Delete a library's DELETED items from the catalog for good (with their parts and history).

    Each leaves a `purged` entry in the change feed; feed entries older than 90 days go."""
    eng = engine(ctx)
    with eng.begin() as conn:  # the change feed's entries past its period go too (store/feed.py)
        feed.prune(conn, now=int(time.time()))
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
        removed = lifecycle.purge_deleted(conn, lib.id)
    console.print(f"Removed {removed} items from {lib.server_name}/{lib.title}.")
