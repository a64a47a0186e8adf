"""Table-driven tests of `resolve`, `Resolver` and `Resolution` on hand-picked cases."""

from __future__ import annotations

import pytest

from retrovue.paths import Flavour, Outcome, PathMapping, Resolver, detect_flavour, resolve

POSIX_SERVER = [PathMapping("/data", "/mnt/data"), PathMapping("/data/tv", "/srv/tv")]
WINDOWS_SERVER = [PathMapping("D:\\Media", "/mnt/d"), PathMapping("D:\\Media\\TV", "/mnt/tv")]
UNC_SERVER = [PathMapping("\\\\NAS\\share", "/mnt/nas"), PathMapping("\\\\NAS\\share\\TV", "/mnt/nastv")]


@pytest.mark.parametrize(
    ("plex_path", "expected"),
    [
        pytest.param("/data/movies/x.mkv", "/mnt/data/movies/x.mkv", id="shorter-prefix"),
        pytest.param("/data/tv/Show/S01E01.mkv", "/srv/tv/Show/S01E01.mkv", id="longest-prefix"),
        pytest.param("/database/x.mkv", None, id="not-a-component-boundary"),
        pytest.param("/data/tvshows/x.mkv", "/mnt/data/tvshows/x.mkv", id="boundary-picks-shorter"),
        pytest.param("/data", "/mnt/data", id="path-is-the-prefix"),
        pytest.param("/data/", "/mnt/data", id="path-is-the-prefix-with-separator"),
        pytest.param("/data/tv", "/srv/tv", id="path-is-the-nested-prefix"),
        pytest.param("/Data/x.mkv", None, id="posix-is-case-sensitive"),
        pytest.param("/data//tv///x.mkv", "/srv/tv/x.mkv", id="doubled-separators"),
        pytest.param("/data/./tv/./x.mkv", "/srv/tv/x.mkv", id="dot-components"),
        pytest.param("/data/tv/a/../b.mkv", "/srv/tv/b.mkv", id="dotdot-inside"),
        pytest.param("/data/tv/a/b/../../c.mkv", "/srv/tv/c.mkv", id="dotdot-twice-inside"),
        pytest.param("/data/tv/../movies/x.mkv", None, id="dotdot-out-of-winning-prefix"),
        pytest.param("/data/../etc/passwd", None, id="dotdot-out-of-mapping"),
        pytest.param("/data/tv/a/../../../x", None, id="dotdot-deep-escape"),
        pytest.param("/data/tv/data/tv/x.mkv", "/srv/tv/data/tv/x.mkv", id="only-leading-prefix-replaced"),
        pytest.param("/other/data/tv/x.mkv", None, id="prefix-in-the-middle-is-not-a-match"),
        pytest.param("data/tv/x.mkv", None, id="relative"),
        pytest.param("", None, id="empty"),
        pytest.param("/data/tv/Amélie (2001)/Amélie.mkv", "/srv/tv/Amélie (2001)/Amélie.mkv", id="unicode"),
        pytest.param("/data/tv/日本語/エピソード 1.mkv", "/srv/tv/日本語/エピソード 1.mkv", id="cjk"),
        pytest.param("/data/tv/My Show/S 01/E 01.mkv", "/srv/tv/My Show/S 01/E 01.mkv", id="spaces"),
        pytest.param("/data/tv/a\\b.mkv", "/srv/tv/a\\b.mkv", id="posix-backslash-is-a-name-character"),
        pytest.param("/data/tv/...", "/srv/tv/...", id="three-dots-is-a-name"),
        pytest.param("D:\\data\\tv\\x.mkv", None, id="windows-path-vs-posix-prefix"),
    ],
)
def test_posix_server_to_posix_machine(plex_path: str, expected: str | None) -> None:
    assert resolve(plex_path, POSIX_SERVER, local_os="posix") == expected


