"""`Catalog`: the one object readers hold (see the package docstring)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from types import TracebackType

from sqlalchemy import Engine

from retrovue import machine as machines
from retrovue.catalog import changes as _changes
from retrovue.catalog import items as _items
from retrovue.catalog import library as _library
from retrovue.catalog.model import (
    Change,
    Changes,
    Event,
    Item,
    ItemDetail,
    Library,
    Page,
    Part,
    Playable,
    Run,
    Season,
    Server,
    Show,
)
from retrovue.catalog.playable import playable_items
from retrovue.catalog.query import ItemQuery
from retrovue.catalog.runs import list_runs
from retrovue.errors import UnknownLibraryError
from retrovue.mapping import Resolvers
from retrovue.mapping.roots import ProbeFn, probe_root
from retrovue.paths import LocalOS, Resolver
from retrovue.store import registry
from retrovue.store.db import open_catalog

__all__ = ["Catalog"]

FIRST_PAGE = 100


class Catalog:
    """Read access to a catalog, for one machine profile (default: this process's, see
    `retrovue.machine`): its mappings resolve local paths, its verdicts say ACTIVE or REMOTE_ONLY.

    Cheap to make; holds no connection between calls (each call is one or a few short read
    transactions) and is safe to use from one thread at a time. `Catalog.open(url)` opens (and if
    needed upgrades) the catalog itself and disposes of it on `close()` or at the end of a `with`.
    """

    def __init__(
        self, engine: Engine, *, machine: str | None = None, local_os: LocalOS | None = None
    ) -> None:
        self.engine = engine
        self.machine = machines.validate(machine) if machine is not None else machines.current()
        self.local_os = local_os
        self._resolvers = self._fresh()  # for `resolver` / `local_path`, until `forget_mappings`
        self._owned = False

    def _fresh(self) -> Resolvers:
        """Resolvers reading the mappings as they are now: every listing call starts with these."""
        return Resolvers(self.engine, machine=self.machine, local_os=self.local_os)

    @classmethod
    def open(cls, url: str | None = None, *, machine: str | None = None) -> Catalog:
        """Open the catalog at `url` (default: `DB_URL`, else the SQLite file in the data directory)."""
        catalog = cls(open_catalog(url), machine=machine)
        catalog._owned = True
        return catalog

    def close(self) -> None:
        if self._owned:
            self.engine.dispose()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()

    # -- servers, libraries, shows, seasons ----------------------------------------------------

    def servers(self) -> list[Server]:
        return _library.list_servers(self.engine)

    def libraries(self, *, server_id: int | None = None, counts: bool = True) -> list[Library]:
        """Libraries by server then title, each with `counts` by state for this machine (a scan of
        the items: `counts=False` leaves them empty when only the libraries are wanted)."""
        return _library.list_libraries(self.engine, self.machine, server_id=server_id, counts=counts)

    def library(self, spec: str | int, *, server: str | None = None) -> Library:
        """One library by title, id or (with `server`) section key; UnknownLibraryError otherwise."""
        with self.engine.connect() as conn:
            found = registry.get_library(conn, str(spec), server=server)
        for lib in self.libraries(server_id=found.server_id):
            if lib.id == found.id:
                return lib
        raise UnknownLibraryError(f"no library {spec!r}")  # pragma: no cover - removed meanwhile

    def counts(self, query: ItemQuery | None = None) -> dict[str, int]:
        """Items matching `query` per state, every one of the five states a key."""
        return _library.count_states(self.engine, self.machine, query or ItemQuery())

    def counts_by(self, query: ItemQuery | None = None, *, by: str = "show") -> dict[str, dict[str, int]]:
        """Items matching `query` counted by state per show (`by="show"`) or season (`"season"`),
        keyed by the show's or season's Plex rating key (`Show.rating_key`, `Season.rating_key`)."""
        return _library.count_states_by(self.engine, self.machine, query or ItemQuery(), by)

    def runs(self, *, library_id: int | None = None, limit: int = 50) -> list[Run]:
        """Sync runs, newest first (of one library, or of all)."""
        return list_runs(self.engine, library_id=library_id, limit=limit)

    def last_runs(self) -> dict[int, Run]:
        """Each library's last run, by library id (libraries never synced are absent)."""
        return {run.library_id: run for run in list_runs(self.engine, latest_per_library=True)}

    def shows(
        self,
        *,
        library_id: int | None = None,
        text: str | None = None,
        state: str | None = None,
        sort: str = "title",
        descending: bool = False,
        limit: int = 100,
        after: str | None = None,
    ) -> Page[Show]:
        """A page of shows (`sort`: title, year, added or id); `state` is Plex's (ACTIVE, MISSING…)."""
        return _library.show_page(
            self.engine,
            library_id=library_id,
            text=text,
            state=state,
            sort=sort,
            descending=descending,
            limit=limit,
            after=after,
        )

    def show(self, show_id: int) -> Show | None:
        return _library.load_show(self.engine, show_id)

    def seasons(self, show_id: int) -> list[Season]:
        return _library.list_seasons(self.engine, show_id)

    # -- items ------------------------------------------------------------------------------------

    def items(
        self,
        query: ItemQuery | None = None,
        *,
        sort: str = "show",
        descending: bool = False,
        limit: int = 100,
        after: str | None = None,
        local_paths: bool = False,
    ) -> Page[Item]:
        """One page of items matching `query`, in `sort` order; pass `page.next` as `after`.

        Sorts: show (show, season, episode; movies by title), title, year, added, duration, size,
        state, last_seen, path, id. `local_paths` fills `Item.local_paths` (resolved through this
        machine's mappings as they are now, not checked on disk).
        """
        page = _items.item_page(
            self.engine,
            self.machine,
            self._fresh(),
            query or ItemQuery(),
            sort=sort,
            descending=descending,
            limit=limit,
            after=after,
            local_paths=local_paths,
        )
        return page

    def iter_items(
        self,
        query: ItemQuery | None = None,
        *,
        sort: str = "show",
        descending: bool = False,
        page_size: int = 1000,
        local_paths: bool = False,
    ) -> Iterator[Item]:
        """Every item matching `query`, streamed a page at a time (memory stays flat); the first
        page is small, so the first items arrive at once."""
        after: str | None = None
        resolvers = self._fresh()
        limit = min(page_size, FIRST_PAGE)
        while True:
            page = _items.item_page(
                self.engine,
                self.machine,
                resolvers,
                query or ItemQuery(),
                sort=sort,
                descending=descending,
                limit=limit,
                after=after,
                local_paths=local_paths,
            )
            limit = page_size
            resolvers.invalidate()  # bound memory: answers are cached for one page
            yield from page.rows
            if page.next is None:
                return
            after = page.next

    def episodes(
        self, show_id: int, *, season_index: int | None = None, state: str | None = None
    ) -> Iterator[Item]:
        """A show's episodes in season and episode order."""
        query = ItemQuery(show_id=show_id, season_index=season_index, state=state, kind="episode")
        return self.iter_items(query, sort="show")

    def movies(self, *, library_id: int | None = None, state: str | None = None) -> Iterator[Item]:
        """Movies by title."""
        return self.iter_items(ItemQuery(library_id=library_id, state=state, kind="movie"), sort="title")

    def item(self, item_id: int) -> Item | None:
        return _items.load_item(self.engine, self.machine, item_id)

    def parts(self, item: Item) -> tuple[Part, ...]:
        """An item's files (every version), with their local paths here and their streams."""
        return _items.load_parts(self.engine, self._fresh(), item.id, item.server_id)

    def history(self, item_id: int, *, limit: int = 200) -> tuple[Event, ...]:
        """An item's history, newest first: Plex's state changes, local verdicts, re-keys."""
        return _items.load_history(self.engine, item_id, limit)

    def detail(self, item_id: int, *, history: int = 200) -> ItemDetail | None:
        found = self.item(item_id)
        if found is None:
            return None
        return ItemDetail(found, self.parts(found), self.history(item_id, limit=history))

    # -- local files ------------------------------------------------------------------------------

    def resolver(self, server_id: int) -> Resolver:
        """This machine's resolver for a server, cached for fast repeated look-ups (a table's local
        path column): call `forget_mappings()` after mappings change. Listings never use the cache."""
        return self._resolvers(server_id)

    def forget_mappings(self) -> None:
        self._resolvers.forget()

    def local_path(self, item: Item) -> str | None:
        """The first part's local path through this machine's mappings (not checked on disk)."""
        return self.resolver(item.server_id).resolve(item.file) if item.file else None

    def playable(
        self,
        query: ItemQuery | None = None,
        *,
        sort: str = "id",
        descending: bool = False,
        page_size: int = 2000,
        check_files: bool | None = None,
        timeout: float = 2.0,
        max_workers: int = 8,
        stat: Callable[[str], object] = os.stat,
        probe: ProbeFn = probe_root,
    ) -> Iterator[Playable]:
        """Items that play from local files here now, with the files to play (see `playable.py`).

        `query.state` is ignored: only items Plex can play are considered, and they are checked on
        disk (unless the server's `check_local_files` is off, or `check_files=False`).
        """
        return playable_items(
            self.engine,
            self.machine,
            self._fresh(),
            query or ItemQuery(),
            sort=sort,
            descending=descending,
            page_size=page_size,
            check_files=check_files,
            timeout=timeout,
            max_workers=max_workers,
            stat=stat,
            probe=probe,
        )

    # -- the change feed ---------------------------------------------------------------------------

    def changes(
        self, since: str | None = None, *, library_id: int | None = None, limit: int = 1000
    ) -> Changes:
        """What changed since the cursor `since` (None: everything the feed holds), oldest first,
        at most `limit` entries, and the cursor to pass next time (`Changes.more`: there is more
        now). Cursors are positions in the catalog: they survive restarts and work on every backend.

        An item that changed several times appears several times. Raises `CursorExpiredError`
        when `since` is older than the feed keeps (`retrovue purge` prunes entries older than
        `retrovue.store.feed.FEED_DAYS` days): re-read, then follow the feed from `cursor()`.
        """
        return _changes.read_changes(self.engine, self.machine, since, library_id=library_id, limit=limit)

    def iter_changes(
        self, since: str | None = None, *, until: str | None = None, library_id: int | None = None
    ) -> Iterator[Change]:
        """Every change after `since` up to `until` (default: the end of the feed now), streamed."""
        end = until if until is not None else self.cursor()
        return _changes.iter_changes(self.engine, self.machine, since, end, library_id=library_id)

    def cursor(self) -> str:
        """The feed's end now. Take it *before* a full read of the catalog, then follow `changes`
        from it: nothing that changes during the read is missed."""
        return _changes.head(self.engine)
