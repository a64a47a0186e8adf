"""Screenshot the main window, and measure how long the GUI thread can stall.

    python scripts/screenshot_gui.py                 # docs/images/{main-window,item-detail,activity}.png
    python scripts/screenshot_gui.py --measure 100000  # also: event-loop stall over a large library
    python scripts/screenshot_gui.py --sign-in       # docs/images/sign-in-code.png, sign-in-servers.png

The screenshot: a simulator is started and registered in a temporary catalog, its libraries are
synced with the real engine, and the window (offscreen) selects the TV library and an episode.

The sign-in screenshots: the plex.tv stand-in with its household of servers (`build_household`), the
"Sign in with Plex" dialog showing its code, then (approved through the stand-in) the checklist.

The measurement: a catalog of N items is built with the store APIs (no Plex), the window opens it,
and a 5 ms QTimer on the GUI thread records the longest gap between its ticks while the table is
scrolled to the end batch by batch, re-sorted and searched; then a real sync of a larger simulated
library runs on the worker while the timer keeps ticking. The numbers are printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QElapsedTimer, QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from retrovue import machine, servers  # noqa: E402
from retrovue.gui.main_window import MainWindow  # noqa: E402
from retrovue.sim import Simulator  # noqa: E402
from retrovue.store import registry  # noqa: E402
from retrovue.store.db import open_catalog  # noqa: E402


class StallMeter:
    """Longest gap between ticks of a 5 ms timer on the GUI thread (what a user feels as a freeze)."""

    def __init__(self) -> None:
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self.tick)
        self.last = 0
        self.worst = 0

    def start(self) -> None:
        self.clock.start()
        self.last = 0
        self.worst = 0
        self.timer.start()

    def tick(self) -> None:
        now = self.clock.elapsed()
        self.worst = max(self.worst, now - self.last)
        self.last = now

    def stop(self) -> int:
        self.timer.stop()
        return self.worst


def pump(app: QApplication, ms: int) -> None:
    end = time.monotonic() + ms / 1000
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.001)


def screenshot(app: QApplication, tmp: Path, out: Path) -> None:
    """main-window.png (the TV library browsed by show, an episode selected), item-detail.png (the
    item pane: its state and why, its streams in words) and activity.png (the runs of the session),
    all in the folder of `out`."""
    engine = open_catalog(f"sqlite:///{tmp / 'shot.sqlite'}")
    with Simulator(seed=7, shows=8, movies=12, seasons_per_show=2, episodes_per_season=6) as sim:
        added = servers.add_server(engine, "living-room", sim.url, sim.token)
        now = int(time.time())
        local = tmp / "nas" / "media"
        _make_local_copies(sim, local)
        with engine.begin() as conn:
            registry.add_mapping(
                conn, added.server.id, "/data/media", str(local), machine=machine.current(), now=now
            )
        window = MainWindow(
            engine, settings=QSettings(str(tmp / "shot.ini"), QSettings.Format.IniFormat), page_size=20
        )
        window.resize(1280, 800)
        window.show()
        pump(app, 300)
        with engine.connect() as conn:
            tv = registry.get_library(conn, "TV Shows")
        window.sync_all()
        while window.jobs:
            pump(app, 50)
        sim.remove(_key(engine, tv.id, 3))
        window.select_library(tv.id)
        pump(app, 300)
        window.sync_selected()
        while window.jobs:
            pump(app, 50)
        pump(app, 500)
        library = window.tree_model.library_item(tv.id)
        assert library is not None
        window.tree.expand(library.index())
        pump(app, 500)
        show = library.child(1, 0)
        window.tree.expand(show.index())
        pump(app, 300)
        window.tree.setCurrentIndex(show.index())
        pump(app, 500)
        window.table.setCurrentIndex(window.items_model.index(1, 0))
        window.main_split.setSizes([360, 920])
        window.items_split.setSizes([400, 320])
        pump(app, 1500)  # the poster arrives from the simulator
        out.parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(out))
        window.items_split.setSizes([260, 460])  # room for the poster
        pump(app, 300)
        window.detail.grab().save(str(out.parent / "item-detail.png"))
        window.tabs.setCurrentIndex(1)  # Activity
        pump(app, 200)
        window.grab().save(str(out.parent / "activity.png"))
        window.shutdown()
        window.close()
    engine.dispose()
    print(f"saved {out}, item-detail.png and activity.png beside it")


def _make_local_copies(sim: Simulator, root: Path) -> None:
    """Empty stand-ins for two of every three files, so the picture shows ACTIVE and REMOTE_ONLY."""
    for section in sim.ground_truth()["sections"]:
        leaves = [e for sh in section.get("shows", []) for se in sh["seasons"] for e in se["episodes"]]
        for n, leaf in enumerate(leaves + section.get("movies", [])):
            if n % 3 == 2:
                continue
            for part in leaf["parts"]:
                target = root / str(part["file"]).removeprefix("/data/media/")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.touch()


def _key(engine: object, library_id: int, offset: int) -> str:
    import sqlalchemy as sa

    from retrovue.store import schema

    c = schema.media_items.c
    with engine.connect() as conn:  # type: ignore[attr-defined]
        key: str = conn.execute(
            sa.select(c.rating_key).where(c.library_id == library_id).order_by(c.id).offset(offset).limit(1)
        ).scalar_one()
    return key


def measure(app: QApplication, tmp: Path, n: int) -> None:
    from tests.gui.conftest import fake_library, fill_items

    engine = open_catalog(f"sqlite:///{tmp / 'big.sqlite'}")
    server_id, library_id = fake_library(engine)
    started = time.perf_counter()
    fill_items(engine, server_id, library_id, n, page=2000)
    print(f"built a catalog of {n:,} items in {time.perf_counter() - started:.1f} s")

    meter = StallMeter()
    meter.start()
    t0 = time.perf_counter()
    window = MainWindow(
        engine,
        settings=QSettings(str(tmp / "big.ini"), QSettings.Format.IniFormat),
        check_servers_on_start=False,
    )
    window.resize(1400, 860)
    window.show()
    window.select_library(library_id)
    pump(app, 200)
    print(
        f"window open with the library selected: {(time.perf_counter() - t0) * 1000:.0f} ms "
        "(incl. 200 ms idle)"
    )
    meter.start()
    model = window.items_model
    fetch_times: list[float] = []
    t0 = time.perf_counter()
    while model.canFetchMore():
        f0 = time.perf_counter()
        window.table.scrollToBottom()  # the view asks for the next batch, as a user dragging would
        app.processEvents()
        fetch_times.append(time.perf_counter() - f0)
    scroll_worst = meter.stop()
    print(
        f"scrolled to row {model.rowCount():,} in {time.perf_counter() - t0:.1f} s, {model.queries} batches; "
        f"longest GUI-thread stall {scroll_worst} ms; slowest batch {max(fetch_times) * 1000:.0f} ms, "
        f"median {sorted(fetch_times)[len(fetch_times) // 2] * 1000:.0f} ms"
    )
    for label, action in (
        ("re-sort by title (desc)", lambda: window.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)),
        ("re-sort by Plex path", lambda: window.table.sortByColumn(8, Qt.SortOrder.AscendingOrder)),
        (
            "filter MISSING",
            lambda: window.state_filter.setCurrentIndex(window.state_filter.findData("MISSING")),
        ),
        ("search 'episode 0123'", lambda: (window.search.setText("episode 0123"), window.apply_search())),
    ):
        meter.start()
        pump(app, 20)
        action()
        pump(app, 100)
        print(f"{label}: longest stall {meter.stop()} ms")
    window.shutdown()
    window.close()
    engine.dispose()

    # A real sync on the worker while the GUI thread keeps ticking.
    engine = open_catalog(f"sqlite:///{tmp / 'sync.sqlite'}")
    with Simulator(seed=3, shows=100, seasons_per_show=4, episodes_per_season=25, movies=200) as sim:
        servers.add_server(engine, "big", sim.url, sim.token)
        window = MainWindow(
            engine, settings=QSettings(str(tmp / "sync.ini"), QSettings.Format.IniFormat), page_size=200
        )
        window.show()
        with engine.connect() as conn:
            window.select_library(registry.get_library(conn, "TV Shows").id)
        pump(app, 100)
        meter.start()
        t0 = time.perf_counter()
        window.sync_selected()
        while window.jobs:
            pump(app, 20)
            if model_rows(window) and window.items_model.canFetchMore():
                window.table.scrollToBottom()
        worst = meter.stop()
        print(
            f"synced {window.items_model.total:,} episodes in {time.perf_counter() - t0:.1f} s; "
            f"longest GUI-thread stall during the sync {worst} ms; "
            f"status: {window.statusBar().currentMessage()}"
        )
        window.shutdown()
        window.close()
    engine.dispose()


def sign_in_screenshots(app: QApplication, tmp: Path, out_dir: Path) -> None:
    from retrovue.gui.dialogs.account import SignInDialog
    from retrovue.sim.plextv import PlexTvSim, build_household

    os.environ["RETROVUE_STATE_DIR"] = str(tmp / "state")  # never the user's own sign-in
    engine = open_catalog(f"sqlite:///{tmp / 'signin.sqlite'}")
    with Simulator(seed=7, shows=2, movies=2, seasons_per_show=1) as home, PlexTvSim() as tv:
        os.environ["RETROVUE_PLEX_TV_URL"] = tv.url
        extra = build_household(tv, home, shows=1, movies=1)
        dialog = SignInDialog(engine, open_url=lambda _url: True)
        dialog.show()
        dialog.start()
        while dialog.pending is None:
            pump(app, 50)
        pump(app, 300)
        out_dir.mkdir(parents=True, exist_ok=True)
        dialog.grab().save(str(out_dir / "sign-in-code.png"))
        tv.approve(dialog.pending.code)
        while dialog.server_list.count() < 4:
            pump(app, 50)
        pump(app, 300)
        dialog.grab().save(str(out_dir / "sign-in-servers.png"))
        dialog.close()
        dialog.pool.waitForDone(5000)
        for sim in extra:
            sim.stop()
    engine.dispose()
    print(f"saved {out_dir / 'sign-in-code.png'} and {out_dir / 'sign-in-servers.png'}")


def model_rows(window: MainWindow) -> int:
    return window.items_model.rowCount()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "main-window.png")
    parser.add_argument(
        "--measure", type=int, default=0, metavar="N", help="also measure stalls over N items"
    )
    parser.add_argument("--no-screenshot", action="store_true")
    parser.add_argument("--sign-in", action="store_true", help="the sign-in dialog's screenshots only")
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        if args.sign_in:
            sign_in_screenshots(app, Path(tmp), REPO / "docs" / "images")
            return
        if not args.no_screenshot:
            screenshot(app, Path(tmp), args.out)
        if args.measure:
            measure(app, Path(tmp), args.measure)


if __name__ == "__main__":
    main()
