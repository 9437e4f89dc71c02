"""ingest: `fxtrue produce replay --speed 0` into Kafka (ticks/s) beside Kafka's own producer performance tool
(org.apache.kafka.tools.ProducerPerformance from kafka-tools) on the same broker, same topic config, same
producer settings and the same payloads (real tick JSON)."""

from __future__ import annotations

import random
import re
import subprocess
import time
from datetime import date
from pathlib import Path

from fxtrue.bench.harness import BenchContext, BenchResult, Figure, NotRun, require

TITLE = "replay into Kafka (ticks/s) vs Kafka ProducerPerformance"
SUMMARY = re.compile(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency")


def simulate(ctx: BenchContext, days: int, rate_scale: float, start: date = date(2026, 11, 2)) -> tuple[list[Path], int]:
    """Simulated TrueFX history files for the benchmark (the project's simulator); returns (files, ticks)."""
    simulate_files = require("fxtrue.simulator", "simulate_files", "the market simulator")
    out = ctx.workdir / f"history-{days}d-{rate_scale}"
    summary = simulate_files(out, start, days, rate_scale=rate_scale, seed=7)
    return list(summary.files), int(summary.ticks)


def replay_once(settings, files: list[Path]) -> tuple[int, float]:
    """The replay path of `fxtrue produce replay --speed 0`: ReplaySource -> producer loop -> KafkaSink."""
    main = require("producers.main", "run", "the producer loop")
    ReplaySource = require("producers.sources", "ReplaySource", "the replay source")
    KafkaSink = require("producers.sinks", "KafkaSink", "the Kafka sink")
    sink = KafkaSink(settings)
    t0 = time.perf_counter()
    try:
        stats = main(ReplaySource(files, speed=0), sink)
    finally:
        elapsed = time.perf_counter() - t0
        sink.close()
    counts = sink.counts()
    if counts["pending"] or stats.rejected:
        raise RuntimeError(f"replay did not deliver everything: {counts}, {stats.rejected} rejected")
    return stats.ticks, elapsed


def producer_props(settings) -> list[str]:
    """fxtrue.kafka.producer's settings (PRODUCER_CONFIG) that the Java client shares, in ProducerPerformance's
    terms."""
    from fxtrue.kafka import PRODUCER_CONFIG

    shared = ("acks", "enable.idempotence", "linger.ms", "batch.size", "compression.type",
              "max.in.flight.requests.per.connection")
    return [f"bootstrap.servers={settings.kafka_bootstrap}",
            *(f"{k}={str(PRODUCER_CONFIG[k]).lower()}" for k in shared)]


def producer_performance(ctx: BenchContext, settings, payload_file: Path, records: int) -> dict[str, float]:
    """Run Kafka's ProducerPerformance (JDK 17, -cp <state>/lib/kafka/*) and parse its summary line."""
    from fxtrue.stack import jvm

    lib = settings.lib_dir / "kafka"
    if not any(lib.glob("kafka-tools-*.jar")):
        raise NotRun(f"kafka-tools jar not found in {lib} (run `fxtrue stack fetch`)")
    java = jvm.java_home(settings) / "bin" / "java"
    cmd = [str(java), "-Xmx512m", "-cp", f"{lib}/*", "org.apache.kafka.tools.ProducerPerformance",
           "--topic", settings.kafka.topic_ticks, "--num-records", str(records), "--throughput", "-1",
           "--payload-file", str(payload_file), "--bootstrap-server", settings.kafka_bootstrap,
           "--command-property", *producer_props(settings)[1:]]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    matches = SUMMARY.findall(out.stdout)
    if out.returncode != 0 or not matches:
        raise RuntimeError(f"ProducerPerformance failed (rc {out.returncode}): {(out.stderr or out.stdout)[-500:]}")
    sent, rate, mb, avg_ms = matches[-1]  # the last line is the whole-run summary
    return {"records": int(sent), "rate": float(rate), "mb_s": float(mb), "avg_latency_ms": float(avg_ms)}


def payload_file(files: list[Path], target: Path, n: int = 20000) -> tuple[Path, float]:
    """A sample of the run's ticks as their Kafka JSON, one per line (ProducerPerformance picks at random)."""
    from fxtrue import history
    from fxtrue.ticks import Tick

    values = []
    for rec in history.merge(files):
        if isinstance(rec.item, Tick):
            values.append(rec.item.to_json().decode())
            if len(values) >= n * 5:
                break
    rng = random.Random(1)
    sample = rng.sample(values, min(n, len(values)))
    target.write_text("\n".join(sample) + "\n")
    return target, sum(len(v) for v in sample) / len(sample)


def run(ctx: BenchContext) -> BenchResult:
    require("producers.main", "run", "the producer loop (issue 3)")
    days, scale = (1, 0.03) if ctx.quick else (1, 0.3)
    files, n_ticks = simulate(ctx, days, scale)
    ours_s = ctx.isolated("ing", init=True)
    ref_s = ours_s.replace(kafka={"topic_ticks": ours_s.kafka.topic_ticks.replace(".fx.ticks", ".perf.fx.ticks"),
                                  "topic_dlq": ours_s.kafka.topic_dlq.replace(".fx.ticks", ".perf.fx.ticks")})
    from fxtrue import kafka
    kafka.create_topics(ref_s, progress=lambda m: None)  # same partitions and retention as fx.ticks
    payload, avg_size = payload_file(files, ctx.workdir / "payloads.txt")

    ours, ref, ref_latency = [], [], []
    for i in range(ctx.repeats):
        sent, secs = replay_once(ours_s, files)
        ours.append(sent / secs)
        perf = producer_performance(ctx, ref_s, payload, sent)
        ref.append(perf["rate"])
        ref_latency.append(perf["avg_latency_ms"])
        ctx.progress(f"  repeat {i + 1}/{ctx.repeats}: replay {sent / secs:,.0f} ticks/s, "
                     f"ProducerPerformance {perf['rate']:,.0f} records/s")
    res = BenchResult("ingest", TITLE)
    res.figures = [
        Figure("replay producer", "ticks/s", ours,
               note="history files -> parse + validate -> KafkaSink (confluent-kafka, idempotent, acks=all, lz4)"),
        Figure("Kafka ProducerPerformance", "records/s", ref, role="reference",
               note="Java client, same producer settings, payloads sampled from the same ticks, null keys"),
        Figure("ProducerPerformance avg latency", "ms", ref_latency, role="reference", higher_is_better=False),
    ]
    res.add_ratio("replay producer", "Kafka ProducerPerformance",
                  "share of the Java client's throughput our Python replay reaches")
    res.params = {"ticks_per_repeat": n_ticks, "history_files": len(files), "avg_record_bytes": round(avg_size, 1),
                  "topic_partitions": ours_s.kafka.partitions, "producer": " ".join(producer_props(ours_s)[1:])}
    res.notes.append("replay time includes reading and validating the history files (the whole `produce replay "
                     "--speed 0` path); ProducerPerformance only sends")
    return res
