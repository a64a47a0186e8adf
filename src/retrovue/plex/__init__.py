"""The Plex edge: HTTP and JSON in, typed data out.

`PlexClient` talks to one Plex Media Server (paged listings, retries, typed errors from
`retrovue.errors`); `retrovue.plex.models` holds the frozen structs it returns; `decode_page` and
friends turn raw response bytes into those structs without any HTTP. See docs/plex-client.md.
"""

from retrovue.plex.client import PlexClient
from retrovue.plex.decode import (
    ItemError,
    Page,
    decode_identity,
    decode_items_page,
    decode_page,
    decode_sections_page,
    decode_server_info,
)
from retrovue.plex.guids import normalize_legacy_guid, primary_guid
from retrovue.plex.models import (
    Episode,
    Guid,
    Identity,
    Item,
    Location,
    Media,
    Movie,
    OtherItem,
    Part,
    Season,
    Section,
    ServerInfo,
    Show,
    Stream,
)

__all__ = [
    "Episode",
    "Guid",
    "Identity",
    "Item",
    "ItemError",
    "Location",
    "Media",
    "Movie",
    "OtherItem",
    "Page",
    "Part",
    "PlexClient",
    "Season",
    "Section",
    "ServerInfo",
    "Show",
    "Stream",
    "decode_identity",
    "decode_items_page",
    "decode_page",
    "decode_sections_page",
    "decode_server_info",
    "normalize_legacy_guid",
    "primary_guid",
]
