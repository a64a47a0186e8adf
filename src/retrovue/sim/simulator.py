"""`Simulator`: the one object tests, the demo and the CLI use to run a fake Plex server.

Why it exists: it ties the pieces together (catalog + app + faults + notifications + server
thread) behind a small, stable Python API, and makes every mutation atomic with respect to
requests (one lock) and visible to websocket clients (one notification burst per mutation).
"""

from __future__ import annotations

import random
import uuid as uuidlib
from types import TracebackType
from typing import Any

from retrovue.sim.app import build_app
from retrovue.sim.asgi import SimASGI
from retrovue.sim.catalog import Catalog
from retrovue.sim.control import control_routes
from retrovue.sim.faults import FaultRule, FaultSpec
from retrovue.sim.model import CatalogConfig, Change
from retrovue.sim.notify import NotificationHub, activity_message, timeline_message
from retrovue.sim.server import ServerThread, make_config
from retrovue.sim.state import SimState

__all__ = ["Simulator"]

DEFAULT_TOKEN = "retrovue-sim-token"

_READ_OPS = frozenset({"ground_truth", "sections", "requests", "stats"})
_WRITE_OPS = frozenset(
    {
        "add_show",
        "add_season",
        "add_episode",
        "add_movie",
        "remove",
        "edit",
        "replace_file",
        "rematch",
        "move_episode",
        "move_file",
        "set_unavailable",
        "set_section_offline",
        "set_hidden_seasons",
        "set_faults",
        "clear_faults",
        "revoke_token",
        "restore_token",
        "accept_token",
        "refuse_token",
        "reset_requests",
        "reset_injected",
        "advance_clock",
        "random_mutations",
    }
)


