"""The streaming job's detectors (the fast query's windows on the driver) driven to completion on a file source
(no services): ticks that advance the watermark close windows, a tick later than the watermark changes
nothing, a window whose ticks arrived before a thresholds reload is judged by the version in force when it
closes, and a re-run batch starts from the state its first run started from."""

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


def closed(alerts):
    return [a for a in alerts if a["path"] == "close"]


def test_detectors_close_windows_drop_late_ticks_and_switch_version(spark, tmp_path, versions):
    from jobs.streaming.job import FAST, StreamingJob
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
    job = StreamingJob(spark, settings, source=source, holder=holder, alert_sink=sink, queries=(FAST,),
                       checkpoint_root=str(tmp_path / "ckpt"))
    clean1, _ = simulated_rows(T1, T1 + 60_000, model=model)
    jpy = [r for r in clean1 if r[0] == "USD/JPY"][-1]
    spike = lambda ms, f: tick_row("USD/JPY", ms, round(jpy[2] * f, 3), round(jpy[3] * f, 3))  # noqa: E731
    (src / "1.json").write_text(as_json_lines(clean1 + [spike(T1 + 15_000, 1.005), spike(T1 + 55_000, 1.005)]))
    job.start()
    try:
        q = job.queries[FAST]
        q.processAllAvailable()
        first = closed(sink.alerts)
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
        second = closed(sink.alerts)[len(first):]
        keys = {(a["detector"], a["subject"], a["window_start"] - T1): a for a in second}
        straddler = keys.get(("price_jump", "USD/JPY", 50_000))
        assert straddler is not None, sorted(keys)
        assert straddler["thresholds_version"] == "v2", "judged when it closed, after the reload"
        assert not [a for a in sink.alerts if a["window_start"] == T1], "the late tick was dropped"
        assert job.counters["late_ticks_dropped"] == 1
        ids = [a["alert_id"] for a in closed(sink.alerts)]
        assert len(ids) == len(set(ids)), "each window is judged once at close"
        saved = job.window_store.latest()[1]
        assert saved["carry"], "the stale_feed carry was saved"
        assert T1 + 60_000 < saved["watermark_ms"] <= T1 + 90_000
    finally:
        job.stop()


def test_a_stall_alert_keeps_the_time_processing_time_first_saw_it(spark, tmp_path, versions):
    from jobs.streaming.job import FAST, StreamingJob
    from jobs.streaming.state import LastSeen, ThresholdsHolder

    v1, _, _ = versions
    holder = ThresholdsHolder(lambda: "v1", {"v1": v1}.get, "00:30")
    holder.load()
    settings = load_settings().replace(state_dir=str(tmp_path / "state"))
    sink = ListSink()
    job = StreamingJob(spark, settings, source=lambda: None, holder=holder, alert_sink=sink, queries=(FAST,),
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


def test_a_batch_run_again_after_a_crash_starts_from_the_state_its_first_run_started_from(spark, tmp_path,
                                                                                          versions):
    """Spark runs an uncommitted micro-batch again after a restart, with the same ticks: the detectors' driver
    state must be the one saved by the batch before, even when the first run saved its own before dying."""
    from jobs.streaming.job import FAST, StreamingJob
    from jobs.streaming.state import ThresholdsHolder

    v1, _, model = versions
    settings = load_settings().replace(spark={"watermark_seconds": 5}, state_dir=str(tmp_path / "state"))

    def job(sink):
        holder = ThresholdsHolder(lambda: "v1", {"v1": v1}.get, "00:30")
        holder.load()
        return StreamingJob(spark, settings, source=lambda: None, holder=holder, alert_sink=sink, queries=(FAST,),
                            checkpoint_root=str(tmp_path / "ckpt"))

    def batch(rows, name):  # one micro-batch of the fast query: parsed records, as the Kafka source gives them
        (tmp_path / name).write_text(as_json_lines(rows))
        return spark.read.text(str(tmp_path / name)).select(
            F.col("value").cast("binary").alias("value"), F.current_timestamp().alias("timestamp")
        ).transform(parse_kafka_ticks)

    rows, _ = simulated_rows(T1, T1 + 40_000, seed=21)  # a path of its own (the module model has moved on)
    rows.sort(key=lambda r: r[1])
    jpy = [r for r in rows if r[0] == "USD/JPY"][-1]
    rows.append(tick_row("USD/JPY", T1 + 25_000, round(jpy[2] * 1.005, 3), round(jpy[3] * 1.005, 3)))
    first, second = batch([r for r in rows if r[1].timestamp() * 1000 < T1 + 20_000], "b0.json"), \
        batch([r for r in rows if r[1].timestamp() * 1000 >= T1 + 20_000], "b1.json")
    sink = ListSink()
    one = job(sink)
    one._fast_batch(first, 0)
    n = len(sink.alerts)
    one._fast_batch(second, 1)  # its state is saved; say the job died before Spark committed the batch
    once = {a["alert_id"]: a["observed"] for a in closed(sink.alerts[n:])}
    assert ("price_jump", "USD/JPY", T1 + 20_000) in {(a["detector"], a["subject"], a["window_start"])
                                                      for a in closed(sink.alerts)}
    saved = one.window_store.latest()[1]

    again = ListSink()
    two = job(again)  # the restarted job: nothing in memory
    two._fast_batch(second, 1)
    assert {a["alert_id"]: a["observed"] for a in closed(again.alerts)} == once, \
        "the windows closed by batch 1 are judged as in its first run (none twice, none missed)"
    assert two.window_store.latest()[1] == saved
