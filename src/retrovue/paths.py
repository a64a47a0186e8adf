"""Turn the paths Plex reports into paths on this machine, on demand and never stored.

The catalog keeps only what Plex says (`Media/Part/file` on the Plex server). Whether that file can
be played from this machine depends on where the user mounted the server's disks, which is a fact
about this machine and can change at any time, so it is decided here, at read time, from per-server
mappings `plex_prefix -> local_prefix`.

Rules of resolution (see docs/paths.md for the user's view):

* A Plex path has one of three flavours: POSIX (`/data/tv/x.mkv`), Windows drive (`D:\\Media\\x.mkv`
  or `D:/Media/x.mkv`) or UNC (`\\\\NAS\\share\\x.mkv` or `//NAS/share/x.mkv`). A prefix only matches
  paths of its own flavour. Windows and UNC paths compare case-insensitively, POSIX paths exactly.
* Paths are compared component by component, so `/data` covers `/data/tv/x.mkv` but not
  `/database/x.mkv`; trailing and doubled separators and `.` components carry no meaning.
* The mapping with the most components wins (longest prefix), whatever order mappings were given in.
  Only that leading prefix is replaced; the same text later in the path is left alone.
* The remainder is re-joined with this machine's separator. `..` may move about inside the mapped
  folder but never out of it: a path that would climb above the local prefix resolves to nothing.

Windows and UNC paths accept both separators. A POSIX path is split on `/` only, because `\\` is an
ordinary character in a Linux file name; if such a name would have to land on a Windows machine,
where `\\` is a separator, the path is refused rather than silently turned into a different path.

Everything here is pure except `check_exists`, which touches the file system through an injectable
`stat` on a bounded pool (`retrovue.existence`) and never lets a hung network mount hang its caller.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath, PureWindowsPath
from typing import Literal, NamedTuple

from retrovue.errors import BadMappingError
from retrovue.existence import default_root, pool_for

__all__ = [
    "Flavour",
    "LocalAnswer",
    "LocalOS",
    "Outcome",
    "PathMapping",
    "Resolution",
    "Resolver",
    "check_exists",
    "default_local_os",
    "detect_flavour",
    "local_answer",
    "resolve",
    "resolved_answer",
    "suggest_mappings",
    "validate_mapping",
]

LocalOS = Literal["posix", "windows"]
"""The conventions of the machine that plays the files: its separator and what counts as absolute."""


class Flavour(StrEnum):
    """The kind of path a Plex server reports, which decides separators and case rules."""

    POSIX = "posix"
    WINDOWS = "windows"
    UNC = "unc"


class Outcome(StrEnum):
    """Why a Plex path did or did not resolve; `explain` reports it so users can fix mappings."""

    MAPPED = "mapped"
    NO_MAPPING = "no-mapping"
    NOT_ABSOLUTE = "not-absolute"
    ESCAPES = "escapes"
    UNREPRESENTABLE = "unrepresentable"


@dataclass(frozen=True, slots=True)
class PathMapping:
    """One rule of a server: paths under `plex_prefix` live under `local_prefix` on this machine."""

    plex_prefix: str
    local_prefix: str
    id: int | None = None


class Resolution(NamedTuple):
    """The full answer for one Plex path: what it became, through which mapping, and why."""

    plex_path: str
    local_path: str | None
    mapping: PathMapping | None
    outcome: Outcome

    def describe(self) -> str:
        """One line for `retrovue paths test`: the result, or what stopped it."""
        if self.outcome is Outcome.MAPPED and self.mapping is not None:
            return (
                f"{self.plex_path} -> {self.local_path} "
                f"(via {self.mapping.plex_prefix} -> {self.mapping.local_prefix})"
            )
        via = f" (matched {self.mapping.plex_prefix})" if self.mapping is not None else ""
        reasons = {
            Outcome.NO_MAPPING: "no mapping covers it; add one with `retrovue paths add`",
            Outcome.NOT_ABSOLUTE: "not an absolute path, so no mapping can apply",
            Outcome.ESCAPES: "its '..' components would climb out of the mapped folder",
            Outcome.UNREPRESENTABLE: "a file name in it cannot be written on this machine",
        }
        return f"{self.plex_path}: unresolved{via}: {reasons[self.outcome]}"


# --------------------------------------------------------------------------------------------------
# Parsing: a path becomes (flavour, anchor key, components). Hot path, so plain tuples and no regex.

_Split = tuple[Flavour, str, list[str]]
_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_UNC_ANCHOR = "\\\\"


def default_local_os() -> LocalOS:
    """This machine's conventions; injected explicitly in tests so both are covered anywhere."""
    return "windows" if os.name == "nt" else "posix"


