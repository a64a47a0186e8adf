"""The scheduler loop in docs/catalog.md, run as written against a catalog synced from the simulator."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from retrovue import mapping, servers
from retrovue.catalog import Catalog
from retrovue.ingest import sync
from retrovue.sim import Simulator
from tests.conftest import REPO_ROOT


def example() -> str:
    text = (REPO_ROOT / "docs" / "catalog.md").read_text(encoding="utf-8")
    section = text[text.index("## A scheduler loop") :]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    return str(code)


def test_the_documented_scheduler_loop(tmp_path: Path, plex_sim: Simulator) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    cat = Catalog.open(url)
    try:
        servers.add_server(cat.engine, "home", plex_sim.url, plex_sim.token)
        truth = plex_sim.ground_truth()
        show = next(s for sec in truth["sections"] for s in sec.get("shows", []))
        root = tmp_path / "media"
        here = set()
        for season in show["seasons"]:
            for episode in season["episodes"][:1]:  # one episode a season is on this machine
                for part in episode["parts"]:
                    local = root / str(part["file"]).removeprefix("/data/media/")
                    local.parent.mkdir(parents=True, exist_ok=True)
                    local.write_bytes(b"")
                    here.add(str(local))
        mapping.add_mapping(cat.engine, "home", "/data/media", str(root))
        assert all(s.status == "ok" for s in sync(cat.engine))
        scope: dict[str, Any] = {"__name__": "example"}
        exec(compile(example(), "docs/catalog.md", "exec"), scope)
        for _ in range(5):
            item_id, files = scope["random_episode"](cat, show["title"])
            assert set(files) <= here
            item = cat.item(item_id)
            assert item is not None
            assert (item.show_title, item.state) == (show["title"], "ACTIVE")
        assert scope["random_episode"](cat, "No Such Show") is None
        # Follow the feed: an episode gone from Plex leaves the lineup, one whose file arrives here
        # joins it, and nothing else is read.
        lineup = {p.item.id for p in cat.playable() if p.item.show_title == show["title"]}
        cursor = cat.cursor()
        assert scope["catch_up"](cat, cursor, show["title"], lineup) == cursor
        by_path = {
            part["file"]: episode
            for season in show["seasons"]
            for episode in season["episodes"]
            for part in episode["parts"]
        }
        gone = next(e for f, e in by_path.items() if str(root / f.removeprefix("/data/media/")) in here)
        plex_sim.remove(gone["ratingKey"])
        arriving = next(
            e for f, e in by_path.items() if str(root / f.removeprefix("/data/media/")) not in here
        )
        for part in arriving["parts"]:
            local = root / str(part["file"]).removeprefix("/data/media/")
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(b"")
            here.add(str(local))
        assert all(s.status == "ok" for s in sync(cat.engine, use_gate=False))
        mapping.reevaluate_states(cat.engine, "home")
        ids = {i.rating_key: i.id for i in cat.iter_items()}
        before = set(lineup)
        cursor = scope["catch_up"](cat, cursor, show["title"], lineup)
        assert lineup == (before - {ids[gone["ratingKey"]]}) | {ids[arriving["ratingKey"]]}
        assert cursor == cat.cursor()
    finally:
        cat.close()
    script = tmp_path / "scheduler.py"
    script.write_text(example(), encoding="utf-8")
    env = {**os.environ, "DB_URL": url}
    ran = subprocess.run(
        [sys.executable, str(script), show["title"]], env=env, capture_output=True, text=True, check=True
    )
    assert any(path in ran.stdout for path in here)
