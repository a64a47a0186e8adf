"""`ItemsModel`: one library's items as a table that loads itself in batches as the view scrolls.

Modelled on Qt's fetchmore example: `rowCount` is what has been loaded, `canFetchMore` says whether
the catalog holds more rows for the current filter, and `fetchMore` reads the next batch. Everything
is read through the read API (`retrovue.catalog`), the same one the CLI and schedulers use: sorting,
the state filter and the search (case and accents ignored) happen in SQL, and batches follow each
other by key (`Page.next`), so a 100,000-item library is never loaded whole and a deep batch costs
what the first one does. The local path column is resolved on demand through this machine's
mappings (the catalog's resolver, cached until `forget_mappings`).

A loaded row is a plain tuple of the strings and numbers the table shows (`Row`), not the read
API's `Item`: Python's cycle collector stops tracking a tuple that holds no containers, so its full
passes do not walk the 100,000 rows of a scrolled library (with an `Item` each, such a pass took
130-160 ms of the GUI thread), and a row is a third of an `Item`'s size. `ItemRow` is the same row
with names, built when asked for (the selected item, tests); the item pane reads the full `Item`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, overload

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from sqlalchemy import Engine

from retrovue.catalog import Catalog, Item, ItemQuery, Page
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


# A loaded row: (id, server id, kind, title, state, show title, show key, season, episode, year,
# duration ms, size, last seen, the file's folder, the file's name) — strings and numbers only.
Row = tuple[
    int, int, str, str, str, str | None, str | None, int | None, int | None, int | None,
    int | None, int | None, int, str | None, str | None,
]  # fmt: skip
R_ID: Final = 0
R_SERVER: Final = 1
R_KIND: Final = 2
R_TITLE: Final = 3
R_STATE: Final = 4
R_SHOW: Final = 5
R_SHOW_KEY: Final = 6
R_SEASON: Final = 7
R_EPISODE: Final = 8
R_YEAR: Final = 9
R_DURATION: Final = 10
R_SIZE: Final = 11
R_SEEN: Final = 12
R_DIR: Final = 13
R_NAME: Final = 14


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

    @classmethod
    def of(cls, row: Row) -> ItemRow:
        return cls(*row[:R_DIR], _file(row))


def _file(row: Row) -> str | None:
    folder, name = row[R_DIR], row[R_NAME]
    return None if name is None else (folder or "") + name


def _split(path: str | None) -> tuple[str | None, str | None]:
    """A Plex path as (its folder with the separator, interned: a season's episodes share it; the
    file's name)."""
    if path is None:
        return None, None
    cut = max(path.rfind("/"), path.rfind("\\")) + 1
    return sys.intern(path[:cut]), path[cut:]


class _Shared(dict[Any, Any]):
    """One object for each of the values many rows repeat (a year, a last-seen time)."""

    def __missing__(self, key: Any) -> Any:
        self[key] = key
        return key


def _row(item: Item, shared: _Shared) -> Row:
    """The table's row of an item, the strings many rows repeat (state, kind, the show, the folder)
    shared, not copied: a 100,000-row table holds each show's title once."""
    show = item.show_title
    show_key = item.show_rating_key
    return (
        item.id,
        item.server_id,
        sys.intern(item.kind),
        item.title,
        sys.intern(item.state),
        sys.intern(show) if show is not None else None,
        sys.intern(show_key) if show_key is not None else None,
        item.season_index,
        item.episode_index,
        shared[item.year],
        item.duration_ms,
        item.file_size,
        shared[item.last_seen_at],
        *_split(item.file),
    )


class Rows(Sequence[ItemRow]):
    """The loaded rows, each as an `ItemRow` when asked for."""

    def __init__(self, rows: list[Row]) -> None:
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> ItemRow: ...
    @overload
    def __getitem__(self, index: slice) -> list[ItemRow]: ...
    def __getitem__(self, index: int | slice) -> ItemRow | list[ItemRow]:
        if isinstance(index, slice):
            return [ItemRow.of(r) for r in self._rows[index]]
        return ItemRow.of(self._rows[index])

    def __iter__(self) -> Iterator[ItemRow]:
        return (ItemRow.of(r) for r in self._rows)


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
        self._rows: list[Row] = []
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
        return Rows(self._rows)

    def _read(
        self, f: ItemFilter, after: str | None, limit: int, with_total: bool
    ) -> tuple[int | None, Page[Row]]:
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
        shared = self._shared
        return total, Page([_row(item, shared) for item in page.rows], page.next)

    def _start(
        self, after: str | None, limit: int, with_total: bool, done: Callable[[int | None, Page[Row]], None]
    ) -> None:
        f = self.filter
        if f is None:
            return
        generation = self._generation
        self._loading = True
        self.queries += 1

        def arrived(result: tuple[int | None, Page[Row]]) -> None:
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
        self._rows = []
        self._total = 0
        self._next = None
        self.endResetModel()
        if new is not None:
            self._start(None, self.batch, True, self._first)

    def _first(self, total: int | None, page: Page[Row]) -> None:
        self._total = total or 0
        self._next = page.next
        self._insert(page.rows)

    def _insert(self, rows: list[Row]) -> None:
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

    def _refreshed(self, total: int | None, page: Page[Row]) -> None:
        rows = page.rows
        self._next = page.next
        if [r[R_ID] for r in rows] == [r[R_ID] for r in self._rows]:
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
        for n, row in enumerate(self._rows):
            if row[R_ID] == item_id:
                return n
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

    def _more(self, _total: int | None, page: Page[Row]) -> None:
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
        found = self._row_at(index)
        return None if found is None else ItemRow.of(found)

    def _row_at(self, index: Index) -> Row | None:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        return self._rows[index.row()]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called for every visible cell and every role at each paint: the roles the table does
        # not use answer first, before any lookup.
        if role not in _ROLES:
            return None
        row = self._row_at(index)
        if row is None:
            return None
        col = index.column()
        if role in (_DISPLAY, _TOOLTIP):
            return self._text(row, col)
        if role == ITEM_ID_ROLE:
            return row[R_ID]
        if role == _FOREGROUND:
            colour = STATE_COLOURS.get(row[R_STATE]) if col == COL_STATE else None
            return QBrush(colour) if colour is not None else None
        if col in (COL_YEAR, COL_DURATION, COL_SIZE):  # the alignment role
            return _RIGHT
        return None

    def _text(self, row: Row, col: int) -> str:
        match col:
            case 0:
                return row[R_TITLE]
            case 1:
                return row[R_STATE]
            case 2:
                return row[R_SHOW] or ""
            case 3:
                return fmt.episode(row[R_SEASON], row[R_EPISODE])
            case 4:
                return str(row[R_YEAR]) if row[R_YEAR] else ""
            case 5:
                return fmt.duration(row[R_DURATION])
            case 6:
                return fmt.size(row[R_SIZE])
            case 7:
                return fmt.when(row[R_SEEN])
            case 8:
                return _file(row) or ""
            case 9:
                return self._local(row[R_SERVER], _file(row)) or ""
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
