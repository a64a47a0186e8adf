"""The server dialog (connection test before saving, masked token) and the path-mappings dialog."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtWidgets import QLineEdit
from sqlalchemy import Engine

from retrovue import machine, mapping, servers
from retrovue.gui.dialogs.mappings import MappingsDialog
from retrovue.gui.dialogs.server import ServerDialog
from retrovue.gui.main_window import MainWindow
from retrovue.sim import Simulator
from retrovue.store import registry
from tests.gui.conftest import fake_library, settle


def _fill(dialog: ServerDialog, name: str, url: str, token: str) -> None:
    dialog.name.setText(name)
    dialog.url.setText(url)
    dialog.token.setText(token)


def test_add_server_tests_the_connection_then_saves(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine, plex_sim: Simulator
) -> None:
    window = make_window()
    dialog = window.add_server()
    assert dialog.token.echoMode() == QLineEdit.EchoMode.Password
    _fill(dialog, "home", plex_sim.url, plex_sim.token)
    assert not dialog.save_button.isEnabled()  # never saved untested

    dialog.test_button.click()
    qtbot.waitUntil(dialog.save_button.isEnabled, timeout=10_000)
    assert "Plex" in dialog.status.text()
    assert "2 movie/show libraries" in dialog.status.text()
    dialog.token.setText(plex_sim.token + "x")  # any edit invalidates the test
    assert not dialog.save_button.isEnabled()
    dialog.token.setText(plex_sim.token)
    assert dialog.save_button.isEnabled()

    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        dialog.save_button.click()
    settle(qtbot, window)
    with engine.connect() as conn:
        assert [s.name for s in registry.list_servers(conn)] == ["home"]
    server = window.tree_model.item(0, 0)
    assert server.text() == "home"
    assert sorted(server.child(r, 0).text() for r in range(server.rowCount())) == ["Movies", "TV Shows"]
    assert "Server saved" in window.statusBar().currentMessage()


def test_failed_connection_test_keeps_save_disabled(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine, plex_sim: Simulator
) -> None:
    window = make_window()
    dialog = window.add_server()
    _fill(dialog, "home", plex_sim.url, "wrong-token")
    dialog.test_button.click()
    qtbot.waitUntil(lambda: dialog.status.text().startswith("✘"), timeout=10_000)
    assert "wrong-token" not in dialog.status.text()
    assert not dialog.save_button.isEnabled()
    dialog.save()  # ignored while untested
    with engine.connect() as conn:
        assert registry.list_servers(conn) == []
    dialog.url.setText("ftp://nowhere")
    dialog.token.setText("abc")
    dialog.test_button.click()
    qtbot.waitUntil(lambda: "http://" in dialog.status.text(), timeout=10_000)


def test_edit_server_keeps_the_token_when_left_empty(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine, plex_sim: Simulator
) -> None:
    servers.add_server(engine, "sim", plex_sim.url, plex_sim.token)
    window = make_window()
    window.edit_server()  # the dialog opens once the server is read, off the GUI thread
    qtbot.waitUntil(lambda: isinstance(window.dialog, ServerDialog))
    dialog = window.dialog
    assert isinstance(dialog, ServerDialog)
    assert dialog.token.text() == ""
    assert "unchanged" in dialog.token.placeholderText()
    dialog.name.setText("renamed")
    dialog.test_button.click()
    qtbot.waitUntil(dialog.save_button.isEnabled, timeout=10_000)
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        dialog.save_button.click()
    settle(qtbot, window)
    with engine.connect() as conn:
        server = registry.get_server(conn, "renamed")
    assert server.token == plex_sim.token


def test_mappings_dialog_adds_previews_and_removes(qtbot: Any, engine: Engine) -> None:
    server_id, _library_id = fake_library(engine)
    with engine.connect() as conn:
        server = registry.get_server_by_id(conn, server_id)
    dialog = MappingsDialog(engine, server)
    qtbot.addWidget(dialog)
    idle = lambda: qtbot.waitUntil(lambda: not dialog.busy)  # noqa: E731 (reads and writes run off the GUI thread)
    idle()
    dialog.test_path.setText("/data/tv/Show/ep.mkv")
    assert "unresolved" in dialog.preview.text()

    dialog.plex_prefix.setText("/data/tv/")
    dialog.local_prefix.setText("relative/path")
    dialog.add_button.click()
    idle()
    assert dialog.message.text().startswith("✘")
    assert "not an absolute path" in dialog.message.text()

    dialog.local_prefix.setText("/mnt/nas/tv")
    dialog.add_button.click()
    idle()
    assert dialog.table.rowCount() == 1
    assert dialog.table.item(0, 0).text() == "/data/tv"  # normalised by validate_mapping
    assert "/mnt/nas/tv/Show/ep.mkv" in dialog.preview.text()
    assert "re-evaluated" in dialog.message.text() or "examined" in dialog.message.text()
    assert "items resolve to a local path" in dialog.coverage.text()
    dialog.plex_prefix.setText("/data/tv")
    dialog.local_prefix.setText("/elsewhere")
    dialog.add_button.click()
    idle()
    assert "already mapped" in dialog.message.text()

    dialog.table.selectRow(0)
    dialog.remove_button.click()
    idle()
    idle()
    assert dialog.table.rowCount() == 0
    assert dialog.changed
    with engine.connect() as conn:
        assert registry.list_mappings(conn, server_id) == []
    assert "unresolved" in dialog.preview.text()


def test_window_mappings_dialog_refreshes_local_paths(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine
) -> None:
    server_id, _library_id = fake_library(engine)
    with engine.begin() as conn:
        registry.add_mapping(
            conn, server_id, "/data", "/mnt", machine=machine.current(), now=int(time.time())
        )
    window = make_window()
    dialog = window.edit_mappings()
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1)
    dialog.table.selectRow(0)
    dialog.remove_button.click()
    dialog.reject()  # waits for the removal under way
    assert window.items_model.resolver(server_id).mappings == ()


def test_adding_a_server_already_in_the_catalog_offers_to_edit_it(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine, plex_sim: Simulator
) -> None:
    servers.add_server(engine, "home", plex_sim.url, plex_sim.token)
    window = make_window()
    dialog = window.add_server()
    _fill(dialog, "again", plex_sim.url.replace("127.0.0.1", "localhost"), plex_sim.token)
    dialog.test_button.click()
    qtbot.waitUntil(dialog.edit_button.isVisible, timeout=10_000)
    assert "already in the catalog as 'home'" in dialog.status.text()
    assert not dialog.save_button.isEnabled()  # saving would only be refused
    dialog.edit_button.click()
    qtbot.waitUntil(lambda: window.dialog is not dialog)  # the server is read off the GUI thread
    edit = window.dialog
    assert isinstance(edit, ServerDialog)
    assert edit.windowTitle() == "Edit server"
    assert edit.name.text() == "home"
    assert edit.url.text().startswith("http://localhost:")  # what was typed comes along
    edit.reject()


def test_mapping_changes_never_run_on_the_gui_thread(
    qtbot: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Adding a mapping re-decides the server's items, checking files on a share that may not answer."""
    server_id, _library_id = fake_library(engine)
    with engine.connect() as conn:
        server = registry.get_server_by_id(conn, server_id)
    threads: list[threading.Thread] = []
    real = mapping.add_mapping

    def recording(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(mapping, "add_mapping", recording)
    dialog = MappingsDialog(engine, server)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: not dialog.busy)
    dialog.plex_prefix.setText("/data/tv")
    dialog.local_prefix.setText("/mnt/nas/tv")
    dialog.add_button.click()
    assert dialog.busy  # returns at once; the buttons wait
    assert not dialog.add_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.busy and dialog.table.rowCount() == 1)
    assert threads
    assert threads[0] is not threading.main_thread()
