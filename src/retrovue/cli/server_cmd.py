"""`retrovue server add|list|edit|remove`: the Plex servers the catalog mirrors."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from retrovue import servers
from retrovue.cli import app
from retrovue.cli.common import console, engine, err_console, print_json, when
from retrovue.errors import ConfigError, RetrovueError
from retrovue.store import registry

server_app = typer.Typer(help="Add, list, edit and remove Plex servers.", no_args_is_help=True)
app.add_typer(server_app, name="server")

TokenOpt = Annotated[
    str | None,
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
    name: Annotated[str | None, typer.Argument(help="A short name for the server, e.g. 'home'.")] = None,
    url: Annotated[str | None, typer.Argument(help="Base URL, e.g. http://192.168.1.10:32400")] = None,
    token: TokenOpt = None,
    no_verify_tls: Annotated[
        bool,
        typer.Option(
            "--no-verify-tls", help="Do not verify the TLS certificate (risky: allows interception)."
        ),
    ] = False,
    ca_bundle: Annotated[
        str | None, typer.Option("--ca-bundle", help="Trust this CA file instead of the system store.")
    ] = None,
    from_account: Annotated[
        str | None,
        typer.Option(
            "--from-account",
            metavar="PLEX_NAME",
            help="Add this server of the signed-in Plex account (see `retrovue server discover`).",
        ),
    ] = None,
    as_name: Annotated[
        str | None, typer.Option("--as", help="With --from-account: the name to give it here.")
    ] = None,
    add_all: Annotated[
        bool, typer.Option("--all", help="Add every server of the signed-in Plex account not added yet.")
    ] = False,
) -> None:
    """Check a server (GET /identity and /library/sections) and register it with its libraries.

    By hand: NAME URL --token T. From your Plex account (after `retrovue login`): --from-account
    PLEX_NAME [--as NAME], or --all.
    """
    if from_account is not None or add_all:
        _add_from_account(ctx, name, url, token, from_account, as_name, add_all)
        return
    if as_name is not None:
        raise ConfigError("--as goes with --from-account PLEX_NAME")
    if name is None or url is None:
        raise ConfigError(
            "give NAME and URL (and --token), e.g. `retrovue server add home http://192.168.1.10:32400 "
            "--token T`, or add a server of your Plex account with --from-account PLEX_NAME"
        )
    if token is None:
        raise ConfigError("missing --token (or env PLEX_TOKEN): the server's X-Plex-Token")
    added = servers.add_server(
        engine(ctx), name, url, token, verify_tls=not no_verify_tls, ca_bundle=ca_bundle
    )
    _print_added(added)


def _print_added(added: servers.AddedServer) -> None:
    if added.adopted:
        console.print(
            f"Server [bold]{escape(added.server.name)}[/] was already in the catalog (added by hand): it now "
            "keeps every address your Plex account lists for it and the account's token for it, "
            f"and runs use whichever answers ({len(added.libraries)} libraries).",
            soft_wrap=True,
        )
        return
    via = ""
    if added.server.owner:
        via = f", shared by {added.server.owner}"
    console.print(
        f"Added server [bold]{escape(added.server.name)}[/] ({added.server.base_url}, "
        f"Plex {added.server.version}{escape(via)}) with {len(added.libraries)} libraries:",
        soft_wrap=True,
    )
    for lib in added.libraries:
        console.print(f"  • {escape(lib.title)} ({lib.kind}, section {lib.section_key})")


def _add_from_account(
    ctx: typer.Context,
    name: str | None,
    url: str | None,
    token: str | None,
    plex_name: str | None,
    as_name: str | None,
    add_all: bool,
) -> None:
    if name is not None or url is not None or token is not None:
        raise ConfigError(
            "--from-account and --all take no NAME, URL or --token: the account lists them "
            "(name it here with --as)"
        )
    if add_all and (plex_name is not None or as_name is not None):
        raise ConfigError("--all adds every server of the account; drop --from-account and --as")
    eng = engine(ctx)
    found = servers.account_servers_now()
    if not add_all:
        assert plex_name is not None
        _print_added(servers.add_from_account(eng, plex_name, as_name=as_name, found=found))
        return
    with eng.connect() as conn:
        known = {s.machine_identifier for s in registry.list_servers(conn)}
    todo = [s for s in found if s.machine_identifier not in known]
    if not found:
        raise ConfigError("the signed-in Plex account has no servers (plex.tv lists none)")
    if not todo:
        console.print("Every server of the account is in the catalog already.")
        return
    failed = 0
    for srv in todo:
        try:
            _print_added(servers.add_from_account(eng, srv.machine_identifier, found=found))
        except RetrovueError as exc:
            failed += 1
            err_console.print(f"Not added: {escape(srv.name)}: {escape(str(exc))}", soft_wrap=True)
    if failed:
        raise typer.Exit(1)


@server_app.command("discover")
def discover(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """The servers of the signed-in Plex account: owned and shared, and which addresses answer now.

    Servers already added from the account get their current addresses and token from plex.tv.
    """
    found = servers.discover_servers(engine(ctx))
    if as_json:
        print_json([_discovered_json(d) for d in found])
        return
    if not found:
        console.print("The signed-in Plex account has no servers.")
        return
    for d in found:
        srv = d.server
        whose = "yours" if srv.owned else f"shared by {srv.owner or '?'}"
        state = "online" if srv.online else "offline"
        where = f"in the catalog as {d.in_catalog}" if d.in_catalog else "not added"
        console.print(
            f"[bold]{escape(srv.name)}[/] ({escape(whose)}, Plex {escape(srv.version or '?')}, {state}; "
            f"{escape(where)})",
            soft_wrap=True,
        )
        for p in d.probes:
            console.print(f"  {p.kind:6} {escape(p.uri)}  {escape(_status(p))}", soft_wrap=True)
        if not d.probes:
            console.print("  (plex.tv lists no address for it)")
    if any(d.in_catalog is None for d in found):
        console.print(
            "Add one with: retrovue server add --from-account PLEX_NAME [--as NAME] (or --all)",
            soft_wrap=True,
        )


def _status(probe: servers.Probe) -> str:
    if probe.status == servers.ANSWERS:
        return "answers"
    return f"{probe.status} ({probe.detail})" if probe.detail else probe.status


def _discovered_json(d: servers.DiscoveredServer) -> dict[str, object]:
    srv = d.server
    return {
        "name": srv.name,
        "machine_identifier": srv.machine_identifier,
        "owned": srv.owned,
        "owner": srv.owner,
        "version": srv.version,
        "platform": srv.platform,
        "online": srv.online,
        "in_catalog": d.in_catalog,
        "connections": [
            {"uri": p.uri, "kind": p.kind, "answers": p.status == servers.ANSWERS, "status": p.status}
            for p in d.probes
        ],
    }


@server_app.command("list")
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List registered servers (tokens masked)."""
    with engine(ctx).connect() as conn:
        rows = registry.list_servers(conn)
        lib_counts = {s.id: len(registry.list_libraries(conn, server=s.name)) for s in rows}
        conns = {s.id: registry.list_connections(conn, s.id) for s in rows}
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
                    "owner": s.owner,
                    "connection": _kind_in_use(s, conns[s.id]),
                    "connections": [{"uri": c.uri, "kind": c.kind} for c in conns[s.id]],
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
        kind = _kind_in_use(s, conns[s.id])
        shown_url = s.base_url + (f" ({kind}, {len(conns[s.id])} addresses)" if conns[s.id] else "")
        table.add_row(
            escape(s.name) + (f" (shared by {escape(s.owner)})" if s.owner else ""),
            escape(shown_url),
            s.masked_token,
            s.version or "?",
            "yes" if s.verify_tls else "NO",
            str(lib_counts[s.id]),
            when(s.created_at),
        )
    console.print(table)


def _kind_in_use(server: registry.ServerRow, conns: list[registry.ConnectionRow]) -> str | None:
    """local | remote | relay for the address in use of a server added from the account."""
    return next((c.kind for c in conns if c.uri == server.base_url), None)


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
