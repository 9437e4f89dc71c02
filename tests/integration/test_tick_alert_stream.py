"""The tick query of a real `fxtrue stream` (Spark's real-time mode, Kafka in and out, Cassandra): a crossed
quote sent live is on fx.alerts as a "tick" record, the judgement of its closed window follows under the same
alert id, and Cassandra holds one row for the two that keeps the tick query's detection time."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from isolation import module_world, stop_stream, stream_env

from fxtrue.ticks import Tick, now_epoch_ms

pytestmark = [pytest.mark.e2e]

FXTRUE = str(Path(sys.executable).with_name("fxtrue"))
WAIT_S = 600  # liveness bound on a loaded machine (not a speed assertion)

settings, cql = module_world("k")


def test_a_crossed_quote_is_one_alert_row_from_the_tick_query_to_its_closed_window(settings, cql, tmp_path):
    from confluent_kafka import KafkaException

    from fxtrue import kafka
    from jobs.streaming.sinks import alert_of_json

    log = tmp_path / "stream.log"
    job = subprocess.Popen([FXTRUE, "stream"], env=stream_env(settings, FXTRUE_SPARK_TICK_MODE="realtime"),
                           stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)
    producer = kafka.producer(settings, component="admin", linger_ms=0)
    alerts = kafka.consumer(settings, component="admin", group=f"t-{time.time_ns()}")
    alerts.subscribe([settings.kafka.topic_alerts])
    records: list[dict] = []

    def send(crossed: bool) -> None:
        now = now_epoch_ms()
        bid, ask = (1.08610, 1.08600) if crossed else (1.08600, 1.08604)
        kafka.send(producer, settings.kafka.topic_ticks, Tick("EUR/USD", now, bid, ask, "sim", now).to_json(),
                   key=b"EUR/USD")

    def poll() -> None:
        if job.poll() is not None:
            pytest.fail(f"streaming job exited ({job.returncode}):\n{log.read_text()[-5000:]}")
        for m in alerts.consume(500, timeout=0.5):
            if m.error() is not None:
                raise KafkaException(m.error())
            records.append({**alert_of_json(m.value()), "kafka_ts": m.timestamp()[1]})

    try:
        # A crossed quote every second until the tick query, started at the end of fx.ticks, judges one.
        deadline = time.monotonic() + WAIT_S
        while not [r for r in records if r.get("path") == "tick"]:
            assert time.monotonic() < deadline, f"no tick-query alert:\n{log.read_text()[-5000:]}"
            send(crossed=True)
            poll()
        first = min((r for r in records if r.get("path") == "tick"), key=lambda r: r["detected_at"])
        alert_id = first["alert_id"]
        assert first["detector"] == "spread" and first["subject"] == "EUR/USD" and "crossed" in first["details"]
        print(f"tick-query alert {alert_id}: detected {first['detected_at'] - first['last_received_at']} ms after "
              f"its tick was stamped, on fx.alerts {first['kafka_ts'] - first['last_received_at']} ms after")

        # Quiet ticks until the window is closed and judged (the watermark passes its end).
        while not [r for r in records if r["alert_id"] == alert_id and r.get("path") == "close"]:
            assert time.monotonic() < deadline, f"no judgement at close of {alert_id}:\n{log.read_text()[-5000:]}"
            send(crossed=False)
            poll()
            time.sleep(0.5)
    finally:
        producer.flush(10)
        alerts.close()
        stop_stream(job)

    ws = datetime.fromtimestamp(first["window_start"] / 1000, tz=timezone.utc)
    rows = [r for r in cql.execute("SELECT detector, subject, detected_at, details FROM alerts_by_day "
                                   "WHERE day = %s AND window_start = %s", (ws.date(), ws.replace(tzinfo=None)))
            if r.detector == "spread" and r.subject == "EUR/USD"]
    assert len(rows) == 1, rows
    kept_ms = int(rows[0].detected_at.replace(tzinfo=timezone.utc).timestamp() * 1000)
    assert kept_ms == first["detected_at"], "the row keeps the tick query's (first) detection time"
    assert "crossed quotes" in rows[0].details
    paths = {r["path"] for r in records if r["alert_id"] == alert_id}
    assert {"tick", "close"} <= paths, paths
