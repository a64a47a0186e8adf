"""What the steps of one library's run share: the run's scope, and the tallies they add to.

Why it exists: the item pages, the show pages, the Plex collections pass and the MISSING decisions
each work within the same run — its catalog, Plex client, library, fence, run id, listing number and
clock, and what it has seen and counted so far. `RunScope` carries them as one value, built once by
`LibrarySync`, and `RunStep` gives each step the same names for them, so no step takes (or can get
wrong) a list of nine arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from retrovue.ingest.idset import IdSet
from retrovue.plex.client import PlexClient
from retrovue.store.registry import LibraryRow

__all__ = ["RunScope", "RunStep", "Seen", "Tally"]


@dataclass
class Seen:
    """What a listing run has proved present, kept in memory instead of stamped on every row: item
    ids as a bitmap, show and season rating keys as sets (thousands, not hundreds of thousands)."""

    items: IdSet = field(default_factory=IdSet)
    shows: set[str] = field(default_factory=set)
    seasons: set[str] = field(default_factory=set)
    listed_shows: set[str] = field(default_factory=set)  # keys the show listing itself gave
    added_items: int = 0  # rows this run inserted: not part of what the catalog held before it
    added_shows: int = 0
    added_seasons: int = 0


@dataclass
class Tally:
    processed: int = 0
    changed: int = 0
    skipped: int = 0
    errors: int = 0
    unreadable: int = 0  # listing entries without a rating key: they cannot be matched
    written: int = 0
    rekeyed: int = 0
    detail_failures: int = 0
    pending_changed: bool = False  # some item's detail_pending flag was set or cleared


@dataclass(frozen=True)
class RunScope:
    engine: sa.Engine
    client: PlexClient
    library: LibraryRow
    fence: Callable[[sa.Connection], None]  # raises when the run lost its lock; call in every write
    run_id: int | None
    listing: int  # this run's listing number, should it complete
    now: int  # the run's clock, fixed at its start
    seen: Seen
    tally: Tally


class RunStep:
    """A step of a library's run, reaching the run's scope by its parts' names."""

    def __init__(self, scope: RunScope) -> None:
        self.engine = scope.engine
        self.client = scope.client
        self.library = scope.library
        self.fence = scope.fence
        self.run_id = scope.run_id
        self.listing = scope.listing
        self.now = scope.now
        self.seen = scope.seen
        self.tally = scope.tally
