"""`retrovue sync`: bring the catalog up to date, with a progress bar per library."""

from __future__ import annotations

import dataclasses
import threading
from typing import Annotated

import typer
from rich import box
from rich.console import Group, JustifyMethod
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine

from retrovue import failures, mapping
from retrovue.cli import app
from retrovue.cli.common import State, console, engine, err_console, print_json
from retrovue.ingest import (
    Event,
    EventCallback,
    LibraryDone,
    LibraryStarted,
    PageProgress,
    SyncSummary,
    select_libraries,
    sync,
)
from retrovue.store.registry import LibraryRow


def summary_table(summaries: list[SyncSummary], title: str = "Sync summary") -> Group:
    """One compact row per library (fits 80 columns), then one line per note (why not ok, gated)."""
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("Library", no_wrap=True, max_width=22, overflow="ellipsis")
    for header in ("Status ", "Seen", "+Chg", "~Skip", "!Err", "Miss↑", "Del↑", "Secs"):
        justify: JustifyMethod = "left" if header.startswith("Status") else "right"
        table.add_column(header.strip(), justify=justify, min_width=len(header))
    notes = []
    for s in summaries:
        colour = {"ok": "green", "partial": "yellow"}.get(s.status, "red")
        name = f"{s.server_name}/{s.library_title}"
        table.add_row(
            name,
            f"[{colour}]{s.status}[/]",
            str(s.processed),
            str(s.changed),
            str(s.skipped),
            str(s.errors),
            str(s.missing_promoted),
            str(s.deleted_promoted),
            f"{s.elapsed_s:.1f}",
        )
        if s.rekeyed:
            notes.append(f"  {name}: {s.rekeyed} items re-keyed by Plex kept their catalog rows")
        notes.extend(f"  {name}: not merged, ambiguous: {line}" for line in s.ambiguous)
        if s.reason:
            notes.append(f"  {name}: {s.reason}")
        elif s.gated:
            notes.append(f"  {name}: unchanged on the server (contentChangedAt), nothing listed")
    vias: dict[str, str] = {}
    for s in summaries:
        if s.address and s.server_name not in vias:
            relay = " (Plex's relay: slower and capped; no address of the server's own answered)"
            vias[s.server_name] = escape(f"  {s.server_name}: via {s.connection} {s.address}") + (
                relay if s.connection == "relay" else ""
            )
    return Group(table, *notes, *vias.values())


class _Rate(ProgressColumn):
    """Items per second, once the engine has reported a few pages."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:,.0f} items/s" if task.speed else "", style="progress.data.speed")


class _Bars:
    """Turns engine events into rich progress bars (one per library)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[int, TaskID] = {}

    def __call__(self, event: Event) -> None:
        if isinstance(event, LibraryStarted):
            self.tasks[event.library_id] = self.progress.add_task(
                f"{event.server_name}/{event.library_title}", total=None
            )
        elif isinstance(event, PageProgress) and event.library_id in self.tasks:
            self.progress.update(self.tasks[event.library_id], completed=event.processed, total=event.total)
        elif isinstance(event, LibraryDone) and event.library_id in self.tasks:
            task = self.tasks[event.library_id]
            done = event.summary.processed
            self.progress.update(task, completed=done, total=max(done, 1) if event.summary.ok else None)
            self.progress.stop_task(task)


