"""The supervisor's action log: Cassandra supervisor_actions_by_day (one partition per UTC day)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fxtrue.orchestration.supervisor import Decision, PastAction
from fxtrue.settings import Settings


def record(session, settings: Settings, decision: Decision, at: datetime) -> None:
    session.execute(
        f"INSERT INTO {settings.cassandra.keyspace}.supervisor_actions_by_day "
        "(day, at, job, action, reason, attempt) VALUES (%s, %s, %s, %s, %s, %s)",
        (at.date(), at, decision.job, decision.action, decision.reason[:2000], decision.attempt))


def history(session, settings: Settings, job: str, now: datetime, window_s: float) -> list[PastAction]:
    """The job's actions from the start of the window (at least the last two days) until now."""
    since = now - timedelta(seconds=max(window_s, 86400.0))
    out: list[PastAction] = []
    day = since.date()
    while day <= now.date():
        rows = session.execute(
            f"SELECT at, job, action, reason FROM {settings.cassandra.keyspace}.supervisor_actions_by_day "
            "WHERE day = %s", (day,))
        for r in rows:
            at = r.at.replace(tzinfo=timezone.utc)
            if r.job == job and at >= since:
                out.append(PastAction(at=at, action=r.action, reason=r.reason or ""))
        day += timedelta(days=1)
    return out


def recent(session, settings: Settings, now: datetime, limit: int = 50) -> list[dict]:
    """The latest actions of all jobs (today and yesterday), newest first: for status output and tests."""
    out: list[dict] = []
    for day in (now.date(), now.date() - timedelta(days=1)):
        rows = session.execute(
            f"SELECT day, at, job, action, reason, attempt FROM {settings.cassandra.keyspace}"
            ".supervisor_actions_by_day WHERE day = %s LIMIT %s", (day, limit))
        out.extend({"at": r.at.replace(tzinfo=timezone.utc), "job": r.job, "action": r.action,
                    "reason": r.reason, "attempt": r.attempt} for r in rows)
    return sorted(out, key=lambda a: a["at"], reverse=True)[:limit]
