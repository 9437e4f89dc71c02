"""User-facing errors: each names the problem and the fix; the CLI prints them without a stack trace."""

from __future__ import annotations


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


def redact(text: str, *secrets: str) -> str:
    """`text` with each non-empty secret (as given and URL-encoded), any `p=`/`password=` URL parameter and any
    `user:password@` of a URL replaced by `***`: for texts that may quote a URL carrying credentials (logs,
    heartbeats, UIs)."""
    import re
    from urllib.parse import quote, quote_plus

    for s in secrets:
        if s:
            for form in {s, quote(s, safe=""), quote_plus(s)}:
                text = text.replace(form, "***")
    text = re.sub(r"(://)[^/@\s]+:[^/@\s]*@", r"\1***@", text)
    return re.sub(r"([?&](?:p|password)=)[^&#\s'\"]*", r"\1***", text)
