"""`fxtrue airflow`: start or stop the local Airflow (standalone) with the project's DAGs (not built yet: issue 6)."""

from __future__ import annotations

from fxtrue.commands._pending import register_pending


def register(sub) -> None:
    register_pending(sub, "airflow", "start or stop the local Airflow (standalone) with the project's DAGs", issue=6)