def _posix_parts(text: str) -> list[str]:
    return [p for p in text.split("/") if p and p != "."]


def _windows_parts(text: str) -> list[str]:
    return [p for p in text.replace("\\", "/").split("/") if p and p != "."]


def _split(path: str) -> _Split | None:
    """Parse an absolute server path; None when it is not absolute in any flavour.

    The anchor key identifies the root a prefix must share: `/` for POSIX, the lower-cased drive
    (`d:`) for Windows, `\\\\` for UNC, whose first component is then the server name.
    """
    if path[:4] in ("\\\\?\\", "//?/"):  # Win32 extended-length form: \\?\D:\... or \\?\UNC\srv\...
        rest = path[4:]
        path = _UNC_ANCHOR + rest[4:] if rest[:4].upper() in ("UNC\\", "UNC/") else rest
    first = path[:1]
    if first == "/":
        if path[1:2] == "/" and path[2:3] not in ("", "/", "\\"):
            return Flavour.UNC, _UNC_ANCHOR, _windows_parts(path[2:])
        return Flavour.POSIX, "/", _posix_parts(path)
    if first == "\\":
        if path[1:2] in ("\\", "/") and path[2:3] not in ("", "/", "\\"):
            return Flavour.UNC, _UNC_ANCHOR, _windows_parts(path[2:])
        return None  # `\Media` is relative to the current drive on Windows
    if path[1:2] == ":" and first in _ASCII_LETTERS and path[2:3] in ("", "\\", "/"):
        return Flavour.WINDOWS, first.lower() + ":", _windows_parts(path[2:])
    return None


def _case_keys(flavour: Flavour, parts: Sequence[str]) -> tuple[str, ...]:
    """Components as compared: exact for POSIX, case-folded for Windows and UNC."""
    if flavour is Flavour.POSIX:
        return tuple(parts)
    return tuple(p.casefold() for p in parts)


def detect_flavour(path: str) -> Flavour | None:
    """The flavour of a server path, or None when it is not absolute in any flavour."""
    split = _split(path)
    return None if split is None else split[0]


def _canonical(flavour: Flavour, anchor: str, parts: Sequence[str]) -> str:
    """A prefix written the way its own server writes paths, without trailing separators."""
    if flavour is Flavour.POSIX:
        return "/" + "/".join(parts)
    if flavour is Flavour.WINDOWS:
        return anchor.upper() + "\\" + "\\".join(parts)
    return _UNC_ANCHOR + "\\".join(parts)


def _local_base(local_prefix: str, local_os: LocalOS) -> str | None:
    """The local prefix normalised for this machine, or None when it is not absolute here."""
    if not local_prefix:
        return None
    if local_os == "windows":
        win = PureWindowsPath(local_prefix)
        return str(win) if win.is_absolute() else None
    posix = PurePosixPath(local_prefix)
    return str(posix) if posix.is_absolute() else None


def _join(base: str, sep: str, rest: Sequence[str]) -> str:
    if not rest:
        return base
    tail = sep.join(rest)
    return base + tail if base.endswith(sep) else base + sep + tail


def _collapse_dotdot(rest: list[str]) -> list[str] | None:
    """Apply `..` inside the remainder; None if it would climb above the remainder's start."""
    stack: list[str] = []
    for part in rest:
        if part == "..":
            if not stack:
                return None
            stack.pop()
        else:
            stack.append(part)
    return stack


_WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{kind}{n}" for kind in ("COM", "LPT") for n in range(1, 10)]
)


