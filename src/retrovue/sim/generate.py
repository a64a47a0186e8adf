"""Generating the simulated library from a seed: sections, shows, seasons, episodes, movies, files.

Why it exists: `catalog` answers questions about the library and `mutations` changes it; making a
library in the first place (titles from mixed-script word lists, Plex-like sort titles, paths in
Plex's naming scheme, media and parts, the extra metadata a scheduler reads) is a job of its own,
and the longest. `Generation` is a mixin: `Catalog` inherits it (through `Mutations`, which adds
items with the same code), owns the state declared below and builds it in its constructor.

Every draw comes from `self.rng` in a fixed order (`_enrich` from an rng of the item's own), so
the same seed gives the same library; moving code here must not reorder a single draw.
"""

from __future__ import annotations

import random
import re
import unicodedata
import uuid as uuidlib
from typing import Any

from retrovue.sim.model import CatalogConfig, Item, Media, Part, Section

__all__ = ["Generation", "natural_key", "title_sort"]


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


def title_sort(title: str) -> str | None:
    """The sort title Plex gives a title starting with an article ("The Harbor" -> "Harbor"), else None."""
    for article in _ARTICLES:
        if title.startswith(article) and len(title) > len(article):
            return title[len(article) :]
    return None


class Generation:
    """Mixin: identifiers and the generation of sections and items (see the module docstring)."""

    # The state generation reads and fills; `Catalog.__init__` creates it.
    config: CatalogConfig
    rng: random.Random
    now: int
    sections: dict[int, Section]
    by_rk: dict[int, Item]
    parts_by_id: dict[int, tuple[Part, Item]]
    _next_rk: int
    _next_media: int
    _next_part: int
    _used_names: set[str]

    # -- identifiers --------------------------------------------------------------------------
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
            title_sort=title_sort(title),
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
            title_sort=title_sort(title),
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
            title_sort=title_sort(title),
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
