"""The one redaction layer: every secret Retrovue knows, scrubbed from every message and log record.

Why one layer: a secret leaks through whichever path nobody thought of — a database error quoting
the row it failed to write, an HTTP library quoting the header it refused, a URL with a password in
a run's history. Scrubbing at each call site misses some; scrubbing everything that leaves the
process (error messages, log records, CLI output) against one registry of known secrets does not.

What it knows:

* secrets registered with `register()`: server tokens (the registry registers each one it reads or
  stores, the Plex client each one it is given), URL passwords (`normalize_base_url`, the catalog
  URL), and whatever a later feature adds (an account token, per-server access tokens);
* secrets it recognises by shape whether registered or not: `X-Plex-Token=…` / `X-Plex-Token: …`
  values, and the password of any `scheme://user:password@host` URL.

A registered secret is also removed in the forms other code turns text into: surrounding whitespace
stripped (a pasted token with a Windows line ending), `repr()` / bytes escapes (`b'tok\\r'`,
`'tok\\xe9'`), JSON escapes, and URL quoting.

`RedactingFilter` is the `logging.Filter` the CLI and GUI entry points install on their handlers: it
formats each record (message, arguments, traceback) into scrubbed text before any handler writes it.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from urllib.parse import quote, quote_plus

__all__ = [
    "MASK",
    "MIN_SECRET_LENGTH",
    "RedactingFilter",
    "install_filter",
    "known_secret_count",
    "register",
    "scrub",
    "scrub_url",
]

MASK = "***"
MIN_SECRET_LENGTH = 6
"""Shorter strings are not registered: replacing every `abc` in every message would make the
messages unreadable and protect nothing (no real token is that short). Shape-based rules still
apply to them."""

_TOKEN_VALUE = re.compile(r"(X-Plex-Token(?:=|%3D|['\"]?\s*[:=,]\s*b?['\"]?))[^&\s\"'<>,;)\]}\\]+", re.I)
_URL_PASSWORD = re.compile(r"([a-z][a-z0-9+.\-]*://[^/\s:@]*:)([^/\s@]+)(@)", re.I)

_lock = threading.Lock()
_secrets: set[str] = set()
_forms: re.Pattern[str] | None = None


def _variants(secret: str) -> set[str]:
    """The secret and the escaped forms it takes in reprs, bytes, JSON and URLs."""
    forms = {secret, secret.strip()}
    for text in list(forms):
        if not text:
            continue
        forms.add(repr(text)[1:-1])
        forms.add(str(text.encode("utf-8", "backslashreplace"))[2:-1])
        forms.add(text.encode("unicode_escape").decode("ascii"))
        forms.add(json.dumps(text)[1:-1])
        forms.add(json.dumps(text, ensure_ascii=False)[1:-1])
        forms.add(quote(text, safe=""))
        forms.add(quote_plus(text, safe=""))
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


def register(*secrets: str | None) -> None:
    """Add secrets to scrub from now on (None, empty and very short ones are ignored)."""
    global _forms
    fresh = [s for s in secrets if s and len(s.strip()) >= MIN_SECRET_LENGTH and s not in _secrets]
    if not fresh:
        return
    with _lock:
        _secrets.update(fresh)
        forms = set().union(*(_variants(s) for s in _secrets))
        ordered = sorted(forms, key=len, reverse=True)  # longest first: a form inside another
        _forms = re.compile("|".join(re.escape(f) for f in ordered)) if ordered else None


def known_secret_count() -> int:
    """How many secrets are registered (for tests and diagnostics; never the secrets themselves)."""
    return len(_secrets)


def scrub(text: str, *extra: str | None) -> str:
    """`text` with every known secret, `X-Plex-Token` value and URL password replaced by `***`.

    `extra` secrets are scrubbed too (and registered, so later messages are covered as well).
    """
    if extra:
        register(*extra)
    forms = _forms
    if forms is not None:
        text = forms.sub(MASK, text)
    text = _TOKEN_VALUE.sub(r"\1" + MASK, text)
    return _URL_PASSWORD.sub(r"\1" + MASK + r"\3", text)


def scrub_url(url: str) -> str:
    """A URL safe to show: password and `X-Plex-Token` query values hidden (and the password
    registered, so the bare password is scrubbed wherever else it appears)."""
    match = _URL_PASSWORD.search(url)
    if match is not None:
        register(match.group(2))
    return scrub(url)


class RedactingFilter(logging.Filter):
    """Turns each record into scrubbed text: message with its arguments, traceback, stack.

    The record is changed in place (later handlers see the scrubbed form) and its `exc_info` is
    replaced by the scrubbed traceback text (`exc_text`), which every `logging.Formatter` prints.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_retrovue_scrubbed", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} % {record.args!r}"
        record.msg, record.args = scrub(message), None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = scrub(self._formatter.formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        record._retrovue_scrubbed = True
        return True


def install_filter(handler: logging.Handler) -> None:
    """Put the redacting filter on `handler` (once)."""
    if not any(isinstance(f, RedactingFilter) for f in handler.filters):
        handler.addFilter(RedactingFilter())