def _fits_windows(flavour: Flavour, rest: Sequence[str]) -> bool:
    """Whether every name survives the trip to Windows unchanged.

    A `\\` inside a POSIX name would become a separator; a name made only of dots and spaces is
    trimmed by Win32 into something else (possibly a relative step); a device name such as `CON` or
    `nul.mkv` opens a device, not a file. All three are refused rather than opened as another thing.
    """
    for part in rest:
        if flavour is Flavour.POSIX and "\\" in part:
            return False
        if not part.strip(" .") or part.split(".", 1)[0].rstrip(" ").upper() in _WINDOWS_DEVICES:
            return False
    return True


# --------------------------------------------------------------------------------------------------
# Resolver


@dataclass(frozen=True, slots=True)
class _Compiled:
    mapping: PathMapping
    local_base: str


class Resolver:
    """One server's mappings, prepared once, answering many look-ups quickly.

    Prefixes are parsed once into `(anchor, components)` keys in a dict; a look-up splits the path
    once and probes the dict for each prefix depth that exists, deepest first. Cost therefore does not
    grow with the number of mappings, and "longest prefix wins" holds whatever order they came in.
    Results are cached for the life of the object (one run); call `invalidate()` if mounts changed,
    and build a new Resolver when the mappings themselves change.

    If two mappings share a prefix (`validate_mapping` prevents it) the first one given wins.
    Mappings that can never apply (plex prefix not absolute, local prefix not absolute on this
    machine) are kept out and listed in `skipped` with the reason, for `retrovue paths list`.
    """

    def __init__(self, mappings: Iterable[PathMapping], *, local_os: LocalOS | None = None) -> None:
        self.local_os: LocalOS = local_os or default_local_os()
        self._sep = "\\" if self.local_os == "windows" else "/"
        self.mappings: tuple[PathMapping, ...] = tuple(mappings)
        table: dict[tuple[str, tuple[str, ...]], _Compiled] = {}
        depths: dict[str, set[int]] = {}
        skipped: list[tuple[PathMapping, str]] = []
        for mapping in self.mappings:
            split = _split(mapping.plex_prefix)
            if split is None:
                skipped.append((mapping, "plex prefix is not an absolute path"))
                continue
            base = _local_base(mapping.local_prefix, self.local_os)
            if base is None:
                skipped.append((mapping, f"local prefix is not an absolute {self.local_os} path"))
                continue
            flavour, anchor, parts = split
            key = (anchor, _case_keys(flavour, parts))
            if key in table:
                skipped.append((mapping, f"same plex prefix as {table[key].mapping.plex_prefix}"))
                continue
            table[key] = _Compiled(mapping, base)
            depths.setdefault(anchor, set()).add(len(parts))
        self._table = table
        self._depths = {anchor: sorted(ds, reverse=True) for anchor, ds in depths.items()}
        self.skipped: tuple[tuple[PathMapping, str], ...] = tuple(skipped)
        self._cache: dict[str, Resolution] = {}

    def invalidate(self) -> None:
        """Forget cached answers (the mappings themselves are immutable: build a new Resolver)."""
        self._cache.clear()

    def roots(self) -> list[tuple[PathMapping, str]]:
        """Each usable mapping with its local folder as this machine writes it (skipped ones left out)."""
        return [(compiled.mapping, compiled.local_base) for compiled in self._table.values()]

    def resolve(self, plex_path: str) -> str | None:
        """The local path for `plex_path`, or None when no mapping gives a safe one."""
        return self.explain(plex_path).local_path

    __call__ = resolve

    def explain(self, plex_path: str) -> Resolution:
        """Which mapping won (or why none did), with the local result."""
        cached = self._cache.get(plex_path)
        if cached is None:
            cached = self._compute(plex_path)
            self._cache[plex_path] = cached
        return cached

    def _compute(self, plex_path: str) -> Resolution:
        split = _split(plex_path)
        if split is None:
            return Resolution(plex_path, None, None, Outcome.NOT_ABSOLUTE)
        flavour, anchor, parts = split
        keys = parts if flavour is Flavour.POSIX else [p.casefold() for p in parts]
        for depth in self._depths.get(anchor, ()):
            if depth > len(parts):
                continue
            compiled = self._table.get((anchor, tuple(keys[:depth])))
            if compiled is not None:
                return self._finish(plex_path, compiled, flavour, parts[depth:])
        return Resolution(plex_path, None, None, Outcome.NO_MAPPING)

    def _finish(self, plex_path: str, compiled: _Compiled, flavour: Flavour, rest: list[str]) -> Resolution:
        mapping = compiled.mapping
        if ".." in rest:
            collapsed = _collapse_dotdot(rest)
            if collapsed is None:
                return Resolution(plex_path, None, mapping, Outcome.ESCAPES)
            rest = collapsed
        if self.local_os == "windows" and not _fits_windows(flavour, rest):
            return Resolution(plex_path, None, mapping, Outcome.UNREPRESENTABLE)
        local = _join(compiled.local_base, self._sep, rest)
        return Resolution(plex_path, local, mapping, Outcome.MAPPED)


