"""Every error Retrovue raises on purpose, in one tree.

    RetrovueError                  base: a one-line, user-facing message, never a token
    ├── ConfigError                bad DB_URL, bad argument, unknown server/library (usage errors)
    │   ├── UnknownServerError
    │   ├── UnknownLibraryError
    │   └── BadMappingError        empty prefix, relative local path, duplicate prefix
    ├── CatalogError               the catalog database cannot be opened or used
    │   ├── SchemaTooNewError      written by a newer Retrovue: refuse rather than corrupt it
    │   └── LockHeldError          another sync holds this library
    └── PlexError                  talking to a Plex server went wrong
        ├── PlexUnreachableError   DNS, refused, timeout, reset: nothing usable came back
        ├── PlexTLSError           certificate verification failed
        ├── PlexUnauthorizedError  401: token missing, wrong or revoked
        ├── PlexNotFoundError      404 for a path or rating key
        ├── PlexBadResponseError   5xx after retries, malformed or truncated body, wrong shape
        └── NotPlexServerError     something answered, but it is not a Plex Media Server
    AccountError                   plex.tv: signing in, the account's servers and their tokens
    ├── NotSignedInError           no account is signed in, or plex.tv no longer takes its token
    ├── PlexTvUnreachableError     plex.tv did not answer (DNS, refused, timeout, 5xx)
    └── SignInExpiredError         the sign-in code expired before it was approved

The CLI maps ConfigError to exit code 2 and every other RetrovueError to exit code 1, printing
`str(error)` on one line. Messages must never include a Plex token (nor the plex.tv account token):
build them from `redact()`-ed URLs only.
"""

from __future__ import annotations

import re

__all__ = [
    "AccountError",
    "BadMappingError",
    "CatalogError",
    "ConfigError",
    "LockHeldError",
    "NotPlexServerError",
    "NotSignedInError",
    "PlexBadResponseError",
    "PlexError",
    "PlexNotFoundError",
    "PlexTLSError",
    "PlexTvUnreachableError",
    "PlexUnauthorizedError",
    "PlexUnreachableError",
    "RetrovueError",
    "SchemaTooNewError",
    "SignInExpiredError",
    "UnknownLibraryError",
    "UnknownServerError",
    "redact",
]

_TOKEN_IN_TEXT = re.compile(r"(X-Plex-Token[=:]\s*)[^&\s\"'<>]+", re.IGNORECASE)


def redact(text: str, *secrets: str | None) -> str:
    """Remove Plex tokens from a piece of text before it reaches a message, log or repr.

    Tokens are removed both where they appear as `X-Plex-Token=...` and wherever one of the known
    `secrets` appears verbatim (a token pasted into a URL path, say).
    """
    text = _TOKEN_IN_TEXT.sub(r"\1***", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class RetrovueError(Exception):
    """Base of every deliberate error; `str()` is a one-line message for the user."""


class ConfigError(RetrovueError):
    """The user asked for something that cannot work as given (CLI exit code 2)."""


class UnknownServerError(ConfigError):
    pass


class UnknownLibraryError(ConfigError):
    pass


class BadMappingError(ConfigError):
    pass


class CatalogError(RetrovueError):
    pass


class SchemaTooNewError(CatalogError):
    pass


class LockHeldError(CatalogError):
    pass


class PlexError(RetrovueError):
    pass


class PlexUnreachableError(PlexError):
    pass


class PlexTLSError(PlexError):
    pass


class PlexUnauthorizedError(PlexError):
    pass


class PlexNotFoundError(PlexError):
    pass


class PlexBadResponseError(PlexError):
    pass


class NotPlexServerError(PlexError):
    pass


class AccountError(RetrovueError):
    """Something about the plex.tv account went wrong (exit code 1)."""


class NotSignedInError(AccountError):
    pass


class PlexTvUnreachableError(AccountError):
    pass


class SignInExpiredError(AccountError):
    pass
