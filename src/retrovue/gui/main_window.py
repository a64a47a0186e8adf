"""`MainWindow`: servers and libraries on the left, a library's items in the centre, progress below.

The window holds layout and wiring. Behaviour lives elsewhere: syncs in `retrovue.ingest.sync` (run by
`SyncWorker` on a pool thread, reported through `UiBus`), reads through the read API
(`retrovue.catalog`: items, details, local paths), open/reveal in `retrovue.desktop`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QByteArray,
    QItemSelection,
    QModelIndex,
    QPoint,
    QRunnable,
    QSettings,
    Qt,
    QThreadPool,
    QTimer,
)
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QTableView,
    QTabWidget,
    QToolBar,
    QTreeView,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import Engine

from retrovue import desktop, servers
from retrovue.catalog import Catalog, Item
from retrovue.existence import exists_now
from retrovue.gui.bus import UiBus
from retrovue.gui.detail import DetailPane
from retrovue.gui.dialogs.mappings import MappingsDialog
from retrovue.gui.dialogs.server import ServerDialog
from retrovue.gui.models.items import ItemsModel
from retrovue.gui.models.runs import RunsModel
from retrovue.gui.models.tree import ID_ROLE, KIND_ROLE, LibraryTree
from retrovue.gui.progress import ProgressPanel
from retrovue.gui.tasks import Task, error_text, run_task
from retrovue.gui.watch import WatchController
from retrovue.gui.worker import SyncFunction, SyncRequest, SyncWorker, engine_sync
from retrovue.ingest.events import SyncSummary
from retrovue.states import ItemState
from retrovue.store import registry
from retrovue.store.registry import ServerRow

__all__ = ["MainWindow", "completion_message"]

SEARCH_DEBOUNCE_MS = 250


def completion_message(summary: SyncSummary) -> str:
    """The design note's status line, plus why a run was not ok."""
    text = (
        f"Sync finished: +{summary.changed} ~{summary.skipped} !{summary.errors} "
        f"(missing↑{summary.missing_promoted}, deleted↑{summary.deleted_promoted})"
    )
    where = f"{summary.server_name}/{summary.library_title}"
    if summary.status != "ok":
        reason = f": {summary.reason}" if summary.reason else ""
        return f"{text} — {where} {summary.status}{reason}"
    return f"{text} — {where}"


