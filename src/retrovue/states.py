"""The lifecycle states of a catalog item, as one enum shared by the engine, the store and the UIs.

They are stored as their plain string values, so the catalog stays readable from SQL and a value
written by one version of Retrovue is understood by the next. Readers see five states:

    ACTIVE        Plex can play it, and it plays from a local file on the reading machine
    REMOTE_ONLY   Plex can play it, but not from a local file here (no mapping, the file is absent,
                  or it could not be told: "cannot tell" never means ACTIVE)
    UNAVAILABLE   Plex lists the item but it is not playable (no parts, incomplete media)
    MISSING       in the catalog but not in the last complete listing
    DELETED       missing for longer than the retention period, or confirmed gone

Who decides what: `media_items.state` holds Plex's side only (ACTIVE, UNAVAILABLE, MISSING,
DELETED), set by the sync engine. ACTIVE versus REMOTE_ONLY is a fact about one machine's mounts,
decided per machine profile by `retrovue.mapping` (rule: `retrovue.paths.local_answer`) and kept in
`local_verdicts`; `retrovue.store.local.reader_state` combines the two for the machine that reads.
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
"""States in which Plex can still stream the item; only these depend on local-file evidence."""