@pytest.mark.parametrize(
    ("plex_path", "expected"),
    [
        pytest.param("D:\\Media\\Movies\\x.mkv", "/mnt/d/Movies/x.mkv", id="backslashes"),
        pytest.param("D:/Media/Movies/x.mkv", "/mnt/d/Movies/x.mkv", id="forward-slashes"),
        pytest.param("D:\\Media/TV\\Show/x.mkv", "/mnt/tv/Show/x.mkv", id="mixed-separators"),
        pytest.param("d:\\media\\tv\\Show\\x.mkv", "/mnt/tv/Show/x.mkv", id="lower-case"),
        pytest.param("D:\\MEDIA\\TV\\Show\\x.mkv", "/mnt/tv/Show/x.mkv", id="upper-case"),
        pytest.param("D:\\media\\Movies\\X.mkv", "/mnt/d/Movies/X.mkv", id="remainder-keeps-its-case"),
        pytest.param("D:\\Mediathek\\x.mkv", None, id="not-a-component-boundary"),
        pytest.param("E:\\Media\\x.mkv", None, id="other-drive"),
        pytest.param("D:\\Media\\", "/mnt/d", id="path-is-the-prefix"),
        pytest.param("D:\\Media\\\\TV\\\\x.mkv", "/mnt/tv/x.mkv", id="doubled-separators"),
        pytest.param("D:\\Media\\TV\\..\\x.mkv", None, id="dotdot-escape"),
        pytest.param("\\\\?\\D:\\Media\\x.mkv", "/mnt/d/x.mkv", id="extended-length-form"),
        pytest.param("/Media/x.mkv", None, id="posix-path-vs-windows-prefix"),
        pytest.param("\\Media\\x.mkv", None, id="drive-relative"),
        pytest.param("D:Media\\x.mkv", None, id="drive-and-relative"),
    ],
)
def test_windows_server_to_posix_machine(plex_path: str, expected: str | None) -> None:
    assert resolve(plex_path, WINDOWS_SERVER, local_os="posix") == expected


@pytest.mark.parametrize(
    ("plex_path", "expected"),
    [
        pytest.param("\\\\NAS\\share\\Movies\\x.mkv", "/mnt/nas/Movies/x.mkv", id="backslashes"),
        pytest.param("//nas/SHARE/tv/x.mkv", "/mnt/nastv/x.mkv", id="forward-slashes-and-case"),
        pytest.param("\\\\NAS/share\\TV/x.mkv", "/mnt/nastv/x.mkv", id="mixed-separators"),
        pytest.param("\\\\NAS\\shared\\x.mkv", None, id="share-name-boundary"),
        pytest.param("\\\\OTHER\\share\\x.mkv", None, id="other-server"),
        pytest.param("\\\\?\\UNC\\NAS\\share\\x.mkv", "/mnt/nas/x.mkv", id="extended-length-form"),
        pytest.param("/NAS/share/x.mkv", None, id="single-slash-is-posix"),
        pytest.param("\\\\NAS\\share\\..\\other\\x.mkv", None, id="dotdot-escape"),
    ],
)
def test_unc_server_to_posix_machine(plex_path: str, expected: str | None) -> None:
    assert resolve(plex_path, UNC_SERVER, local_os="posix") == expected


WINDOWS_MACHINE = [
    PathMapping("D:\\Media", "M:\\"),
    PathMapping("/data", "\\\\server\\media\\"),
    PathMapping("/music", "M:/Music/"),
]


@pytest.mark.parametrize(
    ("plex_path", "expected"),
    [
        pytest.param("D:\\Media\\TV\\x.mkv", "M:\\TV\\x.mkv", id="drive-root-local"),
        pytest.param("D:\\Media", "M:\\", id="path-is-prefix-drive-root"),
        pytest.param("/data/tv/x.mkv", "\\\\server\\media\\tv\\x.mkv", id="posix-server-unc-local"),
        pytest.param("/music/a/b.flac", "M:\\Music\\a\\b.flac", id="local-prefix-normalised"),
        pytest.param("/music", "M:\\Music", id="local-prefix-without-trailing-separator"),
        pytest.param("/data/tv/a\\b.mkv", None, id="backslash-name-cannot-live-on-windows"),
        pytest.param("/data/tv/.. /x.mkv", None, id="dots-and-spaces-name-refused"),
        pytest.param("/data/tv/CON", None, id="device-name-refused"),
        pytest.param("/data/nul.mkv", None, id="device-name-with-extension-refused"),
        pytest.param("/data/Console.mkv", "\\\\server\\media\\Console.mkv", id="device-prefix-is-fine"),
        pytest.param("/data/tv/x.mkv.", "\\\\server\\media\\tv\\x.mkv.", id="only-all-dots-names-refused"),
        pytest.param("D:\\Media\\C:\\x", "M:\\C:\\x", id="drive-like-name-stays-inside"),
    ],
)
def test_windows_machine(plex_path: str, expected: str | None) -> None:
    assert resolve(plex_path, WINDOWS_MACHINE, local_os="windows") == expected