def resolve(
    plex_path: str, mappings: Iterable[PathMapping], *, local_os: LocalOS | None = None
) -> str | None:
    """Resolve one path; for many paths build a `Resolver` once and reuse it."""
    return Resolver(mappings, local_os=local_os).resolve(plex_path)


# --------------------------------------------------------------------------------------------------
# Validation


def _plex_key(plex_prefix: str) -> tuple[str, tuple[str, ...]] | None:
    split = _split(plex_prefix)
    if split is None:
        return None
    flavour, anchor, parts = split
    return anchor, _case_keys(flavour, parts)


def _split_prefix(text: str, server_paths: Iterable[str]) -> _Split | None:
    """Parse a prefix the user typed. `//x/y` is both a doubled slash on Linux and a UNC share in
    forward slashes: it is read as UNC only when the server's own folders are UNC (or Windows) and
    none is POSIX, and as the POSIX folder `/x/y` otherwise (doubled separators do not matter)."""
    if text.startswith("//") and text[2:3] not in ("/", "?", ""):
        flavours = {detect_flavour(p) for p in server_paths}
        if Flavour.POSIX in flavours or not flavours & {Flavour.UNC, Flavour.WINDOWS}:
            return Flavour.POSIX, "/", _posix_parts(text)
    return _split(text)


def validate_mapping(
    plex_prefix: str,
    local_prefix: str,
    existing: Iterable[PathMapping],
    *,
    local_os: LocalOS | None = None,
    server_paths: Iterable[str] = (),
) -> PathMapping:
    """Check a mapping the user is adding to a server and return it in canonical form.

    The returned prefixes are stripped of surrounding blanks (typed or pasted input often carries
    them, and no real mount point ends in one) and of trailing separators, and written with each
    side's own separator, so `paths list` shows what will actually be compared. The Resolver itself
    never strips: a stored prefix is taken literally. Raises `BadMappingError` with one line naming
    the problem and the fix. `server_paths` (the server's library folders, as Plex reports them)
    decide whether `//x/y` is a POSIX folder or a UNC share (`_split_prefix`).
    """
    local_os = local_os or default_local_os()
    plex_text, local_text = plex_prefix.strip(), local_prefix.strip()
    if not plex_text:
        raise BadMappingError(
            "Plex prefix is empty: give the folder as Plex shows it, e.g. /data/media or D:\\Media"
        )
    if not local_text:
        raise BadMappingError(
            "local prefix is empty: give the folder on this machine where those files are mounted"
        )
    split = _split_prefix(plex_text, server_paths)
    if split is None:
        raise BadMappingError(
            f"Plex prefix {plex_text!r} is not an absolute path: "
            "use the full folder Plex reports, e.g. /data/media, D:\\Media or \\\\NAS\\share"
        )
    flavour, anchor, parts = split
    if ".." in parts:
        raise BadMappingError(f"Plex prefix {plex_text!r} contains '..': give the folder without it")
    base = _local_base(local_text, local_os)
    if base is None:
        example = "M:\\Media" if local_os == "windows" else "/mnt/nas/media"
        raise BadMappingError(
            f"local prefix {local_text!r} is not an absolute path on this machine: "
            f"give the full folder, e.g. {example}"
        )
    key = (anchor, _case_keys(flavour, parts))
    for other in existing:
        if _plex_key(other.plex_prefix) == key:
            raise BadMappingError(
                f"Plex prefix {plex_text!r} is already mapped (to {other.local_prefix!r}): "
                "remove that mapping first or pick a different prefix"
            )
    return PathMapping(_canonical(flavour, anchor, parts), base)


