"""`fxtrue detect`: offline detection over tick files with a thresholds file or version (not built yet: issue 4)."""

from __future__ import annotations

from fxtrue.commands._pending import register_pending


def register(sub) -> None:
    register_pending(sub, "detect", "offline detection over tick files with a thresholds file or version", issue=4)
