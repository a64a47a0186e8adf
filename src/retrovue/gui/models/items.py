"""`ItemsModel`: one library's items as a table that loads itself in batches as the view scrolls.

Modelled on Qt's fetchmore example: `rowCount` is what has been loaded, `canFetchMore` says whether
the catalog holds more rows for the current filter, and `fetchMore` reads the next batch. Everything
is read through the read API (`retrovue.catalog`), the same one the CLI and schedulers use: sorting,
the state filter and the search (case and accents ignored) happen in SQL, and batches follow each
other by key (`Page.next`), so a 100,000-item library is never loaded whole and a deep batch costs
what the first one does. The local path column is resolved on demand through this machine's
mappings (the catalog's resolver, cached until `forget_mappings`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from sqlalchemy import Engine

from retrovue.catalog import Catalog, Item, ItemQuery, Page
from retrovue.catalog.query import search_query
from retrovue.gui import fmt
from retrovue.gui.reader import Reader
from retrovue.paths import Resolver
from retrovue.states import ItemState

__all__ = ["COLUMNS", "PATH_COLUMNS", "TV_COLUMNS", "ItemFilter", "ItemsModel"]


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


_SHARED = ("kind", "state", "plex_state", "show_title", "show_rating_key", "season_rating_key")


def _compact(item: Item) -> Item:
    """The row with the strings many rows repeat (state, kind, the show) shared, not copied: a
    100,000-row table holds each show's title once. The row was just read and is not shared yet;
    an equal string takes the place of each (a frozen row is rebuilt by no one: `replace` would
    cost ~100 µs a row)."""
    for name in _SHARED:
        value = getattr(item, name)
        if isinstance(value, str):
            object.__setattr__(item, name, sys.intern(value))
    return item


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
        self.rows: list[Item] = []
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

    def _read(
        self, f: ItemFilter, after: str | None, limit: int, with_total: bool
    ) -> tuple[int | None, Page[Item]]:
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
        return total, Page([_compact(item) for item in page.rows], page.next)

    def _start(
        self, after: str | None, limit: int, with_total: bool, done: Callable[[int | None, Page[Item]], None]
    ) -> None:
        f = self.filter
        if f is None:
            return
        generation = self._generation
        self._loading = True
        self.queries += 1

        def arrived(result: tuple[int | None, Page[Item]]) -> None:
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
        self.rows = []
        self._total = 0
        self._next = None
        self.endResetModel()
        if new is not None:
            self._start(None, self.batch, True, self._first)

    def _first(self, total: int | None, page: Page[Item]) -> None:
        self._total = total or 0
        self._next = page.next
        self._insert(page.rows)

    def _insert(self, rows: list[Item]) -> None:
        if not rows:
            return
        start = len(self.rows)
        self.beginInsertRows(QModelIndex(), start, start + len(rows) - 1)
        self.rows.extend(rows)
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
        self._start(None, max(self.batch, len(self.rows)), True, self._refreshed)

    def _refreshed(self, total: int | None, page: Page[Item]) -> None:
        rows = page.rows
        self._next = page.next
        if [r.id for r in rows] == [r.id for r in self.rows]:
            self.rows = rows
            self._total = total or 0
            if rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, len(COLUMNS) - 1))
            self.refreshed.emit(False)
            return
        self.refreshing = True
        try:
            self.beginResetModel()
            self.rows = rows
            self._total = total or 0
            self.endResetModel()
            self.refreshed.emit(True)
        finally:
            self.refreshing = False

    def row_of(self, item_id: int) -> int | None:
        """The row holding the item, among the loaded ones."""
        for n, item in enumerate(self.rows):
            if item.id == item_id:
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

    def _more(self, _total: int | None, page: Page[Item]) -> None:
        self._next = page.next
        self._insert(page.rows)

    # -- the table ----------------------------------------------------------------------------
    @property
    def _loaded(self) -> int:
        return len(self.rows)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section][0] if 0 <= section < len(COLUMNS) else None
        return None

    def row(self, index: Index) -> Item | None:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        return self.rows[index.row()]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called for every visible cell and every role at each paint: the roles the table does
        # not use answer first, before any lookup.
        if role not in _ROLES:
            return None
        item = self.row(index)
        if item is None:
            return None
        col = index.column()
        if role in (_DISPLAY, _TOOLTIP):
            return self._text(item, col)
        if role == ITEM_ID_ROLE:
            return item.id
        if role == _FOREGROUND:
            colour = STATE_COLOURS.get(item.state) if col == COL_STATE else None
            return QBrush(colour) if colour is not None else None
        if col in (COL_YEAR, COL_DURATION, COL_SIZE):  # the alignment role
            return _RIGHT
        return None

    def _text(self, item: Item, col: int) -> str:
        match col:
            case 0:
                return item.title
            case 1:
                return item.state
            case 2:
                return item.show_title or ""
            case 3:
                return fmt.episode(item.season_index, item.episode_index)
            case 4:
                return str(item.year) if item.year else ""
            case 5:
                return fmt.duration(item.duration_ms)
            case 6:
                return fmt.size(item.file_size)
            case 7:
                return fmt.when(item.last_seen_at)
            case 8:
                return item.file or ""
            case 9:
                return self.local_path(item) or ""
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

    def local_path(self, item: Item) -> str | None:
        """The first file's local path through this machine's mappings, resolved when the row is
        drawn from the resolver loaded with its page (memory only: never I/O on the GUI thread)."""
        if item.file is None:
            return None
        resolver = self._resolvers.get(item.server_id)
        return resolver.resolve(item.file) if resolver is not None else None

    def forget_mappings(self) -> None:
        """Mappings changed: read the rows again, with the mappings loaded anew."""
        self.catalog.forget_mappings()
        self._resolvers.clear()
        self._loaded_resolvers.clear()
        self.refresh()
