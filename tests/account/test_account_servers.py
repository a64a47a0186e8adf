"""Servers from the Plex account, end to end on the plex.tv stand-in and real simulators:
`server discover`, `server add --from-account`, and every run's choice of address and token."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from retrovue.sim import Simulator
from retrovue.sim.plextv import PlexTvSim
from retrovue.store import registry
from retrovue.store.db import open_catalog
from tests.account.conftest import Household
from tests.conftest import CliResult

Cli = Callable[..., CliResult]


@pytest.fixture
def signed_in(cli: Cli, household: Household) -> Household:
    assert cli("login", "--token", household.tv.token).code == 0
    return household


@pytest.fixture
def stranger() -> Iterator[Simulator]:
    """Another Plex server, which must never be taken for one of the account's."""
    with Simulator(seed=55, shows=1, movies=1, seasons_per_show=1) as sim:
        yield sim


@pytest.fixture
def barn() -> Iterator[Simulator]:
    """One more server of the account, for tests that cut its addresses one by one."""
    with Simulator(seed=57, shows=1, movies=2, seasons_per_show=1) as sim:
        yield sim


def _db(tmp_path: Path) -> sa.Engine:
    return open_catalog(f"sqlite:///{tmp_path / 'cli.sqlite'}")


def _server(tmp_path: Path, name: str) -> tuple[registry.ServerRow, list[registry.ConnectionRow]]:
    engine = _db(tmp_path)
    try:
        with engine.connect() as conn:
            row = registry.get_server(conn, name)
            return row, registry.list_connections(conn, row.id)
    finally:
        engine.dispose()


def _no_secrets(result: CliResult, tv: PlexTvSim, *more: str) -> None:
    text = result.out + result.err
    for secret in (tv.token, *(d.access_token for d in tv.devices), *more):
        assert secret not in text


def _sync_json(cli: Cli, *args: str) -> list[dict[str, object]]:
    result = cli("sync", "--json", *args)
    return list(json.loads(result.out))


def test_discover_lists_owned_and_shared_servers_and_which_addresses_answer(
    cli: Cli, signed_in: Household
) -> None:
    tv = signed_in.tv
    result = cli("server", "discover", "--json")
    assert result.code == 0, result.err
    found = {d["name"]: d for d in json.loads(result.out)}
    assert list(found) == ["Cabin", "Living Room", "Old NAS", "Grandpa's Plex"]
    assert (found["Grandpa's Plex"]["owned"], found["Grandpa's Plex"]["owner"]) == (False, "grandpa")
    assert [(c["kind"], c["answers"]) for c in found["Cabin"]["connections"]] == [
        ("local", False),
        ("remote", True),
        ("relay", True),
    ]
    assert [c["answers"] for c in found["Old NAS"]["connections"]] == [False, False]
    assert found["Old NAS"]["online"] is False
    assert all(d["in_catalog"] is None for d in found.values())
    _no_secrets(result, tv)
    table = cli("server", "discover")
    assert table.code == 0, table.err
    assert "Grandpa's Plex" in table.out
    assert "grandpa" in table.out
    assert "retrovue server add --from-account PLEX_NAME" in table.out
    _no_secrets(table, tv)


def test_add_from_account_stores_the_shared_servers_own_token_and_every_address(
    cli: Cli, signed_in: Household, tmp_path: Path
) -> None:
    tv = signed_in.tv
    result = cli("server", "add", "--from-account", "grandpa's plex", "--as", "grandpa")
    assert result.code == 0, result.err
    assert "Added server grandpa" in result.out
    assert "shared by grandpa" in result.out
    _no_secrets(result, tv)
    row, conns = _server(tmp_path, "grandpa")
    assert row.token == tv.device("Grandpa's Plex").access_token != tv.token
    assert row.owner == "grandpa"
    assert row.machine_identifier == signed_in.grandpa.machine_identifier
    assert [c.kind for c in conns] == ["local", "remote"]
    assert row.base_url == conns[1].uri  # the LAN address is dead from here: the public one is in use
    synced = _sync_json(cli, "--server", "grandpa")
    assert {(s["status"], s["connection"], s["address"]) for s in synced} == {("ok", "remote", conns[1].uri)}
    assert all(s["processed"] for s in synced)


