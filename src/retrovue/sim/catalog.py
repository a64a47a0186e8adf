"""The simulated Plex library: a compact, deterministic data model and every mutation on it.

Why it exists: the simulator must serve libraries from five items to 100,000 episodes, replay the
same library for the same seed, and change in the ways a real server changes. This module is pure
(no I/O, no threads, no HTTP): it holds sections, items, media and parts (`model`), generates them
from a seed, keeps Plex's default orderings, and applies mutations, returning `Change` records the
caller turns into notifications (`truth` gives tests the whole library as plain data). Rendering
to Plex's wire shapes lives in `render`; serving in `app`.

Time is virtual: `Catalog.now` starts at a fixed epoch and moves forward on every mutation, so a
seed replays exactly (timestamps included).
"""

from __future__ import annotations

import random
import re
import unicodedata
import uuid as uuidlib
from typing import Any

from retrovue.sim import truth
from retrovue.sim.model import (
    STATE_CREATED,
    STATE_DELETED,
    STATE_PROCESSED,
    CatalogConfig,
    Change,
    Collection,
    Item,
    Media,
    Part,
    Section,
)

__all__ = ["Catalog", "natural_key"]

_BASE_EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z: the virtual "now" at start-up.


# ---------------------------------------------------------------------------------------------
# Word lists for generated titles: deliberately mixed scripts and accents.
# fmt: off
_ADJ = (
    "Silent", "Crimson", "Hidden", "Last", "Golden", "Broken", "Electric", "Wandering", "Midnight",
    "Frozen", "Little", "Northern", "Secret", "Lost", "Brave", "Quiet", "Velvet", "Iron", "Paper",
    "Distant", "Wild", "Hollow", "Bright", "Café", "Été", "Über", "Niño", "Żółty", "Ærø", "Ōkami",
    "Fjällens", "Bleu", "Rouge",
)
# fmt: on
# fmt: off
_NOUN = (
    "Harbor", "Kingdom", "Garden", "Signal", "River", "Empire", "Detective", "Orchard", "Station",
    "Frontier", "Lighthouse", "Academy", "Circus", "Archive", "Voyage", "Mountain", "Island", "Machine",
    "Letters", "Republic", "Dynasty", "Café", "東京", "Москва", "Smörgåsbord", "Fjörður", "Ἀθῆναι",
    "Ciudad", "Straße", "Déjà-vu", "Señorita", "Noël",
)
# fmt: on
_GENRES = ("Drama", "Comedy", "Documentary", "Animation", "Thriller", "Science Fiction", "Crime", "Romance")
_RATINGS = ("TV-14", "TV-PG", "TV-MA", "PG-13", "R", "PG", "G")
_COLLECTIONS = ("Saturday Morning", "Halloween Night", "Award Winners", "Ünïcode Classics")
_LABELS = ("Kids", "Favourites")
_STUDIOS = ("Northwind Pictures", "Blue Harbor Films", "Studio Ōkami", "Fjord Media", "Lumière & Fils")
# (resolution, width, height, video codec, container, profile, frame rate)
_VIDEO = (
    ("sd", 720, 480, "mpeg4", "avi", "advanced simple", "NTSC"),
    ("720", 1280, 720, "h264", "mkv", "high", "24p"),
    ("1080", 1920, 1080, "h264", "mkv", "high", "24p"),
    ("1080", 1920, 1080, "hevc", "mkv", "main 10", "24p"),
    ("1080", 1920, 1080, "h264", "mp4", "main", "PAL"),
    ("4k", 3840, 2160, "hevc", "mkv", "main 10", "24p"),
)
_AUDIO = (("aac", 2), ("ac3", 6), ("eac3", 6), ("dts", 6), ("truehd", 8), ("mp3", 2))
_BAD_PATH_CHARS = re.compile(r'[<>:"/\\|?*]')
_ARTICLES = ("The ", "A ", "An ")


def natural_key(text: str) -> tuple[Any, ...]:
    """Plex-like title ordering: accents and case ignored, digit runs compared as numbers.

    `re.split` with a capturing group alternates text and digits, so positions line up and the
    tuples always compare str with str and int with int.
    """
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).casefold()
    chunks = re.split(r"(\d+)", folded)
    return tuple(int(c) if i % 2 else c for i, c in enumerate(chunks))


def _title_sort(title: str) -> str | None:
    for article in _ARTICLES:
        if title.startswith(article) and len(title) > len(article):
            return title[len(article) :]
    return None


