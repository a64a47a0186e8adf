"""Items that play from local files on this machine right now, with the files to open.

`playable` answers from the disk, not from stored verdicts: it pages through the items Plex can
play (by key, `page_size` at a time), resolves their parts with this machine's resolver (the same
one `retrovue paths` and the sync's decisions use) and checks the files with the same rule
(`paths.local_answer`: some version whose every part resolves to a file that exists). Mapping roots
are looked at once per call; files under a root that is down are not checked one by one, and those
items are left out. With a server's `check_local_files` off, a resolving path counts as present.
Memory stays flat: one page of items, their parts and answers at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

from sqlalchemy import Engine

from retrovue.catalog.items import item_page
from retrovue.catalog.model import Playable
from retrovue.catalog.query import ItemQuery
from retrovue.mapping import Resolvers
from retrovue.mapping.roots import ProbeFn, probe_roots
from retrovue.paths import check_exists, local_answer
from retrovue.store import registry
from retrovue.store import schema as t
from retrovue.store.local import PLEX_PLAYABLE

__all__ = ["playable_items"]


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
    with engine.connect() as conn:
        checks = {s.id: s.check_local_files for s in registry.list_servers(conn)}
    down: dict[int, set[int]] = {}
    query = replace(query, state=None)  # Plex can play it: that is the one state that may play here
    after: str | None = None
    while True:
        page, parts = item_page(
            engine,
            machine,
            resolvers,
            query,
            sort=sort,
            descending=descending,
            limit=page_size,
            after=after,
            local_paths=True,
            extra=[t.media_items.c.state.in_(PLEX_PLAYABLE)],
        )
        versions = {}
        wanted: list[str] = []
        for item in page.rows:
            check = checks.get(item.server_id, True) if check_files is None else check_files
            if item.server_id not in down:
                down[item.server_id] = _down_roots(resolvers, item.server_id, check, probe, timeout)
            by_media: dict[int, list[str]] = {}
            for media_index, file in parts.get(item.id, []):
                by_media.setdefault(media_index, []).append(file)
            versions[item.id] = by_media
            if check:
                resolver = resolvers(item.server_id)
                for files in by_media.values():
                    for file in files:
                        found = resolver.explain(file)
                        if found.local_path is not None and not (
                            found.mapping is not None and found.mapping.id in down[item.server_id]
                        ):
                            wanted.append(found.local_path)
        known = check_exists(wanted, max_workers=max_workers, timeout=timeout, stat=stat) if wanted else {}
        for item in page.rows:
            check = checks.get(item.server_id, True) if check_files is None else check_files
            exists: Callable[[str], bool | None] = known.get if check else _present
            answer = local_answer(
                versions[item.id].values(), resolvers(item.server_id), exists, down[item.server_id]
            )
            if answer.files is not None:
                yield Playable(item, answer.files)
        resolvers.invalidate()
        if page.next is None:
            return
        after = page.next


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
