"""Choosing one stable identity for an item across re-adds and re-matches.

Plex rating keys are local to a server and change when an item is re-added or the library rebuilt;
the item's guid survives better. Plex speaks three guid dialects, and this module turns them into one
choice (see docs/plex-client.md, "Primary guid").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from retrovue.plex.models import Guid

__all__ = ["EXTERNAL_SCHEMES", "external_ids", "normalize_legacy_guid", "primary_guid"]

EXTERNAL_SCHEMES = ("imdb", "tmdb", "tvdb")
"""The external databases whose ids the catalog keeps (`external_ids`)."""

_LEGACY_PREFIX = "com.plexapp.agents."

# Legacy agent names that stand for a well-known external database, mapped to the scheme Plex's
# `Guid` array uses for that database today.
_AGENT_SCHEMES = {
    "thetvdb": "tvdb",
    "tvdb": "tvdb",
    "themoviedb": "tmdb",
    "tmdb": "tmdb",
    "imdb": "imdb",
}

# Legacy agents whose ids are local to one server, so they identify nothing across a rebuild.
_LOCAL_AGENTS = frozenset({"none", "localmedia"})

# External ids preferred in this order: a fixed preference, not the server's list order, so the
# choice does not flip when the server reorders the array.
_EXTERNAL_PREFERENCE = ("imdb", "tmdb", "tvdb")


class _HasGuids(Protocol):
    @property
    def guid(self) -> str | None: ...

    @property
    def guids(self) -> tuple[Guid, ...]: ...


def normalize_legacy_guid(guid: str) -> str | None:
    """Turn a legacy agent guid into a plain external id, or None if it is not one.

    ``com.plexapp.agents.thetvdb://74205/1/1?lang=en`` becomes ``tvdb://74205/1/1``: the agent name
    is mapped to today's scheme and the language query, which varies with settings, is dropped.
    Agents without a known scheme keep their own name (``hama://anidb-2127``). Local-only agents
    (``none``, ``localmedia``) give None.
    """
    if not guid.startswith(_LEGACY_PREFIX) or "://" not in guid:
        return None
    agent, _, rest = guid[len(_LEGACY_PREFIX) :].partition("://")
    agent = agent.lower()
    rest = rest.split("?", 1)[0]
    if not agent or not rest or agent in _LOCAL_AGENTS:
        return None
    return f"{_AGENT_SCHEMES.get(agent, agent)}://{rest}"


def primary_guid(item: _HasGuids) -> str | None:
    """The most stable guid of an item.

    In order: the ``plex://`` guid; else the legacy agent guid, normalised; else the first of
    imdb, tmdb, tvdb found in the item's `Guid` array; else the raw guid (``local://…``, which at
    least identifies the item on this server); else None.
    """
    guid = item.guid or None
    if guid and guid.startswith("plex://"):
        return guid
    if guid:
        legacy = normalize_legacy_guid(guid)
        if legacy:
            return legacy
    external = _first_external(item.guids)
    if external:
        return external
    return guid


def _first_external(guids: Sequence[Guid]) -> str | None:
    by_scheme: dict[str, str] = {}
    for entry in guids:
        scheme, sep, rest = entry.id.partition("://")
        if sep and rest:
            by_scheme.setdefault(scheme.lower(), entry.id)
    for scheme in _EXTERNAL_PREFERENCE:
        if scheme in by_scheme:
            return by_scheme[scheme]
    return None


def external_ids(item: _HasGuids) -> dict[str, str]:
    """The item's IMDb, TMDB and TVDB ids, bare (`{"imdb": "tt1272878", "tmdb": "7840"}`).

    From the `Guid` array (``imdb://tt…``, asked for with ``includeGuids=1``) and from a legacy agent
    guid (``com.plexapp.agents.imdb://tt1272878?lang=en``; ``…thetvdb://74205?lang=en``). A legacy
    guid with a path (``thetvdb://74205/1/1``: show, season, episode) names no id of the item itself
    and is left out. The `Guid` array wins where both give one.
    """
    out: dict[str, str] = {}
    for entry in item.guids:
        scheme, sep, rest = entry.id.partition("://")
        scheme = scheme.lower()
        if sep and rest and scheme in EXTERNAL_SCHEMES and "/" not in rest:
            out.setdefault(scheme, rest)
    legacy = normalize_legacy_guid(item.guid) if item.guid else None
    if legacy:
        scheme, _, rest = legacy.partition("://")
        if scheme in EXTERNAL_SCHEMES and rest and "/" not in rest:
            out.setdefault(scheme, rest)
    return {scheme: out[scheme] for scheme in EXTERNAL_SCHEMES if scheme in out}
