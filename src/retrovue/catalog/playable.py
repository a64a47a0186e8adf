"""Items that play from local files on this machine right now, with the files to open.

`playable` answers from the disk, not from stored verdicts: it pages through the items Plex can
play (by key, `page_size` at a time), resolves their parts with this machine's resolver (the same
one `retrovue paths` and the sync's decisions use), each part once, and checks the files with the
same rule (`paths.local_answer`, as `resolved_answer`: some version whose every part resolves to a
file that exists), one `stat` per file. Mapping roots are looked at once per call; files under a
root that is down are not checked one by one, and those items are left out. With a server's
`check_local_files` off, a resolving path counts as present. Memory stays flat: one page of rows,
their parts and answers at a time; an Item is made only for a row that plays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any

from sqlalchemy import Engine

from retrovue.catalog.items import item_from_row, row_page, row_tags
from retrovue.catalog.model import Playable
from retrovue.catalog.query import ItemQuery
from retrovue.mapping import Resolvers
from retrovue.mapping.roots import ProbeFn, probe_roots
from retrovue.paths import Resolution, check_exists, resolved_answer
from retrovue.store import registry
from retrovue.store import schema as t
from retrovue.store.local import PLEX_PLAYABLE

__all__ = ["playable_items"]

_ID, _SERVER = 0, 1  # positions in a row of `row_page`


def playable_items(
    engine: Engine,
    machine: str,
    resolvers: Resolvers,
    query: ItemQuery,
    *,
    sort: str,
    descending: bool,
    page_size: int,
    check_files: bool | None,
    timeout: float,
    max_workers: int,
    stat: Callable[[str], object],
    probe: ProbeFn,
) -> Iterator[Playable]:
    """Each page: its rows and parts in one read; every part resolved once (the answer gives the
    item's `local_paths`, the files to check and the rule's input); the files checked together;
    an Item made, and its tags read, only for the rows that play."""
    with engine.connect() as conn:
        checks = {s.id: s.check_local_files for s in registry.list_servers(conn)}
    servers: dict[int, tuple[bool, set[int], Callable[[str], Resolution]]] = {}
    query = replace(query, state=None)  # Plex can play it: that is the one state that may play here
    after: str | None = None
    while True:
        rows, after, parts = row_page(
            engine,
            machine,
            query,
            sort=sort,
            descending=descending,
            limit=page_size,
            after=after,
            parts=True,
            extra=[t.media_items.c.state.in_(PLEX_PLAYABLE)],
        )
        page: list[tuple[Any, list[tuple[int, str]], list[tuple[int, Resolution]]]] = []
        wanted: list[str] = []
        for row in rows:
            server = servers.get(row[_SERVER])
            if server is None:
                server = servers[row[_SERVER]] = _server(
                    resolvers, row[_SERVER], checks, check_files, probe, timeout
                )
            check, gone, explain = server
            files = parts.get(row[_ID], [])
            resolved = [(media_index, explain(file)) for media_index, file in files]
            page.append((row, files, resolved))
            if check:
                for _, found in resolved:
                    if found.local_path is not None and not (
                        found.mapping is not None and found.mapping.id in gone
                    ):
                        wanted.append(found.local_path)
        known = check_exists(wanted, max_workers=max_workers, timeout=timeout, stat=stat) if wanted else {}
        plays: list[tuple[Any, list[tuple[int, str]], list[tuple[int, Resolution]], tuple[str, ...]]] = []
        for row, files, resolved in page:
            check, gone, _explain = servers[row[_SERVER]]
            exists: Callable[[str], bool | None] = known.get if check else _present
            answer = resolved_answer(_versions(resolved), exists, gone)
            if answer.files is not None:
                plays.append((row, files, resolved, answer.files))
        tags = row_tags(engine, [row for row, _, _, _ in plays])
        for row, files, resolved, play in plays:
            local_paths = tuple(found.local_path for _, found in resolved)
            yield Playable(item_from_row(row, local_paths, tags.get(row[_ID]), files), play)
        resolvers.invalidate()
        if after is None:
            return


def _server(
    resolvers: Resolvers,
    server_id: int,
    checks: dict[int, bool],
    check_files: bool | None,
    probe: ProbeFn,
    timeout: float,
) -> tuple[bool, set[int], Callable[[str], Resolution]]:
    """For one server, once per call: whether its files are checked, the ids of its mappings whose
    root is down now, and its resolver's `explain`."""
    check = checks.get(server_id, True) if check_files is None else check_files
    return check, _down_roots(resolvers, server_id, check, probe, timeout), resolvers(server_id).explain


def _versions(resolved: list[tuple[int, Resolution]]) -> Iterable[list[Resolution]]:
    """An item's resolved parts by version (Plex's Media), in order."""
    if len(resolved) == 1:
        return ([resolved[0][1]],)
    versions: dict[int, list[Resolution]] = {}
    for media_index, found in resolved:
        versions.setdefault(media_index, []).append(found)
    return versions.values()


def _present(_path: str) -> bool:
    return True


def _down_roots(
    resolvers: Resolvers, server_id: int, check: bool, probe: ProbeFn, timeout: float
) -> set[int]:
    """Mapping ids of `server_id` whose local root is down now (none when files are not checked)."""
    if not check:
        return set()
    roots = [(m.id, base) for m, base in resolvers(server_id).roots() if m.id is not None]
    found = probe_roots([base for _, base in roots], probe=probe, timeout=timeout)
    return {mapping_id for mapping_id, base in roots if found[base].down}
