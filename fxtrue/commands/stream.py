"""`fxtrue stream`: run the Spark Structured Streaming job (speed layer) (not built yet: issue 4)."""

from __future__ import annotations

from fxtrue.commands._pending import register_pending


def register(sub) -> None:
    register_pending(sub, "stream", "run the Spark Structured Streaming job (speed layer)", issue=4)
