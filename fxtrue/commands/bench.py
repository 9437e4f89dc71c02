"""`fxtrue bench`: benchmarks with reference measurements (not built yet: issue 9)."""

from __future__ import annotations

from fxtrue.commands._pending import register_pending


def register(sub) -> None:
    register_pending(sub, "bench", "benchmarks with reference measurements", issue=9)
