"""`ItemsPanel`: the selected library's (or show's, or season's) items — filter bar, last result, table.

It keeps the user's place: a refresh (after a sync, Watch's background syncs, a mapping change)
re-reads as many rows as were loaded, and puts back the selected item (by its catalog id, so a
re-sorted or grown list still finds it) and the scroll position; the search, the state filter and
the sort are never reset by a refresh. Movie libraries hide the show and episode columns; the Plex
and local path columns are elided in the middle so the file name stays in view (the full path is
the tooltip).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from retrovue.catalog import Catalog
from retrovue.gui.models.items import (
    COL_SHOW,
    COL_STATE,
    COL_TITLE,
    PATH_COLUMNS,
    TV_COLUMNS,
    ItemRow,
    ItemsModel,
)
from retrovue.gui.reader import Reader
from retrovue.gui.wording import plural
from retrovue.states import ItemState

__all__ = ["SEARCH_DEBOUNCE_MS", "ItemsPanel"]

SEARCH_DEBOUNCE_MS = 250
WIDTHS = (300, 100, 180, 70, 50, 70, 80, 120, 380, 380)


class MiddleElide(QStyledItemDelegate):
    """Paths cut in the middle (`/data/tv/Show/…/Show - s01e02.mkv`), not at the right."""

    def initStyleOption(  # noqa: N802
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle


class ItemsPanel(QWidget):
    place_kept = Signal()  # a refresh's rows are in and the selection is back

    def __init__(
        self,
        catalog: Catalog,
        reader: Reader,
        add_server: QAction | None = None,
        parent: Any = None,
        *,
        sign_in: QAction | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = ItemsModel(catalog.engine, self, catalog=catalog, reader=reader)
        self.kind: str | None = None
        self.pending_scroll: int | None = None
        self.pending_place: tuple[int | None, int] | None = None  # (item id, scroll) to go back to
        self.keep: tuple[int | None, int] | None = None  # where the user was when a refresh started
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(COL_SHOW, Qt.SortOrder.AscendingOrder)  # Plex order
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setHighlightSections(False)
        self.table.setWordWrap(False)
        self.elide = MiddleElide(self.table)
        for col in PATH_COLUMNS:
            self.table.setItemDelegateForColumn(col, self.elide)
        for col, width in enumerate(WIDTHS):
            self.table.setColumnWidth(col, width)

        self.state_filter = QComboBox()
        self.state_filter.addItem("All states", None)
        for state in ItemState:
            self.state_filter.addItem(state.value, state.value)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search titles and shows (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search_timer = QTimer(self)
        self.search_timer.setSingleShot(True)
        self.search_timer.setInterval(SEARCH_DEBOUNCE_MS)
        self.scope = QLabel()  # what the table holds, counted by state
        self.scope.setStyleSheet("font-weight: bold")
        self.result = QLabel()  # the library's last sync, in words
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.count = QLabel()
        # Shown while the catalog has no server: the two ways in, as buttons.
        self.first_run = QPushButton("Add your Plex server…")
        self.first_sign_in = QPushButton("Sign in with Plex…")
        if add_server is not None:
            self.first_run.clicked.connect(add_server.trigger)
        if sign_in is not None:
            self.first_sign_in.clicked.connect(sign_in.trigger)
        self.first_row = QWidget()
        first = QHBoxLayout(self.first_row)
        first.setContentsMargins(0, 0, 0, 0)
        first.addWidget(self.first_sign_in)
        first.addWidget(self.first_run)
        first.addStretch(1)
        self.first_row.setVisible(False)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("State"))
        bar.addWidget(self.state_filter)
        bar.addWidget(self.search, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scope)
        layout.addWidget(self.result)
        layout.addWidget(self.first_row)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)

        self.state_filter.currentIndexChanged.connect(self._state_filter_changed)
        self.search.textChanged.connect(lambda _t: self.search_timer.start())
        self.search_timer.timeout.connect(self.apply_search)
        self.model.modelReset.connect(self.update_count)
        self.model.rowsInserted.connect(self.update_count)
        self.model.loaded.connect(self._continue_restore)
        self.model.refreshed.connect(self._refreshed)

    # -- what is shown --------------------------------------------------------------------------
    def show_library(
        self,
        library_id: int | None,
        kind: str | None,
        show_id: int | None = None,
        season_id: int | None = None,
    ) -> None:
        """Show a library's items, or one show's, or one season's (the filter and sort stay)."""
        self.kind = kind
        for col in TV_COLUMNS:
            self.table.setColumnHidden(col, kind == "movie")
        f = self.model.filter
        if f is None or (f.library_id, f.show_id, f.season_id) != (library_id, show_id, season_id):
            self.model.set_library(library_id, show_id=show_id, season_id=season_id)

    def set_result(self, text: str, *, bad: bool = False) -> None:
        self.result.setText(text)
        self.result.setStyleSheet("color: #c62828" if bad else "")
        self.result.setVisible(bool(text))

    def show_first_run(self, shown: bool) -> None:
        self.first_row.setVisible(shown)
        if not shown and self.result.text().startswith("No Plex server yet"):
            self.set_result("")

    def _state_filter_changed(self, _index: int) -> None:
        self.model.set_state_filter(self.state_filter.currentData())

    def apply_search(self) -> None:
        self.search_timer.stop()
        self.model.set_search(self.search.text())

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def update_count(self) -> None:
        m = self.model
        if m.library_id is None:
            self.count.setText("")
        elif len(m.rows) >= m.total:
            self.count.setText(plural(m.total, "item"))
        else:
            self.count.setText(f"{plural(m.total, 'item')} ({len(m.rows):,} loaded)")

    # -- the selected item ----------------------------------------------------------------------
    def current_item(self) -> ItemRow | None:
        index = self.table.currentIndex()
        if not self.table.selectionModel().isSelected(index):
            return None
        return self.model.row(index)

    def select_item(self, item_id: int) -> bool:
        row = self.model.row_of(item_id)
        if row is None:
            return False
        self.table.setCurrentIndex(self.model.index(row, COL_TITLE))
        return True

    # -- keeping the place ----------------------------------------------------------------------
    def refresh(self, library_id: int | None = None) -> None:
        """Re-read, keeping the selected item and the scroll position (see the module docstring)."""
        current = self.current_item()
        self.keep = (current.id if current is not None else None, self.table.verticalScrollBar().value())
        self.model.refresh(library_id)

    def _refreshed(self, reset: bool) -> None:
        keep, self.keep = self.keep, None
        if reset and keep is not None:
            item_id, scroll = keep
            if item_id is not None:
                self.select_item(item_id)
            self.table.verticalScrollBar().setValue(scroll)
        self.place_kept.emit()

    def restore_place(self, item_id: int | None, scroll: int | None) -> None:
        """Back to a saved place: the rows down to the scroll position loaded (the table scrolls by
        row), then the item selected if it is among them and the scroll position set."""
        self.pending_place = (item_id, max(0, scroll or 0))
        self._continue_restore()

    def _continue_restore(self) -> None:
        if self.pending_place is None or self.model.loading:
            return
        item_id, scroll = self.pending_place
        if len(self.model.rows) <= scroll + self.model.batch and self.model.canFetchMore():
            self.model.fetchMore()
            return
        self.pending_place = None
        if item_id is not None:
            self.select_item(item_id)
        self.pending_scroll = scroll  # set again once shown: showing lays the table out anew
        self.table.doItemsLayout()
        self.table.verticalScrollBar().setValue(scroll)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if self.pending_scroll is not None:
            QTimer.singleShot(0, self._apply_pending_scroll)

    def _apply_pending_scroll(self) -> None:
        if self.pending_scroll is not None:
            self.table.verticalScrollBar().setValue(self.pending_scroll)
            self.pending_scroll = None

    def state_column_visible(self) -> bool:
        """Whether the State column is within the visible width (the window's fit test)."""
        x = self.table.columnViewportPosition(COL_STATE)
        width = self.table.columnWidth(COL_STATE)
        return x >= 0 and x + width <= self.table.viewport().width()