@app.command("sync")
def sync_command(
    ctx: typer.Context,
    server: Annotated[str | None, typer.Option("--server", "-s", help="Only this server.")] = None,
    library: Annotated[
        str | None, typer.Option("--library", "-l", help="Only this library (title or id).")
    ] = None,
    deep: Annotated[
        bool, typer.Option("--deep", help="Ignore the change gate, check every file, confirm deletions.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Mark items MISSING even past the library's safety threshold.")
    ] = False,
    page_size: Annotated[
        int, typer.Option("--page-size", min=1, max=5000, help="Items per Plex request.")
    ] = 200,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summaries as JSON (no progress bars).")
    ] = False,
) -> None:
    """Sync enabled libraries (or one server / library) into the catalog.

    Exit code 0 when every run is ok, 1 when any failed, ended partial or was cancelled. With
    `--json`, stdout is a JSON list of summaries whatever happens: a sync that could not run at all
    is a `failed` entry per library (or one entry) whose `reason` is the error line.
    """
    targets: list[LibraryRow] = []
    try:
        eng = engine(ctx)
        targets = select_libraries(eng, server=server, library=library)  # unknown names fail before output
        _sync(eng, server, library, deep, force, page_size, as_json)
    except typer.Exit:  # the summaries were printed; some run was not ok
        raise
    except Exception as exc:
        if as_json:
            message = failures.describe(exc, catalog=State.last_catalog()).message
            print_json(_failed_entries(targets, server, library, "deep" if deep else "incremental", message))
        raise


def _failed_entries(
    targets: list[LibraryRow], server: str | None, library: str | None, mode: str, reason: str
) -> list[dict[str, object]]:
    """Summaries, shaped like `SyncSummary`, for libraries a sync could not run for at all."""
    blank: dict[str, object] = {
        f.name: f.default if f.default is not dataclasses.MISSING else None
        for f in dataclasses.fields(SyncSummary)
    }
    blank.update(mode=mode, status="failed", reason=reason)
    if not targets:
        return [{**blank, "server_name": server, "library_title": library}]
    return [
        {
            **blank,
            "server_id": lib.server_id,
            "library_id": lib.id,
            "server_name": lib.server_name,
            "library_title": lib.title,
        }
        for lib in targets
    ]


def _sync(
    eng: Engine,
    server: str | None,
    library: str | None,
    deep: bool,
    force: bool,
    page_size: int,
    as_json: bool,
) -> None:
    cancel = threading.Event()
    interrupted = threading.Event()
    result: list[SyncSummary] = []
    failure: list[BaseException] = []

    def work(on_event: EventCallback) -> None:
        try:
            result.extend(
                sync(
                    eng,
                    server=server,
                    library=library,
                    deep=deep,
                    force=force,
                    page_size=page_size,
                    on_event=on_event,
                    cancel=cancel,
                )
            )
        except BaseException as exc:  # re-raised in the main thread, where errors are reported
            failure.append(exc)

    def run(on_event: EventCallback) -> None:
        """Run the sync in a worker thread so Ctrl-C reaches this one: the first asks the engine to
        stop (the run ends `cancelled`, its lock released), a second quits at once. Waiting is on an
        Event, never on Thread.join, which an interrupt can leave believing the worker stopped."""
        finished = threading.Event()

        def target() -> None:
            try:
                work(on_event)
            finally:
                finished.set()

        threading.Thread(target=target, name="retrovue-sync", daemon=True).start()
        try:
            finished.wait()
        except KeyboardInterrupt:
            err_console.print("Cancelling after the current request… (Ctrl-C again to quit at once)")
            cancel.set()
            interrupted.set()
            finished.wait()
        if failure:
            raise failure[0]

    if as_json:
        run(lambda _event: None)
        print_json([dataclasses.asdict(s) for s in result])
        for problem in mapping.root_problems(eng, library_ids=[s.library_id for s in result]):
            err_console.print(f"warning: {escape(problem.describe())}", soft_wrap=True)
    else:
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _Rate(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, transient=False) as progress:
            run(_Bars(progress))
        if result:
            console.print(summary_table(result))
            for problem in mapping.root_problems(eng, library_ids=[s.library_id for s in result]):
                console.print(f"  [yellow]{escape(problem.describe())}[/]", soft_wrap=True)
        else:
            console.print("Nothing to sync: no enabled libraries. See `retrovue libraries`.")
    if interrupted.is_set():
        err_console.print("Sync cancelled: nothing was marked missing.")
        raise typer.Exit(130)
    if any(s.status != "ok" for s in result):
        raise typer.Exit(1)
