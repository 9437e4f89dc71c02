"""`fxtrue simulate`: write simulated TrueFX history files with labelled manipulations (not built yet: issue 3)."""

from __future__ import annotations

from fxtrue.commands._pending import register_pending


def register(sub) -> None:
    register_pending(sub, "simulate", "write simulated TrueFX history files with labelled manipulations", issue=3)
