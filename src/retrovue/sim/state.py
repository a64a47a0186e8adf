"""`SimState`: what the simulator's HTTP layers share with the `Simulator` object.

Why a module of its own: the Plex routes (`app`), the outer ASGI layer that logs and disturbs
requests (`asgi`) and the control routes (`control`) all read and change it under its lock, and
none of them owns it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from retrovue.sim.catalog import Catalog
from retrovue.sim.faults import FaultSpec
from retrovue.sim.notify import NotificationHub

__all__ = ["PLEX_VERSION", "SimState"]

PLEX_VERSION = "1.41.3.9314-a0bfb8370"


@dataclass
class SimState:
    """Everything the app shares with the `Simulator` object; guarded by `lock`."""

    catalog: Catalog
    token: str
    seed: int = 0
    latency_ms: float = 0.0
    faults: FaultSpec = field(default_factory=FaultSpec)
    hub: NotificationHub = field(default_factory=NotificationHub)
    lock: threading.RLock = field(default_factory=threading.RLock)
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    request_number: int = 0
    faults_base: int = 0  # request number when the current faults were set (for revoke-after)
    revoked: bool = False
    friendly_name: str = "Retrovue Simulator"
    control: Callable[[str, dict[str, Any]], Any] | None = None
    # Tokens accepted besides `token`, as a real server accepts its owner's account token and the
    # per-server access tokens plex.tv issued to the accounts it is shared with.
    other_tokens: set[str] = field(default_factory=set)
    # Every fault the simulator really delivered, by kind: one per disturbed answer (`reset`,
    # `status=503`, `truncate`, `malformed`, `slow`, `latency`, `down`, `revoked`), one per listing
    # page that lied (`listing:total`, `listing:nototal`, `listing:cap`, `listing:shift`,
    # `listing:dup`, `listing:empty`) and one per listing page of an offline section (`offline`).
    # A rule that did not change an answer (a `cap` above the page size) is not counted.
    injected: Counter[str] = field(default_factory=Counter)

    def token_ok(self, token: str | None) -> bool:
        if token is None or self.revoked:
            return False
        return token == self.token or token in self.other_tokens
