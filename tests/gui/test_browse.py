"""Browse like Plex: servers → libraries → shows → seasons → episodes, counts by state at each level,
movie libraries without TV columns, search and sort that know Unicode — on a simulator-backed
catalog synced by the real engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import Engine

from retrovue import servers
from retrovue.gui.main_window import MainWindow
from retrovue.gui.models.items import COL_EPISODE, COL_SHOW, COL_TITLE
from retrovue.gui.models.tree import COL_ITEMS, COL_STATES, KIND_ROLE
from retrovue.sim import Simulator
from retrovue.store import registry
from tests.gui.conftest import settle

TITLES = ("Zebra", "Été", "Ærø", "Żółty", "Apple", "Déjà-vu à Paris", "Москва", "Banana")


@pytest.fixture
def synced(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine
) -> Iterator[tuple[MainWindow, Simulator]]:
    with Simulator(seed=11, shows=4, movies=0) as sim:
        for title in TITLES:
            sim.add_show(title, seasons=2, episodes=2, year=1990)
        for title in TITLES:
            sim.add_movie(title, year=2001)
        servers.add_server(engine, "sim", sim.url, sim.token)
        window = make_window(page_size=50)
        with qtbot.waitSignal(window.bus.job_finished, timeout=60_000):
            window.sync_all()
        settle(qtbot, window)
        yield window, sim


def _library(engine: Engine, title: str) -> int:
    with engine.connect() as conn:
        return registry.get_library(conn, title).id


def test_tv_library_browses_as_shows_seasons_episodes(
    qtbot: Any, synced: tuple[MainWindow, Simulator], engine: Engine
) -> None:
    window, _sim = synced
    tv = _library(engine, "TV Shows")
    assert window.select_library(tv)
    settle(qtbot, window)
    library = window.tree_model.library_item(tv)
    assert library is not None
    window.tree.expand(library.index())  # its shows are read in the background when it opens
    qtbot.waitUntil(lambda: window.tree_model.shows_loaded(tv))
    shows = [library.child(r, 0) for r in range(library.rowCount())]
    assert {s.data(KIND_ROLE) for s in shows} == {"show"}
    names = [s.text() for s in shows]
    assert "Été (1990)" in names
    deja = next(s for s in shows if s.text().startswith("Déjà-vu"))
    cells = window.tree_model.row_cells(deja)
    assert cells[COL_ITEMS].text() == "4"  # counted by state per show: one grouped query
    assert cells[COL_STATES].text().endswith(("4 remote-only", "4 active"))
    window.tree.expand(deja.index())
    qtbot.waitUntil(lambda: deja.rowCount() == 2 and deja.child(0, 0).data(KIND_ROLE) == "season")
    season = deja.child(1, 0)
    assert season.text() == "Season 2"
    assert window.tree_model.row_cells(season)[COL_ITEMS].text() == "2"

    window.tree.setCurrentIndex(deja.index())  # a show: its episodes, in season order
    settle(qtbot, window)
    assert window.items_model.total == 4
    assert {r.show_title for r in window.items_model.rows} == {"Déjà-vu à Paris"}
    assert [(r.season_index, r.episode_index) for r in window.items_model.rows] == [
        (1, 1),
        (1, 2),
        (2, 1),
        (2, 2),
    ]
    window.tree.setCurrentIndex(season.index())  # a season: its episodes only
    settle(qtbot, window)
    assert [(r.season_index, r.episode_index) for r in window.items_model.rows] == [(2, 1), (2, 2)]
    assert not window.table.isColumnHidden(COL_SHOW)
    assert window.act_sync.isEnabled()  # Sync acts on the show's library

    window.reload()  # a refresh keeps the tree's shape and the selection
    settle(qtbot, window)
    assert window.library.scope()[2] is not None
    assert [(r.season_index, r.episode_index) for r in window.items_model.rows] == [(2, 1), (2, 2)]


def test_movie_library_has_no_tv_columns(
    qtbot: Any, synced: tuple[MainWindow, Simulator], engine: Engine
) -> None:
    window, _sim = synced
    assert window.select_library(_library(engine, "Movies"))
    settle(qtbot, window)
    assert window.table.isColumnHidden(COL_SHOW)
    assert window.table.isColumnHidden(COL_EPISODE)
    library = window.tree_model.library_item(_library(engine, "Movies"))
    assert library is not None
    assert library.rowCount() == 0  # movies are leaves: nothing to open


def test_search_and_sort_know_unicode(
    qtbot: Any, synced: tuple[MainWindow, Simulator], engine: Engine
) -> None:
    window, _sim = synced
    assert window.select_library(_library(engine, "Movies"))
    window.table.sortByColumn(COL_TITLE, Qt.SortOrder.AscendingOrder)
    settle(qtbot, window)
    titles = [r.title for r in window.items_model.rows if r.title in TITLES]
    # Folded, whatever the machine's locale: Ærø with A, Été with E, Żółty with Z, Москва last.
    assert titles == ["Ærø", "Apple", "Banana", "Déjà-vu à Paris", "Été", "Zebra", "Żółty", "Москва"]
    for query, expected in (("deja", "Déjà-vu à Paris"), ("москва", "Москва"), ("ZOLTY", "Żółty")):
        window.search.setText(query)
        window.apply_search()
        settle(qtbot, window)
        assert [r.title for r in window.items_model.rows] == [expected], query
