"""`Watcher`: keep the catalog current from each server's notifications, without polling.

    listener thread per server ──on_up / on_sections / on_down──▶ Watcher state (one lock)
                                                                    │ SyncSchedule: debounce, coalesce
    run(stop) thread: dispatch loop ──due libraries──▶ sync thread ─┘ retrovue.ingest.sync(library_id=…)

* A notification that names a section (timeline entry processed/created/deleted, library scan ended)
  asks for a sync of the library mapped to that section, after `debounce` seconds of quiet (but no
  later than `max_delay` after the first event), so a burst of events is one sync.
* One sync at a time per library: events arriving while it runs become one follow-up sync. At most
  `max_parallel` syncs run at once (default 1: a SQLite catalog has one writer anyway).
* A library held by another sync (`LockHeldError`: another process, the GUI) is retried after
  `lock_retry` seconds.
* On every (re)connection the server's libraries get a catch-up sync (cheap: the engine's change gate
  skips unchanged sections), because changes made while nobody listened sent no notification. Catch-
  ups of one server are at least `catchup_interval` seconds apart (60): a reconnect sooner than that
  queues one for when the interval is up, coalesced with any already queued, so a connection that
  keeps dropping costs one sync a minute, not one per reconnect.
* While a server's websocket is down or refused, its libraries get an incremental sync every
  `fallback_interval` seconds (the first one at once if the server never had a catch-up); the
  listener keeps trying to reconnect with jittered exponential backoff capped at `reconnect_max`.
* `run(stop)` returns within about a second of `stop.set()`: listeners poll the event, a running sync
  is cancelled through the engine's `cancel` event (it stops after the current page). `run` waits
  `stop_grace` seconds for that; a sync still busy after it (say, in the client's retries against
  an unreachable server) is left to end on its daemon thread.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from retrovue import failures
from retrovue.errors import ConfigError, LockHeldError, RetrovueError, UnknownLibraryError
from retrovue.ingest import EventCallback, SyncSummary
from retrovue.ingest import sync as engine_sync
from retrovue.store import registry
from retrovue.store.registry import LibraryRow, ServerRow
from retrovue.watch.events import (
    Connected,
    Disconnected,
    MessagesDropped,
    PollingFallback,
    SyncDeferred,
    SyncFinished,
    SyncStarting,
    WatchEvent,
    WatchEventCallback,
)
from retrovue.watch.listener import Connector, ServerListener
from retrovue.watch.notifications import Backoff, SyncSchedule

__all__ = ["SyncFunction", "Watcher"]

SyncFunction = Callable[..., list[SyncSummary]]
"""`retrovue.ingest.sync`'s signature; injectable so tests can script an engine."""

log = logging.getLogger(__name__)

TICK = 0.2  # the dispatch loop's longest sleep: bounds the stop latency
MAP_REFRESH_MIN = 10.0  # an unknown section id re-reads the registry at most this often


@dataclass
class _Server:
    row: ServerRow
    libraries: dict[str, LibraryRow] = field(default_factory=dict)  # section key → enabled library
    connected: bool = False
    caught_up: bool = False  # a catch-up (connect or poll) sync was queued since the watcher started
    next_poll: float | None = None  # set while the websocket is down
    mapped_at: float = 0.0
    catchup_due: float | None = None  # when the last catch-up was queued to run