# --------------------------------------------------------------------------------------------------
# Suggestions


def _common_tail(a: Sequence[str], b: Sequence[str]) -> int:
    count = 0
    for x, y in zip(reversed(a), reversed(b), strict=False):
        if x != y:
            break
        count += 1
    return count


def _local_root(root: str, local_os: LocalOS) -> tuple[str, tuple[str, ...]]:
    """A local folder the user typed: its normalised text and its names below the anchor."""
    base = _local_base(root.strip(), local_os)
    if base is None:
        raise BadMappingError(f"local folder {root!r} is not an absolute path: give the full folder")
    path = PureWindowsPath(base) if local_os == "windows" else PurePosixPath(base)
    return base, path.parts[1:]


class _Candidate(NamedTuple):
    score: int
    depth: int
    root_rank: int
    mapping: PathMapping


def _candidates(
    location: str, local_roots: Sequence[tuple[str, tuple[str, ...]]], local_os: LocalOS
) -> list[_Candidate]:
    """Every (folder of `location`, local root) pair that share trailing names, best first."""
    split = _split(location)
    if split is None:
        return []
    flavour, anchor, parts = split
    fold = flavour is not Flavour.POSIX or local_os == "windows"
    plex_keys = [p.casefold() for p in parts] if fold else parts
    found: list[_Candidate] = []
    for rank, (root, root_parts) in enumerate(local_roots):
        root_keys = [p.casefold() for p in root_parts] if fold else root_parts
        for depth in range(len(parts), 0, -1):
            score = _common_tail(plex_keys[:depth], root_keys)
            if score:
                mapping = PathMapping(_canonical(flavour, anchor, parts[:depth]), root)
                found.append(_Candidate(score, depth, -rank, mapping))
    found.sort(key=lambda c: (c.score, c.depth, c.root_rank), reverse=True)
    return found


def suggest_mappings(
    section_locations: Iterable[str],
    local_roots: Iterable[str],
    *,
    local_os: LocalOS | None = None,
    exists: Callable[[str], bool] | None = None,
) -> list[PathMapping]:
    """Propose mappings by lining up folder names the two sides have in common.

    Heuristic: for each section `Location` (say `/data/media/tv`) consider it and each of its parent
    folders, against each local folder the user named (say `/mnt/nas/media`), and count how many
    trailing names agree (`media` here; case-insensitively when either side is Windows). The pair
    with the most agreeing names wins, ties going to the deeper Plex folder and then to the local
    folder named first, giving `/data/media -> /mnt/nas/media`. With `exists`, a candidate is used only
    if the section's own folder, resolved through it, exists here; otherwise the next best is tried.
    Locations with no agreeing names get no suggestion. Duplicates, and suggestions already implied
    by a shallower one, are dropped. Nothing is checked on disk unless `exists` is given.
    """
    local_os = local_os or default_local_os()
    roots = [_local_root(root, local_os) for root in local_roots]
    chosen: list[_Candidate] = []
    for location in section_locations:
        for candidate in _candidates(location, roots, local_os):
            target = resolve(location, [candidate.mapping], local_os=local_os)
            if exists is None or (target is not None and exists(target)):
                chosen.append(candidate)
                break
    chosen.sort(key=lambda c: (-c.score, -c.depth, -c.root_rank))
    unique: dict[tuple[str, tuple[str, ...]] | None, PathMapping] = {}
    for candidate in chosen:
        unique.setdefault(_plex_key(candidate.mapping.plex_prefix), candidate.mapping)
    mappings = list(unique.values())
    kept = [m for m in mappings if not _implied(m, mappings, local_os)]
    return sorted(kept, key=lambda m: (m.plex_prefix.casefold(), m.plex_prefix))