def test_dots_and_spaces_name_is_fine_on_posix() -> None:
    assert resolve("/data/.. /x", [PathMapping("/data", "/d")], local_os="posix") == "/d/.. /x"


@pytest.mark.parametrize(
    ("mappings", "plex_path", "expected"),
    [
        pytest.param(
            [PathMapping("/", "/mnt/root")], "/x/y.mkv", "/mnt/root/x/y.mkv", id="posix-root-prefix"
        ),
        pytest.param([PathMapping("/", "/mnt/root")], "/", "/mnt/root", id="posix-root-itself"),
        pytest.param(
            [PathMapping("/", "/mnt/root"), PathMapping("/x", "/mnt/x")], "/x/y", "/mnt/x/y", id="root-loses"
        ),
        pytest.param([PathMapping("/data", "/")], "/data/x/y", "/x/y", id="local-root"),
        pytest.param([PathMapping("D:\\", "/mnt/d")], "D:\\TV\\x.mkv", "/mnt/d/TV/x.mkv", id="drive-root"),
        pytest.param([PathMapping("D:", "/mnt/d")], "d:/TV/x.mkv", "/mnt/d/TV/x.mkv", id="bare-drive"),
        pytest.param([PathMapping("/data///", "/mnt/d//")], "/data/x", "/mnt/d/x", id="trailing-separators"),
        pytest.param([PathMapping("/data/./tv", "/t")], "/data/tv/x", "/t/x", id="dot-in-prefix"),
        pytest.param(
            [PathMapping("//nas/share/", "/n")], "\\\\NAS\\Share\\x", "/n/x", id="unc-slashes-prefix"
        ),
        pytest.param([], "/data/x", None, id="no-mappings"),
    ],
)
def test_prefix_shapes(mappings: list[PathMapping], plex_path: str, expected: str | None) -> None:
    assert resolve(plex_path, mappings, local_os="posix") == expected


@pytest.mark.parametrize(
    ("path", "flavour"),
    [
        ("/data/tv/x.mkv", Flavour.POSIX),
        ("/", Flavour.POSIX),
        ("///data", Flavour.POSIX),
        ("D:\\Media\\x.mkv", Flavour.WINDOWS),
        ("d:/Media/x.mkv", Flavour.WINDOWS),
        ("D:", Flavour.WINDOWS),
        ("\\\\NAS\\share\\x.mkv", Flavour.UNC),
        ("//NAS/share/x.mkv", Flavour.UNC),
        ("\\\\?\\UNC\\NAS\\share", Flavour.UNC),
        ("\\\\?\\C:\\x", Flavour.WINDOWS),
        ("media/x.mkv", None),
        ("\\Media", None),
        ("D:Media", None),
        ("1:\\x", None),
        ("", None),
        ("\\\\", None),
    ],
)
def test_detect_flavour(path: str, flavour: Flavour | None) -> None:
    assert detect_flavour(path) is flavour


