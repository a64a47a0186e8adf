"""The simulated Plex library: a compact, deterministic data model and the questions asked of it.

Why it exists: the simulator must serve libraries from five items to 100,000 episodes, replay the
same library for the same seed, and change in the ways a real server changes. This module and its
two mixins are pure (no I/O, no threads, no HTTP): `Catalog` holds sections, items, media and parts (`model`),
keeps Plex's default orderings and answers look-ups; it inherits making the library from a seed
(`generate.Generation`) and changing it (`mutations.Mutations`, returning `Change` records the
caller turns into notifications) as mixins, so a newcomer finds each job in a module of its own
while every caller keeps holding one `Catalog`. `truth` gives tests the whole library as plain
data; rendering to Plex's wire shapes lives in `render`; serving in `app`.

Time is virtual: `Catalog.now` starts at a fixed epoch and moves forward on every mutation, so a
seed replays exactly (timestamps included).
"""

from __future__ import annotations

import random
from typing import Any

from retrovue.sim import truth
from retrovue.sim.generate import natural_key
from retrovue.sim.model import CatalogConfig, Collection, Item, Part, Section
from retrovue.sim.mutations import Mutations

__all__ = ["Catalog", "natural_key"]

_BASE_EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z: the virtual "now" at start-up.


class Catalog(Mutations):
    """All sections and items, their orderings and look-ups; generation and mutations inherited.

    Not thread-safe by itself: the simulator wraps every call in one lock.
    """

    def __init__(self, config: CatalogConfig | None = None) -> None:
        self.config = config or CatalogConfig()
        self.rng = random.Random(self.config.seed)
        self.now = _BASE_EPOCH
        self.sections: dict[int, Section] = {}
        self.by_rk: dict[int, Item] = {}
        self.parts_by_id: dict[int, tuple[Part, Item]] = {}
        self.version = 0
        self._next_rk = 1000 + self.rng.randrange(1000)
        self._next_media = 2000 + self.rng.randrange(1000)
        self._next_part = 3000 + self.rng.randrange(1000)
        self._used_names: set[str] = set()
        self._cache: dict[tuple[Any, ...], list[Item]] = {}
        self._cache_version = -1
        self.machine_identifier = f"{self.rng.getrandbits(160):040x}"
        self.collections: dict[tuple[int, str], Collection] = {}
        self._next_collection = 5_000_000  # their own range: items' keys stay what they were
        self._generate()
        for section in self.sections.values():
            names = dict.fromkeys(n for item in section.items for n in item.collections)
            self._touch_collections(section, tuple(names))

    # -- orderings ----------------------------------------------------------------------------
    def _cached(self, key: tuple[Any, ...], build: Any) -> list[Item]:
        if self._cache_version != self.version:
            self._cache.clear()
            self._cache_version = self.version
        hit = self._cache.get(key)
        if hit is None:
            hit = build()
            self._cache[key] = hit
        return hit

    def top_level(self, section: Section) -> list[Item]:
        """Shows or movies of a section in Plex's default order (titleSort, then rating key)."""
        return self._cached(
            ("top", section.key),
            lambda: sorted(section.items, key=lambda i: (i.sort_key, i.rating_key)),
        )

    def seasons_of_section(self, section: Section) -> list[Item]:
        return self._cached(
            ("seasons", section.key),
            lambda: [s for show in self.top_level(section) for s in show.children],
        )

    def episodes_of_section(self, section: Section) -> list[Item]:
        """Every episode: by show order, then season index, then episode index."""
        return self._cached(
            ("episodes", section.key),
            lambda: [e for show in self.top_level(section) for e in show.leaves()],
        )

    def listing(self, section: Section, type_number: int) -> list[Item]:
        if section.kind == "movie":
            return self.top_level(section) if type_number == 1 else []
        if type_number == 2:
            return self.top_level(section)
        if type_number == 3:
            return self.seasons_of_section(section)
        if type_number == 4:
            return self.episodes_of_section(section)
        return []

    # -- look-ups -----------------------------------------------------------------------------
    def item(self, rating_key: int | str) -> Item:
        try:
            return self.by_rk[int(rating_key)]
        except (KeyError, ValueError):
            raise KeyError(f"no item with rating key {rating_key}") from None

    def section(self, key: int | str) -> Section:
        try:
            return self.sections[int(key)]
        except (KeyError, ValueError):
            raise KeyError(f"no section {key}") from None

    # -- collections --------------------------------------------------------------------------
    def collections_of(self, section: Section) -> list[Collection]:
        """A section's collections, by title (Plex's default order)."""
        found = [c for c in self.collections.values() if c.section is section]
        return sorted(found, key=lambda c: natural_key(c.title))

    def collection(self, rating_key: int | str) -> Collection:
        try:
            key = int(rating_key)
        except ValueError:
            raise KeyError(f"no collection {rating_key}") from None
        for found in self.collections.values():
            if found.rating_key == key:
                return found
        raise KeyError(f"no collection {rating_key}")

    def members(self, collection: Collection) -> list[Item]:
        """The movies or shows a collection holds, in the section's title order."""
        return [i for i in self.top_level(collection.section) if collection.title in i.collections]

    def ground_truth(self) -> dict[str, Any]:
        """Plain-data snapshot of the whole catalog (shape documented on `Simulator.ground_truth`)."""
        return truth.ground_truth(self)
