"""`ItemsModel`: one library's items as a table that loads itself in batches as the view scrolls.

Modelled on Qt's fetchmore example: `rowCount` is what has been loaded, `canFetchMore` says whether
the catalog holds more rows for the current filter, and `fetchMore` reads the next batch. Sorting is
ORDER BY, the state filter and the search are WHERE clauses, all in SQL: on every reset one query
reads the matching ids in display order (a keyset of ~4 bytes a row), then each batch is read by
primary key, so a 100,000-item library is never loaded whole and deep batches cost what the first
one does (paging by OFFSET re-sorted the whole set for every batch: ~150 ms each at 100,000 rows).
The local path column is not in the catalog: it is resolved on demand from the server's mappings
(`paths.Resolver`, cached per model).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor
from sqlalchemy import Engine

from retrovue import mapping, paths
from retrovue.gui import fmt
from retrovue.gui.queries import ItemFilter, ItemRow, item_ids, items_by_id
from retrovue.states import ItemState

__all__ = ["COLUMNS", "ItemsModel"]

# (header, sort key or None when the column is not sortable in SQL)
COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("Title", "title"),
    ("Show", "show"),
    ("Episode", "episode"),
    ("Year", "year"),
    ("Duration", "duration"),
    ("Size", "size"),
    ("State", "state"),
    ("Last seen", "last_seen"),
    ("Plex path", "plex_path"),
    ("Local path", "plex_path"),  # resolved, not stored: sorted by the Plex path it comes from
)
(
    COL_TITLE,
    COL_SHOW,
    COL_EPISODE,
    COL_YEAR,
    COL_DURATION,
    COL_SIZE,
    COL_STATE,
    COL_SEEN,
    COL_PLEX,
    COL_LOCAL,
) = range(len(COLUMNS))
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

    def __init__(self, engine: Engine, parent: Any = None, *, batch: int | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.batch = batch or self.BATCH
        self.filter: ItemFilter | None = None
        self.rows: list[ItemRow] = []
        self.ids: list[int] = []  # every matching id, in display order
        self._resolvers: dict[int, paths.Resolver] = {}
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
        self._reset(replace(base, library_id=library_id))

    def set_state_filter(self, state: str | None) -> None:
        if self.filter is not None and self.filter.state != state:
            self._reset(replace(self.filter, state=state))

    def set_search(self, text: str) -> None:
        if self.filter is not None and self.filter.search != text:
            self._reset(replace(self.filter, search=text))

    def refresh(self, library_id: int | None = None) -> None:
        """Re-read from the catalog (after a sync), keeping filter and sort; mappings are re-read too."""
        if self.filter is not None and (library_id is None or library_id == self.filter.library_id):
            self._resolvers.clear()
            self._reset(self.filter)

    def _reset(self, new: ItemFilter | None) -> None:
        self.beginResetModel()
        self.filter = new
        self.rows = []
        self.ids = []
        if new is not None:
            with self.engine.connect() as conn:
                self.ids = item_ids(conn, new)
                # The first batch comes with the reset, so a view shows rows without waiting to lay out.
                self.rows = items_by_id(conn, self.ids[: self.batch])
            self.queries += 1
        self.endResetModel()

    @property
    def total(self) -> int:
        """Items matching the filter (loaded or not)."""
        return len(self.ids)

    # -- fetchmore ----------------------------------------------------------------------------
    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: N802
        return not parent.isValid() and self._loaded < len(self.ids)

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: N802
        if parent.isValid() or self.filter is None:
            return
        wanted = self.ids[self._loaded : self._loaded + self.batch]
        with self.engine.connect() as conn:
            batch = items_by_id(conn, wanted)
        self.queries += 1
        if len(batch) < len(wanted):  # items deleted since the reset: forget their ids
            gone = set(wanted) - {row.id for row in batch}
            self.ids = [i for i in self.ids if i not in gone]
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

    def row(self, index: Index) -> ItemRow | None:
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

    def _text(self, item: ItemRow, col: int) -> str:
        match col:
            case 0:
                return item.title
            case 1:
                return item.show_title or ""
            case 2:
                return fmt.episode(item.season_index, item.episode_index)
            case 3:
                return str(item.year) if item.year else ""
            case 4:
                return fmt.duration(item.duration_ms)
            case 5:
                return fmt.size(item.file_size)
            case 6:
                return item.state
            case 7:
                return fmt.when(item.last_seen_at)
            case 8:
                return item.plex_path or ""
            case 9:
                return self.local_path(item) or ""
        return ""

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if self.filter is None or not 0 <= column < len(COLUMNS):
            return
        key = COLUMNS[column][1]
        if key is None:
            return
        descending = order == Qt.SortOrder.DescendingOrder
        if (key, descending) != (self.filter.sort, self.filter.descending):
            self._reset(replace(self.filter, sort=key, descending=descending))

    # -- local paths, on demand -----------------------------------------------------------------
    def resolver(self, server_id: int) -> paths.Resolver:
        found = self._resolvers.get(server_id)
        if found is None:
            found = mapping.resolver_for(self.engine, server_id)
            self._resolvers[server_id] = found
        return found

    def local_path(self, item: ItemRow) -> str | None:
        if not item.plex_path:
            return None
        return self.resolver(item.server_id).resolve(item.plex_path)

    def forget_mappings(self) -> None:
        """Mappings changed: resolve again (the catalog rows are unchanged)."""
        self._resolvers.clear()
        if self.rows:
            self.dataChanged.emit(self.index(0, COL_LOCAL), self.index(len(self.rows) - 1, COL_LOCAL))
