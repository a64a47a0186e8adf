"""Stable identity across Plex rating-key changes: pure matching of vanished and appeared items.

Plex issues a new rating key when an item is re-matched, re-added or its library rebuilt. A
scheduler that references catalog rows would lose them if the old row simply went MISSING and a
stranger appeared. So, within one library, after a complete listing, an item that vanished and an
item that appeared since it was last listed are the same item when they share a stable primary
guid, or else the same first file path and size. Only one-to-one matches are merged; a key shared
by several candidates on either side is ambiguous and reported, never guessed.

"Appeared since it was last listed" is told by listing numbers, not clocks: a vanished item's
`listing` is the first complete listing it could have been re-keyed in, an appeared item's the
listing number of the run that first stored it (which may have ended partial).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

__all__ = ["Candidate", "RekeyPlan", "match_rekeys", "stable_guid"]

UNSTABLE_GUID_PREFIXES = ("local://", "com.plexapp.agents.none://", "com.plexapp.agents.localmedia://")


@dataclass(frozen=True)
class Candidate:
    item_id: int
    rating_key: str
    kind: str
    guid: str | None
    file: str | None
    size: int | None
    listing: int = 0  # vanished: first listing it could have been re-keyed in; appeared: first listed


@dataclass(frozen=True)
class RekeyPlan:
    pairs: tuple[tuple[Candidate, Candidate], ...]  # (vanished, appeared)
    ambiguous: tuple[str, ...]  # one line per ambiguous key, for the run summary


def stable_guid(guid: str | None) -> str | None:
    """A guid that survives a re-key (plex://, imdb://, tvdb://…); local ones embed the old key."""
    if not guid or guid.startswith(UNSTABLE_GUID_PREFIXES):
        return None
    return guid


def _unique_pairs(
    vanished: Sequence[Candidate],
    appeared: Sequence[Candidate],
    key: Callable[[Candidate], Hashable | None],
    label: str,
    ambiguous: list[str],
) -> list[tuple[Candidate, Candidate]]:
    old: dict[tuple[str, Hashable], list[Candidate]] = defaultdict(list)
    new: dict[tuple[str, Hashable], list[Candidate]] = defaultdict(list)
    for c in vanished:
        if (k := key(c)) is not None:
            old[(c.kind, k)].append(c)
    for c in appeared:
        if (k := key(c)) is not None:
            new[(c.kind, k)].append(c)
    pairs = []
    for k in old.keys() & new.keys():
        if len(old[k]) == 1 and len(new[k]) == 1:
            pairs.append((old[k][0], new[k][0]))
        else:
            olds = ",".join(sorted(c.rating_key for c in old[k]))
            news = ",".join(sorted(c.rating_key for c in new[k]))
            ambiguous.append(f"{label} {k[1]!s}: gone {olds} / new {news}")
    return pairs


def match_rekeys(vanished: Sequence[Candidate], appeared: Sequence[Candidate]) -> RekeyPlan:
    """Pair vanished with appeared items: by stable guid first, then by (first file, size)."""
    ambiguous: list[str] = []
    by_guid = _unique_pairs(vanished, appeared, lambda c: stable_guid(c.guid), "guid", ambiguous)
    taken_old = {o.item_id for o, _ in by_guid}
    taken_new = {n.item_id for _, n in by_guid}
    rest_old = [c for c in vanished if c.item_id not in taken_old]
    rest_new = [c for c in appeared if c.item_id not in taken_new]
    by_file = _unique_pairs(
        rest_old,
        rest_new,
        lambda c: (c.file, c.size) if c.file and c.size is not None else None,
        "file",
        ambiguous,
    )
    # Two rows the catalog held at once while both were listed are two items, never one re-keyed.
    pairs = sorted(
        (pair for pair in by_guid + by_file if pair[1].listing >= pair[0].listing), key=lambda p: p[0].item_id
    )
    return RekeyPlan(tuple(pairs), tuple(sorted(ambiguous)))
