"""`LibraryTree`: the browser — servers → libraries → shows → seasons — with items counted by state at
every level, when each library was last synced and how its last run ended.

A `QStandardItemModel` filled from the read API; reading and filling are apart, so the reads run off
the GUI thread (`read_tree`, `read_shows`, `read_seasons` on the window's `Reader`) and the model only
ever fills itself from their answers (`fill`, `fill_shows`, `fill_seasons`). A TV library's shows
are read when it is first expanded (a "Loading…" row until then), a show's seasons likewise; a
reload reads again what was open, so the tree keeps its shape. Counts are one grouped query per
level (`Catalog.counts_by`). A server whose connection check failed is drawn in red with a warning
icon, the problem ("token rejected", "unreachable") in its status column, the reason as its tooltip.
A server shared with the signed-in Plex account says so ("shared server", its owner in the
tooltip), and one added from the account shows which of its addresses is in use (local, remote,
relay).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QApplication, QStyle
from sqlalchemy import Engine

from retrovue.catalog import Catalog, ItemQuery, Library, Run, Season, Server, Show
from retrovue.gui import fmt
from retrovue.gui.wording import plural
from retrovue.states import ItemState

__all__ = [
    "ID_ROLE",
    "KIND_ROLE",
    "LIBRARY_ROLE",
    "SUMMARY_ROLE",
    "LibraryTree",
    "Node",
    "TreeData",
    "read_seasons",
    "read_shows",
    "read_tree",
    "state_summary",
]

KIND_ROLE = Qt.ItemDataRole.UserRole + 1  # server | library | show | season | loading
ID_ROLE = Qt.ItemDataRole.UserRole + 2  # the node's catalog id
LIBRARY_ROLE = Qt.ItemDataRole.UserRole + 3  # the library a show or season belongs to
LOADED_ROLE = Qt.ItemDataRole.UserRole + 4  # a library's shows / a show's seasons are in
SUMMARY_ROLE = Qt.ItemDataRole.UserRole + 5  # "TV Shows: 253 episodes — 240 active, 13 remote-only"
# What matters on a narrow window first: the name, how many items, when last synced.
HEADERS = ("Name", "Items", "Synced", "Status", "By state", "Kind")
COL_NAME, COL_ITEMS, COL_SYNCED, COL_RUN, COL_STATES, COL_KIND = range(len(HEADERS))
UNREACHABLE = QColor("#c62828")
SHOW_PAGE = 1000


def state_summary(counts: dict[str, int]) -> str:
    """'38 active, 2 missing' — the non-zero states, in lifecycle order."""
    parts = [f"{counts.get(s.value, 0):,} {s.value.lower().replace('_', '-')}" for s in ItemState]
    return ", ".join(p for p, s in zip(parts, ItemState, strict=True) if counts.get(s.value, 0))


Counts = dict[str, dict[str, int]]


@dataclass
class TreeData:
    """One answer of the reader: everything a reload shows."""

    servers: list[Server]
    libraries: list[Library]
    runs: dict[int, Run]
    shows: dict[int, tuple[list[Show], Counts]] = field(default_factory=dict)  # by library id
    seasons: dict[int, tuple[list[Season], Counts]] = field(default_factory=dict)  # by show id


@dataclass(frozen=True)
class Node:
    kind: str
    id: int
    library_id: int | None = None


def read_shows(catalog: Catalog, library_id: int) -> tuple[list[Show], Counts]:
    """A library's shows by title (keyset pages), and its items counted by show and state."""
    shows: list[Show] = []
    after: str | None = None
    while True:
        page = catalog.shows(library_id=library_id, limit=SHOW_PAGE, after=after)
        shows += page.rows
        if page.next is None:
            break
        after = page.next
    return shows, catalog.counts_by(ItemQuery(library_id=library_id), by="show")


def read_seasons(catalog: Catalog, show_id: int) -> tuple[list[Season], Counts]:
    return catalog.seasons(show_id), catalog.counts_by(ItemQuery(show_id=show_id), by="season")


def read_tree(catalog: Catalog, open_libraries: set[int], open_shows: set[int]) -> TreeData:
    """On the reader's thread: servers, libraries with their counts and last runs, and the shows and
    seasons of the nodes that are open."""
    data = TreeData(catalog.servers(), catalog.libraries(), catalog.last_runs())
    known = {lib.id for lib in data.libraries}
    for library_id in open_libraries & known:
        data.shows[library_id] = read_shows(catalog, library_id)
    present = {show.id for shows, _c in data.shows.values() for show in shows}
    for show_id in open_shows & present:
        data.seasons[show_id] = read_seasons(catalog, show_id)
    return data


