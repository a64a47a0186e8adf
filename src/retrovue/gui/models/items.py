"""`ItemsModel`: one library's items as a table that loads itself in batches as the view scrolls.

Modelled on Qt's fetchmore example: `rowCount` is what has been loaded, `canFetchMore` says whether
the catalog holds more rows for the current filter, and `fetchMore` reads the next batch. Everything
is read through the read API (`retrovue.catalog`), the same one the CLI and schedulers use: sorting,
the state filter and the search (case and accents ignored) happen in SQL, and batches follow each
other by key (`Page.next`), so a 100,000-item library is never loaded whole and a deep batch costs
what the first one does. The local path column is resolved on demand through this machine's
mappings (the catalog's resolver, cached until `forget_mappings`).

The loaded rows are kept by column (`Rows`: numbers in arrays, strings in lists), not as the read
API's `Item`s: Python's cycle collector then has a few lists to look at instead of one object per
row (with an `Item` each, a full pass over 100,000 rows took 130-160 ms of the GUI thread), and a
row costs a fifth of an `Item`. `ItemRow` is a row with names, built when asked for (the selected
item, tests); the item pane reads the full `Item`.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, overload

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from sqlalchemy import Engine

from retrovue.catalog import Catalog, Item, ItemQuery
from retrovue.catalog.query import search_query
from retrovue.gui import fmt
from retrovue.gui.reader import Reader
from retrovue.paths import Resolver
from retrovue.states import ItemState

__all__ = ["COLUMNS", "PATH_COLUMNS", "TV_COLUMNS", "ItemFilter", "ItemRow", "ItemsModel"]


@dataclass(frozen=True)
class ItemFilter:
    """What the table shows: one library, optionally one state and a search, in one order."""

    library_id: int
    state: str | None = None  # one of the five states, or None for all
    search: str = ""  # words of the title or show title, case and accents ignored
    show_id: int | None = None  # one show (the browser's show or season node)
    season_id: int | None = None
    sort: str = "show"  # a sort key of COLUMNS
    descending: bool = False

    def query(self) -> ItemQuery:
        """The read API's query; the search may narrow by what a scheduler knows (`genre:Comedy`,
        `rated:TV-G`, `decade:1990s`, `collection:"Saturday Morning"`: `search_query`)."""
        base = ItemQuery(
            library_id=self.library_id, show_id=self.show_id, season_id=self.season_id, state=self.state
        )
        return search_query(self.search, base)


# The read API's order behind each sortable column.
_API_SORT = {"episode": "show", "plex_path": "path"}

# (header, sort key or None when the column is not sortable in SQL)
COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("Title", "title"),
    ("State", "state"),
    ("Show", "show"),
    ("Episode", "episode"),
    ("Year", "year"),
    ("Duration", "duration"),
    ("Size", "size"),
    ("Last seen", "last_seen"),
    ("Plex path", "plex_path"),
    ("Local path", "plex_path"),  # resolved, not stored: sorted by the Plex path it comes from
)
(
    COL_TITLE,
    COL_STATE,
    COL_SHOW,
    COL_EPISODE,
    COL_YEAR,
    COL_DURATION,
    COL_SIZE,
    COL_SEEN,
    COL_PLEX,
    COL_LOCAL,
) = range(len(COLUMNS))
TV_COLUMNS = (COL_SHOW, COL_EPISODE)  # hidden for a movie library
PATH_COLUMNS = (COL_PLEX, COL_LOCAL)  # elided in the middle: the file name stays in view
ITEM_ID_ROLE = Qt.ItemDataRole.UserRole + 1

STATE_COLOURS = {
    ItemState.ACTIVE.value: QColor("#2e7d32"),
    ItemState.REMOTE_ONLY.value: QColor("#1565c0"),
    ItemState.UNAVAILABLE.value: QColor("#ef6c00"),
    ItemState.MISSING.value: QColor("#c62828"),
    ItemState.DELETED.value: QColor("#757575"),
}

Index = QModelIndex | QPersistentModelIndex
_DISPLAY = Qt.ItemDataRole.DisplayRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_ROLES = frozenset({_DISPLAY, _TOOLTIP, _FOREGROUND, Qt.ItemDataRole.TextAlignmentRole, ITEM_ID_ROLE})
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


@dataclass(frozen=True, slots=True)
class ItemRow:
    """A row of the table with names: what the table shows of an item, and its ids."""

    id: int
    server_id: int
    kind: str
    title: str
    state: str
    show_title: str | None
    show_rating_key: str | None
    season_index: int | None
    episode_index: int | None
    year: int | None
    duration_ms: int | None
    file_size: int | None
    last_seen_at: int
    file: str | None  # the first part's path on the Plex server


_NONE = -1  # None in an array of numbers that are never negative (a duration, a size)


def _split(path: str | None) -> tuple[str | None, str | None]:
    """A Plex path as (its folder with the separator, interned: a season's episodes share it; the
    file's name)."""
    if path is None:
        return None, None
    cut = max(path.rfind("/"), path.rfind("\\")) + 1
    return sys.intern(path[:cut]), path[cut:]


def _intern(value: str | None) -> str | None:
    return None if value is None else sys.intern(value)


class _Shared(dict[Any, Any]):
    """One object for each of the values many rows repeat (a year, a last-seen time)."""

    def __missing__(self, key: Any) -> Any:
        self[key] = key
        return key


class Rows(Sequence[ItemRow]):
    """The loaded rows, by column: numbers in arrays (8 bytes each, no object), strings in lists,
    the strings many rows repeat (state, kind, the show, a file's folder) shared, not copied — a
    100,000-row table holds each show's title once. A row is an `ItemRow` when asked for."""

    def __init__(self) -> None:
        self.ids = array("q")
        self.servers = array("q")
        self.durations = array("q")
        self.sizes = array("q")
        self.kinds: list[str] = []
        self.titles: list[str] = []
        self.states: list[str] = []
        self.shows: list[str | None] = []
        self.show_keys: list[str | None] = []
        self.seasons: list[int | None] = []
        self.episodes: list[int | None] = []
        self.years: list[int | None] = []
        self.seen: list[int] = []
        self.folders: list[str | None] = []
        self.names: list[str | None] = []

    def _columns(self) -> tuple[Any, ...]:
        return (
            self.ids, self.servers, self.durations, self.sizes, self.kinds, self.titles, self.states,
            self.shows, self.show_keys, self.seasons, self.episodes, self.years, self.seen,
            self.folders, self.names,
        )  # fmt: skip

    def add(self, item: Item, shared: _Shared) -> None:
        self.ids.append(item.id)
        self.servers.append(item.server_id)
        self.durations.append(_NONE if item.duration_ms is None else item.duration_ms)
        self.sizes.append(_NONE if item.file_size is None else item.file_size)
        self.kinds.append(sys.intern(item.kind))
        self.titles.append(item.title)
        self.states.append(sys.intern(item.state))
        self.shows.append(_intern(item.show_title))
        self.show_keys.append(_intern(item.show_rating_key))
        self.seasons.append(shared[item.season_index])
        self.episodes.append(shared[item.episode_index])
        self.years.append(shared[item.year])
        self.seen.append(shared[item.last_seen_at])
        folder, name = _split(item.file)
        self.folders.append(folder)
        self.names.append(name)

    def extend(self, other: Rows) -> None:
        for mine, theirs in zip(self._columns(), other._columns(), strict=True):
            mine.extend(theirs)

    def duration(self, n: int) -> int | None:
        value = self.durations[n]
        return None if value == _NONE else value

    def size(self, n: int) -> int | None:
        value = self.sizes[n]
        return None if value == _NONE else value

    def file(self, n: int) -> str | None:
        name = self.names[n]
        return None if name is None else (self.folders[n] or "") + name

    def __len__(self) -> int:
        return len(self.ids)

    def item(self, n: int) -> ItemRow:
        return ItemRow(
            self.ids[n], self.servers[n], self.kinds[n], self.titles[n], self.states[n], self.shows[n],
            self.show_keys[n], self.seasons[n], self.episodes[n], self.years[n], self.duration(n),
            self.size(n), self.seen[n], self.file(n),
        )  # fmt: skip

    @overload
    def __getitem__(self, index: int) -> ItemRow: ...
    @overload
    def __getitem__(self, index: slice) -> list[ItemRow]: ...
    def __getitem__(self, index: int | slice) -> ItemRow | list[ItemRow]:
        if isinstance(index, slice):
            return [self.item(n) for n in range(len(self))[index]]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        return self.item(index % len(self))

    def __iter__(self) -> Iterator[ItemRow]:
        return (self.item(n) for n in range(len(self)))


@dataclass(frozen=True, slots=True)
class Batch:
    """A page of rows as read, and the cursor of the next (None: the last)."""

    rows: Rows
    next: str | None


class ItemsModel(QAbstractTableModel):
    """The table's rows. Reads go through a `Reader` (off the GUI thread in the window; at once with
    `Reader(synchronous=True)`, the default here): a reset empties the table and the first batch
    arrives when read; `canFetchMore` is false while a batch is being read; an answer for a filter
    the user has since left is dropped. `loaded` fires after each answer (`reset_done` too, for a
    reset or a refresh that had to reset), so a view can put its selection back."""

    BATCH = 256
    loaded = Signal()
    refreshed = Signal(bool)  # a refresh's rows are in; True when the model had to be reset

    def __init__(
        self,
        engine: Engine,
        parent: Any = None,
        *,
        batch: int | None = None,
        catalog: Catalog | None = None,
        reader: Reader | None = None,
    ) -> None:
        super().__init__(parent)
        self.engine = engine
        self.catalog = catalog or Catalog(engine)
        self.reader = reader or Reader(self, synchronous=True)
        self.batch = batch or self.BATCH
        self.filter: ItemFilter | None = None
        self.order: tuple[str, bool] = ("show", False)  # the user's sort, kept across libraries
        self._rows = Rows()
        self._shared = _Shared()  # written on the reader's thread only
        self._total = 0
        self._next: str | None = None  # the read API's cursor for the next batch
        self._generation = 0  # bumped by every reset: answers for an older one are dropped
        self._loading = False
        self.queries = 0  # batches read, for tests and measurements
        self.error = ""  # the last read's failure, in one line
        self.refreshing = False  # True while a refresh resets the model (the view keeps its place)
        self._resolvers: dict[int, Resolver] = {}  # used on the GUI thread, filled from page answers
        self._loaded_resolvers: dict[int, Resolver] = {}  # written on the reader's thread

    # -- what is shown ------------------------------------------------------------------------
    @property
    def library_id(self) -> int | None:
        return self.filter.library_id if self.filter else None

    def set_library(
        self, library_id: int | None, *, show_id: int | None = None, season_id: int | None = None
    ) -> None:
        if library_id is None:
            self._reset(None)
            return
        base = self.filter or ItemFilter(library_id)
        sort, descending = self.order
        self._reset(
            replace(
                base,
                library_id=library_id,
                show_id=show_id,
                season_id=season_id,
                sort=sort,
                descending=descending,
            )
        )

    def set_state_filter(self, state: str | None) -> None:
        if self.filter is not None and self.filter.state != state:
            self._reset(replace(self.filter, state=state))

    def set_search(self, text: str) -> None:
        if self.filter is not None and self.filter.search != text:
            self._reset(replace(self.filter, search=text))

    @property
    def loading(self) -> bool:
        return self._loading

    @property
    def rows(self) -> Rows:
        """The rows loaded so far."""
        return self._rows

    def _read(
        self, f: ItemFilter, after: str | None, limit: int, with_total: bool
    ) -> tuple[int | None, Batch]:
        """On the reader's thread: (the count, when asked) and one page, its rows made compact, and
        this machine's resolver for each server in it loaded (so the table resolves local paths on
        the GUI thread from memory alone)."""
        total = sum(self.catalog.counts(f.query()).values()) if with_total else None
        page = self.catalog.items(
            f.query(),
            sort=_API_SORT.get(f.sort, f.sort),
            descending=f.descending,
            limit=limit,
            after=after,
        )
        for server_id in {item.server_id for item in page.rows} - self._resolvers.keys():
            self._loaded_resolvers[server_id] = self.catalog.resolver(server_id)
        rows, shared = Rows(), self._shared
        for item in page.rows:
            rows.add(item, shared)
        return total, Batch(rows, page.next)

    def _start(
        self, after: str | None, limit: int, with_total: bool, done: Callable[[int | None, Batch], None]
    ) -> None:
        f = self.filter
        if f is None:
            return
        generation = self._generation
        self._loading = True
        self.queries += 1

        def arrived(result: tuple[int | None, Batch]) -> None:
            self._loading = False
            self.error = ""
            self._resolvers.update(self._loaded_resolvers)
            done(*result)
            self.loaded.emit()

        def failed(message: str) -> None:
            self._loading = False
            self.error = message
            self.loaded.emit()

        self.reader.read(
            lambda: self._read(f, after, limit, with_total),
            arrived,
            failed,
            still_wanted=lambda: generation == self._generation,
        )

    def _reset(self, new: ItemFilter | None) -> None:
        self._generation += 1
        self._loading = False
        self.beginResetModel()
        self.filter = new
        self._rows = Rows()
        self._total = 0
        self._next = None
        self.endResetModel()
        if new is not None:
            self._start(None, self.batch, True, self._first)

    def _first(self, total: int | None, page: Batch) -> None:
        self._total = total or 0
        self._next = page.next
        self._insert(page.rows)

    def _insert(self, rows: Rows) -> None:
        if not rows:
            return
        start = len(self._rows)
        self.beginInsertRows(QModelIndex(), start, start + len(rows) - 1)
        self._rows.extend(rows)
        self.endInsertRows()

    def refresh(self, library_id: int | None = None) -> None:
        """Re-read from the catalog (after a sync, a mapping change), keeping filter, sort and as many
        rows as were loaded, so the view keeps its place. When the same items come back in the same
        order the rows are updated in place (`dataChanged`: the selection and scroll stay as they
        are); otherwise the model is reset and `refreshed(True)` tells the view to put its
        selection back by item id."""
        f = self.filter
        if f is None or (library_id is not None and library_id != f.library_id):
            return
        self.catalog.forget_mappings()
        self._generation += 1
        self._start(None, max(self.batch, len(self._rows)), True, self._refreshed)

    def _refreshed(self, total: int | None, page: Batch) -> None:
        rows = page.rows
        self._next = page.next
        if rows.ids == self._rows.ids:
            self._rows = rows
            self._total = total or 0
            if rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, len(COLUMNS) - 1))
            self.refreshed.emit(False)
            return
        self.refreshing = True
        try:
            self.beginResetModel()
            self._rows = rows
            self._total = total or 0
            self.endResetModel()
            self.refreshed.emit(True)
        finally:
            self.refreshing = False

    def row_of(self, item_id: int) -> int | None:
        """The row holding the item, among the loaded ones."""
        try:
            return self._rows.ids.index(item_id)
        except ValueError:
            return None

    @property
    def total(self) -> int:
        """Items matching the filter when it was set (loaded or not)."""
        return self._total

    # -- fetchmore ----------------------------------------------------------------------------
    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: N802
        return not parent.isValid() and self._next is not None and not self._loading

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: N802
        if parent.isValid() or self.filter is None or self._next is None or self._loading:
            return
        self._start(self._next, self.batch, False, self._more)

    def _more(self, _total: int | None, page: Batch) -> None:
        self._next = page.next
        self._insert(page.rows)

    # -- the table ----------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section][0] if 0 <= section < len(COLUMNS) else None
        return None

    def row(self, index: Index) -> ItemRow | None:
        n = self._row_at(index)
        return None if n is None else self._rows.item(n)

    def _row_at(self, index: Index) -> int | None:
        n = index.row()
        if not index.isValid() or not 0 <= n < len(self._rows):
            return None
        return n

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called for every visible cell and every role at each paint: the roles the table does
        # not use answer first, before any lookup.
        if role not in _ROLES:
            return None
        n = self._row_at(index)
        if n is None:
            return None
        col = index.column()
        if role in (_DISPLAY, _TOOLTIP):
            return self._text(n, col)
        if role == ITEM_ID_ROLE:
            return self._rows.ids[n]
        if role == _FOREGROUND:
            colour = STATE_COLOURS.get(self._rows.states[n]) if col == COL_STATE else None
            return QBrush(colour) if colour is not None else None
        if col in (COL_YEAR, COL_DURATION, COL_SIZE):  # the alignment role
            return _RIGHT
        return None

    def _text(self, n: int, col: int) -> str:
        rows = self._rows
        match col:
            case 0:
                return rows.titles[n]
            case 1:
                return rows.states[n]
            case 2:
                return rows.shows[n] or ""
            case 3:
                return fmt.episode(rows.seasons[n], rows.episodes[n])
            case 4:
                year = rows.years[n]
                return str(year) if year else ""
            case 5:
                return fmt.duration(rows.duration(n))
            case 6:
                return fmt.size(rows.size(n))
            case 7:
                return fmt.when(rows.seen[n])
            case 8:
                return rows.file(n) or ""
            case 9:
                return self._local(rows.servers[n], rows.file(n)) or ""
        return ""

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS):
            return
        key = COLUMNS[column][1]
        if key is None:
            return
        descending = order == Qt.SortOrder.DescendingOrder
        self.order = (key, descending)
        if self.filter is not None and (key, descending) != (self.filter.sort, self.filter.descending):
            self._reset(replace(self.filter, sort=key, descending=descending))

    # -- local paths, on demand -----------------------------------------------------------------
    def resolver(self, server_id: int) -> Resolver:
        return self.catalog.resolver(server_id)

    def local_path(self, item: ItemRow) -> str | None:
        """The first file's local path through this machine's mappings, resolved when the row is
        drawn from the resolver loaded with its page (memory only: never I/O on the GUI thread)."""
        return self._local(item.server_id, item.file)

    def _local(self, server_id: int, file: str | None) -> str | None:
        if file is None:
            return None
        resolver = self._resolvers.get(server_id)
        return resolver.resolve(file) if resolver is not None else None

    def forget_mappings(self) -> None:
        """Mappings changed: read the rows again, with the mappings loaded anew."""
        self.catalog.forget_mappings()
        self._resolvers.clear()
        self._loaded_resolvers.clear()
        self.refresh()
