""" "Sign in with Plex" in the window: the code, the browser, Cancel, then a checklist of servers to add.

Real Qt (offscreen), the plex.tv stand-in and real simulators; the browser is a recorder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import Engine

from retrovue import account
from retrovue.gui.dialogs.account import SignInDialog
from retrovue.gui.main_window import MainWindow
from retrovue.gui.models.tree import COL_KIND, COL_STATES
from retrovue.sim import Simulator
from retrovue.sim.plextv import PlexTvSim, build_household
from retrovue.store import registry


@pytest.fixture
def household(monkeypatch: pytest.MonkeyPatch) -> Iterator[PlexTvSim]:
    with Simulator(seed=7, shows=2, movies=2, seasons_per_show=1) as home, PlexTvSim() as tv:
        monkeypatch.setenv("RETROVUE_PLEX_TV_URL", tv.url)
        extra = build_household(tv, home, shows=1, movies=1)
        try:
            yield tv
        finally:
            for sim in extra:
                sim.stop()


def _sign_in_dialog(window: MainWindow, opened: list[str]) -> SignInDialog:
    add = window.add_server()
    assert add.sign_in_button is not None
    add.sign_in_button.click()  # the add-server dialog hands over to the sign-in dialog
    dialog = window.dialog
    assert isinstance(dialog, SignInDialog)
    dialog.open_url = lambda url: opened.append(url) or True
    return dialog


def test_sign_in_shows_the_code_waits_for_approval_then_adds_the_ticked_servers(
    qtbot: Any, make_window: Callable[..., MainWindow], engine: Engine, household: PlexTvSim
) -> None:
    tv = household
    window = make_window()
    opened: list[str] = []
    dialog = SignInDialog(engine, open_url=lambda url: opened.append(url) or True, parent=window)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.start()
    qtbot.waitUntil(lambda: bool(opened), timeout=10_000)
    (pin,) = tv.pins.values()
    assert dialog.code.text() == pin.code
    assert opened == [dialog.pending.url if dialog.pending else ""]
    assert "Waiting for you to approve" in dialog.status.text()
    tv.approve(pin.code)
    qtbot.waitUntil(lambda: dialog.server_list.count() == 4, timeout=15_000)
    assert "Signed in to Plex as retrovue-fan" in dialog.account_label.text()
    rows = {dialog.server_list.item(r).text().split(" — ")[0]: dialog.server_list.item(r) for r in range(4)}
    assert "shared by grandpa" in rows["Grandpa's Plex"].text()
    ticked = {name for name, item in rows.items() if item.checkState() == Qt.CheckState.Checked}
    assert ticked == {"Living Room", "Cabin", "Grandpa's Plex"}  # the offline one is left unticked
    assert "offline" in rows["Old NAS"].text()
    rows["Cabin"].setCheckState(Qt.CheckState.Unchecked)
    dialog.add_button.click()
    qtbot.waitUntil(lambda: "Added" in dialog.status.text(), timeout=15_000)
    assert sorted(dialog.added) == ["Grandpa's Plex", "Living Room"]
    with engine.connect() as conn:
        stored = {s.name: s for s in registry.list_servers(conn)}
    assert set(stored) == {"Grandpa's Plex", "Living Room"}
    assert stored["Grandpa's Plex"].token == tv.device("Grandpa's Plex").access_token
    assert account.load_account() is not None
    texts = [dialog.status.text(), dialog.code.text(), dialog.link.text(), dialog.account_label.text()]
    texts += [dialog.server_list.item(r).text() for r in range(dialog.server_list.count())]
    assert not any(tv.token in text for text in texts)

    dialog.close()
    window.reload()  # the tree is read off the GUI thread
    model = window.tree_model
    qtbot.waitUntil(lambda: model.rowCount() == 2, timeout=10_000)
    kinds = {model.item(r, 0).text(): model.item(r, COL_KIND).text() for r in range(model.rowCount())}
    assert kinds == {"Grandpa's Plex": "shared server", "Living Room": "server"}
    vias = {model.item(r, 0).text(): model.item(r, COL_STATES).text() for r in range(model.rowCount())}
    assert vias == {"Grandpa's Plex": "via remote", "Living Room": "via local"}


def test_cancel_ends_the_wait_and_stores_nothing(
    qtbot: Any, make_window: Callable[..., MainWindow], household: PlexTvSim
) -> None:
    window = make_window()
    opened: list[str] = []
    dialog = _sign_in_dialog(window, opened)
    qtbot.waitUntil(lambda: dialog.pending is not None and bool(household.pins), timeout=10_000)
    qtbot.waitUntil(lambda: any(p.polls for p in household.pins.values()), timeout=10_000)
    with qtbot.waitSignal(dialog.rejected, timeout=5_000):
        dialog.close_button.click()
    assert dialog.cancel.is_set()
    dialog.pool.waitForDone(5_000)  # the wait ended at once, not at the PIN's expiry
    assert dialog.pool.activeThreadCount() == 0
    assert account.load_account() is None


def test_an_expired_code_says_so_and_offers_a_new_one(
    qtbot: Any, engine: Engine, household: PlexTvSim
) -> None:
    household.pin_lifetime_s = 1.5
    dialog = SignInDialog(engine, open_url=lambda _url: False)
    qtbot.addWidget(dialog)
    dialog.start()
    qtbot.waitUntil(lambda: "expired" in dialog.status.text(), timeout=15_000)
    assert dialog.retry_button.isVisibleTo(dialog)
    assert account.load_account() is None
    household.pin_lifetime_s = 1800
    household.approve_after_polls = 1
    dialog.retry_button.click()
    qtbot.waitUntil(lambda: dialog.server_list.count() == 4, timeout=15_000)
    assert len(household.pins) == 2


def test_plex_tv_unreachable_is_one_line_in_the_dialog(
    qtbot: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RETROVUE_PLEX_TV_URL", "http://127.0.0.1:9")
    dialog = SignInDialog(engine, open_url=lambda _url: False)
    qtbot.addWidget(dialog)
    dialog.start()
    qtbot.waitUntil(lambda: dialog.status.text().startswith("✘"), timeout=10_000)
    assert "cannot reach plex.tv at http://127.0.0.1:9" in dialog.status.text()
    assert "\n" not in dialog.status.text()
    assert dialog.retry_button.isVisibleTo(dialog)


def test_check_servers_finds_an_account_server_at_another_of_its_addresses(
    qtbot: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from retrovue import servers
    from retrovue.gui.bus import UiBus
    from retrovue.gui.checks import ONLINE, ServerCheck

    with Simulator(seed=9, shows=1, movies=1, seasons_per_show=1) as barn, PlexTvSim() as tv:
        monkeypatch.setenv("RETROVUE_PLEX_TV_URL", tv.url)
        tv.add_server("Barn", barn, connections=[("local", "live"), ("remote", "live")])
        with account.open_plex_tv() as client:
            account.finish_sign_in(client, tv.token)
        added = servers.add_from_account(engine, "Barn")
        tv.cut("Barn", "local")
        bus = UiBus()
        with qtbot.waitSignal(bus.server_checked, timeout=15_000) as blocker:
            ServerCheck(bus, added.server, engine).run()
        with engine.connect() as conn:
            now = registry.get_server(conn, "Barn")
    server_id, status, detail = blocker.args
    assert (server_id, status) == (added.server.id, ONLINE)
    assert detail.endswith(f"via remote {now.base_url}")
    assert now.base_url != added.server.base_url  # remembered for the next run


def test_sign_out_forgets_the_account_and_offers_a_new_sign_in(
    qtbot: Any, engine: Engine, household: PlexTvSim
) -> None:
    with account.open_plex_tv() as client:
        account.finish_sign_in(client, household.token)
    dialog = SignInDialog(engine, open_url=lambda _url: True)
    qtbot.addWidget(dialog)
    dialog.start()  # signed in already: straight to the account's servers
    qtbot.waitUntil(lambda: dialog.server_list.count() == 4, timeout=15_000)
    assert not household.pins
    dialog.sign_out_button.click()
    assert account.load_account() is None
    assert "Signed out" in dialog.status.text()
    assert dialog.pages.currentIndex() == 0
    household.approve_after_polls = 1
    dialog.retry_button.click()
    qtbot.waitUntil(lambda: dialog.server_list.count() == 4, timeout=15_000)
    assert len(household.pins) == 1
    assert account.load_account() is not None