def _cells(kind: str, node_id: int, library_id: int | None = None) -> list[QStandardItem]:
    cells = [QStandardItem("") for _ in HEADERS]
    cells[COL_NAME].setData(kind, KIND_ROLE)
    cells[COL_NAME].setData(node_id, ID_ROLE)
    if library_id is not None:
        cells[COL_NAME].setData(library_id, LIBRARY_ROLE)
    for cell in cells:
        cell.setEditable(False)
    cells[COL_ITEMS].setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return cells


def _loading() -> list[QStandardItem]:
    cells = _cells("loading", 0)
    cells[COL_NAME].setText("Loading…")
    cells[COL_NAME].setForeground(QBrush(QColor("#757575")))
    return cells


def _set_counts(cells: list[QStandardItem], counts: dict[str, int], what: str) -> None:
    total = sum(counts.values())
    cells[COL_ITEMS].setText(f"{total:,}")
    summary = state_summary(counts)
    cells[COL_STATES].setText(summary)
    tip = f"{cells[COL_NAME].text()}: {plural(total, what)}" + (f" — {summary}" if summary else "")
    cells[COL_NAME].setData(tip, SUMMARY_ROLE)
    for cell in cells:
        if cell.column() != COL_SYNCED:
            cell.setToolTip(tip)


