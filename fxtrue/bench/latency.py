"""latency: alert latency p50/p95/p99 at 1,000 and 10,000 ticks/s through the full streaming job, per path.

latency = the Kafka timestamp of the alert record on fx.alerts (set by the job's producer when it sends the
alert) minus the Kafka timestamp of the offending tick on fx.ticks (set per record by the feeder's producer
when it sends the tick): the time from a tick reaching the broker to its alert reaching the broker. The
offending tick of an alert is the first crossed quote of its (pair, window); a live synthetic feed (Spark's
rate source -> Kafka, event time = now) sends one crossed quote every 2 s, so the spread detector alerts in
many windows. Each alert id is sent by the tick query as the crossed quote arrives ("tick": Spark's real-time
mode, unless spark.tick_mode says otherwise), by the running windows while the window is open ("fast") and
again by the judgement at close ("close"); the first record of an id is the alert's latency, and each path's
first record of the id is reported too."""

from __future__ import annotations

import json
import time
import uuid

from fxtrue.bench.harness import BenchContext, BenchResult, Figure, percentile, require
from fxtrue.bench.stream import level_settings, make_job

TITLE = "alert latency p50/p95/p99 at 1,000 and 10,000 ticks/s (fx.ticks -> fx.alerts broker timestamps)"


def offending_ticks(spark, s) -> dict[tuple[str, int], int]:
    """(pair, window start ms) -> the smallest Kafka timestamp (ms) of a crossed quote in that window."""
    from pyspark.sql import functions as F

    from fxtrue.detectors.statistics import floor_to_window
    from fxtrue.frames import parse_kafka_ticks, valid_ticks
    from fxtrue.kafka import spark_options

    ticks = valid_ticks(parse_kafka_ticks(
        spark.read.format("kafka").options(**spark_options(s, component="admin")).option("subscribe", s.kafka.topic_ticks)
        .option("startingOffsets", "earliest").load()), "kafka_ts")
    window_start = F.unix_millis(floor_to_window(F.col("ts"), s.detectors.window_seconds))
    rows = (ticks.where(F.col("bid") > F.col("ask"))
                 .groupBy("pair", window_start.alias("ws"))
                 .agg(F.min(F.unix_millis("kafka_ts")).alias("sent_ms")).collect())
    return {(r["pair"], int(r["ws"])): int(r["sent_ms"]) for r in rows}


def alert_records(s) -> list[tuple[dict, int]]:
    """Every record on fx.alerts: (alert JSON, Kafka timestamp ms), in offset order per partition."""
    from fxtrue import kafka

    return [(json.loads(m.value), m.timestamp_ms)
            for m in kafka.records(s, s.kafka.topic_alerts, component="admin", idle_s=5.0)]


def latencies_by_path(records: list[tuple[dict, int]], offending: dict[tuple[str, int], int]) -> dict[str, list[float]]:
    """Seconds from the offending tick to the alert: "first" (the first record of each alert id, whichever path
    sent it), and per path ("tick", "fast", "close") the first record that path sent. Alerts whose window has no
    crossed quote on fx.ticks are left out."""
    from fxtrue.simulator.scenarios import parse_iso_ms

    out: dict[str, list[float]] = {"first": [], "tick": [], "fast": [], "close": []}
    seen: set[tuple[str, str]] = set()
    for alert, sent_ms in sorted(records, key=lambda r: r[1]):
        ws = parse_iso_ms(alert["window_start"])
        tick_ms = offending.get((alert.get("pair"), ws))
        if tick_ms is None:
            continue
        path = alert.get("path", "close")
        for key in ("first", path):
            if key in out and (key, alert["alert_id"]) not in seen:
                seen.add((key, alert["alert_id"]))
                out[key].append((sent_ms - tick_ms) / 1000)
    return out


