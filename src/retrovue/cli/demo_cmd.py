"""`retrovue demo`: the whole product in one command — simulator → ingest → changes → ingest.

It starts the bundled Plex simulator, registers it in a throw-away catalog, runs a first sync, a
no-change sync, then makes the kinds of change a real library sees (an edited title, a file replaced
by a better copy, a new episode, a removed movie, a file gone missing) and syncs again, printing each
run's summary and the request counts that show how little work each run takes.

The demo never touches the user's catalog. Its catalog is a new SQLite file in a folder of its own,
kept for a look afterwards and named in its last line (`--clean` removes it at the end). `DB_URL`
from the environment is ignored — a shell set up for a shared catalog must not get demo servers in
it — and only a `--db-url` given on this very command line is used.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from retrovue import mapping, servers
from retrovue.catalog import Catalog
from retrovue.cli import app
from retrovue.cli.common import console, state
from retrovue.cli.sync_cmd import summary_table
from retrovue.ingest import sync
from retrovue.sim import Simulator
from retrovue.store import registry
from retrovue.store.db import open_catalog


def _local_stand_ins(sim: Simulator, root: Path) -> int:
    """Empty files standing in for two of every three media files, as if on a local share."""
    made = 0
    for section in sim.ground_truth()["sections"]:
        leaves = [e for sh in section.get("shows", []) for se in sh["seasons"] for e in se["episodes"]]
        for n, leaf in enumerate(leaves + section.get("movies", [])):
            if n % 3 == 2:
                continue
            for part in leaf["parts"]:
                target = root / str(part["file"]).removeprefix("/data/media/")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.touch()
                made += 1
    return made


@app.command("demo")
def demo_command(
    ctx: typer.Context,
    shows: Annotated[
        int, typer.Option("--shows", min=1, max=2_000, help="Shows in the simulated library.")
    ] = 40,
    movies: Annotated[
        int, typer.Option("--movies", min=1, max=20_000, help="Movies in the simulated library.")
    ] = 150,
    seed: Annotated[int, typer.Option("--seed", help="Simulator seed.")] = 7,
    clean: Annotated[
        bool, typer.Option("--clean", help="Remove the demo's throw-away catalog and files at the end.")
    ] = False,
) -> None:
    """Run the simulator, ingest it, change it, ingest again, and print what each run cost.

    Uses a throw-away catalog of its own (DB_URL is ignored); only --db-url given here is used.
    """
    root = ctx.find_root()
    source = root.get_parameter_source("db_url")
    given = getattr(source, "name", None) == "COMMANDLINE"  # not DB_URL from the environment
    explicit = state(ctx).db_url if given else None
    workdir = Path(tempfile.mkdtemp(prefix="retrovue-demo-"))
    url = explicit or f"sqlite:///{workdir / 'catalog.sqlite'}"
    try:
        _demo(url, explicit is not None, workdir, shows=shows, movies=movies, seed=seed, keep=not clean)
    finally:
        if clean or explicit:
            shutil.rmtree(workdir, ignore_errors=True)
    if explicit:
        console.print(
            f"The demo used the catalog you named, {url}, and left it as it is now.", soft_wrap=True
        )
    elif clean:
        console.print(f"The demo's throw-away catalog was removed {workdir}", soft_wrap=True)
    else:
        console.print(
            f"The demo's catalog is kept for a look: retrovue --db-url {url} items — remove {workdir} "
            "(or run the demo with --clean) when done.",
            soft_wrap=True,  # one line whatever the terminal's width: the command and path copy whole
        )


def _demo(url: str, explicit: bool, workdir: Path, *, shows: int, movies: int, seed: int, keep: bool) -> None:
    eng = open_catalog(url)
    try:
        with Simulator(
            seed=seed, shows=shows, movies=movies, seasons_per_show=3, episodes_per_season=8
        ) as sim:
            console.rule("[bold]Retrovue Ingest demo")
            where = url if explicit else workdir / "catalog.sqlite"  # a throw-away one of its own
            console.print(f"Simulated Plex server at {sim.url}; catalog at {where}")
            name = "demo"
            with eng.connect() as conn:
                taken = {s.name for s in registry.list_servers(conn)}
            while name in taken:
                name += "-x"
            added = servers.add_server(eng, name, sim.url, sim.token)
            console.print(f"Registered server [bold]{name}[/] with {len(added.libraries)} libraries.")
            local = workdir / "media"
            present = _local_stand_ins(sim, local)
            mapping.add_mapping(eng, name, "/data/media", str(local), reevaluate=False)
            console.print(
                f"Mapped Plex's /data/media to {local}, where {present} of the files have (empty) "
                "local copies: those items will be ACTIVE, the rest REMOTE_ONLY."
            )

            def step(title: str) -> None:
                sim.reset_requests()
                summaries = sync(eng, server=name)
                console.print(
                    summary_table(summaries, title=f"{title} — {sim.request_count} requests to Plex")
                )

            step("1. First sync into an empty catalog")
            step("2. Sync again, nothing changed")
            truth = sim.ground_truth()["sections"]
            show_section = next(s for s in truth if s["type"] == "show")
            movie_section = next(s for s in truth if s["type"] == "movie")
            episodes = [e for sh in show_section["shows"] for se in sh["seasons"] for e in se["episodes"]]
            sim.edit(episodes[0]["ratingKey"], title="A Retitled Episode")
            sim.replace_file(episodes[1]["ratingKey"])
            sim.add_episode(show_section["shows"][0]["seasons"][0]["ratingKey"], title="A Brand New Episode")
            sim.remove(movie_section["movies"][0]["ratingKey"])
            sim.set_unavailable(movie_section["movies"][1]["ratingKey"])
            console.print(
                "Changed on the server: 1 title edited, 1 file replaced by a better copy (same updatedAt), "
                "1 episode added, 1 movie removed, 1 movie's file gone missing."
            )
            step("3. Incremental sync after those changes")
            sim.reset_requests()
            summaries = sync(eng, server=name, deep=True)
            console.print(
                summary_table(
                    summaries, title=f"4. Deep sync (checks every file) — {sim.request_count} requests"
                )
            )
            table = Table(
                "Library",
                *(s for s in ("ACTIVE", "REMOTE_ONLY", "UNAVAILABLE", "MISSING", "DELETED")),
                title="Catalog by state",
            )
            for lib in Catalog(eng).libraries():
                if lib.server_name == name:
                    table.add_row(
                        lib.title,
                        *(
                            str(lib.counts[s])
                            for s in ("ACTIVE", "REMOTE_ONLY", "UNAVAILABLE", "MISSING", "DELETED")
                        ),
                    )
            console.print(table)
            if keep or explicit:
                console.print(
                    f"Look around: [bold]retrovue --db-url {url} items --state DELETED[/], "
                    "[bold]… runs[/], [bold]… paths check[/] or [bold]… gui[/]."
                )
    finally:
        eng.dispose()
