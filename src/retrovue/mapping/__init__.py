"""Path mappings as the catalog uses them, and local playability decided for this machine.

`retrovue.paths` holds the pure rules (how a Plex path becomes a local one, and when an item plays
from local files). This package joins those rules to the catalog for the CLI (`retrovue paths …`),
the GUI, the sync engine and the read API alike; it imports neither typer nor Qt. Local paths are
never written anywhere: each is computed from the stored mappings when it is asked for.

Mappings and verdicts belong to a machine profile (`retrovue.machine`): in a catalog shared by
several machines, each keeps its own mappings and its own ACTIVE / REMOTE_ONLY verdicts.

- `mappings`: add, remove, list, test one path, suggest (`retrovue paths add|remove|list|test|suggest`)
- `resolve`: this machine's resolver for a server, the one way every reader resolves a path
- `local`: deciding which items play locally, after each sync (`refresh_library`) and on demand
  (`reevaluate_states`, `retrovue paths apply`); `roots`: the mapping-root checks that spot a share
  mounted or unmounted since the last run
- `coverage`: what plays here per library, and what to map next (`retrovue paths check`)
- `items`: one item's local paths, open and reveal
"""

from retrovue.mapping.coverage import LibraryCoverage, UnmappedPrefix, coverage
from retrovue.mapping.items import ItemPath, local_paths, open_item, reveal_item
from retrovue.mapping.local import (
    CHUNK_SIZE,
    LocalOptions,
    LocalRefresh,
    ReevalResult,
    RootProblem,
    RootReport,
    reevaluate_states,
    refresh_library,
    root_problems,
)
from retrovue.mapping.mappings import (
    MappingChange,
    MappingInfo,
    PathTest,
    Suggestion,
    add_mapping,
    list_mappings,
    remove_mapping,
    suggest,
    test_path,
)
from retrovue.mapping.resolve import Resolvers, resolver_for

__all__ = [
    "CHUNK_SIZE",
    "ItemPath",
    "LibraryCoverage",
    "LocalOptions",
    "LocalRefresh",
    "MappingChange",
    "MappingInfo",
    "PathTest",
    "ReevalResult",
    "Resolvers",
    "RootProblem",
    "RootReport",
    "Suggestion",
    "UnmappedPrefix",
    "add_mapping",
    "coverage",
    "list_mappings",
    "local_paths",
    "open_item",
    "reevaluate_states",
    "refresh_library",
    "remove_mapping",
    "resolver_for",
    "reveal_item",
    "root_problems",
    "suggest",
    "test_path",
]
