"""Which machine profile this process speaks for: the name path mappings and local verdicts belong to.

A catalog on PostgreSQL or MariaDB is shared by several machines, but where Plex's files are mounted,
and so whether an item plays from a local file, is a fact about one machine. Each such fact is kept
under a machine profile name. The name is, in order of precedence:

1. the one this process chose (`use(name)`: the CLI's `--machine`, a test, an embedding program),
2. the `RETROVUE_MACHINE` environment variable,
3. the host name.

Two machines with the same host name (containers, cloned VMs) must set `RETROVUE_MACHINE` to keep
their mappings apart; one machine may also keep several profiles (a laptop at home and away).
"""

from __future__ import annotations

import os
import socket

from retrovue.errors import ConfigError

__all__ = ["ENV_VAR", "MAX_LENGTH", "current", "use", "validate"]

ENV_VAR = "RETROVUE_MACHINE"
MAX_LENGTH = 128
"""Longest profile name the catalog stores (`path_mappings.machine` and friends)."""

_chosen: str | None = None


def validate(name: str) -> str:
    """The profile name as stored: stripped of surrounding blanks; ConfigError when empty or too long."""
    text = name.strip()
    if not text:
        raise ConfigError(f"the machine profile name is empty; give one with --machine or {ENV_VAR}")
    if len(text) > MAX_LENGTH or any(ch in text for ch in "\x00\r\n"):
        raise ConfigError(
            f"machine profile name {text[:40]!r}… is not usable: at most {MAX_LENGTH} characters, one line"
        )
    return text


def use(name: str | None) -> None:
    """Speak for profile `name` from now on in this process (None: back to the environment/host)."""
    global _chosen
    _chosen = None if name is None else validate(name)


def current() -> str:
    """The profile this process speaks for (see the module docstring for the precedence)."""
    if _chosen is not None:
        return _chosen
    from_env = os.environ.get(ENV_VAR)
    if from_env is not None and from_env.strip():
        return validate(from_env)
    return validate(socket.gethostname() or "localhost")
