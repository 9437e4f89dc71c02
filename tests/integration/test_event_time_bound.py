"""Issue 15: one tick stamped far in the future (or in 1970) must never stop detection.

A raw Kafka producer (no Python-side validation) puts a 2099 tick and a 1970 tick mid-stream into fx.ticks of
a running `fxtrue stream`; crossed quotes (which always alert, even without thresholds) in the windows after
them must still alert, before and after a restart of the job on the same checkpoint; the stateful queries'
watermark must stay at the data's event time; both bad ticks must be on the DLQ with their reasons.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from isolation import module_world, stop_stream, stream_env

from fxtrue.ticks import Tick, now_epoch_ms

pytestmark = [pytest.mark.e2e]

FUTURE_MS = 4_070_908_800_000  # 2099-01-01
PAST_MS = 86_400_000  # 1970-01-02
FXTRUE = str(Path(sys.executable).with_name("fxtrue"))
WAIT_S = 600  # liveness bound on a loaded machine (not a speed assertion)


settings, cql = module_world("w")


def window_ticks(start_ms: int, crossed_at_s: int) -> list[bytes]:
    """One EUR/USD tick a second for 10 s from start_ms, the one at crossed_at_s crossed (bid > ask)."""
    out = []
    for i in range(10):
        bid, ask = (1.08610, 1.08600) if i == crossed_at_s else (1.08600, 1.08604)
        out.append(Tick("EUR/USD", start_ms + i * 1000, bid, ask, "sim", now_epoch_ms()).to_json())
    return out


def raw_tick(ts: int) -> bytes:
    return json.dumps({"v": 1, "pair": "EUR/USD", "ts": ts, "bid": 1.086, "ask": 1.08604, "source": "sim",
                       "received_at": now_epoch_ms()}).encode()


def test_far_future_and_1970_ticks_neither_stop_alerting_nor_survive_a_restart(settings, cql, tmp_path):
    from fxtrue import checkpoints, kafka
    from fxtrue.checkpoints import committed
    from jobs.streaming.job import STORING_QUERIES

    env, log = stream_env(settings, FXTRUE_SPARK_SHUFFLE_PARTITIONS="2"), tmp_path / "stream.log"
    base = (now_epoch_ms() - 300_000) // 60_000 * 60_000  # 5 minutes ago, on a window boundary
    day = datetime.fromtimestamp(base / 1000, tz=timezone.utc).date()
    producer = kafka.producer(settings, component="admin")  # a raw client: it bypasses the producer's validation

    def send(values: list[bytes]) -> None:
        assert kafka.send_all(producer, settings.kafka.topic_ticks, ((b"EUR/USD", v) for v in values)) == len(values)

    def start():
        return subprocess.Popen([FXTRUE, "stream"], env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT,
                                start_new_session=True)

    def caught_up(job, final_watermark_ms: int | None) -> None:
        def alive():
            if job.poll() is not None:
                pytest.fail(f"streaming job exited ({job.returncode}):\n{Path(log).read_text()[-5000:]}")
        try:
            checkpoints.wait_caught_up(f"{settings.checkpoint_dir}/streaming",
                                       lambda: kafka.end_offsets(settings, settings.kafka.topic_ticks),
                                       final_watermark_ms, WAIT_S, queries=STORING_QUERIES, on_poll=alive)
        except TimeoutError as exc:
            pytest.fail(f"{exc}:\n{Path(log).read_text()[-5000:]}")

    def crossed_alert(window_start_ms: int) -> bool:
        ws = datetime.fromtimestamp(window_start_ms / 1000, tz=timezone.utc).replace(tzinfo=None)
        rows = cql.execute(f"SELECT window_start, detector, details FROM {settings.cassandra.keyspace}.alerts_by_day "
                           "WHERE day = %s AND window_start = %s", (day, ws))
        return any(r.detector == "spread" and "crossed" in (r.details or "") for r in rows)

    def watermarks() -> dict[str, int]:
        root = Path(settings.checkpoint_dir) / "streaming"
        out = {}
        for q in STORING_QUERIES:
            c = committed(root / q)
            if c is not None and c.stateful:
                out[q] = c.watermark_ms
        return out

    job = start()
    try:
        # window A, then the two bad ticks in micro-batches of their own, then window B (+ a tick closing it)
        send(window_ticks(base, 2))
        caught_up(job, None)
        send([raw_tick(FUTURE_MS), raw_tick(PAST_MS)])
        caught_up(job, None)
        send(window_ticks(base + 10_000, 3) + [raw_tick(base + 30_000)])
        caught_up(job, base + 30_000 - settings.spark.watermark_seconds * 1000)
        assert crossed_alert(base) and crossed_alert(base + 10_000), "alerts flow after the bad ticks"
        assert all(w < base + 60_000 for w in watermarks().values()), watermarks()

        os.killpg(job.pid, signal.SIGKILL)  # restart on the same checkpoint
        job.wait(timeout=60)
        job = start()
        send(window_ticks(base + 40_000, 4) + [raw_tick(base + 60_000)])
        caught_up(job, base + 60_000 - settings.spark.watermark_seconds * 1000)
        assert crossed_alert(base + 40_000), "alerts flow after a restart"
        assert all(w < base + 90_000 for w in watermarks().values()), watermarks()
    finally:
        producer.flush(10)
        stop_stream(job)

    dlq = {json.loads(json.loads(m.value)["raw"])["ts"]: json.loads(m.value)["reason"]
           for m in kafka.records(settings, settings.kafka.topic_dlq, component="admin",
                                  group=f"dlq-{time.time_ns()}", idle_s=10)}
    assert dlq[PAST_MS] == "ts is before year 2000"
    assert dlq[FUTURE_MS].startswith("ts is ") and dlq[FUTURE_MS].endswith(" s ahead of its arrival (limit 60 s)")
