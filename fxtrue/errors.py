"""User-facing errors: each names the problem and the fix; the CLI prints them without a stack trace."""

from __future__ import annotations

import logging
import re
from urllib.parse import quote, quote_plus


class FxtrueError(Exception):
    """An error a user can act on: `message` says what is wrong, `hint` what to do about it."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.hint}" if self.hint else self.message


class ConfigError(FxtrueError):
    """Bad or missing configuration."""


class StackError(FxtrueError):
    """The local stack could not be started, reached or stopped."""


class ServiceUnavailable(FxtrueError):
    """A service (Kafka, Cassandra) did not answer in time."""


_SECRETS: set[str] = set()
_MIN_SECRET_CHARS = 3  # shorter "secrets" would blank out ordinary words
# Linear-time patterns (bounded, non-overlapping classes: no backtracking blow-up on hostile text).
_USERINFO = re.compile(r"(://)[^/@\s:]{0,256}:[^/@\s]{0,256}@")
_PASSWORD_PARAM = re.compile(r"([?&](?:p|pw|pass|password)=)[^&#\s'\"]*", re.IGNORECASE)


def register_secret(secret: str) -> None:
    """Make `redact` hide `secret` in every later text of this process (a password read from settings)."""
    if secret and len(secret) >= _MIN_SECRET_CHARS:
        _SECRETS.add(secret)


def redact(text: object, *secrets: str) -> str:
    """THE redaction step for any text that leaves its place (logs, exception texts, heartbeats, UIs):
    `text` with each registered or given secret (as given and URL-encoded), any `p=`/`password=` URL parameter
    and any `user:password@` of a URL replaced by `***`."""
    text = str(text)
    for s in sorted(_SECRETS.union(x for x in secrets if x), key=len, reverse=True):
        for form in {s, quote(s, safe=""), quote_plus(s)}:
            text = text.replace(form, "***")
    text = _USERINFO.sub(r"\1***@", text)
    return _PASSWORD_PARAM.sub(r"\1***", text)


class RedactFilter(logging.Filter):
    """Applies `redact` to a log record (message and exception text) in place, so every handler sees it redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string is the logging module's to report
            return True
        if (clean := redact(message)) != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


_LIBRARY_LOGGERS = ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry", "requests")


def redact_logs(*handlers: logging.Handler) -> None:
    """Install RedactFilter on the HTTP libraries' loggers (their debug lines quote request URLs) and on
    `handlers` (the CLI's: then every record of the process is redacted on its way out)."""
    for target in [logging.getLogger(n) for n in _LIBRARY_LOGGERS] + list(handlers):
        if not any(isinstance(f, RedactFilter) for f in target.filters):
            target.addFilter(RedactFilter())
