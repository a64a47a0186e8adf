"""Fault injection: parse a SPEC, decide per request (deterministically) which faults apply.

Why it exists: the client's retry, timeout and error paths need a server that misbehaves on demand
and the same way on every replay. A decision depends only on (seed, request number, rule), never on
timing, so a failing test replays exactly.

SPEC syntax: comma-separated rules, each `KIND[=ARG][:PROB][@PATTERN]`.

    latency=20ms           add 20 ms before answering (ARG: `ms` or `s`; `latency:20ms` also works)
    status=503:0.05        answer 5% of requests with HTTP 503 (any 4xx/5xx code)
    reset:0.01             reset the TCP connection without answering, 1% of requests
    truncate:0.02          send the headers and half the body, then drop the connection
    malformed:0.02         send a 200 whose body is cut short / corrupted (Content-Length consistent)
    slow=2s:0.1            dribble the body over 2 s
    revoke-after=100       the token stops working after 100 requests (401 from then on)
    down-after=5           the server goes away after 5 requests: every later one is reset
    ...@/library/metadata/*    scope any rule to paths matching a glob (fnmatch)

Listings that lie (paged listings only; deterministic, no PROB):

    total=30               report totalSize 30 whatever the listing holds
    nototal                report no totalSize at all (body and header)
    cap=60                 serve at most 60 entries a page, whatever was asked
    shift=1                after the first page, the first entry has moved to the end (pages
                           shift: one entry is skipped and one repeated, the total unchanged)
    dup=3                  every page after the first starts with the previous 3 entries again
    empty                  the listing is empty (totalSize 0), as when a drive is unmounted

A listing rule's pattern may name the listing's type too: `empty@/library/sections/1/all?type=2`
empties that section's show listing only.

PROB defaults to 1. `revoke-after`, `down-after` and the listing rules take no PROB. Control
requests (`/_sim/...`) are never faulted.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from dataclasses import dataclass, field

from retrovue.errors import ConfigError

__all__ = ["Decision", "FaultRule", "FaultSpec", "ListingLies"]

_COUNTED = {"revoke-after", "down-after"}
_LISTING_WITH_ARG = {"total", "cap", "shift", "dup"}
_LISTING = _LISTING_WITH_ARG | {"nototal", "empty"}
_KINDS_WITH_ARG = {"latency", "status", "slow"} | _COUNTED | _LISTING_WITH_ARG
_KINDS = _KINDS_WITH_ARG | {"reset", "truncate", "malformed", "nototal", "empty"}
_NO_PROBABILITY = _COUNTED | _LISTING
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s)?$")


def _parse_duration(text: str, rule: str) -> float:
    m = _DURATION.match(text.strip())
    if not m:
        raise ConfigError(f"bad duration {text!r} in fault rule {rule!r} (use e.g. 20ms or 2s)")
    value = float(m.group(1))
    return value / 1000.0 if m.group(2) in (None, "ms") else value


@dataclass(frozen=True, slots=True)
class FaultRule:
    """One rule of a SPEC. `arg` is seconds for latency/slow, a status code, or a request count."""

    kind: str
    arg: float = 0.0
    probability: float = 1.0
    pattern: str | None = None

    def matches(self, path: str) -> bool:
        return self.pattern is None or fnmatch.fnmatchcase(path, self.pattern)

    def __str__(self) -> str:
        if self.kind in ("latency", "slow"):
            text = f"{self.kind}={round(self.arg * 1000)}ms"
        elif self.kind in ("status", *_COUNTED, *_LISTING_WITH_ARG):
            text = f"{self.kind}={int(self.arg)}"
        else:
            text = self.kind
        if self.probability != 1.0 and self.kind not in _NO_PROBABILITY:
            text += f":{self.probability:g}"
        if self.pattern:
            text += f"@{self.pattern}"
        return text


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do to one request; all fields default to "behave"."""

    latency: float = 0.0
    status: int | None = None
    reset: bool = False
    truncate: bool = False
    malformed: bool = False
    slow: float = 0.0

    @property
    def touches_body(self) -> bool:
        return self.truncate or self.malformed or self.slow > 0


