"""The `retrovue` command: a thin shell over the library API.

Each command group lives in its own module and registers itself on `app`. Commands open the catalog,
call the engine, and format the result; they hold no logic of their own. Every failure is turned into
one line on stderr (`retrovue.failures.describe`): usage errors (`ConfigError`) exit 2, every other
failure exits 1. An exception nobody foresaw is a bug: its line says so and names the log file
(`retrovue.logs`) that holds its traceback, which never reaches the terminal.
"""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from retrovue import failures, logs
from retrovue import machine as machines
from retrovue.cli.common import State, printable

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
    "changes_cmd",
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


log = logging.getLogger("retrovue.cli")


def _fail(line: str, code: int) -> NoReturn:
    print(f"error: {printable(line)}", file=sys.stderr)
    sys.exit(code)


def _report(error: Exception, log_file: Path | None) -> NoReturn:
    """One line for any exception; the traceback of an unforeseen one goes to the log file."""
    failure = failures.describe(error, catalog=State.last_catalog())
    if failure.expected:
        log.info("command failed: %s", failure.message, exc_info=not failure.usage)
        _fail(failure.message, 2 if failure.usage else 1)
    log.error("unexpected error in `retrovue %s`", " ".join(sys.argv[1:2]), exc_info=error)
    where = f"details in {log_file}" if log_file is not None else "no log file could be written"
    _fail(f"{failure.message}; {where}", 1)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app and map every error to one line and an exit code."""
    _register_commands()
    log_file = logs.setup()
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
        _fail(f"{message}; see {where}", exc.exit_code or 2)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:
        _report(exc, log_file)