def test_add_all_adds_every_server_that_answers_and_names_the_one_that_does_not(
    cli: Cli, signed_in: Household, tmp_path: Path
) -> None:
    result = cli("server", "add", "--all")
    assert result.code == 1
    assert result.out.count("Added server") == 3
    (line,) = result.err.strip().splitlines()
    assert line.startswith("Not added: Old NAS: 'Old NAS' did not answer as itself at any of its 2 addresses")
    assert "plex.tv says it is offline" in line
    listed = json.loads(cli("server", "list", "--json").out)
    assert {s["name"]: (s["owner"], s["connection"], len(s["connections"])) for s in listed} == {
        "Cabin": (None, "remote", 3),  # its local address is dead from here
        "Living Room": (None, "local", 1),
        "Grandpa's Plex": ("grandpa", "remote", 2),
    }
    words = cli("server", "list").out.split()  # an 80-column table wraps inside its cells
    assert {"(shared", "grandpa)", "(remote,", "(local,"} <= set(words)
    again = cli("server", "add", "--all")
    assert again.code == 1
    assert "Not added: Old NAS" in again.err
    assert "Added server" not in again.out
    dup = cli("server", "add", "--from-account", "Cabin")
    assert dup.code != 0
    assert "already in the catalog as 'Cabin'" in dup.err