class MainWindow(QMainWindow):
    def __init__(
        self,
        engine: Engine,
        *,
        settings: QSettings | None = None,
        runner: desktop.Runner = desktop.launch_detached,
        file_exists: Callable[[str], bool | None] = exists_now,
        sync_fn: SyncFunction = engine_sync,
        page_size: int = 200,
        check_servers_on_start: bool = True,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.catalog = Catalog(engine)  # every read of the window goes through the read API
        self.settings = settings if settings is not None else QSettings("Retrovue", "Retrovue Ingest")
        self.runner = runner
        self.file_exists = file_exists
        self.sync_fn = sync_fn
        self.page_size = page_size
        self.bus = UiBus(self)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(4)
        self.jobs: dict[int, SyncWorker] = {}
        self.watch = WatchController(
            engine, self.bus, self, sync_fn=sync_fn, sync_options={"page_size": page_size}
        )
        self.running: set[int] = set()  # libraries between sync_started and sync_completed
        self.dialog: ServerDialog | MappingsDialog | None = None
        self.desktop_task: Task | None = None  # the last open/reveal, kept alive while it runs
        self.setWindowTitle("Retrovue Ingest")

        self._build_actions()
        self._build_widgets()
        self._build_menus()
        self._connect()
        self.reload()
        self._restore()
        self._update_actions()
        if check_servers_on_start:
            QTimer.singleShot(0, self.check_servers)

    # ---------------------------------------------------------------------------------- building
    def _action(
        self, text: str, slot: Callable[[], Any], shortcut: str | None = None, tip: str = ""
    ) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip or text)
        action.setToolTip(f"{tip or text} ({shortcut})" if shortcut else tip or text)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.act_sync = a("Sync", self.sync_selected, "F5", "Sync the selected library")
        self.act_sync_all = a("Sync all", self.sync_all, "Shift+F5", "Sync every enabled library")
        self.act_deep = a("Deep sync", self.deep_sync_selected, "Ctrl+F5", "Deep sync the selected library")
        self.act_cancel = a("Cancel", self.cancel_syncs, "Ctrl+.", "Cancel the running syncs")
        self.act_watch = a("Watch", self.toggle_watch, None, "Sync libraries as their servers report changes")
        self.act_watch.setCheckable(True)
        self.act_check = a("Check servers", self.check_servers, "Ctrl+K", "Test every server's connection")
        self.act_reload = a("Reload", self.reload, "Ctrl+R", "Re-read the catalog")
        self.act_add_server = a("Add server…", self.add_server, "Ctrl+N")
        self.act_edit_server = a("Edit server…", self.edit_server, "Ctrl+E")
        self.act_remove_server = a("Remove server…", self.remove_server, None)
        self.act_mappings = a(
            "Path mappings…", self.edit_mappings, "Ctrl+M", "Map the server's paths to this machine"
        )
        self.act_toggle_library = a("Enabled for Sync all", self.toggle_library_enabled)
        self.act_toggle_library.setCheckable(True)
        self.act_open = a("Open file", self.open_item, "Ctrl+O", "Open the item's file in its player")
        self.act_reveal = a("Reveal in file manager", self.reveal_item, "Ctrl+Shift+O")
        self.act_copy_plex = a("Copy Plex path", self.copy_plex_path, "Ctrl+Shift+P")
        self.act_copy_local = a("Copy local path", self.copy_local_path, "Ctrl+Shift+L")
        self.act_find = a("Find", self.focus_search, "Ctrl+F", "Search titles")
        self.act_history = a("Sync history", self.show_history, "Ctrl+H")
        self.act_quit = a("Quit", self.close, "Ctrl+Q")

    def _build_widgets(self) -> None:
        self.tree_model = LibraryTree(self.engine, self, catalog=self.catalog)
        self.tree = QTreeView()
        self.tree.setModel(self.tree_model)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.setUniformRowHeights(True)
        self.progress = ProgressPanel()
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.tree, 1)
        left_layout.addWidget(self.progress)

        self.items_model = ItemsModel(self.engine, self, catalog=self.catalog)
        self.table = QTableView()
        self.table.setModel(self.items_model)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(1, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.setWordWrap(False)
        for col, width in enumerate((260, 180, 70, 50, 70, 80, 100, 120, 380, 380)):
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
        bar = QHBoxLayout()
        bar.addWidget(QLabel("State"))
        bar.addWidget(self.state_filter)
        bar.addWidget(self.search, 1)
        items_page = QWidget()
        items_layout = QVBoxLayout(items_page)
        items_layout.setContentsMargins(0, 0, 0, 0)
        items_layout.addLayout(bar)
        items_layout.addWidget(self.table, 1)

        self.detail = DetailPane([self.act_open, self.act_reveal, self.act_copy_plex, self.act_copy_local])
        self.items_split = QSplitter(Qt.Orientation.Vertical)
        self.items_split.addWidget(items_page)
        self.items_split.addWidget(self.detail)
        self.items_split.setStretchFactor(0, 3)
        self.items_split.setStretchFactor(1, 2)

        self.runs_model = RunsModel(self.engine, self)
        self.runs_view = QTableView()
        self.runs_view.setModel(self.runs_model)
        self.runs_view.verticalHeader().setVisible(False)
        self.runs_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.runs_view.horizontalHeader().setStretchLastSection(True)

        self.tabs = QTabWidget()
        self.tabs.addTab(self.items_split, "Items")
        self.tabs.addTab(self.runs_view, "Sync history")

        self.main_split = QSplitter(Qt.Orientation.Horizontal)
        self.main_split.addWidget(left)
        self.main_split.addWidget(self.tabs)
        self.main_split.setStretchFactor(0, 1)
        self.main_split.setStretchFactor(1, 3)
        self.main_split.setSizes([420, 1000])
        self.setCentralWidget(self.main_split)

        self.count_label = QLabel()
        self.statusBar().addPermanentWidget(self.count_label)

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addActions([self.act_reload, self.act_check])
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        sync_menu = menu.addMenu("&Sync")
        sync_menu.addActions([self.act_sync, self.act_deep, self.act_sync_all, self.act_cancel])
        sync_menu.addSeparator()
        sync_menu.addAction(self.act_watch)
        server_menu = menu.addMenu("Se&rver")
        server_menu.addActions(
            [
                self.act_add_server,
                self.act_edit_server,
                self.act_remove_server,
                self.act_mappings,
                self.act_check,
            ]
        )
        item_menu = menu.addMenu("&Item")
        item_menu.addActions([self.act_open, self.act_reveal, self.act_copy_plex, self.act_copy_local])
        view_menu = menu.addMenu("&View")
        view_menu.addActions([self.act_find, self.act_history, self.act_reload])

        toolbar = QToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.addActions([self.act_sync, self.act_deep, self.act_sync_all, self.act_cancel])
        toolbar.addAction(self.act_watch)
        toolbar.addSeparator()
        toolbar.addActions([self.act_add_server, self.act_edit_server, self.act_mappings, self.act_check])
        self.addToolBar(toolbar)

    def _connect(self) -> None:
        self.bus.sync_started.connect(self.onSyncStarted)
        self.bus.page_progress.connect(self.onPageProgress)
        self.bus.sync_completed.connect(self.onSyncCompleted)
        self.bus.sync_failed.connect(self.onSyncFailed)
        self.bus.job_finished.connect(self.onJobFinished)
        self.bus.server_checked.connect(self.onServerChecked)
        self.watch.notice.connect(self.statusBar().showMessage)
        self.watch.stopped.connect(lambda _reason: self.act_watch.setChecked(self.watch.running))
        self.tree.selectionModel().selectionChanged.connect(self._tree_selection_changed)
        self.tree.customContextMenuRequested.connect(self._tree_menu)
        self.table.selectionModel().currentRowChanged.connect(self._current_item_changed)
        self.table.customContextMenuRequested.connect(self._item_menu)
        self.table.doubleClicked.connect(lambda _i: self.open_item())
        self.items_model.modelReset.connect(self._items_reset)
        self.items_model.rowsInserted.connect(self._update_count)
        self.state_filter.currentIndexChanged.connect(self._state_filter_changed)
        self.search.textChanged.connect(lambda _t: self.search_timer.start())
        self.search_timer.timeout.connect(self.apply_search)

    # ---------------------------------------------------------------------------------- selection
    def selected_node(self) -> tuple[str, int] | None:
        index = self.tree.currentIndex()
        if not index.isValid():
            return None
        first = index.siblingAtColumn(0)
        return str(first.data(KIND_ROLE)), int(first.data(ID_ROLE))

    def selected_library_id(self) -> int | None:
        node = self.selected_node()
        return node[1] if node and node[0] == "library" else None

    def selected_server(self) -> ServerRow | None:
        index = self.tree.currentIndex()
        if not index.isValid():
            return None
        first = index.siblingAtColumn(0)
        if first.data(KIND_ROLE) == "library":
            first = first.parent()
        with self.engine.connect() as conn:
            try:
                return registry.get_server_by_id(conn, int(first.data(ID_ROLE)))
            except Exception:
                return None

    def select_library(self, library_id: int) -> bool:
        item = self.tree_model.library_item(library_id)
        if item is None:
            return False
        index = item.index()
        self.tree.expand(index.parent())
        self.tree.setCurrentIndex(index)
        return True

    def _tree_selection_changed(self, _new: QItemSelection, _old: QItemSelection) -> None:
        library_id = self.selected_library_id()
        if library_id != self.items_model.library_id:
            self.items_model.set_library(library_id)
        self._update_actions()

    def _items_reset(self) -> None:
        self.detail.clear()
        self._update_count()

    def _update_count(self) -> None:
        m = self.items_model
        if m.library_id is None:
            self.count_label.setText("")
        else:
            self.count_label.setText(f"{m.total:,} items ({len(m.rows):,} loaded)")

    def current_item(self) -> Item | None:
        return self.items_model.row(self.table.currentIndex())

    def _current_item_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        item = self.items_model.row(current)
        if item is None:
            self.detail.clear()
        else:
            self.detail.show_detail(self.catalog.detail(item.id))
        self._update_actions()

    def _state_filter_changed(self, _index: int) -> None:
        self.items_model.set_state_filter(self.state_filter.currentData())

    def apply_search(self) -> None:
        self.search_timer.stop()
        self.items_model.set_search(self.search.text())

    def focus_search(self) -> None:
        self.tabs.setCurrentIndex(0)
        self.search.setFocus()
        self.search.selectAll()

    def show_history(self) -> None:
        self.runs_model.reload()
        self.tabs.setCurrentIndex(1)

    # ---------------------------------------------------------------------------------- reading
    def reload(self) -> None:
        """Re-read servers, libraries and the current library's items from the catalog."""
        keep = self.selected_node()
        self.tree_model.reload()
        self.tree.expandAll()
        self._fit_tree()
        if keep is not None and keep[0] == "library":
            self.select_library(keep[1])
        library_id = self.selected_library_id()
        if library_id != self.items_model.library_id:
            self.items_model.set_library(library_id)
        else:
            self.items_model.refresh()
        self.runs_model.reload()
        self._update_actions()

    def _fit_tree(self) -> None:
        for col in range(self.tree_model.columnCount()):
            self.tree.resizeColumnToContents(col)

    # ---------------------------------------------------------------------------------- actions
    def busy(self, library_id: int) -> bool:
        if library_id in self.running:
            return True
        return any(job.request.library_id in (None, library_id) for job in self.jobs.values())

    def _update_actions(self) -> None:
        library_id = self.selected_library_id()
        can_sync = library_id is not None and not self.busy(library_id)
        self.act_sync.setEnabled(can_sync)
        self.act_deep.setEnabled(can_sync)
        self.act_sync_all.setEnabled(not self.jobs)
        self.act_cancel.setEnabled(bool(self.jobs))
        has_server = self.tree.currentIndex().isValid()
        for act in (self.act_edit_server, self.act_remove_server, self.act_mappings):
            act.setEnabled(has_server)
        item = self.current_item()
        for act in (self.act_open, self.act_reveal, self.act_copy_plex, self.act_copy_local):
            act.setEnabled(item is not None)

    def start_sync(self, request: SyncRequest) -> SyncWorker | None:
        if request.library_id is not None and self.busy(request.library_id):
            self.statusBar().showMessage("That library is already being synced.")
            return None
        if request.library_id is None and self.jobs:
            self.statusBar().showMessage("Wait for the running syncs to finish before Sync all.")
            return None
        worker = SyncWorker(self.engine, self.bus, request, sync_fn=self.sync_fn)
        self.jobs[worker.job_id] = worker
        self._update_actions()
        self.statusBar().showMessage("Sync started…")
        self.pool.start(worker)
        return worker

    def sync_selected(self) -> SyncWorker | None:
        library_id = self.selected_library_id()
        if library_id is None:
            return None
        return self.start_sync(SyncRequest(library_id, page_size=self.page_size))

    def deep_sync_selected(self) -> SyncWorker | None:
        library_id = self.selected_library_id()
        if library_id is None:
            return None
        return self.start_sync(SyncRequest(library_id, deep=True, page_size=self.page_size))

    def sync_all(self) -> SyncWorker | None:
        return self.start_sync(SyncRequest(None, page_size=self.page_size))

    def toggle_watch(self) -> None:
        """Start or stop the live watch (`retrovue.watch`), following the checkable action."""
        if self.act_watch.isChecked():
            self.watch.start()
        else:
            self.watch.stop()

    def cancel_syncs(self) -> None:
        for job in self.jobs.values():
            job.cancel()
        if self.jobs:
            self.statusBar().showMessage("Cancelling…")

    # ---------------------------------------------------------------------------------- bus slots
    def onSyncStarted(self, server_id: int, library_id: int, mode: str) -> None:  # noqa: N802
        self.running.add(library_id)
        cells = self.tree_model.library_cells(library_id)
        title = cells[0].text() if cells else f"library {library_id}"
        self.progress.start(library_id, f"{title} ({mode})")
        self._update_actions()

    def onPageProgress(  # noqa: N802
        self,
        server_id: int,
        library_id: int,
        processed: int,
        total: int,
        changed: int,
        skipped: int,
        errors: int,
        phase: str,
    ) -> None:
        self.progress.update_progress(library_id, processed, total, changed, skipped, errors, phase)

    def onSyncCompleted(self, server_id: int, library_id: int, summary: SyncSummary) -> None:  # noqa: N802
        self.running.discard(library_id)
        self.progress.finish(library_id)
        self.tree_model.refresh_row(library_id)
        self._fit_tree()
        if self.items_model.library_id == library_id:
            self.items_model.refresh(library_id)
        self.runs_model.reload()
        self.statusBar().showMessage(completion_message(summary))
        self._update_actions()

    def onSyncFailed(self, job_id: int, library_id: int, message: str) -> None:  # noqa: N802
        self.statusBar().showMessage(f"Sync failed: {message}")

    def onJobFinished(self, job_id: int) -> None:  # noqa: N802
        job = self.jobs.pop(job_id, None)
        if job is not None and job.request.library_id is not None:
            self.running.discard(job.request.library_id)
            self.progress.finish(job.request.library_id)
        if not self.jobs:
            self.running.clear()
            for library_id in list(self.progress.bars):
                self.progress.finish(library_id)
        self._update_actions()

    def onServerChecked(self, server_id: int, reachable: bool, detail: str) -> None:  # noqa: N802
        self.tree_model.set_reachable(server_id, reachable, detail)

    # ---------------------------------------------------------------------------------- servers
    def check_servers(self) -> None:
        """Test every server's connection on the pool; results arrive as `server_checked`."""
        with self.engine.connect() as conn:
            rows = registry.list_servers(conn)
        for server in rows:
            self.pool.start(_ServerCheck(self.bus, server))

    def add_server(self) -> ServerDialog:
        dialog = ServerDialog(self.engine, self.pool, parent=self)
        dialog.accepted.connect(self._server_saved)
        self._open(dialog)
        return dialog

    def edit_server(self) -> ServerDialog | None:
        server = self.selected_server()
        if server is None:
            return None
        dialog = ServerDialog(self.engine, self.pool, server=server, parent=self)
        dialog.accepted.connect(self._server_saved)
        self._open(dialog)
        return dialog

    def _server_saved(self) -> None:
        self.reload()
        self.check_servers()
        self.statusBar().showMessage("Server saved.")

    def remove_server(self) -> None:
        server = self.selected_server()
        if server is None:
            return
        if not self.confirm(
            f"Remove server {server.name!r} with all its libraries and items from the catalog?"
        ):
            return
        try:
            with self.engine.begin() as conn:
                registry.remove_server(conn, server.name)
        except Exception as exc:
            self.statusBar().showMessage(f"Could not remove the server: {error_text(exc)}")
            return
        self.tree_model.reachability.pop(server.id, None)
        self.items_model.set_library(None)
        self.reload()
        self.statusBar().showMessage(f"Removed server {server.name}.")

    def confirm(self, question: str) -> bool:
        answer = QMessageBox.question(self, "Retrovue Ingest", question)
        return answer == QMessageBox.StandardButton.Yes

    def edit_mappings(self) -> MappingsDialog | None:
        server = self.selected_server()
        if server is None:
            return None
        dialog = MappingsDialog(self.engine, server, parent=self)
        dialog.finished.connect(lambda _r: self._mappings_closed(dialog))
        self._open(dialog)
        return dialog

    def _mappings_closed(self, dialog: MappingsDialog) -> None:
        if dialog.changed:
            self.items_model.forget_mappings()
            index = self.table.currentIndex()
            self._current_item_changed(index, index)

    def _open(self, dialog: ServerDialog | MappingsDialog) -> None:
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def toggle_library_enabled(self) -> None:
        library_id = self.selected_library_id()
        if library_id is None:
            return
        with self.engine.begin() as conn:
            lib = registry.get_library_by_id(conn, library_id)
            registry.set_library_enabled(conn, library_id, not lib.enabled)
        self.tree_model.refresh_row(library_id)

    def _tree_menu(self, pos: QPoint) -> None:
        menu = QMenu(self)
        library_id = self.selected_library_id()
        if library_id is not None:
            with self.engine.connect() as conn:
                self.act_toggle_library.setChecked(registry.get_library_by_id(conn, library_id).enabled)
            menu.addActions([self.act_sync, self.act_deep, self.act_toggle_library])
            menu.addSeparator()
        menu.addActions([self.act_edit_server, self.act_mappings, self.act_check, self.act_remove_server])
        menu.addSeparator()
        menu.addAction(self.act_add_server)
        menu.popup(self.tree.viewport().mapToGlobal(pos))

    # ---------------------------------------------------------------------------------- items
    def item_menu(self) -> QMenu:
        menu = QMenu(self)
        menu.addActions([self.act_open, self.act_reveal])
        menu.addSeparator()
        menu.addActions([self.act_copy_plex, self.act_copy_local])
        return menu

    def _item_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if index.isValid():
            self.table.setCurrentIndex(index)
        if self.current_item() is not None:
            self.item_menu().popup(self.table.viewport().mapToGlobal(pos))

    def _local_path(self) -> tuple[Item, str | None] | None:
        item = self.current_item()
        if item is None:
            return None
        return item, self.items_model.local_path(item)

    def open_item(self) -> None:
        self._desktop(desktop.open_file, "Opened")

    def reveal_item(self) -> None:
        self._desktop(desktop.reveal_file, "Revealed")

    def _desktop(self, action: Callable[..., list[str]], verb: str) -> None:
        """Open or reveal off the GUI thread: checking the file, or starting the opener, can block on a
        share that does not answer, and the window must not freeze meanwhile."""
        found = self._local_path()
        if found is None:
            return
        _item, local = found
        runner, exists = self.runner, self.file_exists
        if local is None:  # nothing to look at on disk: say so at once
            try:
                action(local, runner, exists=exists)
            except Exception as exc:
                self.statusBar().showMessage(error_text(exc))
            return
        self.desktop_task = run_task(
            self.pool,
            lambda: action(local, runner, exists=exists),
            lambda _argv: self.statusBar().showMessage(f"{verb} {local}"),
            self.statusBar().showMessage,
        )

    def copy_plex_path(self) -> None:
        item = self.current_item()
        if item is not None and item.file:
            QGuiApplication.clipboard().setText(item.file)
            self.statusBar().showMessage(f"Copied {item.file}")

    def copy_local_path(self) -> None:
        found = self._local_path()
        if found is None:
            return
        _item, local = found
        if local is None:
            self.statusBar().showMessage("No local path: add a path mapping for this server (Ctrl+M).")
            return
        QGuiApplication.clipboard().setText(local)
        self.statusBar().showMessage(f"Copied {local}")

    # ---------------------------------------------------------------------------------- persistence
    def _restore(self) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 860)
        for key, widget in (("window/split", self.main_split), ("window/items_split", self.items_split)):
            value = s.value(key)
            if isinstance(value, QByteArray):
                widget.restoreState(value)
        header = s.value("items/header")
        if isinstance(header, QByteArray):
            self.table.horizontalHeader().restoreState(header)
            hh = self.table.horizontalHeader()
            self.items_model.sort(hh.sortIndicatorSection(), hh.sortIndicatorOrder())
        library_id = s.value("selection/library_id")
        selected = False
        if library_id is not None:
            try:
                selected = self.select_library(int(str(library_id)))
            except ValueError:
                selected = False
        if not selected:
            ids = self.tree_model.library_ids()
            if ids:
                self.select_library(ids[0])

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/split", self.main_split.saveState())
        s.setValue("window/items_split", self.items_split.saveState())
        s.setValue("items/header", self.table.horizontalHeader().saveState())
        library_id = self.selected_library_id()
        if library_id is not None:
            s.setValue("selection/library_id", library_id)
        s.sync()

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Stop the watcher, cancel running syncs and wait for the pool (a sync stops at its next page)."""
        self.watch.stop()
        self.cancel_syncs()
        self.pool.waitForDone(timeout_ms)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.save_settings()
        self.shutdown()
        super().closeEvent(event)


class _ServerCheck(QRunnable):
    """One server's connection test on the pool; the answer goes out as `UiBus.server_checked`."""

    def __init__(self, bus: UiBus, server: ServerRow) -> None:
        super().__init__()
        self.bus = bus
        self.server = server

    def run(self) -> None:
        s = self.server
        try:
            check = servers.check_server(s.base_url, s.token, verify_tls=s.verify_tls, ca_bundle=s.ca_bundle)
        except Exception as exc:
            self.bus.server_checked.emit(s.id, False, error_text(exc))
        else:
            self.bus.server_checked.emit(s.id, True, f"Plex {check.version}")
