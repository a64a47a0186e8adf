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

from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor
from sqlalchemy import Engine

from retrovue.catalog import Catalog, Item, ItemQuery
from retrovue.gui import fmt
from retrovue.paths import Resolver
from retrovue.states import ItemState

__all__ = ["COLUMNS", "PATH_COLUMNS", "TV_COLUMNS", "ItemFilter", "ItemsModel"]


@dataclass(frozen=True)
class ItemFilter:
    """What the table shows: one library, optionally one state and a search, in one order."""

    library_id: int
    state: str | None = None  # one of the five states, or None for all
    search: str = ""  # words of the title or show title, case and accents ignored
    sort: str = "show"  # a sort key of COLUMNS
    descending: bool = False

    def query(self) -> ItemQuery:
        return ItemQuery(library_id=self.library_id, state=self.state, text=self.search.strip() or None)


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


class ItemsModel(QAbstractTableModel):
    BATCH = 256

    def __init__(
        self, engine: Engine, parent: Any = None, *, batch: int | None = None, catalog: Catalog | None = None
    ) -> None:
        super().__init__(parent)
        self.engine = engine
        self.catalog = catalog or Catalog(engine)
        self.batch = batch or self.BATCH
        self.filter: ItemFilter | None = None
        self.order: tuple[str, bool] = ("show", False)  # the user's sort, kept across libraries
        self.rows: list[Item] = []
        self._total = 0
        self._next: str | None = None  # the read API's cursor for the next batch
        self.queries = 0  # batches read, for tests and measurements

    # -- what is shown ------------------------------------------------------------------------
    @property
    def library_id(self) -> int | None:
        return self.filter.library_id if self.filter else None

    def set_library(self, library_id: int | None) -> None:
        if library_id is None:
            self._reset(None)
            return
        base = self.filter or ItemFilter(library_id)
        sort, descending = self.order
        self._reset(replace(base, library_id=library_id, sort=sort, descending=descending))

    def set_state_filter(self, state: str | None) -> None:
        if self.filter is not None and self.filter.state != state:
            self._reset(replace(self.filter, state=state))

    def set_search(self, text: str) -> None:
        if self.filter is not None and self.filter.search != text:
            self._reset(replace(self.filter, search=text))

    def refresh(self, library_id: int | None = None) -> bool:
        """Re-read from the catalog (after a sync, a mapping change), keeping filter, sort and as many
        rows as were loaded, so the view keeps its place. When the same items come back in the same
        order the rows are updated in place (`dataChanged`: the selection and scroll stay as they
        are); otherwise the model is reset and the caller puts the selection back by item id.
        Returns whether the model was reset."""
        f = self.filter
        if f is None or (library_id is not None and library_id != f.library_id):
            return False
        self.catalog.forget_mappings()
        total = sum(self.catalog.counts(f.query()).values())
        rows = self._page(f, None, limit=max(self.batch, len(self.rows)))
        if [r.id for r in rows] == [r.id for r in self.rows]:
            self.rows = rows
            self._total = total
            if rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, len(COLUMNS) - 1))
            return False
        self.beginResetModel()
        self.rows = rows
        self._total = total
        self.endResetModel()
        return True

    def row_of(self, item_id: int) -> int | None:
        """The row holding the item, among the loaded ones."""
        for n, item in enumerate(self.rows):
            if item.id == item_id:
                return n
        return None

    def _page(self, f: ItemFilter, after: str | None, *, limit: int | None = None) -> list[Item]:
        page = self.catalog.items(
            f.query(),
            sort=_API_SORT.get(f.sort, f.sort),
            descending=f.descending,
            limit=limit or self.batch,
            after=after,
        )
        self._next = page.next
        self.queries += 1
        return page.rows

    def _reset(self, new: ItemFilter | None) -> None:
        self.beginResetModel()
        self.filter = new
        self.rows = []
        self._total = 0
        self._next = None
        if new is not None:
            self._total = sum(self.catalog.counts(new.query()).values())
            # The first batch comes with the reset, so a view shows rows without waiting to lay out.
            self.rows = self._page(new, None)
        self.endResetModel()

    @property
    def total(self) -> int:
        """Items matching the filter when it was set (loaded or not)."""
        return self._total

    # -- fetchmore ----------------------------------------------------------------------------
    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: N802
        return not parent.isValid() and self._next is not None

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: N802
        if parent.isValid() or self.filter is None or self._next is None:
            return
        batch = self._page(self.filter, self._next)
        if not batch:
            return
        start = len(self.rows)
        self.beginInsertRows(QModelIndex(), start, start + len(batch) - 1)
        self.rows.extend(batch)
        self.endInsertRows()

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
        item = self.row(index)
        if item is None:
            return None
        col = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self._text(item, col)
        if role == ITEM_ID_ROLE:
            return item.id
        if role == Qt.ItemDataRole.ForegroundRole and col == COL_STATE:
            colour = STATE_COLOURS.get(item.state)
            return QBrush(colour) if colour is not None else None
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (COL_YEAR, COL_DURATION, COL_SIZE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
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
        return self.catalog.local_path(item)

    def forget_mappings(self) -> None:
        """Mappings changed: resolve again (the catalog rows are unchanged)."""
        self.catalog.forget_mappings()
        if self.rows:
            self.dataChanged.emit(self.index(0, COL_LOCAL), self.index(len(self.rows) - 1, COL_LOCAL))