def test_an_address_where_another_server_answers_is_never_used(
    cli: Cli, household: Household, stranger: Simulator, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    tv = household.tv
    attic = Simulator(seed=56, shows=1, movies=1, seasons_per_show=1).start()
    request.addfinalizer(attic.stop)
    tv.add_server("Attic", attic, connections=[("local", stranger), ("remote", "live")])
    assert cli("login", "--token", tv.token).code == 0
    found = {d["name"]: d for d in json.loads(cli("server", "discover", "--json").out)}
    assert [c["status"] for c in found["Attic"]["connections"]] == ["another server", "answers"]
    stranger.reset_requests()
    added = cli("server", "add", "--from-account", "Attic")
    assert added.code == 0, added.err
    row, conns = _server(tmp_path, "Attic")
    assert row.base_url == conns[1].uri
    assert row.machine_identifier == attic.machine_identifier
    assert {path for _m, path, _q in stranger.requests} == {"/identity"}  # asked who it is, nothing more


def test_a_dead_address_falls_back_to_the_next_and_the_summary_names_it(
    cli: Cli, household: Household, barn: Simulator, tmp_path: Path
) -> None:
    tv = household.tv
    tv.add_server("Barn", barn, connections=[("local", "live"), ("remote", "live"), ("relay", "live")])
    assert cli("login", "--token", tv.token).code == 0
    assert cli("server", "add", "--from-account", "Barn").code == 0
    _row, conns = _server(tmp_path, "Barn")
    _local, remote, relay = (c.uri for c in conns)
    assert [s["connection"] for s in _sync_json(cli, "--server", "Barn")] == ["local", "local"]

    tv.cut("Barn", "local")
    result = cli("sync", "--server", "Barn")
    assert result.code == 0, result.err
    assert f"Barn: via remote {remote}" in result.out
    row, conns = _server(tmp_path, "Barn")
    assert row.base_url == remote  # remembered: the next run starts there
    assert conns[0].last_failed_at is not None
    assert conns[1].last_ok_at is not None
    barn.reset_requests()
    again = _sync_json(cli, "--server", "Barn")
    assert {(s["status"], s["address"]) for s in again} == {("ok", remote)}
    assert [path for _m, path, _q in barn.requests] == ["/library/sections"]  # straight there, no probing

    tv.cut("Barn", "remote")
    result = cli("sync", "--server", "Barn")
    assert result.code == 0, result.err
    assert f"Barn: via relay {relay}" in result.out
    assert "Plex's relay" in result.out
    assert _server(tmp_path, "Barn")[0].base_url == relay
    _no_secrets(result, tv)


def test_a_fallback_address_answering_as_another_server_fails_the_run_and_marks_nothing(
    cli: Cli, household: Household, stranger: Simulator, barn: Simulator, tmp_path: Path
) -> None:
    tv = household.tv
    tv.add_server("Barn", barn, connections=[("local", "live"), ("remote", stranger)])
    assert cli("login", "--token", tv.token).code == 0
    assert cli("server", "add", "--from-account", "Barn").code == 0
    first = _sync_json(cli, "--server", "Barn")
    assert {s["status"] for s in first} == {"ok"}
    before = _server(tmp_path, "Barn")[0].base_url

    tv.cut("Barn", "local")
    stranger.reset_requests()
    synced = _sync_json(cli, "--server", "Barn")
    assert {s["status"] for s in synced} == {"failed"}
    reason = str(synced[0]["reason"])
    assert "did not answer as itself at any of its 2 addresses" in reason
    assert f"answers as another Plex server (machine {stranger.machine_identifier})" in reason
    assert reason.endswith("nothing was marked missing")
    assert all(s["missing_promoted"] == 0 for s in synced)
    assert {path for _m, path, _q in stranger.requests} == {"/identity"}
    assert _server(tmp_path, "Barn")[0].base_url == before


def test_addresses_that_all_changed_are_read_again_from_the_account(
    cli: Cli, signed_in: Household, tmp_path: Path
) -> None:
    tv = signed_in.tv
    assert cli("server", "add", "--from-account", "Living Room").code == 0
    old = _server(tmp_path, "Living Room")[0].base_url
    tv.readdress("Living Room")  # a new DHCP lease: the old address is dead, plex.tv lists the new one
    tv.reset_requests()
    synced = _sync_json(cli, "--server", "Living Room")
    assert {s["status"] for s in synced} == {"ok"}
    new = _server(tmp_path, "Living Room")[0].base_url
    assert new != old
    assert {s["address"] for s in synced} == {new}
    assert [path for _m, path, _q in tv.requests] == ["/api/v2/resources"]


def test_a_rotated_token_is_renewed_from_the_account_once_and_the_sync_goes_on(
    cli: Cli, signed_in: Household, tmp_path: Path
) -> None:
    tv = signed_in.tv
    assert cli("server", "add", "--from-account", "Grandpa's Plex").code == 0
    old = _server(tmp_path, "Grandpa's Plex")[0].token
    new = tv.rotate_token("Grandpa's Plex")
    tv.reset_requests()
    result = cli("sync", "--server", "Grandpa's Plex")
    assert result.code == 0, result.err
    assert _server(tmp_path, "Grandpa's Plex")[0].token == new
    assert [path for _m, path, _q in tv.requests] == ["/api/v2/resources"]  # once
    _no_secrets(result, tv, old, new)


def test_a_server_no_longer_shared_says_so_in_one_line(cli: Cli, signed_in: Household) -> None:
    tv = signed_in.tv
    assert cli("server", "add", "--from-account", "Grandpa's Plex").code == 0
    tv.unshare("Grandpa's Plex")
    synced = _sync_json(cli, "--server", "Grandpa's Plex")
    assert {s["status"] for s in synced} == {"failed"}
    reason = str(synced[0]["reason"])
    assert "refused its token (HTTP 401) and the signed-in Plex account no longer lists it" in reason
    assert "grandpa stopped sharing it" in reason
    assert "\n" not in reason


def test_a_refused_token_without_an_account_says_to_sign_in(cli: Cli, signed_in: Household) -> None:
    tv = signed_in.tv
    assert cli("server", "add", "--from-account", "Grandpa's Plex").code == 0
    assert cli("logout").code == 0
    tv.rotate_token("Grandpa's Plex")
    synced = _sync_json(cli, "--server", "Grandpa's Plex")
    assert {s["status"] for s in synced} == {"failed"}
    assert "sign in with `retrovue login` so the next run renews it" in str(synced[0]["reason"])


def test_plex_tv_unreachable_is_one_line_and_servers_added_by_hand_still_sync(
    cli: Cli, signed_in: Household, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = signed_in.home
    assert cli("server", "add", "home", home.url, "--token", home.token).code == 0
    monkeypatch.setenv("RETROVUE_PLEX_TV_URL", "http://127.0.0.1:9")
    for args in (("server", "discover"), ("server", "add", "--from-account", "Cabin")):
        result = cli(*args)
        assert result.code == 1
        (line,) = result.err.strip().splitlines()
        assert line.startswith("error: cannot reach plex.tv at http://127.0.0.1:9")
    synced = _sync_json(cli)
    assert synced
    assert {s["status"] for s in synced} == {"ok"}


def test_account_commands_without_a_sign_in_or_servers_say_what_to_do(cli: Cli, plextv: PlexTvSim) -> None:
    for args in (("server", "discover"), ("server", "add", "--all")):
        result = cli(*args)
        assert result.code == 1
        (line,) = result.err.strip().splitlines()
        assert "no Plex account is signed in on this machine; run `retrovue login`" in line
    assert cli("login", "--token", plextv.token).code == 0
    assert "The signed-in Plex account has no servers." in cli("server", "discover").out
    empty = cli("server", "add", "--all")
    assert empty.code == 2
    assert "the signed-in Plex account has no servers" in empty.err
    missing = cli("server", "add", "--from-account", "Attic")
    assert missing.code == 2
    assert "the signed-in account has no server named 'Attic'" in missing.err
    mixed = cli("server", "add", "x", "--from-account", "Attic")
    assert mixed.code == 2
    assert "take no NAME, URL or --token" in mixed.err


def test_an_https_address_whose_tls_fails_falls_back_to_plain_http_at_the_same_address(
    cli: Cli, household: Household, barn: Simulator, tmp_path: Path
) -> None:
    tv = household.tv
    device = tv.add_server("Barn", barn, connections=[("local", "live", "https")])
    port = device.connections[0].port
    assert cli("login", "--token", tv.token).code == 0
    found = {d["name"]: d for d in json.loads(cli("server", "discover", "--json").out)}
    assert [(c["uri"], c["answers"]) for c in found["Barn"]["connections"]] == [
        (f"https://127.0.0.1:{port}", False),  # plain HTTP behind it: the TLS handshake fails
        (f"http://127.0.0.1:{port}", True),
    ]
    assert cli("server", "add", "--from-account", "Barn").code == 0
    assert _server(tmp_path, "Barn")[0].base_url == f"http://127.0.0.1:{port}"
    synced = _sync_json(cli, "--server", "Barn")
    assert {(s["status"], s["address"]) for s in synced} == {("ok", f"http://127.0.0.1:{port}")}


def test_refreshing_libraries_reaches_an_account_server_at_another_of_its_addresses(
    cli: Cli, household: Household, barn: Simulator, tmp_path: Path
) -> None:
    tv = household.tv
    tv.add_server("Barn", barn, connections=[("local", "live"), ("remote", "live")])
    assert cli("login", "--token", tv.token).code == 0
    assert cli("server", "add", "--from-account", "Barn").code == 0
    tv.cut("Barn", "local")
    result = cli("libraries", "--server", "Barn")
    assert result.code == 0, result.err
    assert "Barn:" not in result.err  # no warning: the remote address answered
    _row, conns = _server(tmp_path, "Barn")
    assert _server(tmp_path, "Barn")[0].base_url == conns[1].uri


def test_a_server_added_by_hand_takes_on_the_accounts_addresses_and_token(
    cli: Cli, signed_in: Household, tmp_path: Path
) -> None:
    tv, home = signed_in.tv, signed_in.home
    assert cli("server", "add", "home", home.url, "--token", home.token).code == 0
    found = {d["name"]: d for d in json.loads(cli("server", "discover", "--json").out)}
    assert found["Living Room"]["in_catalog"] == "home"
    adopted = cli("server", "add", "--from-account", "Living Room")
    assert adopted.code == 0, adopted.err
    assert "Server home was already in the catalog (added by hand)" in adopted.out
    _no_secrets(adopted, tv)
    row, conns = _server(tmp_path, "home")
    assert row.base_url == home.url  # its own address, still tried first
    assert row.token == tv.device("Living Room").access_token
    assert [c.kind for c in conns] == ["local"]
    synced = _sync_json(cli, "--server", "home")
    assert synced
    assert {s["status"] for s in synced} == {"ok"}
    again = cli("server", "add", "--from-account", "Living Room")
    assert again.code == 2
    assert "already in the catalog as 'home'" in again.err


def test_tokens_rotated_on_several_servers_cost_one_plex_tv_request_per_run(
    cli: Cli, signed_in: Household, tmp_path: Path
) -> None:
    tv = signed_in.tv
    for name in ("Grandpa's Plex", "Cabin"):
        assert cli("server", "add", "--from-account", name).code == 0
    tv.rotate_token("Grandpa's Plex")
    tv.rotate_token("Cabin")
    tv.reset_requests()
    synced = _sync_json(cli)
    assert {(s["server_name"], s["status"]) for s in synced} == {("Grandpa's Plex", "ok"), ("Cabin", "ok")}
    assert [path for _m, path, _q in tv.requests] == ["/api/v2/resources"]
    assert _server(tmp_path, "Cabin")[0].token == tv.device("Cabin").access_token


def test_a_better_address_that_answers_again_is_taken_back_within_the_hour(
    cli: Cli, household: Household, barn: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from retrovue import reach

    tv = household.tv
    tv.add_server("Barn", barn, connections=[("local", "live"), ("remote", "live")])
    assert cli("login", "--token", tv.token).code == 0
    assert cli("server", "add", "--from-account", "Barn").code == 0
    _row, conns = _server(tmp_path, "Barn")
    local, remote = (c.uri for c in conns)
    tv.cut("Barn", "local")
    assert {s["address"] for s in _sync_json(cli, "--server", "Barn")} == {remote}
    tv.restore("Barn", "local")  # back home: the LAN address answers again
    barn.reset_requests()
    assert {s["address"] for s in _sync_json(cli, "--server", "Barn")} == {remote}
    assert [path for _m, path, _q in barn.requests] == ["/library/sections"]  # not retried yet
    monkeypatch.setattr(reach, "RETRY_BETTER_S", 0)  # an hour later
    result = cli("sync", "--server", "Barn")
    assert result.code == 0, result.err
    assert f"Barn: via local {local}" in result.out
    assert _server(tmp_path, "Barn")[0].base_url == local
