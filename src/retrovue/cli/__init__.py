"""The `retrovue` command: a thin shell over the library API.

Each command group lives in its own module and registers itself on `app`. Commands open the catalog,
call the engine, and format the result; they hold no logic of their own. Errors are turned into one
line on stderr: usage errors (`ConfigError`) exit 2, every other failure exits 1.
"""

from __future__ import annotations

import sys

import click
import typer

from retrovue.errors import ConfigError, RetrovueError

app = typer.Typer(
    name="retrovue",
    help="Mirror Plex Media Server libraries into a local catalog.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_commands() -> None:
    # Imported for their side effect of adding commands to `app`.
    from retrovue.cli import sim_cmd  # noqa: F401


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app and map errors to one line and an exit code."""
    _register_commands()
    try:
        app(args=argv, standalone_mode=False)
    except click.exceptions.Abort:
        print("Aborted.", file=sys.stderr)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except RetrovueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        sys.exit(130)
