"""The public sync API: every enabled library of every server, or a chosen server or library.

`sync()` is what the CLI, the GUI worker and the demo call. It runs in the calling thread, reports
through one event callback, and returns one `SyncSummary` per library. Servers are independent: one
that cannot be reached, is misconfigured (a CA bundle gone), or answers as a different Plex server
gets failed summaries for its libraries (nothing marked missing) while the others sync. One
`/library/sections` request per server feeds every library's change gate and its identity check.
A server with several addresses (added from the Plex account) is reached through `retrovue.reach`:
the remembered address first, then the others in order, each proven to be the server; a 401 renews
the token from the account once. Each summary says which address the run used.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from itertools import groupby

import httpx
import sqlalchemy as sa

from retrovue.errors import LockHeldError, RetrovueError, UnknownLibraryError
from retrovue.ingest.events import RUN_FAILED, EventCallback, LibraryDone, LibraryStarted, SyncSummary
from retrovue.ingest.gc_budget import fewer_collections
from retrovue.ingest.library_sync import LibrarySync, SyncOptions
from retrovue.reach import AccountListing, reach
from retrovue.store import maintenance, registry, runs
from retrovue.store.registry import LibraryRow, ServerRow

__all__ = ["SyncOptions", "select_libraries", "sync"]


def select_libraries(
    engine: sa.Engine,
    *,
    server: str | None = None,
    library: str | None = None,
    library_id: int | None = None,
) -> list[LibraryRow]:
    """The libraries a sync covers: a named one (even if disabled), else every enabled one."""
    with engine.connect() as conn:
        if library_id is not None:
            return [registry.get_library_by_id(conn, library_id)]
        if library is not None:
            return [registry.get_library(conn, library, server=server)]
        libs = registry.list_libraries(conn, server=server, enabled_only=True)
    return libs


def sync(
    engine: sa.Engine,
    *,
    server: str | None = None,
    library: str | None = None,
    library_id: int | None = None,
    deep: bool = False,
    force: bool = False,
    on_event: EventCallback | None = None,
    cancel: threading.Event | None = None,
    page_size: int = 200,
    use_gate: bool = True,
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], float] = time.time,
    client_options: dict[str, object] | None = None,
    resolve_local: bool = True,
) -> list[SyncSummary]:
    """Sync libraries and return their summaries, in server then library order.

    `deep` skips the change gate, checks every item's files and confirms deletions; `force` marks
    items MISSING even past the library's safety threshold; `use_gate=False` lists every library even
    when its `contentChangedAt` did not move (a cheaper check than deep, for the suspicious).
    `resolve_local` re-decides ACTIVE vs REMOTE_ONLY (path mappings, local files) for a library
    whose items the run wrote, before its `LibraryDone`; the engine itself only knows what Plex says.

    Raises `LockHeldError` when a single library was asked for and another sync holds it; when several
    were asked for, a held library gets a failed summary saying who holds it and the rest go on.
    """
    targets = select_libraries(engine, server=server, library=library, library_id=library_id)
    if not targets and (library is not None or library_id is not None):
        raise UnknownLibraryError("no such library")
    single = library is not None or library_id is not None
    emit: EventCallback = on_event or (lambda _event: None)
    stop = cancel or threading.Event()
    options = SyncOptions(
        deep=deep, force=force, page_size=page_size, use_gate=use_gate, resolve_local=resolve_local
    )
    summaries: list[SyncSummary] = []
    with engine.connect() as conn:
        servers = {s.id: s for s in registry.list_servers(conn)}
        known_uuids: dict[int, set[str | None]] = {}
        for lib in registry.list_libraries(conn):
            known_uuids.setdefault(lib.server_id, set()).add(lib.section_uuid)
    listing = AccountListing()  # plex.tv asked at most once per run, and only when a server needs it
    for server_id, group in groupby(targets, key=lambda lib: lib.server_id):
        libs = list(group)
        srv = servers[server_id]
        # Waits between retries end early on cancel, so a cancelled run never sits out a backoff.
        options_for_client: dict[str, object] = {"sleep": stop.wait, **(client_options or {})}
        try:
            got = reach(
                engine,
                srv,
                known_uuids.get(server_id, ()),
                transport=transport,
                client_options={"page_size": page_size, **options_for_client},
                account_lookup=listing,
                clock=clock,
            )
        except RetrovueError as exc:  # unreachable at every address, misconfigured, another server
            summaries.extend(_unreachable(engine, srv, libs, str(exc), emit, clock))
            continue
        srv = got.server  # a new address or token when this run had to change them
        with got.client as client:
            sections = {s.key: s for s in got.sections}
            for lib in libs:
                if stop.is_set():
                    break
                job = LibrarySync(
                    engine,
                    client,
                    srv,
                    lib,
                    sections.get(lib.section_key),
                    options=options,
                    on_event=emit,
                    cancel=stop,
                    clock=clock,
                    via=(got.connection, got.address),
                )
                try:
                    with fewer_collections():
                        summaries.append(job.run())
                except LockHeldError as exc:
                    if single:
                        raise
                    summaries.append(_failed(lib, str(exc), None, int(clock())))
                    emit(LibraryDone(lib.server_id, lib.id, summaries[-1]))
                    continue
                _keep_statistics(engine, summaries[-1])
    return summaries


def _keep_statistics(engine: sa.Engine, summary: SyncSummary) -> None:
    """After a library's writes, ANALYZE what they grew or rewrote (`store.maintenance`): the
    catalog cannot count on autovacuum. A run that wrote nothing costs nothing here."""
    rewritten = summary.written + summary.missing_promoted + summary.deleted_promoted + summary.rekeyed
    if rewritten == 0:
        return
    maintenance.note_written(engine, "media_items", rewritten)
    maintenance.analyze_if_grown(engine)


def _failed(lib: LibraryRow, reason: str, run_id: int | None, now: int) -> SyncSummary:
    return SyncSummary(
        server_id=lib.server_id,
        library_id=lib.id,
        server_name=lib.server_name,
        library_title=lib.title,
        run_id=run_id,
        mode="incremental",
        status=RUN_FAILED,
        reason=reason,
        last_synced_at=lib.last_synced_at,
    )


def _unreachable(
    engine: sa.Engine,
    server: ServerRow,
    libs: list[LibraryRow],
    reason: str,
    emit: EventCallback,
    clock: Callable[[], float],
) -> list[SyncSummary]:
    """Record a failed run for each library of a server that could not be asked for its sections."""
    out = []
    now = int(clock())
    message = f"{reason}; nothing was marked missing"
    for lib in libs:
        emit(LibraryStarted(lib.server_id, lib.id, lib.server_name, lib.title, "incremental"))
        with engine.begin() as conn:
            run_id = runs.start_run(conn, lib.id, mode="incremental", now=now)
            runs.finish_run(
                conn, run_id, status=RUN_FAILED, counts=runs.RunCounts(), now=now, error_text=message
            )
            registry.record_library_run(conn, lib.id, last_sync_status=RUN_FAILED)
        summary = _failed(lib, message, run_id, now)
        out.append(summary)
        emit(LibraryDone(lib.server_id, lib.id, summary))
    return out
