"""`fxtrue demo`: the whole pipeline on the built-in simulator, dashboard and Airflow UI up (not built yet: issue 6)."""

from __future__ import annotations

from fxtrue.commands._pending import register_pending


def register(sub) -> None:
    register_pending(sub, "demo", "the whole pipeline on the built-in simulator, dashboard and Airflow UI up", issue=6)
