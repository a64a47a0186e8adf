"""`validate_mapping`: what a user may add to a server, and the one-line refusals."""

from __future__ import annotations

import pytest

from retrovue.errors import BadMappingError, ConfigError
from retrovue.paths import LocalOS, PathMapping, validate_mapping

EXISTING = [
    PathMapping("/data/media", "/mnt/nas/media", id=1),
    PathMapping("D:\\Media", "/mnt/d", id=2),
    PathMapping("\\\\NAS\\share", "/mnt/share", id=3),
]


@pytest.mark.parametrize(
    ("plex_prefix", "local_prefix", "local_os", "words"),
    [
        pytest.param("", "/mnt/x", "posix", "Plex prefix is empty", id="empty-plex"),
        pytest.param("   ", "/mnt/x", "posix", "Plex prefix is empty", id="blank-plex"),
        pytest.param("/data/tv", "", "posix", "local prefix is empty", id="empty-local"),
        pytest.param("/data/tv", " \t", "posix", "local prefix is empty", id="blank-local"),
        pytest.param("data/tv", "/mnt/x", "posix", "not an absolute path", id="relative-plex"),
        pytest.param("\\Media", "/mnt/x", "posix", "not an absolute path", id="drive-relative-plex"),
        pytest.param("D:Media", "/mnt/x", "posix", "not an absolute path", id="drive-and-relative-plex"),
        pytest.param("/data/../etc", "/mnt/x", "posix", "contains '..'", id="dotdot-plex"),
        pytest.param(
            "/data/tv", "mnt/x", "posix", "not an absolute path on this machine", id="relative-local"
        ),
        pytest.param(
            "/data/tv", "~/media", "posix", "not an absolute path on this machine", id="tilde-local"
        ),
        pytest.param("/data/tv", "/mnt/x", "windows", "e.g. M:\\Media", id="posix-local-on-windows"),
        pytest.param("/data/tv", "M:media", "windows", "not an absolute path", id="drive-relative-local"),
        pytest.param("/data/tv", "M:\\x", "posix", "e.g. /mnt/nas/media", id="windows-local-on-posix"),
        pytest.param("/data/media", "/elsewhere", "posix", "already mapped", id="duplicate"),
        pytest.param("/data/media/", "/elsewhere", "posix", "already mapped", id="duplicate-trailing-sep"),
        pytest.param("/data//media", "/elsewhere", "posix", "already mapped", id="duplicate-doubled-sep"),
        pytest.param(
            "//data/media", "/elsewhere", "posix", "already mapped", id="duplicate-leading-doubled-sep"
        ),
        pytest.param("d:/media/", "/elsewhere", "posix", "already mapped", id="duplicate-windows-case"),
        pytest.param("\\\\nas\\SHARE", "/elsewhere", "posix", "already mapped", id="duplicate-unc-case"),
    ],
)
def test_refusals(plex_prefix: str, local_prefix: str, local_os: LocalOS, words: str) -> None:
    with pytest.raises(BadMappingError) as caught:
        validate_mapping(plex_prefix, local_prefix, EXISTING, local_os=local_os)
    message = str(caught.value)
    assert words in message
    assert "\n" not in message
    assert isinstance(caught.value, ConfigError)


def test_duplicate_message_names_the_existing_mapping_and_the_fix() -> None:
    with pytest.raises(BadMappingError, match=r"already mapped \(to '/mnt/d'\): remove that mapping first"):
        validate_mapping("D:\\MEDIA", "/x", EXISTING, local_os="posix")


@pytest.mark.parametrize(
    ("plex_prefix", "local_prefix", "local_os", "expected"),
    [
        pytest.param(
            "/data/tv/", "/mnt/tv/", "posix", PathMapping("/data/tv", "/mnt/tv"), id="trailing-seps"
        ),
        pytest.param(" /data/tv ", " /mnt/tv ", "posix", PathMapping("/data/tv", "/mnt/tv"), id="blanks"),
        pytest.param(
            "/Data/Media", "/m", "posix", PathMapping("/Data/Media", "/m"), id="posix-case-is-distinct"
        ),
        pytest.param("d:/Movies/", "/m", "posix", PathMapping("D:\\Movies", "/m"), id="windows-canonical"),
        pytest.param(
            "\\\\nas/other/", "/m", "posix", PathMapping("\\\\nas\\other", "/m"), id="unc-canonical"
        ),
        pytest.param(
            "//srv//media/", "/m", "posix", PathMapping("/srv/media", "/m"), id="doubled-slash-posix"
        ),
        pytest.param(
            "/data/./tv", "/mnt//tv", "posix", PathMapping("/data/tv", "/mnt/tv"), id="dots-and-doubles"
        ),
        pytest.param("/tv", "m:/TV/", "windows", PathMapping("/tv", "m:\\TV"), id="windows-local"),
        pytest.param("/tv", "\\\\srv\\tv", "windows", PathMapping("/tv", "\\\\srv\\tv\\"), id="unc-local"),
        pytest.param("/", "/mnt/root", "posix", PathMapping("/", "/mnt/root"), id="root-prefix"),
        pytest.param("E:\\", "/mnt/e", "posix", PathMapping("E:\\", "/mnt/e"), id="drive-root"),
    ],
)
def test_accepts_and_canonicalises(
    plex_prefix: str, local_prefix: str, local_os: LocalOS, expected: PathMapping
) -> None:
    assert validate_mapping(plex_prefix, local_prefix, EXISTING, local_os=local_os) == expected


def test_nested_prefixes_are_allowed() -> None:
    nested = validate_mapping("/data/media/tv", "/srv/tv", EXISTING, local_os="posix")
    assert nested.plex_prefix == "/data/media/tv"


def test_existing_may_be_any_iterable() -> None:
    assert validate_mapping("/x", "/y", iter([]), local_os="posix") == PathMapping("/x", "/y")
