"""`retrovue server add|list|edit|remove`: the Plex servers the catalog mirrors."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from retrovue import servers
from retrovue.cli import app
from retrovue.cli.common import console, engine, print_json, when
from retrovue.store import registry

server_app = typer.Typer(help="Add, list, edit and remove Plex servers.", no_args_is_help=True)
app.add_typer(server_app, name="server")

TokenOpt = Annotated[
    str,
    typer.Option(
        "--token",
        envvar="PLEX_TOKEN",
        help="The server's X-Plex-Token (or env PLEX_TOKEN).",
        show_envvar=True,
    ),
]


@server_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A short name for the server, e.g. 'home'.")],
    url: Annotated[str, typer.Argument(help="Base URL, e.g. http://192.168.1.10:32400")],
    token: TokenOpt,
    no_verify_tls: Annotated[
        bool,
        typer.Option(
            "--no-verify-tls", help="Do not verify the TLS certificate (risky: allows interception)."
        ),
    ] = False,
    ca_bundle: Annotated[
        str | None, typer.Option("--ca-bundle", help="Trust this CA file instead of the system store.")
    ] = None,
) -> None:
    """Check a server (GET /identity and /library/sections) and register it with its libraries."""
    added = servers.add_server(
        engine(ctx), name, url, token, verify_tls=not no_verify_tls, ca_bundle=ca_bundle
    )
    console.print(
        f"Added server [bold]{added.server.name}[/] ({added.server.base_url}, Plex {added.server.version}) "
        f"with {len(added.libraries)} libraries:"
    )
    for lib in added.libraries:
        console.print(f"  • {lib.title} ({lib.kind}, section {lib.section_key})")


@server_app.command("list")
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List registered servers (tokens masked)."""
    with engine(ctx).connect() as conn:
        rows = registry.list_servers(conn)
        lib_counts = {s.id: len(registry.list_libraries(conn, server=s.name)) for s in rows}
    if as_json:
        print_json(
            [
                {
                    "name": s.name,
                    "url": s.base_url,
                    "token": s.masked_token,
                    "machine_identifier": s.machine_identifier,
                    "version": s.version,
                    "verify_tls": s.verify_tls,
                    "libraries": lib_counts[s.id],
                }
                for s in rows
            ]
        )
        return
    if not rows:
        console.print("No servers yet. Add one with: retrovue server add NAME URL --token TOKEN")
        return
    table = Table("Name", "URL", "Token", "Plex version", "TLS verify", "Libraries", "Added")
    for s in rows:
        table.add_row(
            s.name,
            s.base_url,
            s.masked_token,
            s.version or "?",
            "yes" if s.verify_tls else "NO",
            str(lib_counts[s.id]),
            when(s.created_at),
        )
    console.print(table)


@server_app.command("edit")
def edit(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The server to change.")],
    new_name: Annotated[str | None, typer.Option("--name", help="Rename the server.")] = None,
    url: Annotated[str | None, typer.Option("--url", help="New base URL.")] = None,
    token: Annotated[str | None, typer.Option("--token", help="New token.")] = None,
    verify_tls: Annotated[
        bool | None, typer.Option("--verify-tls/--no-verify-tls", help="Verify TLS certificates.")
    ] = None,
    ca_bundle: Annotated[
        str | None, typer.Option("--ca-bundle", help="CA file to trust ('' to clear).")
    ] = None,
    check_files: Annotated[
        bool | None,
        typer.Option(
            "--check-local-files/--no-check-local-files", help="Check that mapped local files exist."
        ),
    ] = None,
) -> None:
    """Change a server's settings; a new URL, token or TLS setting is tested first."""
    server = servers.edit_server(
        engine(ctx),
        name,
        new_name=new_name,
        base_url=url,
        token=token,
        verify_tls=verify_tls,
        ca_bundle=ca_bundle,
        check_local_files=check_files,
    )
    console.print(f"Updated server [bold]{server.name}[/] ({server.base_url}).")


@server_app.command("remove")
def remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The server to remove.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove a server with its libraries, items and path mappings from the catalog."""
    eng = engine(ctx)
    with eng.connect() as conn:
        server = registry.get_server(conn, name)
        libs = registry.list_libraries(conn, server=name)
    if not yes:
        typer.confirm(
            f"Remove server {server.name!r} and its {len(libs)} libraries with all their items?", abort=True
        )
    with eng.begin() as conn:
        registry.remove_server(conn, name)
    console.print(f"Removed server [bold]{name}[/].")
