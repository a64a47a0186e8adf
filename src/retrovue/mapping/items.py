"""One item's files on this machine: its local paths, and opening or revealing it.

Every local path comes from this machine's resolver for the item's server (`mapping.resolve`), the
same one the read API and the decisions use; nothing here is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from retrovue import desktop
from retrovue.errors import ConfigError
from retrovue.existence import exists_now
from retrovue.mapping.resolve import resolver_for
from retrovue.paths import LocalOS, Resolution
from retrovue.store import local as store

__all__ = ["ItemPath", "local_paths", "open_item", "reveal_item"]


@dataclass(frozen=True, slots=True)
class ItemPath:
    """One part of an item, with its Plex path and what it resolves to right now."""

    media_index: int
    part_index: int
    plex_path: str
    resolution: Resolution

    @property
    def local_path(self) -> str | None:
        return self.resolution.local_path


def local_paths(
    engine: Engine, item_id: int, *, machine: str | None = None, local_os: LocalOS | None = None
) -> list[ItemPath]:
    """Every part of an item with what it resolves to now on this machine, in media then part order.

    Raises `ConfigError` for an unknown item id.
    """
    with engine.connect() as conn:
        found = store.item_files(conn, item_id)
    if found is None:
        raise ConfigError(f"no item with id {item_id} in the catalog")
    server_id, files = found
    resolver = resolver_for(engine, server_id, machine=machine, local_os=local_os)
    return [ItemPath(m, p, f, resolver.explain(f)) for m, p, f in files]


def _path_to_open(
    engine: Engine, item_id: int, action: str, exists: Callable[[str], bool | None], local_os: LocalOS | None
) -> str:
    """The first part of the first version that resolves completely, preferring one that exists.

    Raises `DesktopActionError` naming the Plex path that did not resolve and how to fix it.
    """
    parts = local_paths(engine, item_id, local_os=local_os)
    if not parts:
        raise desktop.DesktopActionError(f"cannot {action} item {item_id}: Plex lists no files for it")
    versions: dict[int, list[ItemPath]] = {}
    for part in parts:
        versions.setdefault(part.media_index, []).append(part)
    complete = [v for v in versions.values() if all(p.local_path is not None for p in v)]
    if not complete:
        first_bad = next(p for p in parts if p.local_path is None)
        raise desktop.DesktopActionError(f"cannot {action} item {item_id}: {first_bad.resolution.describe()}")
    for version in complete:
        path = version[0].local_path
        if path is not None and exists(path):
            return path
    path = complete[0][0].local_path
    assert path is not None
    return path  # desktop reports it as "no such file on this machine", with the fix


def open_item(
    engine: Engine,
    item_id: int,
    runner: desktop.Runner = desktop.launch_detached,
    *,
    platform: str | None = None,
    exists: Callable[[str], bool | None] = exists_now,
    local_os: LocalOS | None = None,
) -> list[str]:
    """Open an item's file in its default application; returns the argv that was run.

    A multi-part item opens its first part (players continue from there or the user picks the
    next). Raises `DesktopActionError` when no mapping covers the item or the file is absent.
    """
    path = _path_to_open(engine, item_id, "open", exists, local_os)
    return desktop.open_file(path, runner, platform=platform, exists=exists)


def reveal_item(
    engine: Engine,
    item_id: int,
    runner: desktop.Runner = desktop.launch_detached,
    *,
    platform: str | None = None,
    exists: Callable[[str], bool | None] = exists_now,
    local_os: LocalOS | None = None,
) -> list[str]:
    """Show an item's file in the file manager; returns the argv that was run."""
    path = _path_to_open(engine, item_id, "show", exists, local_os)
    return desktop.reveal_file(path, runner, platform=platform, exists=exists)
