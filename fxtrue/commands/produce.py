"""`fxtrue produce`: publish ticks to Kafka from TrueFX, history files or the simulator (not built yet: issue 3)."""

from __future__ import annotations

from fxtrue.commands._pending import register_pending


def register(sub) -> None:
    register_pending(sub, "produce", "publish ticks to Kafka from TrueFX, history files or the simulator", issue=3)
