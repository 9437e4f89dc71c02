"""The tick query: each tick judged on its own (statistics.TICK) with the same judge and alert ids as its
window, its alerts written as the fx.alerts JSON by Spark, and the relay that stores them keeping the earliest
detection time."""

from __future__ import annotations

import json

import pytest

from detector_data import T0_MS, learn_thresholds, simulated_rows, ticks_frame
from fxtrue.detectors import judge, thresholds_frame
from fxtrue.detectors.judge import collect_alerts
from fxtrue.detectors.statistics import SPREAD, window_statistics
from fxtrue.settings import load_settings
from test_detectors_streaming import tick_row

CFG = load_settings().detectors
T1 = T0_MS + 30 * 60_000


@pytest.fixture(scope="module")
def v1(spark):
    rows, model = simulated_rows(T0_MS, T1)
    return learn_thresholds(spark, rows, CFG, version="v1"), model


@pytest.fixture(scope="module")
def tick_rows(v1):
    _, model = v1
    rows, _ = simulated_rows(T1, T1 + 60_000, seed=13)
    eur = [r for r in rows if r[0] == "EUR/USD"][-1]
    rows += [tick_row("EUR/USD", T1 + 12_000, eur[3] + 0.0002, eur[3]),  # crossed quote
             tick_row("EUR/USD", T1 + 41_000, eur[2], eur[2] * 1.004)]  # a 40 bps spread blow-out
    return sorted(rows, key=lambda r: r[1])


def test_tick_alerts_are_a_subset_of_the_closed_windows_alerts_under_the_same_ids(spark, v1, tick_rows):
    from jobs.streaming.transformations import alerts_of_ticks

    thresholds, _ = v1
    thr = thresholds_frame(spark, thresholds)
    ticks = ticks_frame(spark, tick_rows)
    closed = {a["alert_id"] for a in collect_alerts(
        judge(window_statistics(ticks, CFG, detectors=(SPREAD,)), thr, "v1", CFG))}
    fired = collect_alerts(alerts_of_ticks(ticks, thr, "v1", CFG))
    ids = {a["alert_id"] for a in fired}
    assert {f"spread|EUR/USD|{w}" for w in ("2026-11-03T10:30:10.000Z", "2026-11-03T10:30:40.000Z")} <= ids
    assert ids <= closed, ids - closed
    assert all(a["tick_count"] == 1 and a["thresholds_version"] == "v1" for a in fired)

    # warm-up (no thresholds): crossed quotes only
    warm = {a["alert_id"] for a in collect_alerts(alerts_of_ticks(ticks, thresholds_frame(spark, None), None, CFG))}
    assert warm == {"spread|EUR/USD|2026-11-03T10:30:10.000Z"}


def test_the_spark_alert_record_is_the_python_one(spark, v1, tick_rows):
    """alert_kafka_records (Spark's Kafka sink) writes what alert_json writes for the same alert, and
    alert_of_json reads it back."""
    from jobs.streaming.sinks import alert_json, alert_kafka_records, alert_of_json
    from jobs.streaming.transformations import alerts_of_ticks

    thresholds, _ = v1
    alerts = alerts_of_ticks(ticks_frame(spark, tick_rows), thresholds_frame(spark, thresholds), "v1", CFG).cache()
    try:
        records = {bytes(r["key"]).decode(): bytes(r["value"]) for r in alert_kafka_records(alerts, "tick").collect()}
        dicts = {a["alert_id"]: {**a, "path": "tick"} for a in collect_alerts(alerts)}
    finally:
        alerts.unpersist()
    assert records and records.keys() == dicts.keys()
    for alert_id, value in records.items():
        assert json.loads(value) == pytest.approx(json.loads(alert_json(dicts[alert_id])))
        assert alert_of_json(value) == pytest.approx(dicts[alert_id])
        assert set(json.loads(value)) == set(json.loads(alert_json(dicts[alert_id])))  # nulls written, not dropped


class RecordingCassandra:
    def __init__(self):
        self.inserted = []

    def write_alerts_if_new(self, alerts):
        self.inserted.extend(alerts)
        return len(alerts)


class Sinks:
    def __init__(self):
        self.cassandra = RecordingCassandra()


def test_relay_inserts_new_alerts_and_keeps_the_earliest_detection(spark, tmp_path):
    from jobs.streaming.job import StreamingJob
    from jobs.streaming.state import ThresholdsHolder

    holder = ThresholdsHolder(lambda: None, lambda v: None, "00:30")
    sinks = Sinks()
    job = StreamingJob(spark, load_settings(), source=lambda: None, holder=holder, alert_sink=sinks,
                       checkpoint_root=str(tmp_path / "ckpt"))
    a = {"alert_id": "spread|EUR/USD|x", "window_start": 10_000, "detected_at": 12_500, "path": "tick"}
    assert job.relay_alerts([a]) == [a]
    assert job.relay_alerts([dict(a, detected_at=12_900)]) == []  # a re-sent copy: not inserted again
    assert job._first_detected[a["alert_id"]] == (10_000, 12_500)
    # the running windows raised it first (later than the tick query did): the earliest time wins, no insert
    job._first_detected["spread|EUR/USD|y"] = (20_000, 23_000)
    assert job.relay_alerts([dict(a, alert_id="spread|EUR/USD|y", window_start=20_000, detected_at=22_100)]) == []
    assert job._first_detected["spread|EUR/USD|y"] == (20_000, 22_100)
    assert [x["alert_id"] for x in sinks.cassandra.inserted] == ["spread|EUR/USD|x"]
    assert job.counters["alerts_tick"] == 1


def test_streaming_master_adds_a_slot_per_partition_for_real_time_mode():
    from fxtrue.spark import streaming_master

    s = load_settings()
    assert s.spark.tick_mode == "realtime" and s.kafka.partitions == 3
    assert streaming_master(s) == "local[5]"
    assert streaming_master(s.replace(spark={"master": "local"})) == "local[4]"
    assert streaming_master(s.replace(spark={"tick_mode": "microbatch"})) == "local[2]"
    assert streaming_master(s.replace(spark={"master": "spark://h:7077"})) == "spark://h:7077"
