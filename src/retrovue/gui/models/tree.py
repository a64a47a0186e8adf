"""`LibraryTree`: servers and their libraries, with kind, item counts by state and the last sync.

A `QStandardItemModel` rebuilt from the read API (`Catalog.servers`, `Catalog.libraries` with their
counts by state as this machine sees them); one library row is re-read after its sync
(`refresh_row`). A
server whose background connection check failed is drawn in red with a warning icon and the reason as
its tooltip.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QApplication, QStyle
from sqlalchemy import Engine

from retrovue.catalog import Catalog, Library, Server
from retrovue.gui import fmt
from retrovue.states import ItemState

__all__ = ["ID_ROLE", "KIND_ROLE", "LibraryTree", "state_summary"]

KIND_ROLE = Qt.ItemDataRole.UserRole + 1  # "server" | "library"
ID_ROLE = Qt.ItemDataRole.UserRole + 2
# What matters on a narrow window first: the name, how many items, when last synced.
HEADERS = ("Name", "Items", "Last synced", "Last run", "By state", "Kind")
COL_NAME, COL_ITEMS, COL_SYNCED, COL_RUN, COL_STATES, COL_KIND = range(len(HEADERS))
UNREACHABLE = QColor("#c62828")


def state_summary(counts: dict[str, int]) -> str:
    """'38 active, 2 missing' — the non-zero states, in lifecycle order."""
    parts = [f"{counts.get(s.value, 0)} {s.value.lower().replace('_', '-')}" for s in ItemState]
    return ", ".join(p for p, s in zip(parts, ItemState, strict=True) if counts.get(s.value, 0))


class LibraryTree(QStandardItemModel):
    def __init__(self, engine: Engine, parent: Any = None, *, catalog: Catalog | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.catalog = catalog or Catalog(engine)
        self.setHorizontalHeaderLabels(list(HEADERS))
        self.reachability: dict[int, tuple[str, str]] = {}  # server id -> (online | problem, detail)
        self.library_kinds: dict[int, str] = {}  # library id -> movie | show

    # -- building -------------------------------------------------------------------------------
    def reload(self) -> None:
        self.removeRows(0, self.rowCount())
        servers = self.catalog.servers()
        libraries = self.catalog.libraries()
        self.library_kinds = {lib.id: lib.kind for lib in libraries}
        for server in servers:
            row = self._server_row(server)
            for lib in libraries:
                if lib.server_id == server.id:
                    row[0].appendRow(self._library_row(lib))
            self.appendRow(row)
            self._paint_server(server.id)

    def _server_row(self, server: Server) -> list[QStandardItem]:
        name = QStandardItem(server.name)
        name.setData("server", KIND_ROLE)
        name.setData(server.id, ID_ROLE)
        name.setToolTip(f"{server.base_url} (Plex {server.version or '?'})")
        cells = [name] + [QStandardItem("") for _ in HEADERS[1:]]
        cells[COL_KIND].setText("server")
        for cell in cells:
            cell.setEditable(False)
        return cells

    def _library_row(self, lib: Library) -> list[QStandardItem]:
        cells = [QStandardItem("") for _ in HEADERS]
        cells[COL_NAME].setData("library", KIND_ROLE)
        cells[COL_NAME].setData(lib.id, ID_ROLE)
        for cell in cells:
            cell.setEditable(False)
        self._fill_library(cells, lib)
        return cells

    def _fill_library(self, cells: list[QStandardItem], lib: Library) -> None:
        counts = lib.counts
        self.library_kinds[lib.id] = lib.kind
        cells[COL_NAME].setText(lib.title if lib.enabled else f"{lib.title} (disabled)")
        icon = QStyle.StandardPixmap.SP_DirIcon if lib.kind == "show" else QStyle.StandardPixmap.SP_FileIcon
        cells[COL_NAME].setIcon(QApplication.style().standardIcon(icon))
        summary = state_summary(counts) or "no items yet"
        kind = "TV shows" if lib.kind == "show" else "Movies"
        for cell in cells:
            cell.setToolTip(f"{lib.title} ({kind}): {summary}")
        cells[COL_KIND].setText(lib.kind)
        cells[COL_ITEMS].setText(f"{sum(counts.values()):,}")
        cells[COL_ITEMS].setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        cells[COL_STATES].setText(state_summary(counts))
        cells[COL_SYNCED].setText(fmt.when(lib.last_synced_at) or "never")
        cells[COL_RUN].setText(lib.last_sync_status or "")
        if lib.last_sync_status in ("failed", "partial"):
            cells[COL_RUN].setForeground(QBrush(UNREACHABLE))
        else:
            cells[COL_RUN].setData(None, Qt.ItemDataRole.ForegroundRole)

    # -- finding --------------------------------------------------------------------------------
    def server_item(self, server_id: int) -> QStandardItem | None:
        for r in range(self.rowCount()):
            item = self.item(r, 0)
            if item is not None and item.data(ID_ROLE) == server_id:
                return item
        return None

    def library_item(self, library_id: int) -> QStandardItem | None:
        for r in range(self.rowCount()):
            server = self.item(r, 0)
            if server is None:
                continue
            for c in range(server.rowCount()):
                child = server.child(c, 0)
                if child is not None and child.data(ID_ROLE) == library_id:
                    return child
        return None

    def library_cells(self, library_id: int) -> list[QStandardItem]:
        item = self.library_item(library_id)
        if item is None or item.parent() is None:
            return []
        parent, row = item.parent(), item.row()
        return [parent.child(row, c) for c in range(len(HEADERS))]

    def library_ids(self) -> list[int]:
        out = []
        for r in range(self.rowCount()):
            server = self.item(r, 0)
            if server is not None:
                out += [server.child(c, 0).data(ID_ROLE) for c in range(server.rowCount())]
        return out

    # -- updating -------------------------------------------------------------------------------
    def refresh_row(self, library_id: int) -> None:
        """Re-read one library's last sync and counts (after its sync finished)."""
        cells = self.library_cells(library_id)
        if not cells:
            self.reload()
            return
        found = [lib for lib in self.catalog.libraries() if lib.id == library_id]
        if not found:
            self.reload()
            return
        self._fill_library(cells, found[0])

    def set_reachable(self, server_id: int, status: str, detail: str) -> None:
        """`status`: online, or the problem in two words (token rejected, unreachable, TLS problem…)."""
        self.reachability[server_id] = (status, detail)
        self._paint_server(server_id)

    def _paint_server(self, server_id: int) -> None:
        item = self.server_item(server_id)
        if item is None or server_id not in self.reachability:
            return
        status, detail = self.reachability[server_id]
        reachable = status == "online"
        parent_row = item.row()
        run_cell = self.item(parent_row, COL_RUN)
        style = QApplication.style()
        if reachable:
            item.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_DialogApplyButton))
            item.setData(None, Qt.ItemDataRole.ForegroundRole)
            if run_cell is not None:
                run_cell.setText("online")
                run_cell.setData(None, Qt.ItemDataRole.ForegroundRole)
        else:
            item.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning))
            item.setForeground(QBrush(UNREACHABLE))
            if run_cell is not None:
                run_cell.setText(status)
                run_cell.setForeground(QBrush(UNREACHABLE))
        base = item.toolTip().split("\n")[0]
        item.setToolTip(f"{base}\n{status}: {detail}")
        if run_cell is not None:
            run_cell.setToolTip(detail)
