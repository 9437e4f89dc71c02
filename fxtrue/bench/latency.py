"""latency: alert latency p50/p95/p99 at 1,000 and 10,000 ticks/s through the full streaming job:
detected_at minus the last received_at of the alert's window (as carried on fx.alerts).

A live synthetic feed (Spark's rate source -> Kafka, event time = now, one crossed quote every few seconds so
the spread detector alerts in many windows) runs beside the job. The latency includes the window length and
the watermark by design: a tumbling window is judged once, when the watermark passes its end."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime

from fxtrue.bench.harness import BenchContext, BenchResult, Figure, percentile, require
from fxtrue.bench.stream import make_job

TITLE = "alert latency p50/p95/p99 at 1,000 and 10,000 ticks/s"


def _ms(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000


def measure(ctx: BenchContext, base, session, rate: int, run_s: float) -> tuple[list[float], dict]:
    from fxtrue import kafka
    from fxtrue.bench.synthetic import start_feeder

    spark = ctx.spark()
    tag = f"l{rate}"
    s = base.replace(kafka={"topic_ticks": f"{base.kafka.topic_ticks}.{tag}",
                            "topic_alerts": f"{base.kafka.topic_alerts}.{tag}"})
    kafka.create_topics(s, progress=lambda m: None)
    job = make_job(spark, s, session, str(ctx.workdir / f"ckpt-{tag}-{uuid.uuid4().hex[:4]}"))
    job.start()
    feeder = start_feeder(spark, s, rate, str(ctx.workdir / f"ckpt-feed-{tag}"), crossed_every=rate * 2)
    fed_from = time.time()
    try:
        time.sleep(run_s)
        problem = job.failed() or (None if feeder.isActive else f"feeder stopped: {feeder.exception()}")
        if problem:
            raise RuntimeError(problem)
        fed = sum(p["numInputRows"] for p in feeder.recentProgress)
    finally:
        feeder.stop()
        job.stop(timeout_s=15.0)  # a benchmark need not let the last micro-batch finish
    consumer = kafka.consumer(s, s.kafka.topic_alerts, consumer_timeout_ms=5000, group_id=f"lat-{uuid.uuid4().hex[:6]}")
    latencies = []
    for m in consumer:
        a = json.loads(m.value)
        if a.get("last_received_at") and a.get("detected_at"):
            latencies.append(_ms(a["detected_at"]) - _ms(a["last_received_at"]))
    consumer.close()
    info = {"fed": fed, "fed_rate": fed / max(time.time() - fed_from, 1e-9), "alerts": len(latencies)}
    return latencies, info


def run(ctx: BenchContext) -> BenchResult:
    require("jobs.streaming.job", "StreamingJob", "the streaming job (issue 5)")
    from fxtrue import cassandra

    run_s = 60.0 if ctx.quick else 240.0
    base = ctx.isolated("lat")
    session = cassandra.connect(base, keyspace=base.cassandra.keyspace, wait_s=30)
    ctx.on_cleanup(session.cluster.shutdown)
    res = BenchResult("latency", TITLE)
    for rate in (1_000, 10_000):
        lat, info = measure(ctx, base, session, rate, run_s)
        ctx.progress(f"  {rate:,} ticks/s offered: fed {info['fed_rate']:,.0f}/s, {info['alerts']} alerts")
        if not lat:
            res.notes.append(f"{rate:,} ticks/s: no alert came out in {run_s:.0f} s (fed {info['fed_rate']:,.0f}/s)")
            continue
        secs = [x / 1000 for x in lat]
        for q in (50, 95, 99):
            res.figures.append(Figure(f"p{q} at {rate:,} ticks/s", "s", [percentile(secs, q)],
                                      higher_is_better=False,
                                      note=f"over {len(secs)} alerts; feed reached {info['fed_rate']:,.0f} ticks/s"))
        res.figures.append(Figure(f"all alert latencies at {rate:,} ticks/s", "s", secs, higher_is_better=False,
                                  note="median/min/max/stdev of every alert's latency"))
    cfg = ctx.settings
    res.params = {"run_s": run_s, "trigger_s": cfg.spark.trigger_seconds, "window_s": cfg.detectors.window_seconds,
                  "watermark_s": cfg.spark.watermark_seconds,
                  "floor_by_design_s": cfg.detectors.window_seconds + cfg.spark.watermark_seconds}
    res.notes.append("latency = detected_at - max(received_at) of the window; a window is judged when the "
                     "watermark (max event time - watermark) passes its end, so about window + watermark + "
                     "trigger is the floor by design")
    res.notes.append("the synthetic feeder runs in the same Spark (local[2]) as the job: it competes for the 2 cores")
    if ctx.quick:
        res.notes.append(f"--quick: {run_s:.0f} s per rate (full run: 240 s per rate)")
    return res
