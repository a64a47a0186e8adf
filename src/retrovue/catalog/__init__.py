"""The catalog as its readers use it: one typed, stable read API for schedulers, the CLI and the GUI.

    from retrovue.catalog import Catalog, ItemQuery

    with Catalog.open() as cat:                              # DB_URL, or the default SQLite file
        tv = cat.library("TV Shows")
        show = cat.shows(library_id=tv.id, text="simpsons").rows[0]
        for play in cat.playable(ItemQuery(show_id=show.id)):
            print(play.item.title, play.files)               # local files, checked to exist here

What it gives:

- **servers, libraries** (with counts by state), **shows, seasons, items** (episodes and movies)
  with their **parts, streams and history**; filters (`ItemQuery`: server, library, show, season,
  state, text, kind), sort orders, **paging by key** (`Page.next` → `after=`; never OFFSET, so a deep
  page costs what the first does), **counts by state**;
- **states as the reading machine sees them**: UNAVAILABLE, MISSING and DELETED as Plex says; an
  item Plex can play is ACTIVE when it plays from a local file on this machine and REMOTE_ONLY
  otherwise ("cannot tell" never reads as ACTIVE). `Item.plex_state` is Plex's side alone;
- **search and sort that know Unicode** on every backend: text search ignores case and accents
  ("deja" finds "Déjà", "москва" finds "Москва"), titles sort by Plex's sort title, folded ("Été"
  with E); the folded keys are computed in Python and stored (`retrovue.store.keys`);
- **local files** through this machine's mappings, with the same resolver and rule as `retrovue
  paths`: `Item.local_paths` (resolved), `Catalog.playable` (resolved and present on disk now);
- **`confirmed_at`**: when Plex last vouched for an item (see docs/catalog.md);
- **a change feed**: `changes(since=cursor)` says what happened to which item (added, changed,
  state, missing, deleted, rekey, merged, purged, local) in commit order, with the next cursor; a
  cursor is a position in the catalog, so it survives restarts, on every backend (`cursor()`: the
  end now, to take before a full read);
- **stable identity**: `Item.id` is the catalog's key and survives Plex re-keying the item (a
  re-match, a re-add found to be the same file); `rating_key` is Plex's and may change. Reference
  items from your own tables by `id`.

It works the same on SQLite, PostgreSQL and MariaDB. Everything returned is frozen plain data
(`retrovue.catalog.model`); names are stable, new fields are only ever added. Nothing here writes
to the catalog. docs/catalog.md documents the tables for those who read SQL directly.
"""

from retrovue.catalog.api import Catalog
from retrovue.catalog.model import (
    Change,
    Changes,
    Event,
    Item,
    ItemDetail,
    Library,
    Page,
    Part,
    Playable,
    Run,
    Season,
    Server,
    Show,
    Stream,
)
from retrovue.catalog.query import ITEM_SORTS, SHOW_SORTS, ItemQuery

__all__ = [
    "ITEM_SORTS",
    "SHOW_SORTS",
    "Catalog",
    "Change",
    "Changes",
    "Event",
    "Item",
    "ItemDetail",
    "ItemQuery",
    "Library",
    "Page",
    "Part",
    "Playable",
    "Run",
    "Season",
    "Server",
    "Show",
    "Stream",
]
