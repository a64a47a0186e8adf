"""`LibraryPanel`: the browser on the left — servers → libraries → shows → seasons — with the sync
progress below.

Every read runs on the window's `Reader`: a reload reads servers, libraries, counts and the shows
and seasons of the open nodes in one background read, then fills the tree and puts back what was
open, the selection and the scroll position (`reloaded` fires then); opening a TV library or a show
for the first time reads its children. Selecting a node says which items the table shows: a whole
library, one show, or one season (`scope`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeView, QVBoxLayout, QWidget

from retrovue.catalog import Catalog, Server
from retrovue.gui.models.tree import (
    COL_ITEMS,
    COL_KIND,
    COL_NAME,
    COL_RUN,
    COL_STATES,
    COL_SYNCED,
    ID_ROLE,
    KIND_ROLE,
    LIBRARY_ROLE,
    LOADED_ROLE,
    SUMMARY_ROLE,
    LibraryTree,
    Node,
    TreeData,
    read_seasons,
    read_shows,
    read_tree,
)
from retrovue.gui.progress import ProgressPanel
from retrovue.gui.reader import Reader

__all__ = ["LibraryPanel", "Scope"]

Scope = tuple[int | None, int | None, int | None]  # (library id, show id, season id)


class LibraryPanel(QWidget):
    reloaded = Signal()
    selection_changed = Signal()

    def __init__(self, catalog: Catalog, reader: Reader, parent: Any = None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.reader = reader
        self.model = LibraryTree(catalog.engine, self, catalog=catalog)
        self.tree = QTreeView()
        self.tree.setModel(self.model)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.setUniformRowHeights(True)
        self.progress = ProgressPanel()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.progress)
        self.generation = 0
        self.tree.expanded.connect(self._expanded)
        self.tree.selectionModel().selectionChanged.connect(lambda *_a: self.selection_changed.emit())

    # -- selection ------------------------------------------------------------------------------
    def selected(self) -> Node | None:
        index = self.tree.currentIndex()
        if not index.isValid():
            return None
        first = index.siblingAtColumn(0)
        kind = str(first.data(KIND_ROLE))
        if kind == "loading":
            return None
        library = first.data(LIBRARY_ROLE)
        return Node(kind, int(first.data(ID_ROLE)), int(library) if library is not None else None)

    def selected_node(self) -> tuple[str, int] | None:
        node = self.selected()
        return (node.kind, node.id) if node is not None else None

    def scope(self) -> Scope:
        node = self.selected()
        if node is None or node.kind == "server":
            return None, None, None
        return (
            node.library_id,
            node.id if node.kind == "show" else None,
            node.id if node.kind == "season" else None,
        )

    def selected_library_id(self) -> int | None:
        return self.scope()[0]

    def selected_server_id(self) -> int | None:
        index = self.tree.currentIndex()
        if not index.isValid():
            return None
        first = index.siblingAtColumn(0)
        while first.parent().isValid():
            first = first.parent()
        return int(first.data(ID_ROLE))

    def selected_server(self) -> Server | None:
        """The selected node's server as the tree last read it (no catalog read)."""
        server_id = self.selected_server_id()
        return None if server_id is None else self.model.servers.get(server_id)

    def library_kind(self, library_id: int | None) -> str | None:
        if library_id is None:
            return None
        return self.model.library_kinds.get(library_id)

    def select_library(self, library_id: int) -> bool:
        item = self.model.library_item(library_id)
        if item is None:
            return False
        self.tree.expand(item.index().parent())
        self.tree.setCurrentIndex(item.index())
        return True

    def select_server(self, server_id: int) -> bool:
        return self.select_node(Node("server", server_id))

    def select_node(self, node: Node) -> bool:
        item = self.model.node_item(node)
        if item is None:
            return False
        parent = item.index().parent()
        while parent.isValid():
            self.tree.expand(parent)
            parent = parent.parent()
        self.tree.setCurrentIndex(item.index())
        return True

    # -- reading --------------------------------------------------------------------------------
    def open_nodes(self) -> tuple[set[int], set[int]]:
        """The libraries and shows that are open (their children loaded and shown)."""
        libraries, shows = set(), set()
        for library in self.model._libraries():
            if not self.tree.isExpanded(library.index()) or not library.data(LOADED_ROLE):
                continue
            libraries.add(int(library.data(ID_ROLE)))
            for r in range(library.rowCount()):
                show = library.child(r, 0)
                if show is not None and self.tree.isExpanded(show.index()) and show.data(LOADED_ROLE):
                    shows.add(int(show.data(ID_ROLE)))
        return libraries, shows

    def reload(self, then: Callable[[], None] | None = None) -> None:
        """Re-read the tree in the background, then fill it keeping what was open, the selection and
        the scroll position; `then` runs once it is in."""
        open_libraries, open_shows = self.open_nodes()
        self.generation += 1
        generation = self.generation
        catalog = self.catalog

        def fill(data: TreeData) -> None:
            self._fill(data, open_libraries, open_shows)
            if then is not None:
                then()

        self.reader.read(
            lambda: read_tree(catalog, open_libraries, open_shows),
            fill,
            lambda _message: then() if then is not None else None,
            still_wanted=lambda: generation == self.generation,
        )

    def _fill(self, data: TreeData, open_libraries: set[int], open_shows: set[int]) -> None:
        keep = self.selected()
        scroll = self.tree.verticalScrollBar().value()
        selection = self.tree.selectionModel()
        blocked = selection.blockSignals(True)
        try:
            self.model.fill(data)
            for r in range(self.model.rowCount()):
                self.tree.expand(self.model.index(r, 0))  # servers open: their libraries show
            for library_id in open_libraries:
                item = self.model.library_item(library_id)
                if item is not None:
                    self.tree.expand(item.index())
            for show_id in open_shows:
                item = self.model.show_item(show_id)
                if item is not None:
                    self.tree.expand(item.index())
            if keep is not None:
                self.select_node(keep)
        finally:
            selection.blockSignals(blocked)
        self.fit()
        self.tree.verticalScrollBar().setValue(scroll)
        self.reloaded.emit()
        if keep is None or self.selected() != keep:
            self.selection_changed.emit()

    def _expanded(self, index: QModelIndex) -> None:
        """A library or show opened for the first time: read its children."""
        item = self.model.itemFromIndex(index)
        if item is None or item.data(LOADED_ROLE):
            return
        kind, node_id = item.data(KIND_ROLE), int(item.data(ID_ROLE))
        catalog = self.catalog
        generation = self.generation
        if kind == "library" and self.model.library_kinds.get(node_id) == "show":
            self.reader.read(
                lambda: read_shows(catalog, node_id),
                lambda answer: self._children_in(lambda: self.model.fill_shows(node_id, *answer)),
                still_wanted=lambda: generation == self.generation,
            )
        elif kind == "show":
            self.reader.read(
                lambda: read_seasons(catalog, node_id),
                lambda answer: self._children_in(lambda: self.model.fill_seasons(node_id, *answer)),
                still_wanted=lambda: generation == self.generation,
            )

    def _children_in(self, fill: Callable[[], None]) -> None:
        keep = self.selected()
        selection = self.tree.selectionModel()
        blocked = selection.blockSignals(True)
        try:
            fill()
            if keep is not None:
                self.select_node(keep)
        finally:
            selection.blockSignals(blocked)
        self.fit()

    def fit(self) -> None:
        """Items, Last synced and Last run fit their text and stay in view; the name takes the rest
        of the width (long titles are elided, the full one is the tooltip). The counts by state are
        each row's tooltip and the selected node's summary above the items."""
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        for col in (COL_ITEMS, COL_SYNCED, COL_RUN):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setColumnHidden(COL_STATES, True)
        self.tree.setColumnHidden(COL_KIND, True)  # the icon says it

    def summary(self) -> str:
        """The selected node in words: `TV Shows: 253 episodes — 240 active, 13 remote-only`."""
        index = self.tree.currentIndex()
        if not index.isValid():
            return ""
        item = self.model.itemFromIndex(index.siblingAtColumn(0))
        if item is None or item.data(KIND_ROLE) in ("server", "loading"):
            return ""
        return str(item.data(SUMMARY_ROLE) or "")
