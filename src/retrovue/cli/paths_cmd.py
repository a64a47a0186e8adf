"""`retrovue paths add|list|remove|test|check|suggest|apply`: where Plex's files are on this machine.

A thin shell over `retrovue.mapping`: each command opens the catalog, makes one call and prints the
answer. Mappings belong to this machine's profile (`--machine`, `RETROVUE_MACHINE`, or the host
name). Adding or removing a mapping re-evaluates the server's ACTIVE / REMOTE_ONLY items for this
machine straight away and says what moved, so the user sees the effect of a mapping at once.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from retrovue import machine as machines
from retrovue import mapping
from retrovue.cli import app
from retrovue.cli.common import console, engine, print_json

paths_app = typer.Typer(
    help="Map Plex's file paths to this machine's folders, and check what plays locally.",
    no_args_is_help=True,
)
app.add_typer(paths_app, name="paths")

ServerArg = Annotated[str, typer.Argument(help="The server, as named with `retrovue server add`.")]
ServerOpt = Annotated[str | None, typer.Option("--server", "-s", help="Only this server.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
NoApplyOpt = Annotated[
    bool,
    typer.Option("--no-apply", help="Do not re-evaluate ACTIVE / REMOTE_ONLY now (run `paths apply` later)."),
]
CheckFilesOpt = Annotated[
    bool | None,
    typer.Option(
        "--check-files/--no-check-files",
        help="Check that mapped files exist (default: the server's check-local-files setting).",
        show_default=False,
    ),
]


def _report(result: mapping.ReevalResult | None) -> None:
    if result is None:
        console.print("States not re-evaluated; run `retrovue paths apply` when ready.")
    else:
        console.print(escape(result.describe()) + ".", soft_wrap=True)


@paths_app.command("add")
def add(
    ctx: typer.Context,
    server: ServerArg,
    plex_prefix: Annotated[str, typer.Argument(help="Folder as Plex reports it, e.g. /data/media.")],
    local_prefix: Annotated[str, typer.Argument(help="The same folder on this machine, e.g. /mnt/nas.")],
    no_apply: NoApplyOpt = False,
    check_files: CheckFilesOpt = None,
) -> None:
    """Add a mapping to a server, then re-evaluate which of its items play locally."""
    change = mapping.add_mapping(
        engine(ctx), server, plex_prefix, local_prefix, reevaluate=not no_apply, check_files=check_files
    )
    m = change.mapping
    console.print(
        escape(f"Added mapping {m.plex_prefix} -> {m.local_prefix} for {m.server}."), soft_wrap=True
    )
    _report(change.reevaluation)


@paths_app.command("remove")
def remove(
    ctx: typer.Context,
    server: ServerArg,
    plex_prefix: Annotated[str, typer.Argument(help="The Plex prefix of the mapping to remove.")],
    no_apply: NoApplyOpt = False,
    check_files: CheckFilesOpt = None,
) -> None:
    """Remove a server's mapping, then re-evaluate which of its items play locally."""
    change = mapping.remove_mapping(
        engine(ctx), server, plex_prefix, reevaluate=not no_apply, check_files=check_files
    )
    m = change.mapping
    console.print(
        escape(f"Removed mapping {m.plex_prefix} -> {m.local_prefix} from {m.server}."), soft_wrap=True
    )
    _report(change.reevaluation)


