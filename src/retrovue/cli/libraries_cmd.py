"""`retrovue libraries [list|enable|disable|set]`: which Plex sections a sync covers."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from retrovue import servers
from retrovue.catalog import Catalog
from retrovue.cli import app
from retrovue.cli.common import console, engine, print_json, when
from retrovue.store import registry

libraries_app = typer.Typer(help="List, enable and disable libraries (Plex sections).")
app.add_typer(libraries_app, name="libraries")

ServerOpt = Annotated[str | None, typer.Option("--server", "-s", help="Only this server.")]
LibraryArg = Annotated[str, typer.Argument(help="Library title, id, or (with --server) section key.")]


@libraries_app.callback(invoke_without_command=True)
def libraries(
    ctx: typer.Context,
    server: ServerOpt = None,
    refresh: Annotated[
        bool, typer.Option("--refresh/--no-refresh", help="Re-read sections from the server(s) first.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Refresh and list libraries with item counts by state and last sync."""
    if ctx.invoked_subcommand is not None:
        return
    eng = engine(ctx)
    with eng.connect() as conn:
        names = [server] if server else [s.name for s in registry.list_servers(conn)]
        if server:
            registry.get_server(conn, server)
    warnings = []
    if refresh:
        for name in names:
            try:
                servers.refresh_libraries(eng, name)
            except Exception as exc:  # an offline server must not hide the others' libraries
                if not isinstance(exc, servers.PlexError):
                    raise
                warnings.append(f"{name}: {exc}")
    with eng.connect() as conn:
        server_id = registry.get_server(conn, server).id if server else None
    libs = Catalog(eng).libraries(server_id=server_id)
    counts = {lib.id: lib.counts for lib in libs}
    for warning in warnings:
        console.print(f"[yellow]warning:[/] could not refresh {warning}")
    if as_json:
        print_json(
            [
                {
                    "id": lib.id,
                    "server": lib.server_name,
                    "section_key": lib.section_key,
                    "title": lib.title,
                    "kind": lib.kind,
                    "enabled": lib.enabled,
                    "counts": counts[lib.id],
                    "last_synced_at": lib.last_synced_at,
                    "last_sync_status": lib.last_sync_status,
                    "verified_at": lib.verified_at,
                    "listed_at": lib.listed_at,
                    "verify_hours": lib.verify_hours,
                }
                for lib in libs
            ]
        )
        return
    if not libs:
        console.print("No libraries. Add a server with: retrovue server add NAME URL --token TOKEN")
        return
    table = Table(
        "Id",
        "Server",
        "Library",
        "Kind",
        "Enabled",
        "Active",
        "Remote",
        "Unavail.",
        "Missing",
        "Deleted",
        "Last synced",
        "Status",
        "Listed",
    )
    for lib in libs:
        c = counts[lib.id]
        table.add_row(
            str(lib.id),
            lib.server_name,
            lib.title,
            lib.kind,
            "yes" if lib.enabled else "no",
            str(c["ACTIVE"]),
            str(c["REMOTE_ONLY"]),
            str(c["UNAVAILABLE"]),
            str(c["MISSING"]),
            str(c["DELETED"]),
            when(lib.last_synced_at),
            lib.last_sync_status or "never",
            f"{when(lib.listed_at)} (every {lib.verify_hours} h)" if lib.verify_hours else "every run",
        )
    console.print(table)


def _set_enabled(ctx: typer.Context, library: str, server: str | None, enabled: bool) -> None:
    with engine(ctx).begin() as conn:
        lib = registry.get_library(conn, library, server=server)
        registry.set_library_enabled(conn, lib.id, enabled)
    console.print(f"{'Enabled' if enabled else 'Disabled'} {lib.server_name}/{lib.title}.")


@libraries_app.command("enable")
def enable(ctx: typer.Context, library: LibraryArg, server: ServerOpt = None) -> None:
    """Include a library in plain syncs."""
    _set_enabled(ctx, library, server, True)


@libraries_app.command("disable")
def disable(ctx: typer.Context, library: LibraryArg, server: ServerOpt = None) -> None:
    """Leave a library out of plain syncs (its items stay in the catalog)."""
    _set_enabled(ctx, library, server, False)


@libraries_app.command("set")
def set_options(
    ctx: typer.Context,
    library: LibraryArg,
    server: ServerOpt = None,
    retention_days: Annotated[
        int | None,
        typer.Option(
            "--retention-days",
            min=0,
            max=registry.MAX_RETENTION_DAYS,
            help="Days MISSING before DELETED (default 30).",
        ),
    ] = None,
    missing_threshold: Annotated[
        int | None,
        typer.Option(
            "--missing-threshold",
            min=0,
            max=100,
            help="Refuse to mark more than this % MISSING in one run (default 50).",
        ),
    ] = None,
    verify_hours: Annotated[
        int | None,
        typer.Option(
            "--verify-hours",
            help="List the library, and check every item's local files, at least this often even "
            "when Plex reports no change (default 24; 0 = every sync).",
        ),
    ] = None,
) -> None:
    """Change a library's retention period, MISSING safety threshold and verification interval."""
    with engine(ctx).begin() as conn:
        lib = registry.get_library(conn, library, server=server)
        registry.set_library_options(
            conn,
            lib.id,
            retention_days=retention_days,
            missing_threshold_pct=missing_threshold,
            verify_hours=verify_hours,
        )
    console.print(f"Updated {lib.server_name}/{lib.title}.")
