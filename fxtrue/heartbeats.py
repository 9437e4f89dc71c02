"""Job heartbeats (Cassandra heartbeats_by_job): written by the producer and the streaming job, read by the
supervisor DAG and the dashboard's health panel."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timezone

from fxtrue.errors import redact
from fxtrue.settings import Settings

# Job names the supervisor and dashboard know.
PRODUCER = "producer"
STREAMING = "streaming"


@dataclass(frozen=True)
class Heartbeat:
    job: str
    updated_at: datetime
    started_at: datetime | None = None
    host: str = ""
    pid: int | None = None
    status: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    info: dict[str, str] = field(default_factory=dict)

    def age_s(self, now: datetime | None = None) -> float:
        now = now or datetime.now(timezone.utc)
        updated = self.updated_at if self.updated_at.tzinfo else self.updated_at.replace(tzinfo=timezone.utc)
        return (now - updated).total_seconds()


class HeartbeatWriter:
    """Upserts one job's heartbeat row; reuse one instance per process (prepared statement)."""

    def __init__(self, session, settings: Settings, job: str) -> None:
        self.session = session
        self.job = job
        self.started_at = datetime.now(timezone.utc)
        self.stmt = session.prepare(
            f"INSERT INTO {settings.cassandra.keyspace}.heartbeats_by_job "
            "(job, updated_at, started_at, host, pid, status, metrics, info) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")

    def beat(self, status: str = "running", metrics: dict[str, float] | None = None,
             info: dict[str, str] | None = None) -> None:
        """Every text field is redacted here, on the way in, so no caller can put a secret in the table."""
        self.session.execute(self.stmt, (
            self.job, datetime.now(timezone.utc), self.started_at, redact(socket.gethostname()), os.getpid(),
            redact(status), {redact(k): float(v) for k, v in (metrics or {}).items()},
            {redact(k): redact(v) for k, v in (info or {}).items()}))


def read_all(session, settings: Settings) -> dict[str, Heartbeat]:
    """Every job's latest heartbeat, by job name (the table holds one row per job)."""
    rows = session.execute(
        f"SELECT job, updated_at, started_at, host, pid, status, metrics, info "
        f"FROM {settings.cassandra.keyspace}.heartbeats_by_job LIMIT 1000")
    return {hb.job: hb for hb in map(heartbeat_of_row, rows) if hb is not None}


def heartbeat_of_row(r) -> Heartbeat | None:
    """A heartbeat from its row, or None for a row without `updated_at` (written by something other than
    HeartbeatWriter): such a row says nothing about liveness and must not stop its readers (the supervisor,
    the dashboard). Pure."""
    if r.updated_at is None:
        return None
    return Heartbeat(
        job=r.job,
        updated_at=r.updated_at.replace(tzinfo=timezone.utc),
        started_at=r.started_at.replace(tzinfo=timezone.utc) if r.started_at else None,
        host=r.host or "", pid=r.pid, status=r.status or "",
        metrics=dict(r.metrics or {}), info=dict(r.info or {}))
