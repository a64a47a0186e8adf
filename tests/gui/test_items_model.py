"""The items model: incremental fetching, SQL sorting, state filter, search, local paths on demand."""

from __future__ import annotations

import gc
import time
from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from sqlalchemy import Engine

from retrovue import machine
from retrovue.gui.models.items import COL_LOCAL, COL_PLEX, COL_STATE, COL_TITLE, ItemsModel
from retrovue.store import registry
from tests.gui.conftest import fake_library, fill_items


def test_fetches_in_batches_as_the_view_asks(qtbot: Any, engine: Engine) -> None:
    server_id, library_id = fake_library(engine)
    fill_items(engine, server_id, library_id, 5000)
    model = ItemsModel(engine, batch=500)
    model.set_library(library_id)
    assert model.total == 5000
    assert model.rowCount() == 500  # the first batch arrives with the reset
    assert model.canFetchMore(QModelIndex())
    seen = [model.rowCount()]
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
        seen.append(model.rowCount())
    assert seen == list(range(500, 5001, 500))
    assert model.queries == 10
    assert len({row.id for row in model.rows}) == 5000  # stable order: no duplicates across pages


def test_sort_is_sql_order_by(qtbot: Any, engine: Engine) -> None:
    server_id, library_id = fake_library(engine)
    fill_items(engine, server_id, library_id, 1200)
    model = ItemsModel(engine, batch=100)
    model.set_library(library_id)
    model.sort(COL_TITLE, Qt.SortOrder.DescendingOrder)
    assert model.rowCount() == 100
    assert model.data(model.index(0, COL_TITLE)) == "Episode 001199"
    assert model.data(model.index(99, COL_TITLE)) == "Episode 001100"
    model.sort(COL_TITLE, Qt.SortOrder.AscendingOrder)
    assert [model.data(model.index(r, COL_TITLE)) for r in range(3)] == [
        "Episode 000000",
        "Episode 000001",
        "Episode 000002",
    ]


def test_state_filter_and_search(qtbot: Any, engine: Engine) -> None:
    server_id, library_id = fake_library(engine)
    fill_items(engine, server_id, library_id, 1000)
    model = ItemsModel(engine)
    model.set_library(library_id)
    model.set_state_filter("MISSING")
    assert model.total == 200
    model.fetchMore(QModelIndex())
    assert {model.data(model.index(r, COL_STATE)) for r in range(model.rowCount())} == {"MISSING"}
    model.set_state_filter(None)
    model.set_search("episode 00012")  # case-insensitive substring: 120..129
    assert model.total == 10
    model.set_search("show 007")  # matches the show title too
    assert model.total == 10
    model.set_search("100%")  # LIKE wildcards are literal
    assert model.total == 0


def test_local_path_is_resolved_on_demand(qtbot: Any, engine: Engine) -> None:
    server_id, library_id = fake_library(engine)
    fill_items(engine, server_id, library_id, 10)
    model = ItemsModel(engine)
    model.set_library(library_id)
    model.fetchMore(QModelIndex())
    plex = model.data(model.index(0, COL_PLEX))
    assert plex.startswith("/data/tv/")
    assert model.data(model.index(0, COL_LOCAL)) == ""  # no mapping yet
    with engine.begin() as conn:
        registry.add_mapping(
            conn, server_id, "/data/tv", "/mnt/nas/tv", machine=machine.current(), now=int(time.time())
        )
    model.forget_mappings()
    assert model.data(model.index(0, COL_LOCAL)) == plex.replace("/data/tv", "/mnt/nas/tv", 1)


def test_invalid_index_and_roles(qtbot: Any, engine: Engine) -> None:
    model = ItemsModel(engine)
    assert model.rowCount() == 0
    assert not model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())  # no library: nothing happens
    assert model.data(model.index(5, 0)) is None
    assert model.headerData(0, Qt.Orientation.Horizontal) == "Title"
    assert model.headerData(0, Qt.Orientation.Vertical) is None


def test_rows_share_the_strings_many_rows_repeat(qtbot: Any, engine: Engine) -> None:
    """A 100,000-row table holds each show's title and each state once, not once per row."""
    server_id, library_id = fake_library(engine)
    fill_items(engine, server_id, library_id, 400)
    model = ItemsModel(engine, batch=100)
    model.set_library(library_id)
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
    same_show = [r for r in model.rows if r.show_title == "Show 007"]
    assert len(same_show) == 4
    assert all(r.show_title is same_show[0].show_title for r in same_show)
    assert all(r.state is model.rows[0].state for r in model.rows if r.state == model.rows[0].state)


def test_loaded_rows_are_out_of_the_cycle_collectors_sight(qtbot: Any, engine: Engine) -> None:
    """A full collection walks every tracked object holding the GIL: the table keeps its rows by
    column, numbers in arrays and strings in lists, so 100,000 rows give it a few lists to look at,
    not an object per row."""
    server_id, library_id = fake_library(engine)
    fill_items(engine, server_id, library_id, 300)
    model = ItemsModel(engine, batch=100)
    model.set_library(library_id)
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
    rows = model.rows
    assert len(rows) == 300
    columns = rows._columns()
    assert sum(len(column) for column in columns) == 300 * len(columns)
    assert not any(gc.is_tracked(value) for column in columns for value in column)
    row = rows[7]  # with names, when asked for
    assert row.file is not None
    assert row.file.endswith(".mkv")
    assert model.index(7, COL_PLEX).data() == row.file  # the folder and the name, put back together
    assert rows[5:7] == [rows[5], rows[6]]
    assert rows[-1] == rows[299]
    assert model.row_of(row.id) == 7


def test_search_narrows_by_what_a_scheduler_knows(qtbot: Any, engine: Engine) -> None:
    """The items view filters on metadata through its search box: `decade:1990s` (an item without an
    air date counts by its year), mixed with title words."""
    server_id, library_id = fake_library(engine)
    fill_items(engine, server_id, library_id, 300)
    model = ItemsModel(engine)
    model.set_library(library_id)
    model.set_search("decade:1990s")
    assert model.total == sum(1 for i in range(300) if 1990 <= 1980 + i % 30 <= 1999)
    model.set_search("decade:1990s episode 00011")  # and a title: 110..119, of which 1990..1999 by year
    assert model.total == sum(1 for i in range(110, 120) if 1990 <= 1980 + i % 30 <= 1999)
    model.set_search("genre:Comedy")  # no item has a genre here
    assert model.total == 0
