"""`fxtrue dashboard`: serve the Dash dashboard (not built yet: issue 7)."""

from __future__ import annotations

from fxtrue.commands._pending import register_pending


def register(sub) -> None:
    register_pending(sub, "dashboard", "serve the Dash dashboard", issue=7)
