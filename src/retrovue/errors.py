"""Every error Retrovue raises on purpose, in one tree.

    RetrovueError                  base: a one-line, user-facing message, never a token
    ├── ConfigError                bad DB_URL, bad argument, unknown server/library (usage errors)
    │   ├── UnknownServerError
    │   ├── UnknownLibraryError
    │   └── BadMappingError        empty prefix, relative local path, duplicate prefix
    ├── CatalogError               the catalog database cannot be opened or used
    │   ├── SchemaTooNewError      written by a newer Retrovue: refuse rather than corrupt it
    │   ├── LockHeldError          another sync holds this library
    │   ├── LockLostError          this sync's lock was taken over: it stops and writes nothing more
    │   └── CursorExpiredError     a change-feed cursor older than the feed keeps: re-read, restart
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
`str(error)` on one line. Messages must never include a secret: every message is passed through the
redaction layer (`retrovue.redact`) when the error is made, so a token or URL password that slipped
into one is gone before the error is printed, logged or stored in a run's history (the plex.tv
account token registers with that layer like every other secret).
"""

from __future__ import annotations

from retrovue.redact import scrub

__all__ = [
    "AccountError",
    "BadMappingError",
    "CatalogError",
    "ConfigError",
    "CursorExpiredError",
    "LockHeldError",
    "LockLostError",
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


def redact(text: str, *secrets: str | None) -> str:
    """Remove secrets from a piece of text before it reaches a message, log or repr.

    The redaction layer's `scrub`: every registered secret, `X-Plex-Token` values and URL
    passwords; `secrets` given here are registered first.
    """
    return scrub(text, *secrets)


class RetrovueError(Exception):
    """Base of every deliberate error; `str()` is a one-line message for the user, scrubbed."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(scrub(" ".join(a.split())) if isinstance(a, str) else a for a in args))


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


class LockLostError(CatalogError):
    pass


class CursorExpiredError(CatalogError):
    """The change feed no longer holds every change after this cursor (`retrovue purge` pruned
    entries older than the feed keeps): re-read what you need and start from a fresh cursor."""


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