def measure(ctx: BenchContext, base, session, rate: int, run_s: float) -> tuple[dict[str, list[float]], dict]:
    from fxtrue.bench.synthetic import start_feeder

    spark = ctx.spark()
    tag = f"l{rate}"
    s = level_settings(base, tag, ("topic_ticks", "topic_alerts"))
    job = make_job(spark, s, session, str(ctx.workdir / f"ckpt-{tag}-{uuid.uuid4().hex[:4]}"))
    job.start()
    feeder = start_feeder(spark, s, rate, str(ctx.workdir / f"ckpt-feed-{tag}"), crossed_every=rate * 2)
    fed_from = time.time()
    try:
        time.sleep(run_s)  # the measurement period (not a wait for completion)
        problem = job.failed() or (None if feeder.isActive else f"feeder stopped: {feeder.exception()}")
        if problem:
            raise RuntimeError(problem)
        fed = sum(p["numInputRows"] for p in feeder.recentProgress)
    finally:
        feeder.stop()
        job.stop(timeout_s=15.0)  # a benchmark need not let the last micro-batch finish
    lat = latencies_by_path(alert_records(s), offending_ticks(spark, s))
    info = {"fed": fed, "fed_rate": fed / max(time.time() - fed_from, 1e-9), "alerts": len(lat["first"])}
    return lat, info


def run(ctx: BenchContext) -> BenchResult:
    require("jobs.streaming.job", "StreamingJob", "the streaming job (issue 5)")
    from fxtrue import cassandra

    run_s = 60.0 if ctx.quick else 240.0
    base = ctx.isolated("lat")
    session = cassandra.connect(base, component=cassandra.ADMIN, keyspace=base.cassandra.keyspace, wait_s=30)
    ctx.on_cleanup(session.cluster.shutdown)
    res = BenchResult("latency", TITLE)
    for rate in (1_000, 10_000):
        lat, info = measure(ctx, base, session, rate, run_s)
        ctx.progress(f"  {rate:,} ticks/s offered: fed {info['fed_rate']:,.0f}/s, {info['alerts']} alerts, "
                     f"first-record p99 {percentile(lat['first'], 99):.2f} s" if lat["first"] else
                     f"  {rate:,} ticks/s offered: fed {info['fed_rate']:,.0f}/s, no alert")
        if not lat["first"]:
            res.notes.append(f"{rate:,} ticks/s: no alert came out in {run_s:.0f} s (fed {info['fed_rate']:,.0f}/s)")
            continue
        for path, label in (("first", "alert"), ("tick", "tick query"), ("fast", "running windows"),
                            ("close", "judgement at close")):
            secs = lat[path]
            if not secs:
                res.notes.append(f"{rate:,} ticks/s: no {label} record")
                continue
            for q in (50, 95, 99):
                res.figures.append(Figure(f"{label} p{q} at {rate:,} ticks/s", "s", [percentile(secs, q)],
                                          higher_is_better=False,
                                          note=f"over {len(secs)} alerts; feed reached {info['fed_rate']:,.0f} "
                                               "ticks/s"))
        res.figures.append(Figure(f"all alert latencies at {rate:,} ticks/s", "s", lat["first"],
                                  higher_is_better=False, note="median/min/max/stdev of every alert's latency"))
    cfg = ctx.settings
    res.params = {"run_s": run_s, "tick_mode": cfg.spark.tick_mode, "tick_batch_s": cfg.spark.tick_batch_seconds,
                  "fast_trigger_s": cfg.spark.fast_trigger_seconds,
                  "window_s": cfg.detectors.window_seconds,
                  "watermark_s": cfg.spark.watermark_seconds}
    res.notes.append("latency = Kafka timestamp of the alert record minus Kafka timestamp of the window's first "
                     "crossed quote; 'alert' is the first record of each alert id (normally the tick query's), "
                     "'judgement at close' waits for the watermark (max event time - watermark) to pass the "
                     "window's end (the fast query closes it in the micro-batch that moves the watermark there), "
                     "so about window + watermark + one fast batch is its floor by design")
    res.notes.append("the synthetic feeder runs in the same Spark as the job (local[2] plus the tick query's "
                     "real-time slots): it competes for the same cores")
    res.notes.append(f"the tick query's real-time batches last {cfg.spark.tick_batch_seconds:.0f} s: a period "
                     "shorter than that sees at most the hand-over after the first batch, whose ticks wait a few "
                     "seconds")
    if ctx.quick:
        res.notes.append(f"--quick: {run_s:.0f} s per rate (full run: 240 s per rate)")
    return res
