"""`//data/media` typed as a Plex prefix is the POSIX folder `/data/media` (doubled separators do not
matter, docs/paths.md), unless the server's own library folders are UNC shares.

`//x/y` is spelled the same in both worlds: a doubled slash on Linux, a UNC share in forward
slashes on Windows. The server's library folders (what Plex itself reports) say which is meant.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from retrovue import mapping, servers
from retrovue.paths import PathMapping, validate_mapping
from retrovue.sim import Simulator
from tests.conftest import CliResult


def test_a_doubled_slash_prefix_is_posix_without_a_hint() -> None:
    assert validate_mapping("//data/media", "/m", (), local_os="posix") == PathMapping("/data/media", "/m")


def test_a_doubled_slash_prefix_follows_the_servers_own_folders() -> None:
    posix = ["/data/media/TV", "/data/media/Movies"]
    unc = ["\\\\NAS\\share\\TV", "\\\\NAS\\share\\Movies"]
    assert validate_mapping("//data/media", "/m", (), server_paths=posix, local_os="posix") == PathMapping(
        "/data/media", "/m"
    )
    assert validate_mapping("//NAS/share", "/m", (), server_paths=unc, local_os="posix") == PathMapping(
        "\\\\NAS\\share", "/m"
    )
    mixed = [*posix, *unc]  # both kinds: the POSIX reading, as docs/paths.md promises
    assert validate_mapping("//data/media", "/m", (), server_paths=mixed, local_os="posix").plex_prefix == (
        "/data/media"
    )


def test_paths_add_with_a_doubled_slash_maps_the_servers_posix_files(
    cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    local = tmp_path / "media"
    local.mkdir()
    with Simulator(seed=3, shows=1, movies=2, seasons_per_show=1, episodes_per_season=1) as sim:
        assert cli("server", "add", "home", sim.url, "--token", sim.token).code == 0
        added = cli("paths", "add", "home", "//data/media", str(local), "--no-apply")
        assert added.code == 0, added.err
        assert "/data/media ->" in added.out
        tested = cli("paths", "test", "home", "/data/media/Movies/x.mkv")
        assert str(local / "Movies" / "x.mkv") in tested.out.replace("\n", "")
        removed = cli("paths", "remove", "home", "//data/media", "--no-apply")
        assert removed.code == 0, removed.err


def test_a_windows_server_keeps_its_forward_slash_unc_prefix(catalog: Engine, tmp_path: Path) -> None:
    with Simulator(
        seed=3, shows=1, movies=2, seasons_per_show=1, episodes_per_season=1, windows_paths=True
    ) as sim:
        servers.add_server(catalog, "win", sim.url, sim.token)
        locations = [loc for lib in servers.refresh_libraries(catalog, "win") for loc in lib.locations]
        unc = next(loc for loc in locations if loc.startswith("\\\\"))  # its movies: \\nas\media\Movies
        share = "//" + "/".join(unc.lstrip("\\").split("\\")[:2])
        change = mapping.add_mapping(catalog, "win", share, str(tmp_path), reevaluate=False)
        assert change.mapping.plex_prefix.startswith("\\\\")
