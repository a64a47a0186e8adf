"""A library's Plex collections, read after a complete listing (never in a gated run).

A membership changed through the collection moves neither the item's `updatedAt` nor, beyond its
first ones, the listing's `Collection` tags: the item listing cannot see it, so this pass reads the
section's collections (one request) and walks only those whose digest moved. It is its own module
because it is its own walk, with its own failure rule: a request that fails leaves the memberships
as they were and marks the collections `owed`, so the next run lists again — the run itself is not
failed for it.
"""

from __future__ import annotations

import hashlib
import logging

from retrovue.errors import PlexError, PlexNotFoundError
from retrovue.ingest.listing import ListingCheck, checked
from retrovue.ingest.run_scope import RunScope, RunStep
from retrovue.plex.models import Collection, Section
from retrovue.store import collections
from retrovue.store.schema import KEY

__all__ = ["CollectionsPass", "collection_digest"]

log = logging.getLogger(__name__)


def collection_digest(found: Collection) -> str:
    """What says a collection's members may have moved: its title, `updatedAt` and `childCount`."""
    text = "\x00".join(str(v) for v in (found.title, found.updated_at, found.child_count, found.smart))
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


class CollectionsPass(RunStep):
    """Syncs one library's collections once (`run`); `owed` says a collection could not be
    walked, so the run must not vouch for the section's state."""

    def __init__(self, scope: RunScope) -> None:
        super().__init__(scope)
        self.owed = False

    def run(self, section: Section) -> None:
        """One listing of the section's collections, each with its own `updatedAt` and
        `childCount`; only a collection whose digest of those (and its title) moved, or a smart
        one, has its members walked and written (`store.collections`); one Plex no longer lists is
        forgotten."""
        lib = self.library
        check = ListingCheck("collections")
        try:
            listed = [
                c
                for page in checked(self.client.iter_collections(section.key), check)
                for c in page.items
                if len(c.rating_key) <= KEY
            ]
        except PlexNotFoundError:  # a server without collection objects: tags are all there is
            return
        except PlexError as exc:
            self._failed(exc)
            return
        with self.engine.connect() as conn:
            stored = collections.stored_collections(conn, lib.id)
        changed: list[tuple[Collection, str, tuple[str, str] | None]] = []
        for found in listed:
            digest = collection_digest(found)
            was = stored.get(found.rating_key)
            if was is None or was[1] != digest or found.smart:
                changed.append((found, digest, was))
        # Walked side by side (at 20 ms a request, one after another cost a first sync of a
        # library with hundreds of collections seconds of waiting), written one by one.
        walked = self.client.map_concurrent(self._members, [found for found, _, _ in changed])
        for (found, digest, was), keys in zip(changed, walked, strict=True):
            if isinstance(keys, PlexError):
                self._failed(keys)
                continue
            if keys is None:
                self.owed = True
                continue
            with self.engine.begin() as conn:
                self.fence(conn)
                collections.set_members(
                    conn,
                    lib.id,
                    lib.kind,
                    rating_key=found.rating_key,
                    title=found.title,
                    digest=digest,
                    members=keys,
                    was=was[0] if was is not None else None,
                    now=self.now,
                    run_id=self.run_id,
                )
        if check.problem() is not None:
            self.owed = True  # a collection missing from this listing may still exist
            return
        gone = set(stored) - {c.rating_key for c in listed}
        if gone:
            with self.engine.begin() as conn:
                self.fence(conn)
                for key in sorted(gone):
                    collections.forget_collection(
                        conn,
                        lib.id,
                        lib.kind,
                        rating_key=key,
                        title=stored[key][0],
                        now=self.now,
                        run_id=self.run_id,
                    )

    def _members(self, found: Collection) -> list[str] | PlexError | None:
        """The rating keys of a collection's members (on a worker thread): the error that stopped
        the walk, or None for a walk that was not consistent (its pages shifted)."""
        members = ListingCheck("collection members")
        try:
            keys = [
                m.rating_key
                for page in checked(self.client.iter_collection_members(found.rating_key), members)
                for m in page.items
            ]
        except PlexError as exc:
            return exc
        return None if members.problem() is not None else keys

    def _failed(self, exc: PlexError) -> None:
        """Memberships stay as they were (finalize is done: the run is not failed for this)."""
        self.owed = True
        self.tally.errors += 1
        log.warning("%s/%s: collections not read: %s", self.library.server_name, self.library.title, exc)
