"""Property tests: whatever the paths and mappings, resolution stays inside the local prefix."""

from __future__ import annotations

import ntpath
import posixpath

from hypothesis import given, settings
from hypothesis import strategies as st

from retrovue.paths import LocalOS, PathMapping, Resolver, resolve

# Per-test settings, not a loaded profile: a profile would change every other suite's tests too.
PROPERTY = settings(deadline=None, max_examples=150)

# A file or folder name that is the same name on every platform: no separators, no NUL, not made
# only of dots and spaces (`.`/`..` are generated separately, on purpose) and not a Windows device.
DEVICES = {"CON", "PRN", "AUX", "NUL"} | {f"{k}{n}" for k in ("COM", "LPT") for n in range(1, 10)}


def portable(name: str) -> bool:
    return name.strip(" .") != "" and name.split(".", 1)[0].rstrip(" ").upper() not in DEVICES


NAME = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\:"),
    min_size=1,
    max_size=8,
).filter(portable)
ASCII_NAME = st.text(alphabet="abcdefghijKLMNOPQRST0123 _-", min_size=1, max_size=8).filter(portable)
# What may follow a prefix in a hostile path: names, `.`, `..` and empty pieces (doubled separators).
SEGMENT = st.one_of(NAME, NAME, st.just("."), st.just(".."), st.just(""))
LOCAL_OS = st.sampled_from(["posix", "windows"])


def local_base(parts: list[str], local_os: str) -> str:
    if local_os == "windows":
        return "L:\\" + "\\".join(parts)
    return "/" + "/".join(parts)


def model(base: str, segments: list[str], sep: str) -> str | None:
    """An independent statement of the rule: `.` and empty pieces vanish, `..` may not leave."""
    stack: list[str] = []
    for seg in segments:
        if seg in ("", "."):
            continue
        if seg == "..":
            if not stack:
                return None
            stack.pop()
        else:
            stack.append(seg)
    if not stack:
        return base
    return base + sep.join(stack) if base.endswith(sep) else base + sep + sep.join(stack)


def inside(result: str, base: str, local_os: str) -> bool:
    """Still inside `base` after the OS's own lexical normalisation (what an `open` would see)."""
    norm = ntpath.normpath(result) if local_os == "windows" else posixpath.normpath(result)
    sep = "\\" if local_os == "windows" else "/"
    root = base if base.endswith(sep) else base + sep
    return norm == base or norm.startswith(root)


@PROPERTY
@given(
    prefix=st.lists(NAME, min_size=1, max_size=3),
    local=st.lists(NAME, max_size=3),
    segments=st.lists(SEGMENT, max_size=8),
    local_os=LOCAL_OS,
)
def test_posix_server_never_escapes_and_matches_the_model(
    prefix: list[str], local: list[str], segments: list[str], local_os: LocalOS
) -> None:
    base = local_base(local, local_os)
    sep = "\\" if local_os == "windows" else "/"
    plex_prefix = "/" + "/".join(prefix)
    path = plex_prefix + "/" + "/".join(segments)
    result = resolve(path, [PathMapping(plex_prefix, base)], local_os=local_os)
    assert result == model(base, segments, sep)
    if result is not None:
        assert result.startswith(base)
        assert inside(result, base, local_os)


@PROPERTY
@given(
    prefix=st.lists(ASCII_NAME, min_size=1, max_size=3),
    local=st.lists(NAME, max_size=3),
    segments=st.lists(SEGMENT, max_size=8),
    seps=st.lists(st.sampled_from(["\\", "/"]), min_size=12, max_size=12),
    upper=st.booleans(),
    unc=st.booleans(),
    local_os=LOCAL_OS,
)
def test_windows_server_any_case_any_separator(
    prefix: list[str],
    local: list[str],
    segments: list[str],
    seps: list[str],
    upper: bool,
    unc: bool,
    local_os: LocalOS,
) -> None:
    base = local_base(local, local_os)
    sep = "\\" if local_os == "windows" else "/"
    anchor = "\\\\" if unc else "D:\\"
    plex_prefix = anchor + "\\".join(prefix)
    typed = [p.upper() if upper else p.lower() for p in prefix]
    pieces = [*typed, *segments]
    path = ("//" if unc else "d:/") + "".join(p + seps[i % len(seps)] for i, p in enumerate(pieces))
    result = resolve(path, [PathMapping(plex_prefix, base)], local_os=local_os)
    assert result == model(base, segments, sep)
    if result is not None:
        assert inside(result, base, local_os)