class TestResolver:
    def test_explain_names_the_winning_mapping(self) -> None:
        resolver = Resolver(POSIX_SERVER, local_os="posix")
        answer = resolver.explain("/data/tv/x.mkv")
        assert answer.outcome is Outcome.MAPPED
        assert answer.mapping == POSIX_SERVER[1]
        assert answer.local_path == "/srv/tv/x.mkv"
        assert answer.describe() == "/data/tv/x.mkv -> /srv/tv/x.mkv (via /data/tv -> /srv/tv)"

    @pytest.mark.parametrize(
        ("plex_path", "outcome", "words"),
        [
            ("/elsewhere/x.mkv", Outcome.NO_MAPPING, "retrovue paths add"),
            ("relative/x.mkv", Outcome.NOT_ABSOLUTE, "not an absolute path"),
            ("/data/tv/../../x", Outcome.ESCAPES, "climb out"),
        ],
    )
    def test_explain_says_why_not(self, plex_path: str, outcome: Outcome, words: str) -> None:
        answer = Resolver(POSIX_SERVER, local_os="posix").explain(plex_path)
        assert answer.outcome is outcome
        assert answer.local_path is None
        assert words in answer.describe()
        assert "\n" not in answer.describe()

    def test_explain_unrepresentable_keeps_the_mapping(self) -> None:
        answer = Resolver(WINDOWS_MACHINE, local_os="windows").explain("/data/a\\b")
        assert answer.outcome is Outcome.UNREPRESENTABLE
        assert answer.mapping == WINDOWS_MACHINE[1]
        assert "(matched /data)" in answer.describe()

    def test_escape_reports_the_mapping_it_matched(self) -> None:
        answer = Resolver(POSIX_SERVER, local_os="posix").explain("/data/../x")
        assert answer.mapping == POSIX_SERVER[0]

    def test_unusable_mappings_are_skipped_with_a_reason(self) -> None:
        bad_plex = PathMapping("media", "/mnt/m")
        bad_local = PathMapping("/tv", "mnt/tv")
        dup = PathMapping("/data/", "/elsewhere")
        resolver = Resolver([*POSIX_SERVER, bad_plex, bad_local, dup], local_os="posix")
        reasons = dict(resolver.skipped)
        assert set(reasons) == {bad_plex, bad_local, dup}
        assert "plex prefix" in reasons[bad_plex]
        assert "local prefix" in reasons[bad_local]
        assert "/data" in reasons[dup]
        assert resolver.resolve("/data/x") == "/mnt/data/x"  # the first of the duplicates wins

    def test_windows_local_prefix_is_not_absolute_on_posix(self) -> None:
        resolver = Resolver([PathMapping("/data", "M:\\Media")], local_os="posix")
        assert resolver.resolve("/data/x") is None
        assert len(resolver.skipped) == 1

    def test_results_are_cached_until_invalidated(self) -> None:
        resolver = Resolver(POSIX_SERVER, local_os="posix")
        first = resolver.explain("/data/tv/x.mkv")
        assert resolver.explain("/data/tv/x.mkv") is first
        resolver.invalidate()
        again = resolver.explain("/data/tv/x.mkv")
        assert again is not first
        assert again == first

    def test_is_callable_like_resolve(self) -> None:
        resolver = Resolver(POSIX_SERVER, local_os="posix")
        assert resolver("/data/tv/x") == resolver.resolve("/data/tv/x") == "/srv/tv/x"

    def test_keeps_the_mappings_it_was_given(self) -> None:
        resolver = Resolver(iter(POSIX_SERVER), local_os="posix")
        assert resolver.mappings == tuple(POSIX_SERVER)
        assert resolver.local_os == "posix"

    def test_default_local_os_is_this_machine(self) -> None:
        import os

        resolver = Resolver(POSIX_SERVER)
        assert resolver.local_os == ("windows" if os.name == "nt" else "posix")

    def test_mixed_flavours_on_one_server(self) -> None:
        resolver = Resolver([*POSIX_SERVER, *WINDOWS_SERVER, *UNC_SERVER], local_os="posix")
        assert resolver.resolve("/data/tv/a") == "/srv/tv/a"
        assert resolver.resolve("d:/media/tv/a") == "/mnt/tv/a"
        assert resolver.resolve("//nas/share/tv/a") == "/mnt/nastv/a"

    def test_100k_paths_with_many_mappings(self) -> None:
        """Correct at scale; its speed is measured by `python -m bench.mapping_reeval`, not asserted."""
        mappings = [*POSIX_SERVER, *[PathMapping(f"/vol{i}/media", f"/mnt/vol{i}") for i in range(200)]]
        resolver = Resolver(mappings, local_os="posix")
        paths = [f"/data/tv/Show {i // 100}/Season {i % 7}/Episode {i}.mkv" for i in range(100_000)]
        resolved = [resolver.resolve(path) for path in paths]
        assert resolved[-1] == "/srv/tv/Show 999/Season 4/Episode 99999.mkv"
        assert all(r is not None and r.startswith("/srv/tv/") for r in resolved)
