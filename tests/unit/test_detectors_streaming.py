"""The streaming job's detector query driven to completion on a file source (no services): ticks that
advance the watermark close windows, a tick later than the watermark changes nothing, and a window whose
ticks arrived before a thresholds reload is judged by the version in force when it closes."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import pytest
from pyspark.sql import functions as F

from detector_data import T0_MS, learn_thresholds, simulated_rows
from fxtrue.frames import parse_kafka_ticks
from fxtrue.settings import load_settings
from fxtrue.ticks import Tick

T1 = T0_MS + 30 * 60_000


class ListSink:
    def __init__(self):
        self.alerts = []

    def write(self, alerts):
        self.alerts.extend(alerts)
        return len(alerts)


def as_json_lines(rows):
    out = []
    for pair, ts, bid, ask, *_rest, source, received in rows:
        t = Tick(pair, int(ts.timestamp() * 1000), bid, ask, source, int(received.timestamp() * 1000))
        out.append(t.to_json().decode())
    return "\n".join(out) + "\n"


def file_source(spark, folder):
    """The job's source stand-in: tick JSON lines from files dropped into `folder` (created), parsed as the
    Kafka source parses them (kafka_ts = when the file is read)."""
    folder.mkdir(parents=True, exist_ok=True)

    def source():
        return (spark.readStream.text(str(folder))
                .select(F.col("value").cast("binary").alias("value"), F.current_timestamp().alias("timestamp"))
                .transform(parse_kafka_ticks))
    return source


def tick_row(pair, ms, bid, ask):
    dt = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return (pair, dt, bid, ask, None, None, None, "sim", dt)


@pytest.fixture(scope="module")
def versions(spark):
    rows, model = simulated_rows(T0_MS, T1)
    v1 = learn_thresholds(spark, rows, load_settings().detectors, version="v1")
    return v1, dataclasses.replace(v1, version="v2"), model


def test_detector_query_closes_windows_drops_late_ticks_and_switches_version(spark, tmp_path, versions):
    from jobs.streaming.job import DETECTORS, StreamingJob
    from jobs.streaming.state import ThresholdsHolder

    v1, v2, model = versions
    published = {"current": "v1"}
    holder = ThresholdsHolder(lambda: published["current"], {"v1": v1, "v2": v2}.get, "00:30")
    holder.load()
    settings = load_settings().replace(spark={"trigger_seconds": 0.5, "watermark_seconds": 30},
                                       state_dir=str(tmp_path / "state"))
    src = tmp_path / "in"
    source = file_source(spark, src)
    sink = ListSink()
    job = StreamingJob(spark, settings, source=source, holder=holder, alert_sink=sink, queries=(DETECTORS,),
                       checkpoint_root=str(tmp_path / "ckpt"))
    clean1, _ = simulated_rows(T1, T1 + 60_000, model=model)
    jpy = [r for r in clean1 if r[0] == "USD/JPY"][-1]
    spike = lambda ms, f: tick_row("USD/JPY", ms, round(jpy[2] * f, 3), round(jpy[3] * f, 3))  # noqa: E731
    (src / "1.json").write_text(as_json_lines(clean1 + [spike(T1 + 15_000, 1.005), spike(T1 + 55_000, 1.005)]))
    job.start()
    try:
        q = job.queries[DETECTORS]
        q.processAllAvailable()
        first = list(sink.alerts)
        assert {(a["detector"], a["subject"], a["window_start"] - T1) for a in first} >= {
            ("price_jump", "USD/JPY", 10_000)}
        assert all(a["window_end"] <= T1 + 30_000 for a in first), "only windows behind the watermark close"
        assert {a["thresholds_version"] for a in first} == {"v1"}

        published["current"] = "v2"
        assert holder.check()
        clean2, _ = simulated_rows(T1 + 60_000, T1 + 120_000, model=model)
        late = tick_row("EUR/USD", T1 + 5_000, 1.2, 1.1)  # crossed, but its window closed long ago
        (src / "2.json").write_text(as_json_lines(clean2 + [late]))
        q.processAllAvailable()
        second = sink.alerts[len(first):]
        keys = {(a["detector"], a["subject"], a["window_start"] - T1): a for a in second}
        straddler = keys.get(("price_jump", "USD/JPY", 50_000))
        assert straddler is not None, sorted(keys)
        assert straddler["thresholds_version"] == "v2", "judged when it closed, after the reload"
        assert not [a for a in sink.alerts if a["window_start"] == T1], "the late tick was dropped"
        ids = [a["alert_id"] for a in sink.alerts]
        assert len(ids) == len(set(ids)), "each window is judged once (append mode)"
        progress = q.lastProgress
        assert progress["stateOperators"][0]["numRowsDroppedByWatermark"] >= 0
        assert job.carry.before(10**9), "the stale_feed carry was saved"
    finally:
        job.stop()


def test_a_stall_alert_keeps_the_time_processing_time_first_saw_it(spark, tmp_path, versions):
    from jobs.streaming.job import DETECTORS, StreamingJob
    from jobs.streaming.state import LastSeen, ThresholdsHolder

    v1, _, _ = versions
    holder = ThresholdsHolder(lambda: "v1", {"v1": v1}.get, "00:30")
    holder.load()
    settings = load_settings().replace(state_dir=str(tmp_path / "state"))
    sink = ListSink()
    job = StreamingJob(spark, settings, source=lambda: None, holder=holder, alert_sink=sink, queries=(DETECTORS,),
                       checkpoint_root=str(tmp_path / "ckpt"))
    job.last_seen = LastSeen(started_ms=T0_MS)
    stall = T0_MS + 10 * 60_000
    for at in (stall, stall + 4 * 60_000, stall + 4 * 60_000 + 10_000, stall + 4 * 60_000 + 25_000):
        for pair in settings.truefx.pairs:
            if pair != "EUR/USD" or at == stall:
                job.last_seen.update(pair, at, at)
        job.check_stale(at)
    stale = [a for a in sink.alerts if a["detector"] == "stale_feed"]
    assert {a["pair"] for a in stale} == {"EUR/USD"} and len(stale) >= 2, stale  # raised, then refreshed
    assert {a["detected_at"] for a in stale} == {stall + 4 * 60_000}  # every refresh keeps the first time
    assert stale[-1]["observed"] > stale[0]["observed"]
