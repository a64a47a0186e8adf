"""`LibraryPanel`: the browser on the left — servers and their libraries — with the sync progress below.

It knows what is selected (a server or a library) and keeps it selected across reloads; the
columns that matter on a narrow window (name, items, last synced) come first.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QTreeView, QVBoxLayout, QWidget

from retrovue.catalog import Catalog
from retrovue.gui.models.tree import ID_ROLE, KIND_ROLE, LibraryTree
from retrovue.gui.progress import ProgressPanel

__all__ = ["LibraryPanel"]


class LibraryPanel(QWidget):
    def __init__(self, catalog: Catalog, parent: Any = None) -> None:
        super().__init__(parent)
        self.model = LibraryTree(catalog.engine, self, catalog=catalog)
        self.tree = QTreeView()
        self.tree.setModel(self.model)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(False)
        self.progress = ProgressPanel()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.progress)

    # -- selection ------------------------------------------------------------------------------
    def selected_node(self) -> tuple[str, int] | None:
        index = self.tree.currentIndex()
        if not index.isValid():
            return None
        first = index.siblingAtColumn(0)
        return str(first.data(KIND_ROLE)), int(first.data(ID_ROLE))

    def selected_library_id(self) -> int | None:
        node = self.selected_node()
        return node[1] if node and node[0] == "library" else None

    def selected_server_id(self) -> int | None:
        index = self.tree.currentIndex()
        if not index.isValid():
            return None
        first = index.siblingAtColumn(0)
        if first.data(KIND_ROLE) == "library":
            first = first.parent()
        return int(first.data(ID_ROLE))

    def library_kind(self, library_id: int | None) -> str | None:
        if library_id is None:
            return None
        return self.model.library_kinds.get(library_id)

    def select_library(self, library_id: int) -> bool:
        item = self.model.library_item(library_id)
        if item is None:
            return False
        index = item.index()
        self.tree.expand(index.parent())
        self.tree.setCurrentIndex(index)
        return True

    def select_server(self, server_id: int) -> bool:
        item = self.model.server_item(server_id)
        if item is None:
            return False
        self.tree.setCurrentIndex(item.index())
        return True

    # -- reading --------------------------------------------------------------------------------
    def reload(self) -> None:
        """Re-read servers and libraries, keeping the selection and the scroll position."""
        keep = self.selected_node()
        scroll = self.tree.verticalScrollBar().value()
        blocker = self.tree.selectionModel().blockSignals(True)
        try:
            self.model.reload()
            self.tree.expandAll()
            if keep is not None:
                if keep[0] == "library":
                    self.select_library(keep[1])
                else:
                    self.select_server(keep[1])
        finally:
            self.tree.selectionModel().blockSignals(blocker)
        self.fit()
        self.tree.verticalScrollBar().setValue(scroll)

    def fit(self) -> None:
        for col in range(1, self.model.columnCount()):
            self.tree.resizeColumnToContents(col)
        self.tree.resizeColumnToContents(0)