class Watcher:
    """Listen to every registered server (or `server`) and sync the libraries they say changed.

    `on_event` gets `WatchEvent`s (connections, fallbacks, sync start/end), `on_summary` each
    sync's `SyncSummary`, `on_sync_event` the engine's progress events; all are called from the
    watcher's threads. `sync_options` are passed on to `retrovue.ingest.sync` (e.g. `page_size`).
    """

    def __init__(
        self,
        engine: sa.Engine,
        *,
        server: str | None = None,
        debounce: float = 2.0,
        max_delay: float = 30.0,
        fallback_interval: float = 900.0,
        reconnect_initial: float = 1.0,
        reconnect_max: float = 60.0,
        lock_retry: float = 30.0,
        max_parallel: int = 1,
        open_timeout: float = 5.0,
        stop_grace: float = 0.75,
        catchup_interval: float = 60.0,
        proven_after: float = 30.0,
        on_event: WatchEventCallback | None = None,
        on_summary: Callable[[SyncSummary], None] | None = None,
        on_sync_event: EventCallback | None = None,
        sync_options: dict[str, Any] | None = None,
        sync_fn: SyncFunction = engine_sync,
        connect: Connector | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if debounce < 0 or fallback_interval <= 0 or lock_retry <= 0 or max_parallel < 1:
            raise ConfigError("watch: debounce >= 0, fallback interval > 0 and max parallel >= 1 are needed")
        if reconnect_initial <= 0 or reconnect_max < reconnect_initial:
            raise ConfigError("watch: reconnect delays need 0 < initial <= max")
        if catchup_interval < 0 or proven_after < 0:
            raise ConfigError("watch: the catch-up interval and proving time must not be negative")
        self.catchup_interval = catchup_interval
        self.proven_after = proven_after
        self.engine = engine
        self.server = server
        self.fallback_interval = fallback_interval
        self.reconnect_initial = reconnect_initial
        self.reconnect_max = reconnect_max
        self.lock_retry = lock_retry
        self.max_parallel = max_parallel
        self.open_timeout = open_timeout
        self.stop_grace = stop_grace
        self.schedule = SyncSchedule(debounce, max_delay)
        self._emit_event: WatchEventCallback = on_event or (lambda _e: None)
        self._emit_summary: Callable[[SyncSummary], None] = on_summary or (lambda _s: None)
        self._on_sync_event: EventCallback = on_sync_event or (lambda _e: None)
        self._sync_options = dict(sync_options or {})
        self._sync_fn = sync_fn
        self._connect = connect
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._servers: dict[int, _Server] = {}
        self._library_server: dict[int, int] = {}
        self._sync_threads: dict[int, threading.Thread] = {}
        self._stop = threading.Event()

    # ------------------------------------------------------------------------------------ public
    def run(self, stop: threading.Event) -> None:
        """Watch until `stop` is set. Raises `ConfigError` if there is no server to watch."""
        self._stop = stop
        self._servers.clear()
        rows = self._server_rows()
        now = time.monotonic()
        with self._lock:
            for row in rows:
                self._servers[row.id] = _Server(row)
                self._remap(row.id, now)
        listeners = [self._listener(row, stop) for row in rows]
        for listener in listeners:
            listener.start()
        try:
            while not stop.is_set():
                self._wake.clear()
                timeout = self._dispatch(time.monotonic())
                self._wake.wait(timeout)
        finally:
            stop.set()
            for listener in listeners:
                listener.close()
            deadline = time.monotonic() + self.stop_grace
            with self._lock:
                threads = list(self._sync_threads.values())
            for thread in [*listeners, *threads]:
                # syncs are cancelled through `stop` and end after their current page; one stuck in
                # the client's retries against an unreachable server is left to finish (daemon)
                thread.join(max(0.0, deadline - time.monotonic()))

    def request_sync(self, library_id: int, cause: str = "manual") -> None:
        """Ask for a sync of one library, debounced like a notification (any thread)."""
        with self._lock:
            self.schedule.request(library_id, time.monotonic(), cause)
        self._wake.set()

    # ------------------------------------------------------------------------------------ setup
    def _server_rows(self) -> list[ServerRow]:
        with self.engine.connect() as conn:
            if self.server is not None:
                return [registry.get_server(conn, self.server)]
            rows = registry.list_servers(conn)
        if not rows:
            raise ConfigError("no servers to watch; add one with `retrovue server add`")
        return rows

    def _listener(self, row: ServerRow, stop: threading.Event) -> ServerListener:
        return ServerListener(
            row,
            stop,
            on_up=lambda: self._on_up(row.id),
            on_sections=lambda keys: self._on_sections(row.id, keys),
            on_down=lambda reason, unavailable, retry: self._on_down(row.id, reason, unavailable, retry),
            on_dropped=lambda count, reason: self._emit(MessagesDropped(row.name, count, reason)),
            backoff=Backoff(self.reconnect_initial, self.reconnect_max, rng=self._rng),
            proven_after=self.proven_after,
            open_timeout=self.open_timeout,
            connect=self._connect,
            reread=lambda: self._reread(row.id),
        )

    def _reread(self, server_id: int) -> ServerRow:
        with self.engine.connect() as conn:
            return registry.get_server_by_id(conn, server_id)

    def _remap(self, server_id: int, now: float) -> None:
        """Re-read the server's enabled libraries (caller holds the lock)."""
        srv = self._servers[server_id]
        try:
            with self.engine.connect() as conn:
                libs = [
                    lib
                    for lib in registry.list_libraries(conn, enabled_only=True)
                    if lib.server_id == server_id
                ]
        except (RetrovueError, sa.exc.SQLAlchemyError):
            return  # keep the old map; the next connect or poll tries again
        srv.libraries = {lib.section_key: lib for lib in libs}
        srv.mapped_at = now
        for lib in libs:
            self._library_server[lib.id] = server_id

    def _queue_all(self, srv: _Server, now: float, cause: str, delay: float = 0.0) -> None:
        for lib in srv.libraries.values():
            self.schedule.request(lib.id, now, cause, delay=delay)
        srv.caught_up = True

    def _queue_catchup(self, srv: _Server, now: float) -> None:
        """A catch-up for a (re)connection, at least `catchup_interval` after the previous one."""
        if srv.catchup_due is not None and srv.catchup_due > now:
            return  # one is already queued: it covers this reconnection too
        due = now if srv.catchup_due is None else max(now, srv.catchup_due + self.catchup_interval)
        srv.catchup_due = due
        self._queue_all(srv, now, "connected", delay=due - now)

    # ------------------------------------------------------------------------- listener callbacks
    def _on_up(self, server_id: int) -> None:
        now = time.monotonic()
        with self._lock:
            srv = self._servers[server_id]
            srv.connected = True
            srv.next_poll = None
            self._remap(server_id, now)
            self._queue_catchup(srv, now)
        self._emit(Connected(srv.row.name))
        self._wake.set()

    def _on_sections(self, server_id: int, keys: set[str]) -> None:
        now = time.monotonic()
        with self._lock:
            srv = self._servers[server_id]
            if any(k not in srv.libraries for k in keys) and now - srv.mapped_at >= MAP_REFRESH_MIN:
                self._remap(server_id, now)  # a library enabled since: pick it up
            for key in keys:
                lib = srv.libraries.get(key)
                if lib is not None:  # other sections (music, photos, disabled) are not ours
                    self.schedule.request(lib.id, now, "notification")
        self._wake.set()

    def _on_down(self, server_id: int, reason: str, unavailable: bool, retry_in: float) -> None:
        now = time.monotonic()
        entering = False
        with self._lock:
            srv = self._servers[server_id]
            srv.connected = False
            if srv.next_poll is None:
                entering = True
                srv.next_poll = now + (self.fallback_interval if srv.caught_up else 0.0)
        name = srv.row.name
        self._emit(Disconnected(name, reason, retry_in, unavailable))
        if entering:
            self._emit(PollingFallback(name, reason, self.fallback_interval))
        self._wake.set()

    # ------------------------------------------------------------------------------- dispatching
    def _dispatch(self, now: float) -> float:
        """Queue fallback polls, start due syncs; returns how long the loop may sleep."""
        with self._lock:
            for srv in self._servers.values():
                if not srv.connected and srv.next_poll is not None and srv.next_poll <= now:
                    self._remap(srv.row.id, now)
                    self._queue_all(srv, now, "poll")
                    srv.next_poll = now + self.fallback_interval
            for library_id in self.schedule.due(now):
                if len(self.schedule.running) >= self.max_parallel:
                    break
                lib = self._library(library_id)
                if lib is None:
                    self.schedule.forget(library_id)
                    continue
                causes = self.schedule.started(library_id)
                thread = threading.Thread(
                    target=self._sync_one,
                    args=(lib, causes),
                    name=f"retrovue-watch-sync-{library_id}",
                    daemon=True,
                )
                self._sync_threads[library_id] = thread
                thread.start()
            deadlines = [s.next_poll for s in self._servers.values() if s.next_poll is not None]
            if len(self.schedule.running) < self.max_parallel:  # else a finishing sync wakes us
                deadlines += [d for d in [self.schedule.next_deadline()] if d is not None]
        if not deadlines:
            return TICK
        return max(0.0, min(TICK, min(deadlines) - now))

    def _library(self, library_id: int) -> LibraryRow | None:
        server_id = self._library_server.get(library_id)
        if server_id is not None:
            srv = self._servers.get(server_id)
            if srv is not None:
                for lib in srv.libraries.values():
                    if lib.id == library_id:
                        return lib
        try:
            with self.engine.connect() as conn:
                return registry.get_library_by_id(conn, library_id)
        except (RetrovueError, sa.exc.SQLAlchemyError):
            return None

    def _sync_one(self, lib: LibraryRow, causes: tuple[str, ...]) -> None:
        started = time.monotonic()
        self._emit(SyncStarting(lib.server_name, lib.id, lib.title, causes, started))
        summary: SyncSummary | None = None
        error: str | None = None
        retry = False
        try:
            summaries = self._sync_fn(
                self.engine,
                library_id=lib.id,
                on_event=self._on_sync_event,
                cancel=self._stop,
                **self._sync_options,
            )
            summary = summaries[0] if summaries else None
            for s in summaries:
                self._emit_summary(s)
        except LockHeldError as exc:
            retry = True
            error = str(exc)
            self._emit(SyncDeferred(lib.server_name, lib.id, lib.title, str(exc), self.lock_retry))
        except UnknownLibraryError as exc:  # removed since: stop caring about it
            error = str(exc)
        except Exception as exc:  # a bug or a database failure must not kill the watcher; report it
            failure = failures.describe(exc, catalog=self.engine.url.render_as_string(hide_password=False))
            if not failure.expected:
                log.error("unexpected error syncing %s/%s", lib.server_name, lib.title, exc_info=exc)
            error = failure.message
        finally:
            finished = time.monotonic()
            with self._lock:
                self.schedule.finished(lib.id)
                self._sync_threads.pop(lib.id, None)
                if retry and not self._stop.is_set():
                    self.schedule.request(lib.id, finished, "retry", delay=self.lock_retry)
            self._wake.set()
        if not retry:
            self._emit(SyncFinished(lib.server_name, lib.id, lib.title, started, finished, summary, error))

    def _emit(self, event: WatchEvent) -> None:
        with contextlib.suppress(Exception):  # a broken handler must not stop the watcher
            self._emit_event(event)
