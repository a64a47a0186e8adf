"""The `retrovue` command: a thin shell over the library API.

Each command group lives in its own module and registers itself on `app`. Commands open the catalog,
call the engine, and format the result; they hold no logic of their own. Errors are turned into one
line on stderr: usage errors (`ConfigError`) exit 2, every other failure exits 1.
"""

from __future__ import annotations

import importlib
import sys
from typing import Annotated

import typer

from retrovue import machine as machines
from retrovue.cli.common import State
from retrovue.errors import ConfigError, RetrovueError

app = typer.Typer(
    name="retrovue",
    help="Mirror Plex Media Server libraries into a local catalog.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    db_url: Annotated[
        str | None,
        typer.Option(
            "--db-url",
            envvar="DB_URL",
            show_envvar=True,
            help="Catalog database URL (default: a SQLite file in your data directory).",
        ),
    ] = None,
    machine: Annotated[
        str | None,
        typer.Option(
            "--machine",
            envvar="RETROVUE_MACHINE",
            show_envvar=True,
            help="Machine profile whose path mappings and local states to use (default: the host name).",
        ),
    ] = None,
) -> None:
    machines.use(machine)
    ctx.obj = State(db_url)
    ctx.call_on_close(ctx.obj.close)


COMMAND_MODULES = (
    "account_cmd",
    "demo_cmd",
    "gui_cmd",
    "items_cmd",
    "libraries_cmd",
    "paths_cmd",
    "server_cmd",
    "sim_cmd",
    "sync_cmd",
    "watch_cmd",
)


def _register_commands() -> None:
    """Import each command module for its side effect of adding commands to `app`."""
    for module in COMMAND_MODULES:
        importlib.import_module(f"retrovue.cli.{module}")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app and map errors to one line and an exit code."""
    _register_commands()
    try:
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and code:  # typer.Exit(n) comes back as a return value here
            sys.exit(code)
    except typer.Abort:
        print("Aborted.", file=sys.stderr)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # usage errors: bad option, missing argument, bad value
        ctx = getattr(exc, "ctx", None)
        where = f"`{ctx.command_path} --help`" if ctx is not None else "`retrovue --help`"
        message = " ".join(exc.format_message().split()).rstrip(".")
        print(f"error: {message}; see {where}", file=sys.stderr)
        sys.exit(exc.exit_code or 2)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except RetrovueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        sys.exit(130)