@paths_app.command("list")
def list_(
    ctx: typer.Context,
    server: Annotated[str | None, typer.Argument(help="Only this server (default: all).")] = None,
    all_machines: Annotated[
        bool, typer.Option("--all-machines", help="Every machine's mappings, not only this machine's.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show this machine's mappings, flagging any that cannot apply here."""
    rows = mapping.list_mappings(engine(ctx), server, all_machines=all_machines)
    if as_json:
        print_json(
            [
                {
                    "id": m.id,
                    "server": m.server,
                    "machine": m.machine,
                    "plex_prefix": m.plex_prefix,
                    "local_prefix": m.local_prefix,
                    "problem": m.problem,
                }
                for m in rows
            ]
        )
        return
    if not rows:
        hint = server or "SERVER"
        console.print(
            f"No path mappings for machine {escape(machines.current())}. Add one with: "
            f"retrovue paths add {escape(hint)} PLEX_PREFIX LOCAL_PREFIX"
        )
        return
    table = Table("Server", *(("Machine",) if all_machines else ()), "Plex prefix", "Local prefix", "Note")
    for m in rows:
        table.add_row(
            escape(m.server),
            *((escape(m.machine),) if all_machines else ()),
            escape(m.plex_prefix),
            escape(m.local_prefix),
            escape(m.problem or ""),
        )
    console.print(table)


@paths_app.command("test")
def try_path(
    ctx: typer.Context,
    server: ServerArg,
    plex_path: Annotated[str, typer.Argument(help="A file path as Plex reports it.")],
    check_files: CheckFilesOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show what a Plex path becomes here, through which mapping, and whether the file exists.

    An unresolved path is an answer, not an error: the exit code is 0 either way.
    """
    result = mapping.test_path(engine(ctx), server, plex_path, check_files=check_files)
    if as_json:
        r = result.resolution
        print_json(
            {
                "server": result.server,
                "plex_path": r.plex_path,
                "local_path": r.local_path,
                "outcome": r.outcome.value,
                "mapping": None
                if r.mapping is None
                else {"plex_prefix": r.mapping.plex_prefix, "local_prefix": r.mapping.local_prefix},
                "checked": result.checked,
                "exists": result.exists,
            }
        )
        return
    console.print(escape(result.describe()), soft_wrap=True)


@paths_app.command("check")
def check(
    ctx: typer.Context,
    server: ServerOpt = None,
    check_files: CheckFilesOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Report per library how many items resolve and exist here, and which folders are unmapped.

    Read-only: states are shown as stored; `retrovue paths apply` updates them.
    """
    report = mapping.coverage(engine(ctx), server, check_files=check_files)
    if as_json:
        print_json(
            [
                {
                    "server": c.server,
                    "library_id": c.library_id,
                    "library": c.library,
                    "locations": list(c.locations),
                    "items": c.items,
                    "resolved": c.resolved,
                    "exist": c.exist,
                    "active": c.active,
                    "remote_only": c.remote_only,
                    "unmapped": [
                        {"prefix": u.prefix, "reason": u.reason, "parts": u.parts, "example": u.example}
                        for u in c.unmapped
                    ],
                }
                for c in report
            ]
        )
        return
    if not report:
        console.print("No libraries. Add a server with: retrovue server add NAME URL --token TOKEN")
        return
    table = Table("Server", "Library", "Items", "Resolve", "Exist here", "Active", "Remote only")
    for c in report:
        table.add_row(
            escape(c.server),
            escape(c.library),
            str(c.items),
            str(c.resolved),
            "not checked" if c.exist is None else str(c.exist),
            str(c.active),
            str(c.remote_only),
        )
    console.print(table)
    for c in report:
        for u in c.unmapped:
            reason = "" if u.reason == "no-mapping" else f" ({u.reason})"
            console.print(
                escape(f"{c.server}/{c.library}: {u.parts} files unresolved under {u.prefix}{reason}, e.g. ")
                + escape(u.example),
                soft_wrap=True,
            )


@paths_app.command("suggest")
def suggest(
    ctx: typer.Context,
    server: ServerArg,
    local_dirs: Annotated[list[str], typer.Argument(help="Local folders where the server's files may be.")],
    no_disk_check: Annotated[
        bool, typer.Option("--no-disk-check", help="Propose even when the folder is not found on disk.")
    ] = False,
) -> None:
    """Propose mappings from the server's library folders and local folders you name."""
    found = mapping.suggest(engine(ctx), server, local_dirs, check_disk=not no_disk_check)
    if not found:
        console.print(
            "No suggestion: no library folder lines up with the folders given"
            + ("" if no_disk_check else " and exists on disk (try --no-disk-check)")
            + "."
        )
        return
    for s in found:
        m = s.mapping
        covers = ", ".join(s.libraries) or "no library"
        note = ""
        if s.mapped_to is not None:
            note = "  (already mapped)" if s.mapped_to == m.local_prefix else f"  (mapped to {s.mapped_to})"
        console.print(escape(f"{m.plex_prefix} -> {m.local_prefix}   covers: {covers}{note}"), soft_wrap=True)
    todo = [s for s in found if not s.already_mapped]
    if todo:
        console.print("To add them:")
        for s in todo:
            console.print(
                escape(f"  retrovue paths add {_quote(server)} {_quote(s.mapping.plex_prefix)} ")
                + escape(_quote(s.mapping.local_prefix)),
                soft_wrap=True,
            )


def _quote(text: str) -> str:
    """Quote for a POSIX shell when needed, so the printed command can be pasted as is."""
    safe = text and all(ch.isalnum() or ch in "/._-:" for ch in text)
    return text if safe else "'" + text.replace("'", "'\"'\"'") + "'"


@paths_app.command("apply")
def apply(
    ctx: typer.Context,
    server: ServerOpt = None,
    check_files: CheckFilesOpt = None,
) -> None:
    """Re-evaluate ACTIVE / REMOTE_ONLY now (after mounting a share, say), without contacting Plex."""
    results = mapping.reevaluate_states(engine(ctx), server, mapping.LocalOptions(check_files=check_files))
    if not results:
        console.print("No servers. Add one with: retrovue server add NAME URL --token TOKEN")
    for result in results:
        _report(result)
