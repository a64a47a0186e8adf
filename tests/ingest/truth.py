"""Compare an ingested catalog with the simulator's ground truth — the oracle of the sync tests."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from retrovue import machine as machines
from retrovue.sim import Simulator
from retrovue.store import local
from retrovue.store import schema as t

GONE = ("MISSING", "DELETED")


def expected_items(section: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    out: dict[str, tuple[Any, ...]] = {}
    for show in section.get("shows", []):
        for season in show["seasons"]:
            for ep in season["episodes"]:
                parts = tuple(sorted((p["file"], p["size"]) for p in ep["parts"]))
                out[ep["ratingKey"]] = (
                    "episode",
                    ep["title"],
                    show["ratingKey"],
                    None if show["hiddenSeasons"] else season["ratingKey"],
                    ep["parentIndex"],
                    ep["index"],
                    parts,
                )
    for movie in section.get("movies", []):
        parts = tuple(sorted((p["file"], p["size"]) for p in movie["parts"]))
        out[movie["ratingKey"]] = ("movie", movie["title"], None, None, None, None, parts)
    return out


def catalog_items(engine: Engine, library_id: int) -> dict[str, tuple[Any, ...]]:
    i, p = t.media_items.c, t.media_parts.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                i.id,
                i.rating_key,
                i.kind,
                i.title,
                i.show_rating_key,
                i.season_rating_key,
                i.season_index,
                i.episode_index,
            ).where(i.library_id == library_id, i.state.notin_(GONE))
        ).all()
        parts: dict[int, list[tuple[Any, ...]]] = {}
        for item_id, file, size in conn.execute(
            sa.select(p.item_id, p.file, p.size)
            .join(t.media_items, i.id == p.item_id)
            .where(i.library_id == library_id)
        ):
            parts.setdefault(item_id, []).append((file, size))
    return {
        r.rating_key: (
            r.kind,
            r.title,
            r.show_rating_key,
            r.season_rating_key,
            r.season_index,
            r.episode_index,
            tuple(sorted(parts.get(r.id, []))),
        )
        for r in rows
    }


def library_ids(engine: Engine, server_name: str) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.libraries.c.section_key, t.libraries.c.id)
            .join(t.servers, t.servers.c.id == t.libraries.c.server_id)
            .where(t.servers.c.name == server_name)
        )
        return {key: lib_id for key, lib_id in rows}


def states(engine: Engine, library_id: int, machine: str | None = None) -> dict[str, str]:
    """Each item's state as a reader on `machine` (default: this one) sees it, by rating key."""
    c = t.media_items.c
    v, on = local.verdict_join(machine or machines.current())
    query = (
        sa.select(c.rating_key, local.reader_state(v))
        .select_from(t.media_items.outerjoin(v, on))
        .where(c.library_id == library_id)
    )
    with engine.connect() as conn:
        return {key: state for key, state in conn.execute(query)}


def assert_matches_truth(
    engine: Engine,
    sim: Simulator,
    server_name: str = "home",
    *,
    check_files: bool = False,
    sections: set[str] | None = None,
) -> None:
    """After a completed sync: the catalog's present items are exactly Plex's, with the same titles,
    parents, indices and parts; itemless entries are UNAVAILABLE; with `check_files` (after a deep or
    first sync), items with a missing part are UNAVAILABLE and the rest playable."""
    truth = sim.ground_truth()
    libs = library_ids(engine, server_name)
    for section in truth["sections"]:
        if sections is not None and section["key"] not in sections:
            continue
        lib_id = libs[section["key"]]
        expected = expected_items(section)
        actual = catalog_items(engine, lib_id)
        missing_from_catalog = expected.keys() - actual.keys()
        extra_in_catalog = actual.keys() - expected.keys()
        assert not missing_from_catalog, f"not in catalog: {sorted(missing_from_catalog)[:10]}"
        assert not extra_in_catalog, f"catalog has items Plex does not: {sorted(extra_in_catalog)[:10]}"
        for key, want in expected.items():
            assert actual[key] == want, (key, actual[key], want)
        state = states(engine, lib_id)
        leaves = [
            leaf
            for show in section.get("shows", [])
            for season in show["seasons"]
            for leaf in season["episodes"]
        ] + section.get("movies", [])
        for leaf in leaves:
            key = leaf["ratingKey"]
            if not leaf["parts"]:
                assert state[key] == "UNAVAILABLE", key
            elif check_files:
                broken = any(not (p["accessible"] and p["exists"]) for p in leaf["parts"])
                assert (state[key] == "UNAVAILABLE") == broken, (key, state[key], leaf["parts"])
        with engine.connect() as conn:
            shows = set(
                conn.execute(
                    sa.select(t.shows.c.rating_key).where(
                        t.shows.c.library_id == lib_id, t.shows.c.state.notin_(GONE)
                    )
                ).scalars()
            )
            seasons = set(
                conn.execute(
                    sa.select(t.seasons.c.rating_key).where(
                        t.seasons.c.library_id == lib_id, t.seasons.c.state.notin_(GONE)
                    )
                ).scalars()
            )
        assert shows == {s["ratingKey"] for s in section.get("shows", [])}
        assert seasons == {
            se["ratingKey"]
            for s in section.get("shows", [])
            if not s["hiddenSeasons"]
            for se in s["seasons"]
            if se["episodes"]
        }


def falsely_missing(engine: Engine, sim: Simulator, server_name: str = "home") -> list[str]:
    """Items, shows and seasons the server still has that the catalog holds MISSING or DELETED."""
    truth = sim.ground_truth()
    libs = library_ids(engine, server_name)
    out: list[str] = []
    for section in truth["sections"]:
        lib_id = libs[section["key"]]
        exists = set(expected_items(section))
        gone = {k for k, state in states(engine, lib_id).items() if state in GONE}
        out += [f"item {k}" for k in sorted(exists & gone)]
        shows = {s["ratingKey"] for s in section.get("shows", [])}
        seasons = {
            se["ratingKey"]
            for s in section.get("shows", [])
            if not s["hiddenSeasons"]
            for se in s["seasons"]
            if se["episodes"]
        }
        for table, present, label in ((t.shows, shows, "show"), (t.seasons, seasons, "season")):
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.select(table.c.rating_key).where(table.c.library_id == lib_id, table.c.state.in_(GONE))
                ).scalars()
                out += [f"{label} {k}" for k in sorted(present & set(rows))]
    return out


def assert_nothing_falsely_missing(engine: Engine, sim: Simulator, server_name: str = "home") -> None:
    """No item, show or season the server still has is MISSING or DELETED in the catalog —
    whatever the run's outcome."""
    wrong = falsely_missing(engine, sim, server_name)
    assert not wrong, f"falsely missing: {wrong[:10]}"


def file_checks_owed(engine: Engine) -> list[str]:
    """Rating keys of present items still owed their file check (`detail_pending`). An item gone
    from the server (MISSING, DELETED) cannot be checked; it is checked again if it comes back."""
    c = t.media_items.c
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(c.rating_key).where(c.detail_pending == sa.true(), c.state.notin_(GONE))
            ).scalars()
        )


def assert_no_file_check_owed(engine: Engine) -> None:
    """Every item stored without its file check under faults got it from a later (gated) run."""
    owed = file_checks_owed(engine)
    assert not owed, f"file checks still owed: {owed[:10]}"