class Simulator:
    """A Plex Media Server stand-in serving a generated library over real HTTP.

    >>> with Simulator(seed=1, shows=3, movies=4) as sim:   # doctest: +SKIP
    ...     httpx.get(f"{sim.url}/library/sections", headers={"X-Plex-Token": sim.token})

    `port=0` picks an ephemeral port. Extra keyword arguments go to `CatalogConfig` (for example
    `hidden_seasons_fraction=0.5`, `parent_updated_at_follows_children=True`).
    """

    def __init__(
        self,
        seed: int = 0,
        shows: int = 5,
        movies: int = 10,
        seasons_per_show: int = 2,
        episodes_per_season: int = 4,
        token: str = DEFAULT_TOKEN,
        windows_paths: bool = False,
        latency_ms: float = 0.0,
        faults: str | FaultSpec | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        **catalog_options: Any,
    ) -> None:
        if not token:
            raise ValueError("token must not be empty")
        config = CatalogConfig(
            seed=seed,
            shows=shows,
            movies=movies,
            seasons_per_show=seasons_per_show,
            episodes_per_season=episodes_per_season,
            windows_paths=windows_paths,
            **catalog_options,
        )
        self.catalog = Catalog(config)
        self.state = SimState(
            catalog=self.catalog,
            token=token,
            seed=seed,
            latency_ms=latency_ms,
            hub=NotificationHub(),
            control=self._control,
        )
        self.set_faults(faults)
        self.host = host
        self._requested_port = port
        self.app = SimASGI(self.state, build_app(self.state, control_routes(self.state)))
        self._server: ServerThread | None = None
        self._port: int | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> Simulator:
        if self._server is None:
            self._server = ServerThread(
                self.app, self.host, self._requested_port, on_loop=self.state.hub.bind
            )
            self._server.start()
            self._port = self._server.port
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Serve in the foreground until interrupted (the CLI)."""
        import asyncio

        import uvicorn

        server = uvicorn.Server(make_config(self.app, self.host, self._requested_port))

        async def run() -> None:
            self.state.hub.bind(asyncio.get_running_loop())
            await server.serve()

        asyncio.run(run())

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the simulator is not running (use start() or a with block)")
        return self._port

    @property
    def url(self) -> str:
        """Base URL, without the token (e.g. `http://127.0.0.1:40123`)."""
        return f"http://{self.host}:{self.port}"

    @property
    def token(self) -> str:
        return self.state.token

    @property
    def machine_identifier(self) -> str:
        return self.catalog.machine_identifier

    # -- request log ----------------------------------------------------------------------------
    @property
    def request_count(self) -> int:
        with self.state.lock:
            return len(self.state.requests)

    @property
    def requests(self) -> list[tuple[str, str, str]]:
        """Every non-control request since the last reset: (method, path, query without token)."""
        with self.state.lock:
            return list(self.state.requests)

    def reset_requests(self) -> None:
        with self.state.lock:
            self.state.requests.clear()

    # -- what was injected ------------------------------------------------------------------------
    @property
    def injected(self) -> dict[str, int]:
        """Every fault really delivered since the start (or `reset_injected`), by kind: one per
        disturbed answer (`reset`, `status=503`, `truncate`, `malformed`, `slow`, `latency`, `down`,
        `revoked`) and one per lie a listing page told (`listing:total`, `listing:nototal`,
        `listing:cap`, `listing:shift`, `listing:dup`, `listing:empty`) or offline section page
        (`offline`). Harnesses count their faults here, never by the spec they asked for."""
        with self.state.lock:
            return dict(self.state.injected)

    @property
    def faults_injected(self) -> int:
        """The number of faults delivered (the sum of `injected`)."""
        with self.state.lock:
            return sum(self.state.injected.values())

    def reset_injected(self) -> None:
        with self.state.lock:
            self.state.injected.clear()

    # -- faults and auth --------------------------------------------------------------------------
    def set_faults(self, spec: str | FaultSpec | None, *, pattern: str | None = None) -> FaultSpec:
        """Replace the active faults (None clears). `pattern` scopes every rule to a path glob.
        The `revoke-after` count starts now."""
        parsed = spec if isinstance(spec, FaultSpec) else FaultSpec.parse(spec)
        if pattern is not None:
            parsed = FaultSpec(tuple(FaultRule(r.kind, r.arg, r.probability, pattern) for r in parsed.rules))
        with self.state.lock:
            self.state.faults = parsed
            self.state.faults_base = self.state.request_number
        return parsed

    def add_fault(self, rule: str, *, pattern: str | None = None) -> FaultSpec:
        """Add rule(s) to the active faults."""
        extra = self.set_faults_preview(rule, pattern)
        with self.state.lock:
            self.state.faults = FaultSpec(self.state.faults.rules + extra.rules)
            return self.state.faults

    @staticmethod
    def set_faults_preview(rule: str, pattern: str | None) -> FaultSpec:
        parsed = FaultSpec.parse(rule)
        if pattern is not None:
            parsed = FaultSpec(tuple(FaultRule(r.kind, r.arg, r.probability, pattern) for r in parsed.rules))
        return parsed

    def clear_faults(self) -> None:
        self.set_faults(None)

    @property
    def faults(self) -> FaultSpec:
        return self.state.faults

    def set_latency(self, latency_ms: float) -> None:
        self.state.latency_ms = latency_ms

    def revoke_token(self) -> None:
        """The token stops working (401 everywhere but /identity) until `restore_token`."""
        with self.state.lock:
            self.state.revoked = True

    def restore_token(self, new_token: str | None = None) -> None:
        with self.state.lock:
            if new_token:
                self.state.token = new_token
            self.state.revoked = False
            self.state.faults = FaultSpec(
                tuple(r for r in self.state.faults.rules if r.kind != "revoke-after")
            )

    def accept_token(self, token: str) -> None:
        """Also accept `token` (an account or access token plex.tv issued for this server)."""
        if not token:
            raise ValueError("token must not be empty")
        with self.state.lock:
            self.state.other_tokens.add(token)

    def refuse_token(self, token: str) -> None:
        """Stop accepting a token given to `accept_token` (rotated, or the share was revoked)."""
        with self.state.lock:
            self.state.other_tokens.discard(token)

    # -- notifications ------------------------------------------------------------------------------
    @property
    def notifications(self) -> list[dict[str, Any]]:
        """Every notification message published so far (also sent to websocket clients)."""
        return list(self.state.hub.sent)

    def _publish(self, changes: list[Change], section_key: int | None = None) -> None:
        keys = sorted(
            {c.section_key for c in changes} | ({section_key} if section_key is not None else set())
        )
        for key in keys:
            activity = str(uuidlib.UUID(int=self.catalog.rng.getrandbits(128), version=4))
            self.state.hub.publish(activity_message("started", activity, key, 0))
            mine = [c for c in changes if c.section_key == key]
            if mine:
                self.state.hub.publish(timeline_message(mine))
            self.state.hub.publish(activity_message("ended", activity, key, 100))

    # -- mutations ----------------------------------------------------------------------------------
    def add_show(self, title: str | None = None, **kwargs: Any) -> str:
        """Add a show (`seasons=1, episodes=3, year, section_key, hidden_seasons, specials`)."""
        with self.state.lock:
            show, changes = self.catalog.add_show(title, **kwargs)
            self._publish(changes)
            return str(show.rating_key)

    def add_season(self, show_rk: int | str, index: int | None = None, episodes: int = 3) -> str:
        with self.state.lock:
            season, changes = self.catalog.add_season(show_rk, index, episodes)
            self._publish(changes)
            return str(season.rating_key)

    def add_episode(
        self,
        parent_rk: int | str,
        *,
        index: int | None = None,
        title: str | None = None,
        season_index: int | None = None,
    ) -> str:
        """Add an episode under a season, or under a show's season `season_index`."""
        with self.state.lock:
            ep, changes = self.catalog.add_episode(
                parent_rk, index=index, title=title, season_index=season_index
            )
            self._publish(changes)
            return str(ep.rating_key)

    def add_movie(self, title: str | None = None, **kwargs: Any) -> str:
        """Add a movie (`year, parts=1, versions=1, section_key`)."""
        with self.state.lock:
            movie, changes = self.catalog.add_movie(title, **kwargs)
            self._publish(changes)
            return str(movie.rating_key)

    def remove(self, rating_key: int | str) -> None:
        with self.state.lock:
            self._publish(self.catalog.remove(rating_key))

    def edit(self, rating_key: int | str, **fields: Any) -> None:
        with self.state.lock:
            self._publish(self.catalog.edit(rating_key, **fields))

    def set_collections(self, rating_key: int | str, collections: tuple[str, ...]) -> None:
        """Put a movie or show in these Plex collections (out of the others)."""
        with self.state.lock:
            self._publish(self.catalog.set_collections(rating_key, collections))

    def replace_file(
        self,
        rating_key: int | str,
        *,
        size: int | None = None,
        part_id: int | None = None,
        silent: bool = False,
    ) -> None:
        """Replace an item's file; `silent` leaves `contentChangedAt` unmoved (see the catalog)."""
        with self.state.lock:
            changes = self.catalog.replace_file(rating_key, size=size, part_id=part_id, silent=silent)
            if not silent:
                self._publish(changes)

    def rematch(self, rating_key: int | str, *, new_guid: bool = True) -> str:
        with self.state.lock:
            item, changes = self.catalog.rematch(rating_key, new_guid=new_guid)
            self._publish(changes)
            return str(item.rating_key)

    def move_episode(
        self,
        rating_key: int | str,
        *,
        show_rk: int | str | None = None,
        season_index: int | None = None,
        index: int | None = None,
        move_file: bool = True,
    ) -> None:
        with self.state.lock:
            changes = self.catalog.move_episode(
                rating_key, show_rk=show_rk, season_index=season_index, index=index, move_file=move_file
            )
            self._publish(changes)

    def move_file(self, part_id: int, new_path: str) -> None:
        with self.state.lock:
            self._publish(self.catalog.move_file(part_id, new_path))

    def set_unavailable(
        self, rating_key: int | str | None = None, *, part_id: int | None = None, unavailable: bool = True
    ) -> None:
        """Make every part under an item (or one part) missing, or available again."""
        with self.state.lock:
            self._publish(self.catalog.set_unavailable(rating_key, part_id=part_id, unavailable=unavailable))

    def set_section_offline(self, key: int | str, offline: bool = True) -> None:
        """Take a section offline (its listings come back empty) or bring it back."""
        with self.state.lock:
            changes = self.catalog.set_section_offline(key, offline)
            self._publish(changes, int(key))

    def set_hidden_seasons(self, show_rk: int | str, hidden: bool = True) -> None:
        with self.state.lock:
            self._publish(self.catalog.set_hidden_seasons(show_rk, hidden))

    def advance_clock(self, seconds: int) -> int:
        """Move virtual time forward; returns the new epoch seconds."""
        with self.state.lock:
            return self.catalog.tick(int(seconds))

    def random_mutations(self, n: int, rng: random.Random | int | None = None) -> list[tuple[Any, ...]]:
        """Apply `n` random valid mutations; returns what was done as (op, *args) tuples.

        Useful for model-based tests: mutate, sync, compare with `ground_truth()`.
        """
        rng = rng if isinstance(rng, random.Random) else random.Random(rng)
        done: list[tuple[Any, ...]] = []
        ops = ("add_episode", "add_show", "add_movie", "remove", "edit", "replace_file", "rematch",
               "move_episode", "set_unavailable", "add_season")  # fmt: skip
        attempts = 0
        while len(done) < n and attempts < n * 20:
            attempts += 1
            op = rng.choice(ops)
            with self.state.lock:
                items = sorted(self.catalog.by_rk.values(), key=lambda i: i.rating_key)
                leaves = [i for i in items if i.kind in ("episode", "movie")]
                seasons = [i for i in items if i.kind == "season"]
                shows = [i for i in items if i.kind == "show"]
                with_parts = [i for i in leaves if i.media]
                try:
                    if op == "add_episode" and seasons:
                        season = rng.choice(seasons)
                        done.append((op, self.add_episode(season.rating_key), season.rating_key))
                    elif op == "add_season" and shows:
                        show = rng.choice(shows)
                        done.append((op, self.add_season(show.rating_key, episodes=1 + rng.randrange(3))))
                    elif op == "add_show":
                        done.append(
                            (op, self.add_show(seasons=1 + rng.randrange(2), episodes=1 + rng.randrange(3)))
                        )
                    elif op == "add_movie":
                        done.append((op, self.add_movie(parts=rng.choice((1, 1, 1, 2)))))
                    elif op == "remove" and len(leaves) > 2:
                        victim = rng.choice(leaves)
                        self.remove(victim.rating_key)
                        done.append((op, str(victim.rating_key)))
                    elif op == "edit" and items:
                        target = rng.choice(items)
                        title = f"{target.title} ({rng.randrange(1000)})"
                        self.edit(target.rating_key, title=title)
                        done.append((op, str(target.rating_key), title))
                    elif op == "replace_file" and with_parts:
                        target = rng.choice(with_parts)
                        self.replace_file(target.rating_key)
                        done.append((op, str(target.rating_key)))
                    elif op == "rematch" and leaves:
                        target = rng.choice(leaves)
                        old = str(target.rating_key)
                        done.append((op, old, self.rematch(target.rating_key)))
                    elif op == "move_episode" and seasons:
                        eps = [i for i in leaves if i.kind == "episode"]
                        if eps:
                            ep = rng.choice(eps)
                            dest = rng.choice(seasons)
                            owner = dest.parent
                            assert owner is not None
                            self.move_episode(
                                ep.rating_key, show_rk=owner.rating_key, season_index=dest.index
                            )
                            done.append((op, str(ep.rating_key), str(owner.rating_key), dest.index))
                    elif op == "set_unavailable" and with_parts:
                        target = rng.choice(with_parts)
                        flag = rng.random() < 0.7
                        self.set_unavailable(target.rating_key, unavailable=flag)
                        done.append((op, str(target.rating_key), flag))
                except (KeyError, ValueError):
                    continue
        return done

    # -- ground truth ---------------------------------------------------------------------------------
    def ground_truth(self) -> dict[str, Any]:
        """The whole catalog as plain data, to compare an ingested catalog against.

        Shape::

            {"machineIdentifier": str,
             "sections": [{"key": "1", "uuid": str, "type": "show" | "movie", "title": str,
                           "offline": bool, "contentChangedAt": int, "locations": [str],
                           "shows": [SHOW], "movies": [LEAF]}]}
            SHOW   = COMMON + {"hiddenSeasons": bool, "childCount": int, "leafCount": int,
                               "seasons": [COMMON + {"leafCount": int, "episodes": [LEAF]}]}
            LEAF   = COMMON + {"duration": int | None, "parentIndex": int (episodes only),
                               "parts": [{"id": int, "mediaId": int, "key": str, "file": str,
                                          "size": int, "duration": int, "container": str,
                                          "accessible": bool, "exists": bool}]}
            COMMON = {"ratingKey": str, "guid": str, "title": str, "titleSort": str | None,
                      "year": int | None, "index": int | None, "addedAt": int,
                      "updatedAt": int | None}

        Shows and movies are in Plex's default (title) order, seasons and episodes by index.
        Items of an offline section are still listed (`offline` tells).
        """
        with self.state.lock:
            return self.catalog.ground_truth()

    def sections(self) -> list[dict[str, Any]]:
        """Summary of sections: key, type, title, uuid, item and collection counts, offline flag."""
        with self.state.lock:
            out = []
            for s in self.catalog.sections.values():
                entry: dict[str, Any] = {
                    "key": str(s.key),
                    "type": s.kind,
                    "title": s.title,
                    "uuid": s.uuid,
                    "offline": s.offline,
                    "contentChangedAt": s.content_changed_at,
                }
                if s.kind == "show":
                    entry["shows"] = len(s.items)
                    entry["seasons"] = len(self.catalog.seasons_of_section(s))
                    entry["episodes"] = len(self.catalog.episodes_of_section(s))
                else:
                    entry["movies"] = len(s.items)
                entry["collections"] = len(self.catalog.collections_of(s))
                out.append(entry)
            return out

    def stats(self) -> dict[str, Any]:
        with self.state.lock:
            return {
                "requestCount": len(self.state.requests),
                "faults": str(self.state.faults),
                "injected": dict(self.state.injected),
                "revoked": self.state.revoked,
                "now": self.catalog.now,
                "subscribers": self.state.hub.subscribers,
            }

    # -- control API dispatch ----------------------------------------------------------------------
    def _control(self, op: str, kwargs: dict[str, Any]) -> Any:
        if op not in _READ_OPS and op not in _WRITE_OPS:
            raise LookupError(f"unknown control op {op!r}")
        if op == "requests":
            return {"count": self.request_count, "requests": [list(r) for r in self.requests]}
        if op == "set_faults":
            return str(self.set_faults(kwargs.get("spec"), pattern=kwargs.get("pattern")))
        if op == "random_mutations":
            return [list(x) for x in self.random_mutations(int(kwargs.get("n", 1)), kwargs.get("seed"))]
        result = getattr(self, op)(**kwargs)
        return result