@dataclass(frozen=True, slots=True)
class ListingLies:
    """How a paged listing misreports itself (all defaults: it tells the truth)."""

    total: int | None = None
    nototal: bool = False
    cap: int | None = None
    shift: int = 0
    dup: int = 0
    empty: bool = False


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """A parsed SPEC: an ordered tuple of rules."""

    rules: tuple[FaultRule, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, text: str | None) -> FaultSpec:
        """Parse a SPEC string; raises `ConfigError` (a one-line message) when it is malformed."""
        if not text or not text.strip():
            return cls()
        rules = [cls._parse_rule(chunk.strip()) for chunk in text.split(",") if chunk.strip()]
        return cls(tuple(rules))

    @staticmethod
    def _parse_rule(rule: str) -> FaultRule:
        body, _, pattern = rule.partition("@")
        if "@" in rule and not pattern:
            raise ConfigError(f"empty path pattern in fault rule {rule!r}")
        kind, sep, rest = body.partition("=")
        if not sep:
            kind, _, rest = body.partition(":")
        kind = kind.strip().lower()
        if kind not in _KINDS:
            raise ConfigError(f"unknown fault {kind!r} in {rule!r} (known: {', '.join(sorted(_KINDS))})")
        tokens = [t for t in rest.split(":")] if rest else []
        arg = 0.0
        if kind in _KINDS_WITH_ARG:
            if not tokens or not tokens[0].strip():
                raise ConfigError(f"fault rule {rule!r} needs a value")
            raw = tokens.pop(0).strip()
            if kind in ("latency", "slow"):
                arg = _parse_duration(raw, rule)
            else:
                if not (raw.isascii() and raw.isdigit()):
                    raise ConfigError(f"fault rule {rule!r}: {raw!r} is not a whole number")
                arg = float(int(raw))
                if kind == "status" and not 400 <= arg <= 599:
                    raise ConfigError(f"fault rule {rule!r}: status must be 400-599")
        probability = 1.0
        if tokens:
            if kind in _NO_PROBABILITY or len(tokens) > 1:
                raise ConfigError(f"too many values in fault rule {rule!r}")
            try:
                probability = float(tokens[0])
            except ValueError:
                raise ConfigError(f"fault rule {rule!r}: {tokens[0]!r} is not a probability") from None
            if not 0.0 <= probability <= 1.0:
                raise ConfigError(f"fault rule {rule!r}: probability must be between 0 and 1")
        return FaultRule(kind, arg, probability, pattern or None)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.rules)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def revoke_after(self) -> int | None:
        counts = [int(r.arg) for r in self.rules if r.kind == "revoke-after"]
        return min(counts) if counts else None

    def down_after(self) -> int | None:
        counts = [int(r.arg) for r in self.rules if r.kind == "down-after"]
        return min(counts) if counts else None

    def listing(self, path: str, item_type: str | None = None) -> ListingLies:
        """The lies a paged listing at `path` (of `type` `item_type`) tells."""
        values: dict[str, int] = {}
        flags: set[str] = set()
        typed = f"{path}?type={item_type}" if item_type else None
        for rule in self.rules:
            if rule.kind not in _LISTING or not (rule.matches(path) or (typed and rule.matches(typed))):
                continue
            if rule.kind in _LISTING_WITH_ARG:
                values[rule.kind] = int(rule.arg)
            else:
                flags.add(rule.kind)
        cap = values.get("cap")
        return ListingLies(
            total=values.get("total"),
            nototal="nototal" in flags,
            cap=None if cap is None else max(1, cap),
            shift=values.get("shift", 0),
            dup=values.get("dup", 0),
            empty="empty" in flags,
        )

    def decide(self, seed: int, request_number: int, path: str) -> Decision:
        """The faults for request number `request_number` (1-based) on `path`."""
        latency = slow = 0.0
        status: int | None = None
        reset = truncate = malformed = False
        for i, rule in enumerate(self.rules):
            if rule.kind in _COUNTED or rule.kind in _LISTING or not rule.matches(path):
                continue
            if rule.probability < 1.0 and _uniform(seed, request_number, i) >= rule.probability:
                continue
            if rule.kind == "latency":
                latency += rule.arg
            elif rule.kind == "slow":
                slow = max(slow, rule.arg)
            elif rule.kind == "status" and status is None:
                status = int(rule.arg)
            elif rule.kind == "reset":
                reset = True
            elif rule.kind == "truncate":
                truncate = True
            elif rule.kind == "malformed":
                malformed = True
        return Decision(latency, status, reset, truncate, malformed, slow)


def _uniform(seed: int, request_number: int, rule_index: int) -> float:
    digest = hashlib.blake2b(f"{seed}:{request_number}:{rule_index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / float(1 << 64)
