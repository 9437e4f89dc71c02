"""`fxtrue stats`: batch statistics over the tick history -> thresholds file / published version (not built yet: issue 5)."""

from __future__ import annotations

from fxtrue.commands._pending import register_pending


def register(sub) -> None:
    register_pending(sub, "stats", "batch statistics over the tick history -> thresholds file / published version", issue=5)
