"""`fxtrue backfill`: load TrueFX history files into the Parquet tick lake (not built yet: issue 3)."""

from __future__ import annotations

from fxtrue.commands._pending import register_pending


def register(sub) -> None:
    register_pending(sub, "backfill", "load TrueFX history files into the Parquet tick lake", issue=3)
