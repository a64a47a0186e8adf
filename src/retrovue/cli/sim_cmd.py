"""`retrovue sim`: serve the bundled Plex simulator in the foreground.

A thin shell over `retrovue.sim.Simulator`: parse options, build the simulator, print where it
listens (never the token), serve until interrupted. `--plex-tv` adds the plex.tv stand-in
(`retrovue.sim.plextv`) with an account whose servers include this one.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import time

import typer

from retrovue.cli import app
from retrovue.errors import ConfigError
from retrovue.sim import DEFAULT_TOKEN, FaultSpec, Simulator
from retrovue.sim.plextv import PlexTvSim, build_household


def _validate(*, port: int, shows: int, movies: int, seasons: int, episodes: int) -> None:
    """Range checks done here (not by typer) so errors map to ConfigError: one line, exit 2."""
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be between 0 and 65535, not {port}")
    for name, value, low, high in (
        ("--shows", shows, 0, 100_000),
        ("--movies", movies, 0, 1_000_000),
        ("--seasons-per-show", seasons, 1, 100),
        ("--episodes-per-season", episodes, 1, 1_000),
    ):
        if not low <= value <= high:
            raise ConfigError(f"{name} must be from {low:,} to {high:,}, not {value:,}")


@app.command("sim")
def sim(
    host: str = typer.Option("127.0.0.1", help="Address to bind (loopback by default)."),
    port: int = typer.Option(32400, help="Port to listen on (0: any free port)."),
    token: str = typer.Option(
        DEFAULT_TOKEN,
        show_default=False,
        help="The X-Plex-Token clients must send (default: the test token).",
    ),
    seed: int = typer.Option(0, help="Seed: the same seed serves the same library."),
    shows: int = typer.Option(5, help="Shows in the TV section."),
    movies: int = typer.Option(10, help="Movies in the movie section."),
    seasons_per_show: int = typer.Option(2, help="Seasons per show."),
    episodes_per_season: int = typer.Option(4, help="Episodes per season."),
    windows_paths: bool = typer.Option(False, "--windows-paths", help="Use Windows drive/UNC file paths."),
    latency_ms: float = typer.Option(0.0, help="Latency added to every request, in ms."),
    fault: str | None = typer.Option(
        None, help="Fault SPEC, e.g. 'status=503:0.05,reset:0.01,latency=20ms,revoke-after=100'."
    ),
    plex_tv: bool = typer.Option(
        False,
        "--plex-tv",
        help="Also serve a plex.tv stand-in whose account lists this server and three more "
        "(shared, reachable only remotely, offline). Point RETROVUE_PLEX_TV_URL at it.",
    ),
    plex_tv_port: int = typer.Option(0, help="Port of the plex.tv stand-in (0: any free port)."),
    approve_after: int = typer.Option(
        3, help="The stand-in approves a sign-in on its N-th check (0: only from its /auth page)."
    ),
) -> None:
    """Serve a simulated Plex Media Server with a generated library."""
    _validate(port=port, shows=shows, movies=movies, seasons=seasons_per_show, episodes=episodes_per_season)
    if not 0 <= plex_tv_port <= 65535:
        raise ConfigError(f"--plex-tv-port must be between 0 and 65535, not {plex_tv_port}")
    if not 0 <= approve_after <= 3600:
        raise ConfigError("--approve-after must be from 0 to 3,600 seconds")
    if not 0 <= latency_ms <= 60_000:  # also refuses nan
        raise ConfigError("--latency-ms must be from 0 to 60,000")
    if not token.strip():
        raise ConfigError("--token must not be empty")
    spec = FaultSpec.parse(fault)  # raises ConfigError (exit 2) on a malformed SPEC
    if port == 0:
        with socket.socket() as probe:
            probe.bind((host, 0))
            port = int(probe.getsockname()[1])
    started = time.perf_counter()
    simulator = Simulator(
        seed=seed,
        shows=shows,
        movies=movies,
        seasons_per_show=seasons_per_show,
        episodes_per_season=episodes_per_season,
        token=token,
        windows_paths=windows_paths,
        latency_ms=latency_ms,
        faults=spec,
        host=host,
        port=port,
    )
    elapsed = time.perf_counter() - started
    counts = ", ".join(
        f"{s['title']}: "
        + (f"{s['shows']} shows/{s['episodes']} episodes" if s["type"] == "show" else f"{s['movies']} movies")
        for s in simulator.sections()
    )
    print(f"Plex simulator on http://{host}:{port} ({counts}; built in {elapsed:.1f}s)", file=sys.stderr)
    if spec:
        print(f"faults: {spec}", file=sys.stderr)
    print("Token: pass --token to choose it; it is not printed. Ctrl-C stops.", file=sys.stderr)
    with contextlib.ExitStack() as stack:
        if plex_tv:
            _start_plex_tv(stack, simulator, host, plex_tv_port, approve_after)
        with contextlib.suppress(KeyboardInterrupt):
            simulator.serve_forever()


def _start_plex_tv(
    stack: contextlib.ExitStack, simulator: Simulator, host: str, port: int, approve_after: int
) -> None:
    """Serve the plex.tv stand-in and its household in background threads until `stack` closes."""
    tv = stack.enter_context(PlexTvSim(host=host, port=port, approve_after_polls=approve_after or None))
    for extra in build_household(tv, simulator):
        stack.callback(extra.stop)
    names = ", ".join(d.name for d in tv.devices if d.provides == "server")
    print(f"plex.tv stand-in on {tv.url} (servers: {names})", file=sys.stderr)
    print(f"  export RETROVUE_PLEX_TV_URL={tv.url}   then: retrovue login", file=sys.stderr)
    how = f"on its {approve_after}. check" if approve_after else "from its /auth page"
    print(f"  sign-ins are approved {how}; the account token is not printed", file=sys.stderr)
