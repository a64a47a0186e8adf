"""Changing the simulated library the ways a real Plex server changes, as tests and control routes ask.

Why it exists: the simulator's point is to change under a client (items added, removed, edited,
re-matched, moved; files replaced, moved, missing; sections offline; collections edited), each
change moving exactly the timestamps, keys and counters real Plex moves, and returning the
`Change` records the caller turns into notifications. That is one job, apart from generating a
library (`generate`) and answering questions about it (`catalog`). `Mutations` is a mixin that
`Catalog` inherits, so every call site stays `catalog.add_movie(...)`; it builds on `Generation`
because adding an item generates it with the same code the seed uses.

Time is virtual: `tick` moves `now` forward on every mutation, so a seed replays exactly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from retrovue.sim.generate import Generation, natural_key, title_sort
from retrovue.sim.model import (
    STATE_CREATED,
    STATE_DELETED,
    STATE_PROCESSED,
    Change,
    Collection,
    Item,
    Section,
)

__all__ = ["Mutations"]


class Mutations(Generation):
    """Mixin: the clock and every mutation of the catalog (see the module docstring)."""

    # The state mutations read and change besides `Generation`'s; `Catalog.__init__` creates it.
    version: int
    collections: dict[tuple[int, str], Collection]
    _next_collection: int

    if TYPE_CHECKING:  # look-ups `Catalog` defines

        def item(self, rating_key: int | str) -> Item: ...

        def section(self, key: int | str) -> Section: ...

    # -- clock --------------------------------------------------------------------------------
    def tick(self, seconds: int | None = None) -> int:
        """Advance virtual time (by a small deterministic step unless told) and return it."""
        self.now += seconds if seconds is not None else 1 + self.rng.randrange(30)
        return self.now

    def touch(self) -> None:
        self.version += 1

    # -- mutations ----------------------------------------------------------------------------
    def _content_changed(self, section: Section) -> None:
        section.content_changed_at += 1 + self.rng.randrange(1 << 16)
        section.scanned_at = self.now
        self.touch()

    def _bump_parents(self, item: Item) -> None:
        if not self.config.parent_updated_at_follows_children:
            return
        parent = item.parent
        while parent is not None:
            parent.updated_at = self.now
            parent = parent.parent

    def _changes(self, items: list[Item], state: int) -> list[Change]:
        return [
            Change(i.section.key, i.rating_key, i.type_number, i.title, state, i.updated_at or i.added_at)
            for i in items
        ]

    def _default_section(self, kind: str) -> Section:
        for section in self.sections.values():
            if section.kind == kind:
                return section
        raise KeyError(f"no {kind} section")

    def add_show(
        self,
        title: str | None = None,
        *,
        seasons: int = 1,
        episodes: int = 3,
        year: int | None = None,
        section_key: int | None = None,
        hidden_seasons: bool = False,
        specials: bool = False,
    ) -> tuple[Item, list[Change]]:
        section = self.section(section_key) if section_key is not None else self._default_section("show")
        self.tick()
        show = self._new_show(
            section,
            title,
            year,
            seasons,
            episodes,
            specials=specials,
            hidden=hidden_seasons,
            added_at=self.now,
        )
        for leaf in show.leaves():
            leaf.added_at = self.now
        self._content_changed(section)
        new = [show, *show.children, *show.leaves()]
        return show, self._changes(new, STATE_CREATED) + self._changes(new, STATE_PROCESSED)

    def add_season(
        self, show_rk: int | str, index: int | None = None, episodes: int = 3
    ) -> tuple[Item, list[Change]]:
        show = self._expect(show_rk, "show")
        if index is None:
            index = max((s.index or 0 for s in show.children), default=0) + 1
        if any(s.index == index for s in show.children):
            raise ValueError(f"show {show.rating_key} already has season {index}")
        self.tick()
        season = self._new_season(show, index, 0)
        season.added_at = self.now
        for ep_index in range(1, episodes + 1):
            self._new_episode(season, ep_index, None, added_at=self.now)
        self._bump_parents(season)
        self._content_changed(show.section)
        new = [season, *season.children]
        return season, self._changes(new, STATE_CREATED) + self._changes(new, STATE_PROCESSED)

    def add_episode(
        self,
        parent_rk: int | str,
        *,
        index: int | None = None,
        title: str | None = None,
        season_index: int | None = None,
    ) -> tuple[Item, list[Change]]:
        """Add an episode to a season, or to a show's season `season_index` (created if needed;
        default: the show's last season)."""
        parent = self.item(parent_rk)
        created: list[Item] = []
        self.tick()
        if parent.kind == "show":
            if season_index is None:
                season_index = max((s.index or 0 for s in parent.children), default=1)
            season = next((s for s in parent.children if s.index == season_index), None)
            if season is None:
                season = self._new_season(parent, season_index, 0)
                season.added_at = self.now
                created.append(season)
        elif parent.kind == "season":
            season = parent
        else:
            raise ValueError(f"cannot add an episode under a {parent.kind}")
        if index is None:
            index = max((e.index or 0 for e in season.children), default=0) + 1
        ep = self._new_episode(season, index, title, added_at=self.now)
        ep.updated_at = self.now
        created.append(ep)
        self._bump_parents(ep)
        self._content_changed(season.section)
        return ep, self._changes(created, STATE_CREATED) + self._changes(created, STATE_PROCESSED)

    def add_movie(
        self,
        title: str | None = None,
        *,
        year: int | None = None,
        parts: int = 1,
        versions: int = 1,
        section_key: int | None = None,
    ) -> tuple[Item, list[Change]]:
        section = self.section(section_key) if section_key is not None else self._default_section("movie")
        self.tick()
        saved = self.config.no_media_fraction
        self.config.no_media_fraction = 0.0  # an added movie always has its file
        try:
            movie = self._new_movie(section, title, year, parts=parts, versions=versions, added_at=self.now)
        finally:
            self.config.no_media_fraction = saved
        for part in movie.parts():
            part.accessible = part.exists = True
        self._content_changed(section)
        return movie, self._changes([movie], STATE_CREATED) + self._changes([movie], STATE_PROCESSED)

    def _expect(self, rating_key: int | str, *kinds: str) -> Item:
        item = self.item(rating_key)
        if kinds and item.kind not in kinds:
            raise ValueError(f"item {rating_key} is a {item.kind}, expected {' or '.join(kinds)}")
        return item

    def _unregister(self, item: Item) -> list[Item]:
        gone = [item]
        for child in list(item.children):
            gone.extend(self._unregister(child))
        self.by_rk.pop(item.rating_key, None)
        for media in item.media:
            for part in media.parts:
                self.parts_by_id.pop(part.id, None)
        return gone

    def _detach(self, item: Item) -> list[Item]:
        """Remove `item` from its parent (or section); returns parents removed as emptied."""
        removed: list[Item] = []
        parent = item.parent
        if parent is None:
            item.section.items.remove(item)
            return removed
        parent.children.remove(item)
        if not parent.children and self.config.remove_empty_parents:
            removed.extend(self._unregister(parent))
            removed.extend(self._detach(parent))
        return removed

    def remove(self, rating_key: int | str) -> list[Change]:
        item = self.item(rating_key)
        self.tick()
        gone = self._unregister(item)
        gone.extend(self._detach(item))
        self._bump_parents(item)
        for name in item.collections:  # its collections' childCount moves (an emptied one goes)
            if not any(name in i.collections for i in item.section.items):
                self.collections.pop((item.section.key, name), None)
        self._content_changed(item.section)
        return self._changes(gone, STATE_DELETED)

    _EDITABLE = frozenset(
        {
            "title",
            "title_sort",
            "year",
            "summary",
            "originally_available_at",
            "content_rating",
            "studio",
            "genres",
            "labels",
            "collections",
        }
    )

    def edit(self, rating_key: int | str, **fields: Any) -> list[Change]:
        """Edit metadata fields (title, title_sort, year, summary, originally_available_at,
        content_rating, studio, genres, labels, collections); the item gets a new `updatedAt`
        (collections so edited: the item's own Collection tags, as Plex's item editor does; the
        collections it joins or leaves get a new `updatedAt` too)."""
        item = self.item(rating_key)
        unknown = set(fields) - self._EDITABLE
        if unknown:
            raise ValueError(f"cannot edit {', '.join(sorted(unknown))}")
        self.tick()
        if "collections" in fields:
            fields["collections"] = tuple(fields["collections"])
            touched = set(item.collections) ^ set(fields["collections"])
            item.collections = fields["collections"]
            self._touch_collections(item.section, tuple(sorted(touched)))
        for name, value in fields.items():
            setattr(item, name, value)
        if "title" in fields and "title_sort" not in fields:
            item.title_sort = title_sort(item.title)
        item.sort_key = natural_key(item.title_sort or item.title)
        item.updated_at = self.now
        self._bump_parents(item)
        self._content_changed(item.section)
        return self._changes([item], STATE_PROCESSED)

    def set_collections(self, rating_key: int | str, collections: tuple[str, ...]) -> list[Change]:
        """Put a movie or show in these collections (and out of the others). Plex keeps a collection
        as its own object: the item's `updatedAt` does not move (`collection_edit_moves_updated_at`),
        the section's contentChangedAt does."""
        item = self.item(rating_key)
        self.tick()
        touched = set(item.collections) ^ set(collections)
        item.collections = tuple(collections)
        self._touch_collections(item.section, tuple(sorted(touched)))
        if self.config.collection_edit_moves_updated_at:
            item.updated_at = self.now
        self._content_changed(item.section)
        return self._changes([item], STATE_PROCESSED)

    # -- collections -------------------------------------------------------------------------
    def _touch_collections(self, section: Section, names: tuple[str, ...]) -> None:
        """The named collections of `section` changed members now: new ones are created, the rest
        get a new `updatedAt`, an emptied one is gone."""
        for name in names:
            found = self.collections.get((section.key, name))
            if not any(name in i.collections for i in section.items):
                self.collections.pop((section.key, name), None)
            elif found is None:
                self._next_collection += 1
                self.collections[(section.key, name)] = Collection(
                    self._next_collection, section, name, self.now, self.now
                )
            else:
                found.updated_at = self.now
        self.touch()

    def replace_file(
        self,
        rating_key: int | str,
        *,
        size: int | None = None,
        part_id: int | None = None,
        silent: bool = False,
    ) -> list[Change]:
        """The file behind an item is replaced: new size and Part changestamp; `updatedAt` kept.

        `silent` leaves the section's `contentChangedAt` alone too: whether every Plex version moves
        it for a replaced file is not established, and a client must not depend on it.
        """
        item = self.item(rating_key)
        parts = [p for p in item.parts() if part_id is None or p.id == part_id]
        if not parts:
            raise ValueError(f"item {rating_key} has no part to replace")
        self.tick()
        for part in parts:
            part.size = size if size is not None else part.size + 1 + self.rng.randrange(1 << 24)
            part.changestamp = self.now
            part.accessible = part.exists = True
        if not silent:
            self._content_changed(item.section)
        return self._changes([item], STATE_PROCESSED)

    def rematch(self, rating_key: int | str, *, new_guid: bool = True) -> tuple[Item, list[Change]]:
        """Same file(s), new rating key (and by default a new guid), as after a Plex re-match."""
        item = self.item(rating_key)
        self.tick()
        old = Change(item.section.key, item.rating_key, item.type_number, item.title, STATE_DELETED, self.now)
        del self.by_rk[item.rating_key]
        item.rating_key = self._rk()
        if new_guid:
            item.guid = self._plex_guid(item.kind)
        if not self.config.rematch_keeps_part_ids:
            for media in item.media:
                media.id = self._media_id()
                for part in media.parts:
                    self.parts_by_id.pop(part.id, None)
                    part.id = self._part_id()
        item.added_at = self.now
        item.updated_at = self.now
        self._register(item)
        if item.parent is not None:
            item.parent.children.sort(key=lambda c: (c.index or 0, c.rating_key))
        self._content_changed(item.section)
        return item, [old, *self._changes([item], STATE_CREATED), *self._changes([item], STATE_PROCESSED)]

    def move_episode(
        self,
        rating_key: int | str,
        *,
        show_rk: int | str | None = None,
        season_index: int | None = None,
        index: int | None = None,
        move_file: bool = True,
    ) -> list[Change]:
        """Move an episode to another season (of its show, or of `show_rk`); the season is created
        if needed and an emptied season is removed. With `move_file` its file moves with it."""
        ep = self._expect(rating_key, "episode")
        old_season = ep.parent
        assert old_season is not None
        show = self._expect(show_rk, "show") if show_rk is not None else old_season.parent
        assert show is not None
        target_index = season_index if season_index is not None else old_season.index
        self.tick()
        changes: list[Change] = []
        season = next((s for s in show.children if s.index == target_index), None)
        if season is None:
            season = self._new_season(show, target_index or 0, 0)
            season.added_at = self.now
            changes += self._changes([season], STATE_CREATED)
        gone = self._detach(ep) if season is not old_season else []
        for g in gone:
            self.by_rk.pop(g.rating_key, None)
        changes += self._changes(gone, STATE_DELETED)
        if index is not None:
            ep.index = index
        if season is not old_season:
            self._insert_child(season, ep)
        else:
            season.children.sort(key=lambda c: (c.index or 0, c.rating_key))
        ep.section = show.section
        ep.updated_at = self.now
        if move_file:
            new_base = self._episode_path(season, ep.index or 0, ep.title)
            for media in ep.media:
                for n, part in enumerate(media.parts):
                    suffix = f" - cd{n + 1}" if len(media.parts) > 1 else ""
                    part.file = f"{new_base}{suffix}.{part.container}"
        self._content_changed(show.section)
        if old_season.section is not show.section:
            self._content_changed(old_season.section)
        return changes + self._changes([ep], STATE_PROCESSED)

    def move_file(self, part_id: int, new_path: str) -> list[Change]:
        """A file moves to another path (same item, same part id; the changestamp moves)."""
        try:
            part, item = self.parts_by_id[int(part_id)]
        except KeyError:
            raise KeyError(f"no part {part_id}") from None
        self.tick()
        part.file = new_path
        part.changestamp = self.now
        self._content_changed(item.section)
        return self._changes([item], STATE_PROCESSED)

    def set_unavailable(
        self, rating_key: int | str | None = None, *, part_id: int | None = None, unavailable: bool = True
    ) -> list[Change]:
        """Mark every part under an item (show, season, episode, movie), or one part, as missing
        (`accessible`/`exists` false under `checkFiles=1`), or available again."""
        if part_id is not None:
            try:
                part, item = self.parts_by_id[int(part_id)]
            except KeyError:
                raise KeyError(f"no part {part_id}") from None
            parts, items, section = [part], [item], item.section
        elif rating_key is not None:
            root = self.item(rating_key)
            parts = list(root.parts())
            items = list(root.leaves())
            section = root.section
        else:
            raise ValueError("give a rating key or a part id")
        self.tick()
        for part in parts:
            part.accessible = part.exists = not unavailable
        self._content_changed(section)
        return self._changes(items, STATE_PROCESSED)

    def set_section_offline(self, key: int | str, offline: bool = True) -> list[Change]:
        section = self.section(key)
        if section.offline == offline:
            return []
        self.tick()
        section.offline = offline
        self._content_changed(section)
        return []

    def set_hidden_seasons(self, show_rk: int | str, hidden: bool = True) -> list[Change]:
        show = self._expect(show_rk, "show")
        self.tick()
        show.hidden_seasons = hidden
        self.touch()
        return self._changes([show], STATE_PROCESSED)
