"""`suggest_mappings`: lining up the names Plex's folders and the user's folders share."""

from __future__ import annotations

import pytest

from retrovue.errors import BadMappingError
from retrovue.paths import PathMapping, Resolver, suggest_mappings, validate_mapping


@pytest.mark.parametrize(
    ("locations", "roots", "expected"),
    [
        pytest.param(
            ["/data/media/tv", "/data/media/movies"],
            ["/mnt/nas/media"],
            [PathMapping("/data/media", "/mnt/nas/media")],
            id="parent-folder-shared-by-two-sections",
        ),
        pytest.param(
            ["/data/media/tv"],
            ["/mnt/nas/media/tv"],
            [PathMapping("/data/media/tv", "/mnt/nas/media/tv")],
            id="two-trailing-names",
        ),
        pytest.param(
            ["D:\\Media\\Movies"],
            ["/mnt/nas/media/movies"],
            [PathMapping("D:\\Media\\Movies", "/mnt/nas/media/movies")],
            id="windows-plex-side-ignores-case",
        ),
        pytest.param(
            ["\\\\NAS\\Share\\TV"],
            ["/mnt/share/tv"],
            [PathMapping("\\\\NAS\\Share\\TV", "/mnt/share/tv")],
            id="unc",
        ),
        pytest.param(["/data/Media/tv"], ["/mnt/media"], [], id="posix-plex-side-is-case-sensitive"),
        pytest.param(["/data/tv"], ["/mnt/films"], [], id="nothing-in-common"),
        pytest.param(["relative/tv", "Media"], ["/mnt/tv"], [], id="unusable-locations-ignored"),
        pytest.param([], ["/mnt/tv"], [], id="no-locations"),
        pytest.param(["/data/tv"], [], [], id="no-roots"),
        pytest.param(
            ["/data/media/tv", "/data/media/movies"],
            ["/mnt/nas/media", "/mnt/nas/media/movies"],
            [PathMapping("/data/media", "/mnt/nas/media")],
            id="suggestion-implied-by-a-shallower-one-dropped",
        ),
        pytest.param(
            ["/srv/tv", "/srv/movies"],
            ["/mnt/tv", "/mnt/movies"],
            [PathMapping("/srv/movies", "/mnt/movies"), PathMapping("/srv/tv", "/mnt/tv")],
            id="one-per-section-sorted",
        ),
        pytest.param(
            ["/data/tv", "/data/tv/"],
            ["/mnt/tv/"],
            [PathMapping("/data/tv", "/mnt/tv")],
            id="duplicates-merged-and-normalised",
        ),
    ],
)
def test_suggestions(locations: list[str], roots: list[str], expected: list[PathMapping]) -> None:
    assert suggest_mappings(locations, roots, local_os="posix") == expected


def test_mixed_server_flavours_from_the_brief() -> None:
    got = suggest_mappings(["/data/media/tv", "D:\\Media\\Movies"], ["/mnt/nas/media"], local_os="posix")
    assert got == [PathMapping("/data/media", "/mnt/nas/media"), PathMapping("D:\\Media", "/mnt/nas/media")]


def test_windows_machine_compares_without_case() -> None:
    got = suggest_mappings(["/data/Media/tv"], ["M:\\media"], local_os="windows")
    assert got == [PathMapping("/data/Media", "M:\\media")]


def test_ties_go_to_the_first_named_root() -> None:
    got = suggest_mappings(["/data/media/tv"], ["/mnt/a/media", "/mnt/b/media"], local_os="posix")
    assert got == [PathMapping("/data/media", "/mnt/a/media")]


def test_exists_skips_candidates_whose_folder_is_not_there() -> None:
    present = {"/mnt/b/media/tv"}
    got = suggest_mappings(
        ["/data/media/tv"], ["/mnt/a/media", "/mnt/b/media"], local_os="posix", exists=present.__contains__
    )
    assert got == [PathMapping("/data/media", "/mnt/b/media")]


def test_exists_rejecting_everything_suggests_nothing() -> None:
    got = suggest_mappings(["/data/media/tv"], ["/mnt/nas/media"], local_os="posix", exists=lambda _: False)
    assert got == []


def test_relative_local_root_is_refused() -> None:
    with pytest.raises(BadMappingError, match="'media' is not an absolute path"):
        suggest_mappings(["/data/media"], ["media"], local_os="posix")


def test_suggestions_resolve_every_location_and_pass_validation() -> None:
    locations = ["/data/media/tv", "/data/media/movies", "/data/music", "D:\\Media\\Kids"]
    roots = ["/mnt/nas/media", "/mnt/music", "/mnt/win/media"]
    got = suggest_mappings(locations, roots, local_os="posix")
    accepted: list[PathMapping] = []
    for mapping in got:
        accepted.append(
            validate_mapping(mapping.plex_prefix, mapping.local_prefix, accepted, local_os="posix")
        )
    resolver = Resolver(accepted, local_os="posix")
    assert [resolver.resolve(loc) for loc in locations] == [
        "/mnt/nas/media/tv",
        "/mnt/nas/media/movies",
        "/mnt/music",
        "/mnt/nas/media/Kids",
    ]
