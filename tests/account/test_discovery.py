"""The account's servers from /api/v2/resources, and the order their addresses are tried in."""

from __future__ import annotations

import json

import pytest

from retrovue import account
from retrovue.account import LOCAL, RELAY, REMOTE, Candidate, PlexTv, ResourceConnection
from retrovue.account.models import decode_resources
from retrovue.errors import ConfigError, NotSignedInError
from tests.account.conftest import Household


def _conn(
    uri: str, *, local: bool = False, relay: bool = False, address: str = "", port: int = 32400
) -> ResourceConnection:
    protocol = uri.split(":", 1)[0]
    return ResourceConnection(uri, protocol, address, port, local, relay)


def test_addresses_are_tried_local_https_local_http_remote_https_remote_http_relay_last() -> None:
    listed = [
        _conn("https://relay-1.abc.plex.direct:8443", relay=True, address="203.0.113.9", port=8443),
        _conn("https://203-0-113-7.abc.plex.direct:32400", address="203.0.113.7"),
        _conn("https://192-168-1-10.abc.plex.direct:32400", local=True, address="192.168.1.10"),
        _conn("http://[fd00::10]:32400", local=True, address="fd00::10"),
    ]
    assert account.candidates(listed) == [
        Candidate("https://192-168-1-10.abc.plex.direct:32400", LOCAL),
        Candidate("http://192.168.1.10:32400", LOCAL),
        Candidate("http://[fd00::10]:32400", LOCAL),
        Candidate("https://203-0-113-7.abc.plex.direct:32400", REMOTE),
        Candidate("http://203.0.113.7:32400", REMOTE),
        Candidate("https://relay-1.abc.plex.direct:8443", RELAY),
    ]
    # a server that requires secure connections is never tried over plain HTTP
    assert [c.uri for c in account.candidates(listed, https_required=True)] == [
        "https://192-168-1-10.abc.plex.direct:32400",
        "http://[fd00::10]:32400",
        "https://203-0-113-7.abc.plex.direct:32400",
        "https://relay-1.abc.plex.direct:8443",
    ]


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://192.168.1.10:32400", LOCAL),
        ("http://127.0.0.1:32400", LOCAL),
        ("https://192-168-1-10.0123abcd.plex.direct:32400", LOCAL),
        ("http://nas.local:32400", LOCAL),
        ("http://plexbox:32400", LOCAL),
        ("http://[fe80::1]:32400", LOCAL),
        ("http://[2606:4700::1111]:32400", REMOTE),
        ("https://plex.example.com", REMOTE),
        ("http://93.184.216.34:32400", REMOTE),
        ("https://93-184-216-34.0123abcd.plex.direct:32400", REMOTE),
    ],
)
def test_an_address_typed_by_hand_is_classified(url: str, kind: str) -> None:
    assert account.classify_url(url) == kind


def test_discover_lists_owned_then_shared_servers_and_leaves_players_out(
    household: Household, tv_client: PlexTv
) -> None:
    saved = account.finish_sign_in(tv_client, household.tv.token)
    found = account.discover(tv_client, saved)
    assert [(s.name, s.owned, s.owner, s.online) for s in found] == [
        ("Cabin", True, None, True),
        ("Living Room", True, None, True),
        ("Old NAS", True, None, False),
        ("Grandpa's Plex", False, "grandpa", True),
    ]
    cabin = found[0]
    assert cabin.machine_identifier == household.cabin.machine_identifier
    assert [c.kind for c in cabin.connections] == [LOCAL, REMOTE, RELAY]
    grandpa = account.pick_server(found, "grandpa's plex")
    assert grandpa.access_token == household.tv.device("Grandpa's Plex").access_token
    assert grandpa.access_token != household.tv.token
    assert household.tv.token not in repr(found)
    assert all(d.access_token not in repr(found) for d in household.tv.devices)


def test_pick_server_names_what_exists(household: Household, tv_client: PlexTv) -> None:
    found = account.discover(tv_client, account.finish_sign_in(tv_client, household.tv.token))
    with pytest.raises(ConfigError, match=r"no server named 'Attic'.*'Cabin'"):
        account.pick_server(found, "Attic")
    assert account.pick_server(found, household.cabin.machine_identifier).name == "Cabin"


def test_a_refused_account_token_says_sign_in_again(household: Household, tv_client: PlexTv) -> None:
    saved = account.finish_sign_in(tv_client, household.tv.token)
    household.tv.revoke_account_token()
    with pytest.raises(NotSignedInError, match="retrovue login"):
        account.discover(tv_client, saved)


def test_a_device_plex_tv_lists_oddly_does_not_hide_the_others() -> None:
    body = json.dumps(
        [
            {"name": "Broken", "provides": "server"},  # no clientIdentifier
            {"name": "Fine", "clientIdentifier": "m1", "provides": "server", "owned": "1", "connections": []},
            {"name": "Player", "clientIdentifier": "p1", "provides": "client,player"},
        ]
    ).encode()
    devices = decode_resources(body)
    assert [(d.name, d.is_server, d.owned) for d in devices] == [
        ("Fine", True, True),
        ("Player", False, False),
    ]
    servers = account.account_servers(devices, "account-token")
    assert [(s.name, s.access_token) for s in servers] == [("Fine", "account-token")]


def test_models_never_show_a_token() -> None:
    pin = account.Pin(1, "code", auth_token="secret-token-1")
    device = decode_resources(b'[{"name": "S", "clientIdentifier": "m", "accessToken": "secret-token-2"}]')[0]
    assert "secret-token" not in repr(pin) + repr(device)
    assert pin.auth_token == "secret-token-1"
    assert device.access_token == "secret-token-2"
