"""The account's Plex servers, from `/api/v2/resources`: owned and shared, with their addresses.

`/api/v2/resources` lists every device of the account (players too); a server is a device that
`provides` "server". A shared server (`owned` false) answers only to the access token plex.tv lists
for it: the account token is refused there. An owned server's listed access token is used when there
is one, else the account token, which its owner's server accepts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from retrovue.account.connections import Candidate, candidates
from retrovue.account.models import Resource
from retrovue.errors import ConfigError

__all__ = ["AccountServer", "account_servers", "pick_server"]


@dataclass(frozen=True)
class AccountServer:
    """A Plex server the account can use: who owns it, how to reach it, and the token it takes."""

    name: str
    machine_identifier: str
    owned: bool
    owner: str | None  # the owner's name for a server shared with the account
    version: str
    platform: str | None
    online: bool  # plex.tv's view (`presence`)
    access_token: str | None = field(repr=False)
    connections: tuple[Candidate, ...]

    @property
    def shared(self) -> bool:
        return not self.owned


def account_servers(resources: Iterable[Resource], account_token: str) -> list[AccountServer]:
    """The servers among the account's devices, owned ones first, then by name."""
    out = []
    for res in resources:
        if not res.is_server:
            continue
        token = res.access_token or (account_token if res.owned else None)
        out.append(
            AccountServer(
                name=res.name,
                machine_identifier=res.client_identifier,
                owned=res.owned,
                owner=None if res.owned else (res.source_title or "another account"),
                version=res.product_version,
                platform=res.platform,
                online=res.presence,
                access_token=token,
                connections=tuple(candidates(res.connections, https_required=res.https_required)),
            )
        )
    return sorted(out, key=lambda s: (not s.owned, s.name.casefold(), s.machine_identifier))


def pick_server(found: Sequence[AccountServer], name: str) -> AccountServer:
    """The account's server called `name` (exact, then ignoring case, then by machine identifier)."""
    tests: tuple[Callable[[AccountServer], bool], ...] = (
        lambda s: s.name == name,
        lambda s: s.name.casefold() == name.casefold(),
        lambda s: s.machine_identifier == name,
    )
    for test in tests:
        matches = [s for s in found if test(s)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            owners = ", ".join(
                f"{s.name} ({s.owner or 'yours'}, {s.machine_identifier[:8]}…)" for s in matches
            )
            raise ConfigError(
                f"the account has several servers named {name!r} ({owners}); "
                "give the machine identifier from `retrovue server discover --json` instead"
            )
    known = ", ".join(repr(s.name) for s in found) or "none"
    raise ConfigError(
        f"the signed-in account has no server named {name!r} (it has: {known}); "
        "see `retrovue server discover`"
    )
