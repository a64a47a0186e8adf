"""What this install keeps about the plex.tv account, in files of its own beside (never in) the catalog.

* The client identifier: plex.tv and Plex servers tell devices apart by `X-Plex-Client-Identifier`;
  one install must send the same value forever, or every sign-in shows up as a new device in the
  user's "Authorized Devices". It is generated once (a random UUID) and kept in `client-id`.
* The account token: it controls every server of the account, so it is kept out of the catalog (a
  shared PostgreSQL or MariaDB catalog is readable by every machine and user that syncs into it) in
  `plex-account.json`, created with mode 0600 inside a directory of mode 0700, replaced atomically.

Both live in the user's state directory (`~/.local/state/retrovue` on Linux), or in
`RETROVUE_STATE_DIR` when set. Per-server access tokens are in the catalog, like a token typed into
`server add`: each opens one server only, and every machine syncing that server needs it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import platformdirs

from retrovue import redact
from retrovue.errors import AccountError

__all__ = [
    "STATE_DIR_ENV",
    "SavedAccount",
    "account_path",
    "client_identifier",
    "forget_account",
    "load_account",
    "save_account",
    "state_dir",
]

STATE_DIR_ENV = "RETROVUE_STATE_DIR"
ACCOUNT_FILE = "plex-account.json"
CLIENT_ID_FILE = "client-id"


def state_dir() -> Path:
    """Where this install keeps its own state: `RETROVUE_STATE_DIR`, else the platform's state dir."""
    explicit = os.environ.get(STATE_DIR_ENV, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    return Path(platformdirs.user_state_dir("retrovue", appauthor=False))


def account_path(directory: Path | None = None) -> Path:
    return (directory or state_dir()) / ACCOUNT_FILE


def _private_dir(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)


def _write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically, readable by the owner only at every moment."""
    _private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def client_identifier(directory: Path | None = None) -> str:
    """This install's `X-Plex-Client-Identifier`, created on first use and kept ever after.

    If the state directory cannot be written, a value derived from the host and user is used instead
    (stable too, just not random), rather than failing a sync over it.
    """
    path = (directory or state_dir()) / CLIENT_ID_FILE
    try:
        text = path.read_text(encoding="ascii").strip()
        if text:
            return text
    except (OSError, UnicodeDecodeError):
        pass
    value = str(uuid.uuid4())
    try:
        _write_private(path, value.encode("ascii") + b"\n")
    except OSError:
        user = os.environ.get("USER") or os.environ.get("USERNAME") or ""
        return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"retrovue.{user}.{socket.gethostname()}"))
    return value


class _AccountFile(msgspec.Struct, frozen=True):
    token: str
    user_id: int
    username: str
    uuid: str = ""
    signed_in_at: int = 0


@dataclass(frozen=True)
class SavedAccount:
    """The signed-in account: who it is, and its token (never shown in a repr)."""

    token: str = field(repr=False)
    user_id: int
    username: str
    uuid: str = ""
    signed_in_at: int = 0


def save_account(account: SavedAccount, directory: Path | None = None) -> Path:
    redact.register(account.token)
    path = account_path(directory)
    body = _AccountFile(
        account.token,
        account.user_id,
        account.username,
        account.uuid,
        account.signed_in_at or int(time.time()),
    )
    try:
        _write_private(path, msgspec.json.encode(body))
    except OSError as exc:
        raise AccountError(
            f"cannot store the sign-in in {path} ({exc.strerror or type(exc).__name__}); "
            f"make the directory writable or set {STATE_DIR_ENV}"
        ) from None
    return path


def load_account(directory: Path | None = None) -> SavedAccount | None:
    """The signed-in account, or None when nobody is signed in on this install.

    A file that others can read is made private again (it may have been copied with loose modes).
    """
    path = account_path(directory)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AccountError(
            f"cannot read the sign-in file {path} ({exc.strerror or type(exc).__name__}); "
            "fix its permissions or run `retrovue login` again"
        ) from None
    with contextlib.suppress(OSError):
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            os.chmod(path, 0o600)
    try:
        saved = msgspec.json.decode(raw, type=_AccountFile)
    except msgspec.DecodeError:
        raise AccountError(
            f"the sign-in file {path} is damaged; run `retrovue logout` and `retrovue login` again"
        ) from None
    redact.register(saved.token)  # scrubbed from every message, log record and output from now on
    return SavedAccount(saved.token, saved.user_id, saved.username, saved.uuid, saved.signed_in_at)


def forget_account(directory: Path | None = None) -> bool:
    """Delete the stored sign-in; returns whether there was one."""
    try:
        account_path(directory).unlink()
    except FileNotFoundError:
        return False
    return True