class Catalog:
    """All sections and items, their generation from a seed, orderings and mutations.

    Not thread-safe by itself: the simulator wraps every call in one lock.
    """

    def __init__(self, config: CatalogConfig | None = None) -> None:
        self.config = config or CatalogConfig()
        self.rng = random.Random(self.config.seed)
        self.now = _BASE_EPOCH
        self.sections: dict[int, Section] = {}
        self.by_rk: dict[int, Item] = {}
        self.parts_by_id: dict[int, tuple[Part, Item]] = {}
        self.version = 0
        self._next_rk = 1000 + self.rng.randrange(1000)
        self._next_media = 2000 + self.rng.randrange(1000)
        self._next_part = 3000 + self.rng.randrange(1000)
        self._used_names: set[str] = set()
        self._cache: dict[tuple[Any, ...], list[Item]] = {}
        self._cache_version = -1
        self.machine_identifier = f"{self.rng.getrandbits(160):040x}"
        self.collections: dict[tuple[int, str], Collection] = {}
        self._next_collection = 5_000_000  # their own range: items' keys stay what they were
        self._generate()
        for section in self.sections.values():
            names = dict.fromkeys(n for item in section.items for n in item.collections)
            self._touch_collections(section, tuple(names))

    # -- identifiers and clock ----------------------------------------------------------------
    def _rk(self) -> int:
        self._next_rk += 1
        return self._next_rk

    def _media_id(self) -> int:
        self._next_media += 1
        return self._next_media

    def _part_id(self) -> int:
        self._next_part += 1
        return self._next_part

    def _plex_guid(self, kind: str) -> str:
        return f"plex://{kind}/{self.rng.getrandbits(96):024x}"

    def tick(self, seconds: int | None = None) -> int:
        """Advance virtual time (by a small deterministic step unless told) and return it."""
        self.now += seconds if seconds is not None else 1 + self.rng.randrange(30)
        return self.now

    def touch(self) -> None:
        self.version += 1

    # -- generation ---------------------------------------------------------------------------
    def _generate(self) -> None:
        cfg = self.config
        rng = self.rng
        created = self.now - 5 * 365 * 86400
        if cfg.windows_paths:
            tv_root, movie_root = "D:\\Media\\TV Shows", "\\\\nas\\media\\Movies"
        else:
            tv_root, movie_root = "/data/media/TV Shows", "/data/media/Movies"
        base_counter = rng.getrandbits(62)
        self.sections[1] = Section(
            key=1,
            kind="show",
            title="TV Shows",
            uuid=str(uuidlib.UUID(int=rng.getrandbits(128), version=4)),
            agent="tv.plex.agents.series",
            scanner="Plex TV Series",
            language="en-US",
            locations=[(1, tv_root)],
            created_at=created,
            updated_at=created + 3600,
            scanned_at=self.now - 600,
            content_changed_at=base_counter,
        )
        self.sections[2] = Section(
            key=2,
            kind="movie",
            title="Movies",
            uuid=str(uuidlib.UUID(int=rng.getrandbits(128), version=4)),
            agent="tv.plex.agents.movie",
            scanner="Plex Movie",
            language="en-US",
            locations=[(2, movie_root)],
            created_at=created,
            updated_at=created + 3600,
            scanned_at=self.now - 600,
            content_changed_at=base_counter + 1 + rng.randrange(1000),
        )
        for _ in range(cfg.shows):
            specials = rng.random() < cfg.specials_fraction
            hidden = rng.random() < cfg.hidden_seasons_fraction
            self._new_show(
                self.sections[1],
                None,
                None,
                cfg.seasons_per_show,
                cfg.episodes_per_season,
                specials=specials,
                hidden=hidden,
                added_at=self.now - rng.randrange(4 * 365 * 86400),
            )
        for _ in range(cfg.movies):
            roll = rng.random()
            parts = 2 if roll < cfg.multipart_fraction else 1
            versions = 2 if rng.random() < cfg.multiversion_fraction else 1
            self._new_movie(
                self.sections[2],
                None,
                None,
                parts=parts,
                versions=versions,
                added_at=self.now - rng.randrange(4 * 365 * 86400),
            )

    def _unique_title(self, kind: str, year: int) -> str:
        rng = self.rng
        for attempt in range(100):
            pattern = rng.randrange(6)
            adj, noun, noun2 = rng.choice(_ADJ), rng.choice(_NOUN), rng.choice(_NOUN)
            if pattern == 0:
                title = f"The {adj} {noun}"
            elif pattern == 1:
                title = f"{adj} {noun}"
            elif pattern == 2:
                title = f"{noun} of the {noun2}"
            elif pattern == 3:
                title = f"{noun} {rng.randrange(2, 120)}"
            elif pattern == 4:
                title = f"A {adj} {noun}: {noun2}"
            else:
                title = f"{adj} {noun2} & {noun}"
            if attempt > 50:
                title = f"{title} {attempt}"
            name = f"{kind}|{title}|{year}".casefold()
            if name not in self._used_names:
                self._used_names.add(name)
                return title
        raise RuntimeError("could not find a unique title")  # pragma: no cover

    def _enrich(self, item: Item) -> None:
        """More of what real Plex keeps for a scheduler, from an rng of the item's own, so the rest of
        the generated library (drawn from `self.rng`) stays what it was: extra genres (a listing
        shows the first two, detail all), collections across libraries, labels, ratings, and some
        items with none of it."""
        rng = random.Random(f"{self.config.seed}:meta:{item.rating_key}")
        if item.kind in ("show", "movie") and rng.random() < 0.05:
            item.summary, item.content_rating, item.studio, item.genres = "", None, None, ()
            item.originally_available_at = None
            return
        if item.genres and rng.random() < 0.4:
            extra = [g for g in _GENRES if g not in item.genres]
            item.genres = (*item.genres, *rng.sample(extra, 1 + rng.randrange(2)))
        if item.kind in ("show", "movie"):
            if rng.random() < 0.2:
                item.collections = (rng.choice(_COLLECTIONS),)
            if rng.random() < 0.1:
                item.labels = (rng.choice(_LABELS),)
            item.audience_rating = round(rng.uniform(3, 9.8), 1)
        if item.kind == "movie":
            item.rating = round(rng.uniform(2, 10), 1)
        elif item.kind == "episode" and rng.random() < 0.7:
            item.audience_rating = round(rng.uniform(5, 9.8), 1)

    def _external_ids(self, kind: str) -> tuple[str, ...]:
        rng = self.rng
        if rng.random() < 0.02:
            return ()
        ids = [f"imdb://tt{rng.randrange(100000, 9999999):07d}", f"tmdb://{rng.randrange(1, 999999)}"]
        if kind != "movie" or rng.random() < 0.5:
            ids.append(f"tvdb://{rng.randrange(1, 9999999)}")
        return tuple(ids)

    def _sep(self) -> str:
        return "\\" if self.config.windows_paths else "/"

    def _path_name(self, text: str) -> str:
        return _BAD_PATH_CHARS.sub("", text).strip() or "Untitled"

    def _make_media(self, base_path: str, duration: int, nparts: int, changestamp: int) -> Media:
        rng = self.rng
        res, width, height, vcodec, container, profile, fps = rng.choice(_VIDEO)
        acodec, channels = rng.choice(_AUDIO)
        bitrate = {"sd": 1500, "720": 4000, "1080": 9000, "4k": 22000}[res] + rng.randrange(2000)
        parts: list[Part] = []
        per_part = duration // nparts
        for i in range(nparts):
            suffix = f" - cd{i + 1}" if nparts > 1 else ""
            size = bitrate * 125 * (per_part // 1000) + rng.randrange(1 << 20)
            part = Part(
                id=self._part_id(),
                file=f"{base_path}{suffix}.{container}",
                size=size,
                duration=per_part,
                container=container,
                changestamp=changestamp,
            )
            if rng.random() < self.config.missing_file_fraction:
                part.accessible = False
                part.exists = False
            parts.append(part)
        return Media(
            id=self._media_id(),
            duration=duration,
            bitrate=bitrate,
            width=width,
            height=height,
            aspect_ratio=round(width / height, 2),
            audio_channels=channels,
            audio_codec=acodec,
            video_codec=vcodec,
            video_resolution=res,
            video_frame_rate=fps,
            video_profile=profile,
            container=container,
            parts=parts,
        )

    def _register(self, item: Item) -> None:
        self.by_rk[item.rating_key] = item
        for media in item.media:
            for part in media.parts:
                self.parts_by_id[part.id] = (part, item)

    def _new_show(
        self,
        section: Section,
        title: str | None,
        year: int | None,
        seasons: int,
        episodes: int,
        *,
        specials: bool = False,
        hidden: bool = False,
        added_at: int | None = None,
    ) -> Item:
        rng = self.rng
        year = year if year is not None else rng.randrange(1960, 2025)
        title = title if title is not None else self._unique_title("show", year)
        added = added_at if added_at is not None else self.now
        show = Item(
            rating_key=self._rk(),
            kind="show",
            section=section,
            guid=self._plex_guid("show"),
            title=title,
            title_sort=_title_sort(title),
            year=year,
            index=1,
            added_at=added,
            updated_at=added + rng.randrange(86400 * 30),
            duration=rng.choice((1320000, 2640000, 3600000)),
            originally_available_at=f"{year}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
            summary=f"A series about {rng.choice(_NOUN).lower()}s.",
            content_rating=rng.choice(_RATINGS),
            studio=rng.choice(_STUDIOS),
            external_ids=self._external_ids("show"),
            genres=tuple(rng.sample(_GENRES, 2)),
            hidden_seasons=hidden,
        )
        show.sort_key = natural_key(show.title_sort or show.title)
        self._enrich(show)
        section.items.append(show)
        self._register(show)
        first = 0 if specials else 1
        for season_index in range(first, seasons + 1):
            self._new_season(show, season_index, episodes if season_index else 1 + rng.randrange(2))
        return show

    def _new_season(self, show: Item, index: int, episodes: int) -> Item:
        season = Item(
            rating_key=self._rk(),
            kind="season",
            section=show.section,
            guid=self._plex_guid("season"),
            title="Specials" if index == 0 else f"Season {index}",
            title_sort=None,
            year=show.year,
            index=index,
            added_at=show.added_at,
            updated_at=show.updated_at,
            parent=show,
        )
        self._insert_child(show, season)
        self._register(season)
        for ep_index in range(1, episodes + 1):
            self._new_episode(season, ep_index, None)
        return season

    @staticmethod
    def _insert_child(parent: Item, child: Item) -> None:
        child.parent = parent
        parent.children.append(child)
        parent.children.sort(key=lambda c: (c.index if c.index is not None else 0, c.rating_key))

    def _episode_path(self, season: Item, index: int, title: str) -> str:
        show = season.parent
        assert show is not None
        sep = self._sep()
        root = show.section.locations[0][1]
        show_dir = self._path_name(f"{show.title} ({show.year})")
        season_idx = season.index or 0
        season_dir = "Specials" if season_idx == 0 else f"Season {season_idx:02d}"
        name = self._path_name(f"{show.title} ({show.year}) - s{season_idx:02d}e{index:02d} - {title}")
        return f"{root}{sep}{show_dir}{sep}{season_dir}{sep}{name}"

    def _new_episode(
        self, season: Item, index: int, title: str | None, *, added_at: int | None = None
    ) -> Item:
        rng = self.rng
        cfg = self.config
        show = season.parent
        assert show is not None
        if title is None:
            title = f"Episode {index}" if rng.random() < 0.3 else f"{rng.choice(_ADJ)} {rng.choice(_NOUN)}"
        duration = rng.choice((22, 24, 30, 42, 45, 48, 55, 60)) * 60000 + rng.randrange(60000)
        added = (
            added_at if added_at is not None else max(season.added_at, self.now - rng.randrange(86400 * 900))
        )
        missing_updated = rng.random() < cfg.episode_updated_at_missing
        year = (show.year or 2000) + max(0, (season.index or 1) - 1)
        ep = Item(
            rating_key=self._rk(),
            kind="episode",
            section=season.section,
            guid=self._plex_guid("episode"),
            title=title,
            title_sort=_title_sort(title),
            year=year,
            index=index,
            added_at=added,
            updated_at=None if missing_updated else added + rng.randrange(86400 * 60),
            duration=duration,
            originally_available_at=f"{year}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
            summary="An episode.",
            content_rating=show.content_rating,
            external_ids=self._external_ids("episode"),
        )
        self._enrich(ep)
        if rng.random() >= cfg.no_media_fraction:
            base = self._episode_path(season, index, title)
            ep.media.append(self._make_media(base, duration, 1, added - rng.randrange(86400)))
        self._insert_child(season, ep)
        self._register(ep)
        return ep

    def _new_movie(
        self,
        section: Section,
        title: str | None,
        year: int | None,
        *,
        parts: int = 1,
        versions: int = 1,
        added_at: int | None = None,
    ) -> Item:
        rng = self.rng
        year = year if year is not None else rng.randrange(1930, 2025)
        title = title if title is not None else self._unique_title("movie", year)
        added = added_at if added_at is not None else self.now
        duration = rng.randrange(80, 180) * 60000 + rng.randrange(60000)
        movie = Item(
            rating_key=self._rk(),
            kind="movie",
            section=section,
            guid=self._plex_guid("movie") if rng.random() > 0.02 else f"local://{self._next_rk + 1}",
            title=title,
            title_sort=_title_sort(title),
            year=year,
            index=None,
            added_at=added,
            updated_at=added + rng.randrange(86400 * 90),
            duration=duration,
            originally_available_at=f"{year}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
            summary="A film.",
            content_rating=rng.choice(_RATINGS),
            studio=rng.choice(_STUDIOS),
            external_ids=self._external_ids("movie"),
            genres=tuple(rng.sample(_GENRES, 2)),
        )
        if movie.guid.startswith("local://"):
            movie.external_ids = ()
        movie.sort_key = natural_key(movie.title_sort or movie.title)
        self._enrich(movie)
        if rng.random() >= self.config.no_media_fraction or parts > 1 or versions > 1:
            sep = self._sep()
            name = self._path_name(f"{title} ({year})")
            base = f"{section.locations[0][1]}{sep}{name}{sep}{name}"
            for v in range(versions):
                suffix = "" if v == 0 else f" - {('1080p', '4K', 'SD')[v % 3]}"
                movie.media.append(
                    self._make_media(base + suffix, duration, parts, added - rng.randrange(86400))
                )
        section.items.append(movie)
        self._register(movie)
        return movie

    # -- orderings ----------------------------------------------------------------------------
    def _cached(self, key: tuple[Any, ...], build: Any) -> list[Item]:
        if self._cache_version != self.version:
            self._cache.clear()
            self._cache_version = self.version
        hit = self._cache.get(key)
        if hit is None:
            hit = build()
            self._cache[key] = hit
        return hit

    def top_level(self, section: Section) -> list[Item]:
        """Shows or movies of a section in Plex's default order (titleSort, then rating key)."""
        return self._cached(
            ("top", section.key),
            lambda: sorted(section.items, key=lambda i: (i.sort_key, i.rating_key)),
        )

    def seasons_of_section(self, section: Section) -> list[Item]:
        return self._cached(
            ("seasons", section.key),
            lambda: [s for show in self.top_level(section) for s in show.children],
        )

    def episodes_of_section(self, section: Section) -> list[Item]:
        """Every episode: by show order, then season index, then episode index."""
        return self._cached(
            ("episodes", section.key),
            lambda: [e for show in self.top_level(section) for e in show.leaves()],
        )

    def listing(self, section: Section, type_number: int) -> list[Item]:
        if section.kind == "movie":
            return self.top_level(section) if type_number == 1 else []
        if type_number == 2:
            return self.top_level(section)
        if type_number == 3:
            return self.seasons_of_section(section)
        if type_number == 4:
            return self.episodes_of_section(section)
        return []

    # -- look-ups -----------------------------------------------------------------------------
    def item(self, rating_key: int | str) -> Item:
        try:
            return self.by_rk[int(rating_key)]
        except (KeyError, ValueError):
            raise KeyError(f"no item with rating key {rating_key}") from None

    def section(self, key: int | str) -> Section:
        try:
            return self.sections[int(key)]
        except (KeyError, ValueError):
            raise KeyError(f"no section {key}") from None

    # -- mutations ----------------------------------------------------------------------------
    def _content_changed(self, section: Section) -> None:
        section.content_changed_at += 1 + self.rng.randrange(1 << 16)
        section.scanned_at = self.now
        self.touch()

    def _bump_parents(self, item: Item) -> None:
        if not self.config.parent_updated_at_follows_children:
            return
        parent = item.parent
        while parent is not None:
            parent.updated_at = self.now
            parent = parent.parent

    def _changes(self, items: list[Item], state: int) -> list[Change]:
        return [
            Change(i.section.key, i.rating_key, i.type_number, i.title, state, i.updated_at or i.added_at)
            for i in items
        ]

    def _default_section(self, kind: str) -> Section:
        for section in self.sections.values():
            if section.kind == kind:
                return section
        raise KeyError(f"no {kind} section")

    def add_show(
        self,
        title: str | None = None,
        *,
        seasons: int = 1,
        episodes: int = 3,
        year: int | None = None,
        section_key: int | None = None,
        hidden_seasons: bool = False,
        specials: bool = False,
    ) -> tuple[Item, list[Change]]:
        section = self.section(section_key) if section_key is not None else self._default_section("show")
        self.tick()
        show = self._new_show(
            section,
            title,
            year,
            seasons,
            episodes,
            specials=specials,
            hidden=hidden_seasons,
            added_at=self.now,
        )
        for leaf in show.leaves():
            leaf.added_at = self.now
        self._content_changed(section)
        new = [show, *show.children, *show.leaves()]
        return show, self._changes(new, STATE_CREATED) + self._changes(new, STATE_PROCESSED)

    def add_season(
        self, show_rk: int | str, index: int | None = None, episodes: int = 3
    ) -> tuple[Item, list[Change]]:
        show = self._expect(show_rk, "show")
        if index is None:
            index = max((s.index or 0 for s in show.children), default=0) + 1
        if any(s.index == index for s in show.children):
            raise ValueError(f"show {show.rating_key} already has season {index}")
        self.tick()
        season = self._new_season(show, index, 0)
        season.added_at = self.now
        for ep_index in range(1, episodes + 1):
            self._new_episode(season, ep_index, None, added_at=self.now)
        self._bump_parents(season)
        self._content_changed(show.section)
        new = [season, *season.children]
        return season, self._changes(new, STATE_CREATED) + self._changes(new, STATE_PROCESSED)

    def add_episode(
        self,
        parent_rk: int | str,
        *,
        index: int | None = None,
        title: str | None = None,
        season_index: int | None = None,
    ) -> tuple[Item, list[Change]]:
        """Add an episode to a season, or to a show's season `season_index` (created if needed;
        default: the show's last season)."""
        parent = self.item(parent_rk)
        created: list[Item] = []
        self.tick()
        if parent.kind == "show":
            if season_index is None:
                season_index = max((s.index or 0 for s in parent.children), default=1)
            season = next((s for s in parent.children if s.index == season_index), None)
            if season is None:
                season = self._new_season(parent, season_index, 0)
                season.added_at = self.now
                created.append(season)
        elif parent.kind == "season":
            season = parent
        else:
            raise ValueError(f"cannot add an episode under a {parent.kind}")
        if index is None:
            index = max((e.index or 0 for e in season.children), default=0) + 1
        ep = self._new_episode(season, index, title, added_at=self.now)
        ep.updated_at = self.now
        created.append(ep)
        self._bump_parents(ep)
        self._content_changed(season.section)
        return ep, self._changes(created, STATE_CREATED) + self._changes(created, STATE_PROCESSED)

    def add_movie(
        self,
        title: str | None = None,
        *,
        year: int | None = None,
        parts: int = 1,
        versions: int = 1,
        section_key: int | None = None,
    ) -> tuple[Item, list[Change]]:
        section = self.section(section_key) if section_key is not None else self._default_section("movie")
        self.tick()
        saved = self.config.no_media_fraction
        self.config.no_media_fraction = 0.0  # an added movie always has its file
        try:
            movie = self._new_movie(section, title, year, parts=parts, versions=versions, added_at=self.now)
        finally:
            self.config.no_media_fraction = saved
        for part in movie.parts():
            part.accessible = part.exists = True
        self._content_changed(section)
        return movie, self._changes([movie], STATE_CREATED) + self._changes([movie], STATE_PROCESSED)

    def _expect(self, rating_key: int | str, *kinds: str) -> Item:
        item = self.item(rating_key)
        if kinds and item.kind not in kinds:
            raise ValueError(f"item {rating_key} is a {item.kind}, expected {' or '.join(kinds)}")
        return item

    def _unregister(self, item: Item) -> list[Item]:
        gone = [item]
        for child in list(item.children):
            gone.extend(self._unregister(child))
        self.by_rk.pop(item.rating_key, None)
        for media in item.media:
            for part in media.parts:
                self.parts_by_id.pop(part.id, None)
        return gone

    def _detach(self, item: Item) -> list[Item]:
        """Remove `item` from its parent (or section); returns parents removed as emptied."""
        removed: list[Item] = []
        parent = item.parent
        if parent is None:
            item.section.items.remove(item)
            return removed
        parent.children.remove(item)
        if not parent.children and self.config.remove_empty_parents:
            removed.extend(self._unregister(parent))
            removed.extend(self._detach(parent))
        return removed

    def remove(self, rating_key: int | str) -> list[Change]:
        item = self.item(rating_key)
        self.tick()
        gone = self._unregister(item)
        gone.extend(self._detach(item))
        self._bump_parents(item)
        for name in item.collections:  # its collections' childCount moves (an emptied one goes)
            if not any(name in i.collections for i in item.section.items):
                self.collections.pop((item.section.key, name), None)
        self._content_changed(item.section)
        return self._changes(gone, STATE_DELETED)

    _EDITABLE = frozenset(
        {
            "title",
            "title_sort",
            "year",
            "summary",
            "originally_available_at",
            "content_rating",
            "studio",
            "genres",
            "labels",
            "collections",
        }
    )

    def edit(self, rating_key: int | str, **fields: Any) -> list[Change]:
        """Edit metadata fields (title, title_sort, year, summary, originally_available_at,
        content_rating, studio, genres, labels, collections); the item gets a new `updatedAt`
        (collections so edited: the item's own Collection tags, as Plex's item editor does; the
        collections it joins or leaves get a new `updatedAt` too)."""
        item = self.item(rating_key)
        unknown = set(fields) - self._EDITABLE
        if unknown:
            raise ValueError(f"cannot edit {', '.join(sorted(unknown))}")
        self.tick()
        if "collections" in fields:
            fields["collections"] = tuple(fields["collections"])
            touched = set(item.collections) ^ set(fields["collections"])
            item.collections = fields["collections"]
            self._touch_collections(item.section, tuple(sorted(touched)))
        for name, value in fields.items():
            setattr(item, name, value)
        if "title" in fields and "title_sort" not in fields:
            item.title_sort = _title_sort(item.title)
        item.sort_key = natural_key(item.title_sort or item.title)
        item.updated_at = self.now
        self._bump_parents(item)
        self._content_changed(item.section)
        return self._changes([item], STATE_PROCESSED)

    def set_collections(self, rating_key: int | str, collections: tuple[str, ...]) -> list[Change]:
        """Put a movie or show in these collections (and out of the others). Plex keeps a collection
        as its own object: the item's `updatedAt` does not move (`collection_edit_moves_updated_at`),
        the section's contentChangedAt does."""
        item = self.item(rating_key)
        self.tick()
        touched = set(item.collections) ^ set(collections)
        item.collections = tuple(collections)
        self._touch_collections(item.section, tuple(sorted(touched)))
        if self.config.collection_edit_moves_updated_at:
            item.updated_at = self.now
        self._content_changed(item.section)
        return self._changes([item], STATE_PROCESSED)

    # -- collections --------------------------------------------------------------------------
    def _touch_collections(self, section: Section, names: tuple[str, ...]) -> None:
        """The named collections of `section` changed members now: new ones are created, the rest
        get a new `updatedAt`, an emptied one is gone."""
        for name in names:
            found = self.collections.get((section.key, name))
            if not any(name in i.collections for i in section.items):
                self.collections.pop((section.key, name), None)
            elif found is None:
                self._next_collection += 1
                self.collections[(section.key, name)] = Collection(
                    self._next_collection, section, name, self.now, self.now
                )
            else:
                found.updated_at = self.now
        self.touch()

    def collections_of(self, section: Section) -> list[Collection]:
        """A section's collections, by title (Plex's default order)."""
        found = [c for c in self.collections.values() if c.section is section]
        return sorted(found, key=lambda c: natural_key(c.title))

    def collection(self, rating_key: int | str) -> Collection:
        try:
            key = int(rating_key)
        except ValueError:
            raise KeyError(f"no collection {rating_key}") from None
        for found in self.collections.values():
            if found.rating_key == key:
                return found
        raise KeyError(f"no collection {rating_key}")

    def members(self, collection: Collection) -> list[Item]:
        """The movies or shows a collection holds, in the section's title order."""
        return [i for i in self.top_level(collection.section) if collection.title in i.collections]

    def replace_file(
        self,
        rating_key: int | str,
        *,
        size: int | None = None,
        part_id: int | None = None,
        silent: bool = False,
    ) -> list[Change]:
        """The file behind an item is replaced: new size and Part changestamp; `updatedAt` kept.

        `silent` leaves the section's `contentChangedAt` alone too: whether every Plex version moves
        it for a replaced file is not established, and a client must not depend on it.
        """
        item = self.item(rating_key)
        parts = [p for p in item.parts() if part_id is None or p.id == part_id]
        if not parts:
            raise ValueError(f"item {rating_key} has no part to replace")
        self.tick()
        for part in parts:
            part.size = size if size is not None else part.size + 1 + self.rng.randrange(1 << 24)
            part.changestamp = self.now
            part.accessible = part.exists = True
        if not silent:
            self._content_changed(item.section)
        return self._changes([item], STATE_PROCESSED)

    def rematch(self, rating_key: int | str, *, new_guid: bool = True) -> tuple[Item, list[Change]]:
        """Same file(s), new rating key (and by default a new guid), as after a Plex re-match."""
        item = self.item(rating_key)
        self.tick()
        old = Change(item.section.key, item.rating_key, item.type_number, item.title, STATE_DELETED, self.now)
        del self.by_rk[item.rating_key]
        item.rating_key = self._rk()
        if new_guid:
            item.guid = self._plex_guid(item.kind)
        if not self.config.rematch_keeps_part_ids:
            for media in item.media:
                media.id = self._media_id()
                for part in media.parts:
                    self.parts_by_id.pop(part.id, None)
                    part.id = self._part_id()
        item.added_at = self.now
        item.updated_at = self.now
        self._register(item)
        if item.parent is not None:
            item.parent.children.sort(key=lambda c: (c.index or 0, c.rating_key))
        self._content_changed(item.section)
        return item, [old, *self._changes([item], STATE_CREATED), *self._changes([item], STATE_PROCESSED)]

    def move_episode(
        self,
        rating_key: int | str,
        *,
        show_rk: int | str | None = None,
        season_index: int | None = None,
        index: int | None = None,
        move_file: bool = True,
    ) -> list[Change]:
        """Move an episode to another season (of its show, or of `show_rk`); the season is created
        if needed and an emptied season is removed. With `move_file` its file moves with it."""
        ep = self._expect(rating_key, "episode")
        old_season = ep.parent
        assert old_season is not None
        show = self._expect(show_rk, "show") if show_rk is not None else old_season.parent
        assert show is not None
        target_index = season_index if season_index is not None else old_season.index
        self.tick()
        changes: list[Change] = []
        season = next((s for s in show.children if s.index == target_index), None)
        if season is None:
            season = self._new_season(show, target_index or 0, 0)
            season.added_at = self.now
            changes += self._changes([season], STATE_CREATED)
        gone = self._detach(ep) if season is not old_season else []
        for g in gone:
            self.by_rk.pop(g.rating_key, None)
        changes += self._changes(gone, STATE_DELETED)
        if index is not None:
            ep.index = index
        if season is not old_season:
            self._insert_child(season, ep)
        else:
            season.children.sort(key=lambda c: (c.index or 0, c.rating_key))
        ep.section = show.section
        ep.updated_at = self.now
        if move_file:
            new_base = self._episode_path(season, ep.index or 0, ep.title)
            for media in ep.media:
                for n, part in enumerate(media.parts):
                    suffix = f" - cd{n + 1}" if len(media.parts) > 1 else ""
                    part.file = f"{new_base}{suffix}.{part.container}"
        self._content_changed(show.section)
        if old_season.section is not show.section:
            self._content_changed(old_season.section)
        return changes + self._changes([ep], STATE_PROCESSED)

    def move_file(self, part_id: int, new_path: str) -> list[Change]:
        """A file moves to another path (same item, same part id; the changestamp moves)."""
        try:
            part, item = self.parts_by_id[int(part_id)]
        except KeyError:
            raise KeyError(f"no part {part_id}") from None
        self.tick()
        part.file = new_path
        part.changestamp = self.now
        self._content_changed(item.section)
        return self._changes([item], STATE_PROCESSED)

    def set_unavailable(
        self, rating_key: int | str | None = None, *, part_id: int | None = None, unavailable: bool = True
    ) -> list[Change]:
        """Mark every part under an item (show, season, episode, movie), or one part, as missing
        (`accessible`/`exists` false under `checkFiles=1`), or available again."""
        if part_id is not None:
            try:
                part, item = self.parts_by_id[int(part_id)]
            except KeyError:
                raise KeyError(f"no part {part_id}") from None
            parts, items, section = [part], [item], item.section
        elif rating_key is not None:
            root = self.item(rating_key)
            parts = list(root.parts())
            items = list(root.leaves())
            section = root.section
        else:
            raise ValueError("give a rating key or a part id")
        self.tick()
        for part in parts:
            part.accessible = part.exists = not unavailable
        self._content_changed(section)
        return self._changes(items, STATE_PROCESSED)

    def set_section_offline(self, key: int | str, offline: bool = True) -> list[Change]:
        section = self.section(key)
        if section.offline == offline:
            return []
        self.tick()
        section.offline = offline
        self._content_changed(section)
        return []

    def set_hidden_seasons(self, show_rk: int | str, hidden: bool = True) -> list[Change]:
        show = self._expect(show_rk, "show")
        self.tick()
        show.hidden_seasons = hidden
        self.touch()
        return self._changes([show], STATE_PROCESSED)

    def ground_truth(self) -> dict[str, Any]:
        """Plain-data snapshot of the whole catalog (shape documented on `Simulator.ground_truth`)."""
        return truth.ground_truth(self)
