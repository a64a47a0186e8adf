"""`retrovue watch`: keep the catalog current from the servers' notifications until Ctrl-C."""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
import threading
import time
from types import FrameType
from typing import Annotated

import typer

from retrovue.cli import app
from retrovue.cli.common import console, engine, err_console, finite
from retrovue.ingest import SyncSummary
from retrovue.watch import Watcher, WatchEvent, describe


def summary_line(s: SyncSummary) -> str:
    """One line per sync: library, status, counts, time; and why, when it is not ok or was gated."""
    colour = {"ok": "green", "partial": "yellow"}.get(s.status, "red")
    line = (
        f"{s.server_name}/{s.library_title} [{colour}]{s.status}[/] seen {s.processed} +{s.changed} "
        f"~{s.skipped} !{s.errors} missing↑{s.missing_promoted} deleted↑{s.deleted_promoted} "
        f"{s.elapsed_s:.1f}s"
    )
    if s.reason:
        return f"{line} — {s.reason}"
    return f"{line} (unchanged)" if s.gated else line


def _stamp() -> str:
    return time.strftime("%H:%M:%S")


@app.command("watch")
def watch_command(
    ctx: typer.Context,
    server: Annotated[str | None, typer.Option("--server", "-s", help="Only this server.")] = None,
    debounce: Annotated[
        float,
        typer.Option(
            "--debounce",
            min=0,
            max=3600,
            callback=finite,
            help="Seconds of quiet before a library is synced.",
        ),
    ] = 2.0,
    fallback_interval: Annotated[
        float,
        typer.Option(
            "--fallback-interval",
            min=1,
            max=7 * 86400,
            callback=finite,
            help="Seconds between syncs while a server sends no notifications.",
        ),
    ] = 900.0,
    reconnect_max: Annotated[
        float,
        typer.Option(
            "--reconnect-max",
            min=1,
            max=86400,
            callback=finite,
            help="Longest wait between reconnection attempts.",
        ),
    ] = 60.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per line (summaries and notices).")
    ] = False,
) -> None:
    """Keep the catalog current: sync a library whenever its Plex server reports a change.

    Listens to each server's notification websocket; falls back to a periodic incremental sync
    while a server sends none. Stops cleanly on Ctrl-C or SIGTERM (exit code 0).
    """
    eng = engine(ctx)
    stop = threading.Event()

    def on_summary(s: SyncSummary) -> None:
        if as_json:
            print(json.dumps({"summary": dataclasses.asdict(s)}, ensure_ascii=False), flush=True)
        else:
            console.print(f"{_stamp()} {summary_line(s)}", soft_wrap=True)

    def on_event(event: WatchEvent) -> None:
        text = describe(event)
        if text is None:
            return
        if as_json:
            print(json.dumps({"notice": text, "event": type(event).__name__}), flush=True)
        else:
            err_console.print(f"{_stamp()} {text}", markup=False, soft_wrap=True)

    watcher = Watcher(
        eng,
        server=server,
        debounce=debounce,
        fallback_interval=fallback_interval,
        reconnect_max=max(reconnect_max, 1.0),
        stop_grace=5.0,
        on_event=on_event,
        on_summary=on_summary,
    )

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        if not stop.is_set():
            err_console.print("Stopping…")
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        where = f"server {server}" if server else "every server"
        err_console.print(f"Watching {where} for changes; Ctrl-C to stop.")
        watcher.run(stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    err_console.print("Stopped watching.")
    sys.stdout.flush()
