"""The producer loop: source -> validate -> sink, with heartbeats, progress and a clean shutdown.

Valid ticks (crossed quotes included) go to the tick topic stamped with the producer's wall clock
(received_at); invalid ones, and ticks whose event time is too far from their arrival (fxtrue.ticks.
event_time_reason: live and replay alike, a replay judged against its replay clock), go to the DLQ with the reason.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from fxtrue.ticks import Rejection, Tick, event_time_reason, now_epoch_ms, validate
from producers.sinks import HeartbeatReporter, TickSink, lag_s
from producers.sources import QuoteSource

log = logging.getLogger(__name__)


MAX_REASON_KEYS = 100  # distinct rejection reasons counted by name; the rest together
OTHER_REASONS = "other reasons"


@dataclass
class RunStats:
    ticks: int = 0
    rejected: int = 0
    last_tick_ts: int | None = None
    started: float = field(default_factory=time.monotonic)
    reasons: dict[str, int] = field(default_factory=dict)

    def rate(self) -> float:
        return self.ticks / max(time.monotonic() - self.started, 1e-9)


def install_signal_handlers(stop: threading.Event) -> None:
    """SIGTERM and SIGINT ask the loop to stop (then it flushes and disconnects)."""
    def handler(signum, _frame) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def metrics(stats: RunStats, sink: TickSink, source: QuoteSource) -> dict[str, float]:
    counts = sink.counts()
    return {"ticks_in": stats.ticks, "rejected_in": stats.rejected, "sent": counts["sent"],
            "rejected": counts["rejected"], "failed": counts["failed"], "pending": counts["pending"],
            "errors": float(getattr(source, "errors", 0)), "last_tick_ts": float(stats.last_tick_ts or 0),
            "lag_s": lag_s(stats.last_tick_ts), "rate": stats.rate()}


def run(source: QuoteSource, sink: TickSink, *, stop: threading.Event | None = None,
        heartbeat: HeartbeatReporter | None = None, max_skew_ms: int | None = None,
        progress: Callable[[RunStats], None] | None = None, progress_every_s: float = 2.0,
        flush_timeout_s: float = 120.0) -> RunStats:
    """Run until the source ends or `stop` is set; flush the sink; return what was produced."""
    stop = stop or threading.Event()
    stats = RunStats()
    replay_clock: int | None = None  # the newest event time a replay has published
    last_progress = time.monotonic()
    status = "stopped"
    validated = getattr(source, "validated", False)  # a source that says nothing is checked here

    def beat(state: str) -> None:
        if heartbeat is not None:
            heartbeat.beat(state, metrics(stats, sink, source), source.describe())

    try:
        beat("starting")
        for batch in source.batches(stop):
            now = now_epoch_ms()
            for item in batch:
                if isinstance(item, Tick):
                    reason = None if validated else validate(item)
                    if reason is None and max_skew_ms is not None:
                        reason = event_time_reason(item.ts, now_ms=now, max_skew_ms=max_skew_ms, live=source.live,
                                                   replay_clock_ms=replay_clock)
                    if reason is None:
                        if not source.live:
                            replay_clock = max(replay_clock or item.ts, item.ts)
                        sink.send(Tick(item.pair, item.ts, item.bid, item.ask, item.source, now, item.high, item.low,
                                       item.open))
                        stats.ticks += 1
                        stats.last_tick_ts = item.ts
                        continue
                    item = Rejection(reason, item.to_json().decode(), item.source)
                sink.reject(item)
                stats.rejected += 1
                key = item.reason.split(" (")[0][:60]
                if key not in stats.reasons and len(stats.reasons) >= MAX_REASON_KEYS:
                    key = OTHER_REASONS  # reasons quote the input: hostile rows must not grow this without bound
                stats.reasons[key] = stats.reasons.get(key, 0) + 1
            sink.service()
            if heartbeat is not None and heartbeat.due():
                beat("running")
            if progress is not None and time.monotonic() - last_progress >= progress_every_s:
                last_progress = time.monotonic()
                progress(stats)
            if stop.is_set():
                break
        status = "stopped" if stop.is_set() else "finished"
    except BaseException:
        status = "failed"
        raise
    finally:
        flushed = sink.flush(flush_timeout_s)
        if not flushed:
            log.error("kafka: %s record(s) still unacknowledged after %.0f s", sink.counts()["pending"],
                      flush_timeout_s)
        try:
            source.close()
        finally:
            beat(status)
            if progress is not None:
                progress(stats)
    return stats
