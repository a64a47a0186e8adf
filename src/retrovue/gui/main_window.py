"""`MainWindow`: the browser on the left, the selected library's items and the item in the centre,
the activity log and the sync history beside them.

The window composes and wires; each part has its own module: `library_panel` (servers and
libraries, progress), `items_panel` (filter bar, last result, table), `detail` (the item),
`activity` (runs and errors of this session), `actions` (actions, menus, toolbar),
`server_actions` and `item_actions` (what the server and item commands do), `place` (what is
remembered across restarts), `checks` (server connection tests), `reader` (catalog reads off the
GUI thread), `posters`. Syncs run in
`retrovue.ingest.sync` on `SyncWorker` pool threads and reach the window through `UiBus`; reads go
through the read API (`retrovue.catalog`); open/reveal through `retrovue.desktop`, off the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QSettings, Qt, QThreadPool, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QLabel, QMainWindow, QMenu, QMessageBox, QSplitter, QTableView, QTabWidget
from sqlalchemy import Engine

from retrovue import desktop
from retrovue.catalog import Catalog, ItemDetail, Server
from retrovue.existence import exists_now
from retrovue.gui import place
from retrovue.gui.actions import Actions
from retrovue.gui.activity import ActivityLog
from retrovue.gui.bus import UiBus
from retrovue.gui.checks import ONLINE
from retrovue.gui.detail import DetailPane
from retrovue.gui.dialogs.account import SignInDialog
from retrovue.gui.dialogs.mappings import MappingsDialog
from retrovue.gui.dialogs.server import ServerDialog
from retrovue.gui.item_actions import ItemActions
from retrovue.gui.items_panel import ItemsPanel
from retrovue.gui.library_panel import LibraryPanel
from retrovue.gui.models.items import ItemRow
from retrovue.gui.models.runs import RunsModel, run_result
from retrovue.gui.posters import PosterLoader
from retrovue.gui.reader import Reader
from retrovue.gui.server_actions import ServerActions
from retrovue.gui.tasks import Task
from retrovue.gui.watch import WatchController
from retrovue.gui.wording import RunResult, result_line
from retrovue.gui.worker import SyncFunction, SyncRequest, SyncWorker, engine_sync
from retrovue.ingest.events import SyncSummary
from retrovue.thumbs import DEFAULT_LIMIT, PosterSource, ThumbCache

__all__ = ["MainWindow", "completion_message"]

TAB_ITEMS, TAB_ACTIVITY, TAB_HISTORY = range(3)


def completion_message(summary: SyncSummary) -> str:
    """A finished run in one line: where, then what happened in plain words."""
    return f"{summary.server_name} / {summary.library_title}: {result_line(RunResult.of(summary))}"


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
        thumb_limit: int = DEFAULT_LIMIT,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.catalog = Catalog(engine)  # every read of the window goes through the read API
        self.settings = settings if settings is not None else place.default_settings()
        self.runner = runner
        self.file_exists = file_exists
        self.sync_fn = sync_fn
        self.page_size = page_size
        self.bus = UiBus(self)
        self.reader = Reader(self)  # every catalog read of the window, off the GUI thread
        self.posters = PosterLoader(PosterSource(engine, ThumbCache(limit=thumb_limit)), self)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(4)
        self.jobs: dict[int, SyncWorker] = {}
        self.watch = WatchController(
            engine, self.bus, self, sync_fn=sync_fn, sync_options={"page_size": page_size}
        )
        self.running: set[int] = set()  # libraries between sync_started and sync_completed
        self.results: dict[int, tuple[str, bool]] = {}  # library id -> (last result line, bad)
        self.wanted_item: int | None = None  # the item whose detail is being read
        self.dialog: ServerDialog | MappingsDialog | SignInDialog | None = None
        self.dialog_box: QMessageBox | None = None  # the open confirmation, if any
        self.setWindowTitle("Retrovue Ingest")

        self.servers_ui = ServerActions(self)
        self.items_ui = ItemActions(self)
        self.acts = Actions(self)
        a = self.acts
        self.act_sync, self.act_sync_all, self.act_deep, self.act_cancel = (
            a.sync,
            a.sync_all,
            a.deep,
            a.cancel,
        )
        self.act_watch, self.act_check, self.act_reload = a.watch, a.check, a.reload
        self.act_add_server, self.act_edit_server, self.act_remove_server = (
            a.add_server,
            a.edit_server,
            a.remove_server,
        )
        self.act_mappings, self.act_toggle_library = a.mappings, a.toggle_library
        self.act_open, self.act_reveal, self.act_copy_plex, self.act_copy_local = a.item_actions
        self._build_widgets()
        a.build_menus()
        self._connect()
        place.restore_window(self)
        self.reload(then=lambda: place.restore(self))  # the user's place, once the tree is in
        self.update_actions()
        if check_servers_on_start:
            QTimer.singleShot(0, self.check_servers)

    # ---------------------------------------------------------------------------------- building
    def _build_widgets(self) -> None:
        self.library = LibraryPanel(self.catalog, self.reader)
        self.tree_model, self.tree, self.progress = (
            self.library.model,
            self.library.tree,
            self.library.progress,
        )
        self.items = ItemsPanel(self.catalog, self.reader, self.act_add_server, sign_in=self.acts.sign_in)
        self.items_model, self.table = self.items.model, self.items.table
        self.search, self.state_filter, self.search_timer = (
            self.items.search,
            self.items.state_filter,
            self.items.search_timer,
        )
        self.detail = DetailPane(self.acts.item_actions)
        self.items_split = QSplitter(Qt.Orientation.Vertical)
        self.items_split.addWidget(self.items)
        self.items_split.addWidget(self.detail)
        self.items_split.setStretchFactor(0, 3)
        self.items_split.setStretchFactor(1, 2)
        self.items_split.setSizes([460, 260])
        self.items_split.setChildrenCollapsible(False)

        self.activity = ActivityLog()
        self.runs_model = RunsModel(self.catalog, self)
        self.runs_view = QTableView()
        self.runs_view.setModel(self.runs_model)
        self.runs_view.verticalHeader().setVisible(False)
        self.runs_view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.runs_view.horizontalHeader().setStretchLastSection(True)

        self.tabs = QTabWidget()
        self.tabs.addTab(self.items_split, "Items")
        self.tabs.addTab(self.activity, "Activity")
        self.tabs.addTab(self.runs_view, "Sync history")

        self.main_split = QSplitter(Qt.Orientation.Horizontal)
        self.main_split.addWidget(self.library)
        self.main_split.addWidget(self.tabs)
        self.main_split.setStretchFactor(0, 0)  # the browser keeps its width; the items take the rest
        self.main_split.setStretchFactor(1, 1)
        self.main_split.setSizes([320, 960])
        self.main_split.setChildrenCollapsible(False)
        self.setCentralWidget(self.main_split)

        self.count_label = self.items.count
        self.statusBar().addPermanentWidget(self.count_label)
        self.unseen = 0  # activity entries added while the Activity tab was not shown
        self.activity_hint = QLabel()
        self.statusBar().addPermanentWidget(self.activity_hint)

    def _connect(self) -> None:
        self.bus.sync_started.connect(self.onSyncStarted)
        self.bus.page_progress.connect(self.onPageProgress)
        self.bus.sync_completed.connect(self.onSyncCompleted)
        self.bus.sync_failed.connect(self.onSyncFailed)
        self.bus.job_finished.connect(self.onJobFinished)
        self.bus.server_checked.connect(self.onServerChecked)
        self.watch.notice.connect(lambda text: self.say("Watch", text))
        self.watch.stopped.connect(lambda _reason: self.act_watch.setChecked(self.watch.running))
        self.library.selection_changed.connect(self._tree_selection_changed)
        self.tree.customContextMenuRequested.connect(self.servers_ui.tree_menu)
        self.table.selectionModel().currentRowChanged.connect(self._current_item_changed)
        self.table.selectionModel().selectionChanged.connect(lambda *_a: self.update_actions())
        self.table.customContextMenuRequested.connect(self.items_ui.context_menu)
        self.table.doubleClicked.connect(lambda _i: self.open_item())
        self.items_model.modelReset.connect(self._items_reset)
        self.items.place_kept.connect(self._place_kept)
        self.activity.added.connect(self._activity_added)
        self.tabs.currentChanged.connect(self._tab_changed)

    # ---------------------------------------------------------------------------------- messages
    def say(self, where: str, text: str, level: str = "info") -> None:
        """A message that stays: into the activity log, and the status bar for now."""
        self.activity.add(where, text, level)
        self.statusBar().showMessage(f"{where}: {text}" if where else text)

    def _activity_added(self, _entry: object) -> None:
        if self.tabs.currentIndex() != TAB_ACTIVITY:
            self.unseen += 1
            self.tabs.setTabText(TAB_ACTIVITY, f"Activity ({self.unseen})")

    def _tab_changed(self, index: int) -> None:
        if index == TAB_ACTIVITY:
            self.unseen = 0
            self.tabs.setTabText(TAB_ACTIVITY, "Activity")
        if index == TAB_HISTORY:
            self.reload_history()

    # ---------------------------------------------------------------------------------- selection
    def selected_node(self) -> tuple[str, int] | None:
        return self.library.selected_node()

    def selected_library_id(self) -> int | None:
        return self.library.selected_library_id()

    def selected_server(self) -> Server | None:
        """The selected server as the tree shows it: a name and an address, never a catalog read
        on the GUI thread (what needs the token reads it through the reader: `ServerActions.edit`)."""
        return self.library.selected_server()

    def select_library(self, library_id: int) -> bool:
        return self.library.select_library(library_id)

    def _tree_selection_changed(self) -> None:
        library_id, show_id, season_id = self.library.scope()
        self.items.show_library(library_id, self.library.library_kind(library_id), show_id, season_id)
        self.items.scope.setText(self.library.summary())
        self._show_result(library_id)
        self.update_actions()

    def _items_reset(self) -> None:
        if not self.items_model.refreshing:  # the user moved on (another library, a search)
            self.detail.clear()
        self.update_actions()

    def current_item(self) -> ItemRow | None:
        return self.items.current_item()

    def _current_item_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        item = self.items_model.row(current)
        if item is not None:
            self.show_item(item.id)
        elif not self.items_model.refreshing:
            self.detail.clear()
        self.update_actions()

    def show_item(self, item_id: int) -> None:
        """Read the item's detail off the GUI thread and show it, unless another item was chosen
        meanwhile."""
        self.wanted_item = item_id
        self.reader.read(
            lambda: self.catalog.detail(item_id),
            self._detail_read,
            lambda message: self.detail.say(f"Cannot read this item: {message}"),
            still_wanted=lambda: self.wanted_item == item_id,
        )

    def apply_search(self) -> None:
        self.items.apply_search()

    def focus_search(self) -> None:
        self.tabs.setCurrentIndex(TAB_ITEMS)
        self.items.focus_search()

    def show_history(self) -> None:
        self.tabs.setCurrentIndex(TAB_HISTORY)
        self.reload_history()

    def show_activity(self) -> None:
        self.tabs.setCurrentIndex(TAB_ACTIVITY)

    # ---------------------------------------------------------------------------------- reading
    def reload(self, then: Callable[[], None] | None = None) -> None:
        """Re-read servers, libraries, the items shown and the history, keeping the user's place
        (what is open in the tree, the selected node and item, scroll positions, the item's
        detail). The reads run in the background; `then` runs once the tree is in."""

        def tree_in() -> None:
            self._tree_reloaded()
            if then is not None:
                then()

        self.library.reload(tree_in)

    def _tree_reloaded(self) -> None:
        self.items.scope.setText(self.library.summary())
        for library_id, run in self.tree_model.runs.items():
            self.results[library_id] = (result_line(run_result(run)), run.status != "ok")
        scope = self.items_model.filter
        self._tree_selection_changed()
        if scope is not None and self.items_model.filter == scope:  # the same items: re-read them
            self.refresh_items()
        self.reload_history()
        self.offer_first_server()
        self.update_actions()

    def reload_history(self) -> None:
        self.reader.read(lambda: self.catalog.runs(limit=self.runs_model.limit), self.runs_model.set_rows)

    def _detail_read(self, detail: ItemDetail | None) -> None:
        same = (
            detail is not None
            and self.detail.detail is not None
            and detail.item.id == self.detail.detail.item.id
        )
        self.detail.show_detail(detail)
        if detail is not None and not same:
            self.posters.load(detail.item, self.detail.show_poster)

    def refresh_items(self, library_id: int | None = None) -> None:
        """Re-read the items shown, keeping the place; the item's detail follows (`_place_kept`)."""
        self.items.refresh(library_id)

    def _place_kept(self) -> None:
        """A refresh is in: re-read the item being read, whether or not it is still in the list."""
        item = self.current_item()
        shown = self.detail.detail
        if item is not None:
            self.show_item(item.id)
        elif shown is not None:
            self.show_item(shown.item.id)

    def _show_result(self, library_id: int | None) -> None:
        if library_id is None:
            self.items.set_result("")
            return
        if library_id in self.running:
            self.items.set_result("Last sync: syncing now…")
            return
        text, bad = self.results.get(library_id, ("never synced — press Sync (F5)", False))
        self.items.set_result(f"Last sync: {text}", bad=bad)

    # ---------------------------------------------------------------------------------- actions
    def busy(self, library_id: int) -> bool:
        if library_id in self.running:
            return True
        return any(job.request.library_id in (None, library_id) for job in self.jobs.values())

    def update_actions(self) -> None:
        library_id = self.selected_library_id()
        can_sync = library_id is not None and not self.busy(library_id)
        self.act_sync.setEnabled(can_sync)
        self.act_deep.setEnabled(can_sync)
        has_libraries = bool(self.tree_model.library_ids())
        self.act_sync_all.setEnabled(not self.jobs and has_libraries)
        self.act_cancel.setEnabled(bool(self.jobs))
        has_server = self.library.selected_server_id() is not None
        for act in (self.act_edit_server, self.act_remove_server, self.act_mappings):
            act.setEnabled(has_server)
        self.act_check.setEnabled(self.tree_model.rowCount() > 0)
        item = self.current_item()
        self.act_open.setEnabled(item is not None and item.file is not None)
        self.act_reveal.setEnabled(item is not None and item.file is not None)
        self.act_copy_plex.setEnabled(item is not None and item.file is not None)
        self.act_copy_local.setEnabled(item is not None and item.file is not None)

    _update_actions = update_actions

    def start_sync(self, request: SyncRequest) -> SyncWorker | None:
        if request.library_id is not None and self.busy(request.library_id):
            self.say("Sync", "that library is already being synced", "warning")
            return None
        if request.library_id is None and self.jobs:
            self.say("Sync", "wait for the running syncs to finish before Sync all", "warning")
            return None
        if request.library_id is None and not self.tree_model.library_ids():
            self.offer_first_server()
            return None
        worker = SyncWorker(self.engine, self.bus, request, sync_fn=self.sync_fn)
        self.jobs[worker.job_id] = worker
        self.update_actions()
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
    def _library_title(self, library_id: int) -> str:
        cells = self.tree_model.library_cells(library_id)
        return cells[0].text() if cells else f"library {library_id}"

    def onSyncStarted(self, server_id: int, library_id: int, mode: str) -> None:  # noqa: N802
        self.running.add(library_id)
        title = self._library_title(library_id)
        self.progress.start(library_id, title if mode == "incremental" else f"{title} ({mode})")
        if library_id == self.selected_library_id():
            self._show_result(library_id)
        self.update_actions()

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
        line = result_line(RunResult.of(summary))
        bad = summary.status != "ok"
        self.results[library_id] = (line, bad)
        where = f"{summary.server_name} / {summary.library_title}"
        level = "error" if summary.status == "failed" else "warning" if bad else "info"
        self.say(where, line if summary.mode == "incremental" else f"deep sync: {line}", level)
        self.reload()  # counts at every level, the items shown, the history: the place is kept
        self._show_result(self.selected_library_id())
        self.update_actions()

    def onSyncFailed(self, job_id: int, library_id: int, message: str) -> None:  # noqa: N802
        where = self._library_title(library_id) if library_id else "Sync all"
        if library_id:
            self.results[library_id] = (f"Could not run: {message}", True)
            self._show_result(self.selected_library_id())
        self.say(where, f"sync could not run: {message}", "error")

    def onJobFinished(self, job_id: int) -> None:  # noqa: N802
        job = self.jobs.pop(job_id, None)
        if job is not None and job.request.library_id is not None:
            self.running.discard(job.request.library_id)
            self.progress.finish(job.request.library_id)
        if not self.jobs:
            self.running.clear()
            for library_id in list(self.progress.bars):
                self.progress.finish(library_id)
        self._show_result(self.selected_library_id())
        self.update_actions()

    def onServerChecked(self, server_id: int, status: str, detail: str) -> None:  # noqa: N802
        self.tree_model.set_reachable(server_id, status, detail)
        if status != ONLINE:
            item = self.tree_model.server_item(server_id)
            name = item.text() if item is not None else f"server {server_id}"
            self.activity.add(name, f"{status}: {detail}", "error")

    # ---------------------------------------------------------------------------------- servers
    # (server_actions.py does the work; these are the window's commands)
    def check_servers(self) -> None:
        self.servers_ui.check()

    def offer_first_server(self) -> None:
        self.servers_ui.offer_first_server()

    def add_server(self) -> ServerDialog:
        return self.servers_ui.add()

    def sign_in(self) -> SignInDialog:
        return self.servers_ui.sign_in()

    def edit_server(
        self, server_id: int | None = None, then: Callable[[ServerDialog], None] | None = None
    ) -> None:
        """Open the edit dialog once the server is read (off the GUI thread): `window.dialog`."""
        self.servers_ui.edit(server_id, then)

    def remove_server(self) -> None:
        self.servers_ui.remove()

    def confirm(self, question: str) -> bool:
        return self.servers_ui.confirm(question)

    def edit_mappings(self) -> MappingsDialog | None:
        return self.servers_ui.mappings()

    def toggle_library_enabled(self) -> None:
        self.servers_ui.toggle_library_enabled()

    def open_dialog(self, dialog: ServerDialog | MappingsDialog | SignInDialog) -> None:
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    # ---------------------------------------------------------------------------------- items
    # (item_actions.py does the work)
    def item_menu(self) -> QMenu:
        return self.acts.item_menu()

    def open_item(self) -> None:
        self.items_ui.open()

    def reveal_item(self) -> None:
        self.items_ui.reveal()

    def copy_plex_path(self) -> None:
        self.items_ui.copy_plex_path()

    def copy_local_path(self) -> None:
        self.items_ui.copy_local_path()

    @property
    def desktop_task(self) -> Task | None:
        """The last open/reveal, kept alive while it runs."""
        return self.items_ui.task

    # ---------------------------------------------------------------------------------- persistence
    def save_settings(self) -> None:
        place.save(self)

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Stop the watcher, cancel running syncs and wait for the pool (a sync stops at its next page)."""
        self.watch.stop()
        self.cancel_syncs()
        self.pool.waitForDone(timeout_ms)
        self.reader.close(timeout_ms)
        self.posters.close(timeout_ms)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.save_settings()
        self.shutdown()
        super().closeEvent(event)