@PROPERTY
@given(
    parts=st.lists(NAME, min_size=1, max_size=6),
    depths=st.sets(st.integers(min_value=0, max_value=6), min_size=1),
    data=st.data(),
)
def test_longest_prefix_wins_in_any_order(parts: list[str], depths: set[int], data: st.DataObject) -> None:
    usable = sorted({min(d, len(parts)) for d in depths})
    mappings = [PathMapping("/" + "/".join(parts[:d]), f"/L{d}") for d in usable]
    shuffled = data.draw(st.permutations(mappings))
    deepest = usable[-1]
    expected = "/".join([f"/L{deepest}", *parts[deepest:]])
    assert resolve("/" + "/".join(parts), shuffled, local_os="posix") == expected


@PROPERTY
@given(
    prefix=st.lists(NAME, min_size=1, max_size=3),
    rest=st.lists(NAME, max_size=3),
    plex_seps=st.integers(min_value=1, max_value=3),
    local_seps=st.integers(min_value=1, max_value=3),
    local_os=LOCAL_OS,
)
def test_trailing_separators_change_nothing(
    prefix: list[str], rest: list[str], plex_seps: int, local_seps: int, local_os: LocalOS
) -> None:
    sep = "\\" if local_os == "windows" else "/"
    base = local_base(["media", "x"], local_os)
    plex_prefix = "/" + "/".join(prefix)
    path = "/".join([plex_prefix, *rest])
    plain = resolve(path, [PathMapping(plex_prefix, base)], local_os=local_os)
    padded = resolve(
        path + "/" * plex_seps,
        [PathMapping(plex_prefix + "/" * plex_seps, base + sep * local_seps)],
        local_os=local_os,
    )
    assert plain == padded
    assert plain is not None


@PROPERTY
@given(prefix=st.lists(NAME, min_size=1, max_size=3), glued=NAME, rest=st.lists(NAME, max_size=2))
def test_prefix_matches_only_whole_components(prefix: list[str], glued: str, rest: list[str]) -> None:
    plex_prefix = "/" + "/".join(prefix)
    path = "/".join([plex_prefix + glued, *rest])
    assert resolve(path, [PathMapping(plex_prefix, "/local")], local_os="posix") is None


@PROPERTY
@given(prefix=st.lists(NAME, min_size=1, max_size=3), tail=NAME)
def test_only_the_leading_prefix_is_replaced(prefix: list[str], tail: str) -> None:
    plex_prefix = "/" + "/".join(prefix)
    path = plex_prefix + plex_prefix + "/" + tail
    expected = "/local" + plex_prefix + "/" + tail
    assert resolve(path, [PathMapping(plex_prefix, "/local")], local_os="posix") == expected


@PROPERTY
@given(
    path=st.text(max_size=30),
    mappings=st.lists(st.builds(PathMapping, st.text(max_size=12), st.text(max_size=12)), max_size=4),
    local_os=LOCAL_OS,
)
def test_arbitrary_text_never_raises_and_stays_inside(
    path: str, mappings: list[PathMapping], local_os: LocalOS
) -> None:
    resolver = Resolver(mappings, local_os=local_os)
    answer = resolver.explain(path)
    if answer.local_path is not None:
        assert answer.mapping is not None
        base = resolver.resolve(answer.mapping.plex_prefix)
        assert base is not None
        assert answer.local_path.startswith(base)
