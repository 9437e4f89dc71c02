"""Progress and health: each query's latest micro-batch progress (batch id, input and processed rows/s,
duration and where it went, watermark, state size), polled from the driver's timer thread, is logged and
written to the job's heartbeat (heartbeats_by_job, job "streaming")."""

from __future__ import annotations

import logging
import threading
from typing import Callable

log = logging.getLogger("fxtrue.streaming")


def progress_metrics(p) -> dict[str, float]:
    """One query's progress -> flat metrics, prefixed by the query name."""
    name = p.name or "query"
    state_rows = sum(int(s.numRowsTotal or 0) for s in (p.stateOperators or []))
    state_bytes = sum(int(s.memoryUsedBytes or 0) for s in (p.stateOperators or []))
    dropped = sum(int(s.numRowsDroppedByWatermark or 0) for s in (p.stateOperators or []))
    duration = (p.durationMs or {}).get("triggerExecution", p.batchDuration or 0)
    return {
        f"{name}.batch_id": float(p.batchId),
        f"{name}.input_rows": float(p.numInputRows or 0),
        f"{name}.input_rows_per_s": float(p.inputRowsPerSecond or 0.0),
        f"{name}.processed_rows_per_s": float(p.processedRowsPerSecond or 0.0),
        f"{name}.batch_duration_ms": float(duration or 0),
        f"{name}.state_rows": float(state_rows),
        f"{name}.state_bytes": float(state_bytes),
        f"{name}.late_rows_dropped": float(dropped),
    }


# Where a micro-batch's time goes (StreamingQueryProgress.durationMs), in the order a trigger runs them.
DURATION_PARTS = (("latestOffset", "offsets"), ("queryPlanning", "planning"), ("walCommit", "wal"),
                  ("addBatch", "run"), ("commitOffsets", "commit"))


def duration_parts(duration_ms: dict | None) -> str:
    """'offsets 12, planning 340, wal 25, run 6100, commit 30 ms' (the parts Spark reported), or ''."""
    d = duration_ms or {}
    parts = [f"{short} {int(d[key])}" for key, short in DURATION_PARTS if d.get(key) is not None]
    return ", ".join(parts) + " ms" if parts else ""


class ProgressPoller:
    """Reads each query's latest progress from the driver's timer thread, logs the queries that ran new
    batches and hands the job-wide metrics to `beat(metrics, info)`.

    A poll rather than a StreamingQueryListener: PySpark's listener bridge converts every progress event
    field by field over Py4J (about 70 round trips per event, each resolving classes anew), which cost the
    streaming job's driver more CPU than some of its queries; a poll is one JSON document per query per
    second. Batches that ran between two polls are counted in the log line, not logged one by one."""

    def __init__(self, beat: Callable[[dict[str, float], dict[str, str]], None] | None = None,
                 extra: Callable[[], tuple[dict[str, float], dict[str, str]]] = lambda: ({}, {})) -> None:
        self._beat = beat
        self._extra = extra
        self._lock = threading.Lock()
        self._seen: dict[str, int] = {}  # query name -> the newest batch id logged
        self.metrics: dict[str, float] = {}
        self.info: dict[str, str] = {}

    def poll(self, queries: dict) -> int:
        """Log and keep the latest progress of every query that finished a batch since the last poll; returns
        how many did."""
        fresh = 0
        for name, q in list(queries.items()):
            try:
                p = q.lastProgress
            except Exception as exc:  # noqa: BLE001 - a query being stopped or restarted
                log.debug("progress of %s: %s", name, exc)
                continue
            if p is None or p.batchId == self._seen.get(name):
                continue
            self.note(p, self._seen.get(name))
            self._seen[name] = p.batchId
            fresh += 1
        return fresh

    def note(self, p, previous_batch: int | None = None) -> None:
        m = progress_metrics(p)
        watermark = (p.eventTime or {}).get("watermark", "")
        skipped = p.batchId - previous_batch - 1 if previous_batch is not None else 0
        log.info("%s batch %d%s: %d rows, %.0f rows/s in, %.0f rows/s processed, %d ms (%s), watermark %s, "
                 "state %d rows", p.name, p.batchId, f" (+{skipped} since the last line)" if skipped > 0 else "",
                 p.numInputRows or 0, p.inputRowsPerSecond or 0.0, p.processedRowsPerSecond or 0.0,
                 m[f"{p.name}.batch_duration_ms"], duration_parts(p.durationMs) or "-", watermark or "-",
                 m[f"{p.name}.state_rows"])
        with self._lock:
            self.metrics.update(m)
            if watermark:
                self.info[f"{p.name}.watermark"] = watermark

    def beat_now(self) -> None:
        """Write the heartbeat with the latest metrics (also when no query ran a batch: an idle job must
        still look alive and say which thresholds version it holds)."""
        if self._beat is None:
            return
        with self._lock:
            extra_m, extra_i = self._extra()
            metrics, info = {**self.metrics, **extra_m}, {**self.info, **extra_i}
        try:
            self._beat(metrics, info)
        except Exception as exc:  # noqa: BLE001 - a missed heartbeat must not stop the queries
            log.warning("heartbeat write failed: %s", exc)