class LibraryTree(QStandardItemModel):
    def __init__(self, engine: Engine, parent: Any = None, *, catalog: Catalog | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.catalog = catalog or Catalog(engine)
        self.setHorizontalHeaderLabels(list(HEADERS))
        self.reachability: dict[int, tuple[str, str]] = {}  # server id -> (online | problem, detail)
        self.library_kinds: dict[int, str] = {}  # library id -> movie | show
        self.library_enabled: dict[int, bool] = {}  # library id -> in Sync all
        self.servers: dict[int, Server] = {}  # the servers shown, as read (no token)
        self.runs: dict[int, Run] = {}

    # -- filling ------------------------------------------------------------------------------
    def reload(self) -> None:
        """Read and fill at once, on the calling thread (scripts and unit tests)."""
        self.fill(read_tree(self.catalog, set(), set()))

    def fill(self, data: TreeData) -> None:
        self.removeRows(0, self.rowCount())
        self.library_kinds = {lib.id: lib.kind for lib in data.libraries}
        self.runs = data.runs
        self.servers = {server.id: server for server in data.servers}
        for server in data.servers:
            row = self._server_row(server)
            self.appendRow(row)
            for lib in data.libraries:
                if lib.server_id == server.id:
                    row[0].appendRow(self._library_row(lib))
                    if lib.id in data.shows:
                        self.fill_shows(lib.id, *data.shows[lib.id], seasons=data.seasons)
            self._paint_server(server.id)

    def _server_row(self, server: Server) -> list[QStandardItem]:
        cells = _cells("server", server.id)
        cells[COL_NAME].setText(server.name)
        via = f", via its {server.connection} address" if server.connection else ""
        shared = f"; shared by {server.owner}" if server.owner else ""
        cells[COL_NAME].setToolTip(f"{server.base_url} (Plex {server.version or '?'}{via}){shared}")
        cells[COL_KIND].setText("shared server" if server.shared else "server")
        if server.owner:
            cells[COL_KIND].setToolTip(f"shared with your Plex account by {server.owner}")
        if server.connection:  # which of the addresses plex.tv lists the last run used
            cells[COL_STATES].setText(f"via {server.connection}")
        return cells

    def _library_row(self, lib: Library) -> list[QStandardItem]:
        cells = _cells("library", lib.id, lib.id)
        self._fill_library(cells, lib)
        if lib.kind == "show":
            cells[COL_NAME].appendRow(_loading())  # its shows are read when it is opened
        return cells

    def _fill_library(self, cells: list[QStandardItem], lib: Library) -> None:
        self.library_kinds[lib.id] = lib.kind
        self.library_enabled[lib.id] = lib.enabled
        cells[COL_NAME].setText(lib.title if lib.enabled else f"{lib.title} (disabled)")
        icon = QStyle.StandardPixmap.SP_DirIcon if lib.kind == "show" else QStyle.StandardPixmap.SP_FileIcon
        cells[COL_NAME].setIcon(QApplication.style().standardIcon(icon))
        _set_counts(cells, lib.counts, "episode" if lib.kind == "show" else "movie")
        cells[COL_KIND].setText(lib.kind)
        cells[COL_SYNCED].setText(fmt.short_when(lib.last_synced_at) or "never")
        cells[COL_SYNCED].setToolTip(f"last synced {fmt.when(lib.last_synced_at) or 'never'}")
        status = lib.last_sync_status or ""
        cells[COL_RUN].setText("" if status == "ok" else status)  # only what needs attention
        if lib.last_sync_status in ("failed", "partial", "cancelled"):
            cells[COL_RUN].setForeground(QBrush(UNREACHABLE))
        else:
            cells[COL_RUN].setData(None, Qt.ItemDataRole.ForegroundRole)

    def fill_shows(
        self,
        library_id: int,
        shows: list[Show],
        counts: Counts,
        *,
        seasons: dict[int, tuple[list[Season], Counts]] | None = None,
    ) -> None:
        """A library's show rows (replacing what was there), each with its seasons or a Loading row."""
        item = self.library_item(library_id)
        if item is None:
            return
        item.removeRows(0, item.rowCount())
        for show in shows:
            cells = _cells("show", show.id, library_id)
            cells[COL_NAME].setText(f"{show.title} ({show.year})" if show.year else show.title)
            _set_counts(cells, counts.get(show.rating_key, {}), "episode")
            cells[COL_KIND].setText("show")
            if show.state != "ACTIVE":
                cells[COL_RUN].setText(show.state.lower())
            item.appendRow(cells)
            if seasons is not None and show.id in seasons:
                self.fill_seasons(show.id, *seasons[show.id], show_item=cells[COL_NAME])
            else:
                cells[COL_NAME].appendRow(_loading())
        item.setData(True, LOADED_ROLE)

    def fill_seasons(
        self, show_id: int, seasons: list[Season], counts: Counts, *, show_item: QStandardItem | None = None
    ) -> None:
        item = show_item or self.show_item(show_id)
        if item is None:
            return
        library_id = item.data(LIBRARY_ROLE)
        item.removeRows(0, item.rowCount())
        for season in seasons:
            cells = _cells("season", season.id, library_id)
            name = season.title or (
                "Specials" if season.index == 0 else f"Season {season.index}" if season.index else "Season"
            )
            cells[COL_NAME].setText(name)
            _set_counts(cells, counts.get(season.rating_key, {}), "episode")
            cells[COL_KIND].setText("season")
            item.appendRow(cells)
        item.setData(True, LOADED_ROLE)

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

    def show_item(self, show_id: int) -> QStandardItem | None:
        for library in self._libraries():
            for r in range(library.rowCount()):
                child = library.child(r, 0)
                if child is not None and child.data(KIND_ROLE) == "show" and child.data(ID_ROLE) == show_id:
                    return child
        return None

    def season_item(self, season_id: int) -> QStandardItem | None:
        for library in self._libraries():
            for r in range(library.rowCount()):
                show = library.child(r, 0)
                if show is None:
                    continue
                for c in range(show.rowCount()):
                    child = show.child(c, 0)
                    if (
                        child is not None
                        and child.data(KIND_ROLE) == "season"
                        and child.data(ID_ROLE) == season_id
                    ):
                        return child
        return None

    def node_item(self, node: Node) -> QStandardItem | None:
        if node.kind == "server":
            return self.server_item(node.id)
        if node.kind == "library":
            return self.library_item(node.id)
        if node.kind == "show":
            return self.show_item(node.id)
        if node.kind == "season":
            return self.season_item(node.id)
        return None

    def _libraries(self) -> list[QStandardItem]:
        out = []
        for r in range(self.rowCount()):
            server = self.item(r, 0)
            if server is not None:
                out += [server.child(c, 0) for c in range(server.rowCount())]
        return out

    def library_cells(self, library_id: int) -> list[QStandardItem]:
        item = self.library_item(library_id)
        if item is None or item.parent() is None:
            return []
        parent, row = item.parent(), item.row()
        return [parent.child(row, c) for c in range(len(HEADERS))]

    def row_cells(self, item: QStandardItem) -> list[QStandardItem]:
        parent = item.parent()
        if parent is None:
            return [self.item(item.row(), c) for c in range(len(HEADERS))]
        return [parent.child(item.row(), c) for c in range(len(HEADERS))]

    def library_ids(self) -> list[int]:
        return [int(item.data(ID_ROLE)) for item in self._libraries()]

    def shows_loaded(self, library_id: int) -> bool:
        item = self.library_item(library_id)
        return item is not None and bool(item.data(LOADED_ROLE))

    # -- updating -------------------------------------------------------------------------------
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
        run_cell = self.item(item.row(), COL_RUN)
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
