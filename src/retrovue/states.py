"""The lifecycle states of a catalog item, as one enum shared by the engine, the store and the UIs.

They are stored as their plain string values, so the catalog stays readable from SQL and a value
written by one version of Retrovue is understood by the next. Who decides what:

    ACTIVE        seen this run, and every part resolves to a file that exists on this machine
    REMOTE_ONLY   seen this run and Plex can stream it, but some part has no local file here
                  (no mapping for it, or the mapped file is absent)
    UNAVAILABLE   Plex lists the item but it is not playable (no parts, incomplete media)
    MISSING       in the catalog but not in this run's complete listing
    DELETED       missing for longer than the retention period, or confirmed gone

The sync engine sets UNAVAILABLE, MISSING and DELETED. The choice between ACTIVE and REMOTE_ONLY
depends on this machine's mounts, so it belongs to `retrovue.paths.playable_state`.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["PLAYABLE_STATES", "ItemState"]


class ItemState(StrEnum):
    """Lifecycle state of a catalog item; the value is what the catalog stores."""

    ACTIVE = "ACTIVE"
    REMOTE_ONLY = "REMOTE_ONLY"
    UNAVAILABLE = "UNAVAILABLE"
    MISSING = "MISSING"
    DELETED = "DELETED"


PLAYABLE_STATES: frozenset[ItemState] = frozenset({ItemState.ACTIVE, ItemState.REMOTE_ONLY})
"""States in which Plex can still stream the item; only these move on local-file evidence."""