def _implied(mapping: PathMapping, others: Sequence[PathMapping], local_os: LocalOS) -> bool:
    """Whether some other suggestion already sends this prefix to this local folder."""
    want = _local_base(mapping.local_prefix, local_os)
    return any(
        other is not mapping and resolve(mapping.plex_prefix, [other], local_os=local_os) == want
        for other in others
    )


# --------------------------------------------------------------------------------------------------
# Existence on disk and the local-playability rule


def check_exists(
    paths: Iterable[str],
    *,
    max_workers: int = 8,
    timeout: float = 2.0,
    stat: Callable[[str], object] = os.stat,
    root_of: Callable[[str], str] = default_root,
) -> dict[str, bool | None]:
    """Whether each local path exists: True, False, or None when the answer is unknown.

    Checks run on a bounded, reused pool of daemon workers (`retrovue.existence`): the process's one
    pool for the real file system, or one per injected `stat` (tests simulate slow mounts). A
    check that takes longer than `timeout` seconds (a hung NFS or SMB mount) is answered None, and
    so is every later check under the same root until the stuck one returns; errors other than "not
    found" (permission denied, stale handle) are None too. `root_of` names a path's root (default:
    the first two folders; callers that know the mapping's local folder pass it).
    """
    if max_workers < 1:
        raise ValueError("max_workers must be at least 1")
    return pool_for(stat, max_workers).check(paths, timeout=timeout, stat=stat, root_of=root_of)


@dataclass(frozen=True, slots=True)
class LocalAnswer:
    """Whether an item plays from local files here, and if so from which (see `local_answer`)."""

    files: tuple[str, ...] | None  # local paths of the version that plays, in part order; None: none
    unknown: bool = False  # some version could not be checked (no answer in time, or its root is down)
    root_down: bool = False  # ... because a mapping root is down (an unmounted share)

    @property
    def local(self) -> bool | None:
        """True: plays here; False: certainly not; None: cannot tell (which never means yes)."""
        if self.files is not None:
            return True
        return None if self.unknown else False


def local_answer(
    versions: Iterable[Sequence[str]],
    resolver: Resolver,
    exists: Callable[[str], bool | None],
    down: Container[int] = (),
) -> LocalAnswer:
    """The one rule for "does this item play from a local file on this machine".

    `versions` are the item's Media in order, each the Plex paths of its parts. A version plays when
    every part (a film split over two files needs both) resolves through this machine's mappings to
    a file that exists; the item plays when some version does (Plex keeps "optimized versions" in
    folders nobody maps, and they must not hide the original). A version with a part that does not
    resolve, or whose file certainly does not exist, does not play. A version whose check could not
    answer (`exists` gave None), or with a part under a mapping whose id is in `down` (its local
    root is unmounted or unreadable: those files are not even asked about), makes the answer
    "cannot tell" unless another version plays. An item without versions does not play locally.
    """
    return resolved_answer(([resolver.explain(p) for p in files] for files in versions), exists, down)


def resolved_answer(
    versions: Iterable[Sequence[Resolution]],
    exists: Callable[[str], bool | None],
    down: Container[int] = (),
) -> LocalAnswer:
    """`local_answer` for parts already resolved (each a `Resolver.explain` answer), for a reader
    that resolves every file once and uses the answer for more than this rule."""
    unknown = root_down = False
    for parts in versions:
        local: list[str] = []
        for found in parts:
            if found.local_path is None:
                break
            if found.mapping is not None and found.mapping.id is not None and found.mapping.id in down:
                root_down = unknown = True
                break
            local.append(found.local_path)
        else:
            answers = [exists(path) for path in local]
            if all(a is True for a in answers):
                return LocalAnswer(tuple(local))
            unknown = unknown or not any(a is False for a in answers)
    return LocalAnswer(None, unknown, root_down)
