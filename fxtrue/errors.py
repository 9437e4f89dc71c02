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
