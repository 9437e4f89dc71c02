"""archive: raw ticks from Kafka into Cassandra (rows/s) through our path (the streaming job's fast query, which
archives every micro-batch beside judging it: Spark micro-batches -> sinks.TickArchive, the JVM writer of
single-partition UNLOGGED batches, many in flight) beside the naive baseline, a Python consumer loop
(confluent-kafka) doing one synchronous INSERT per tick, measured in the same run on the same ticks."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone

from fxtrue.bench.harness import BenchContext, BenchResult, Figure, require
from fxtrue.bench.ingest import replay_once, simulate

TITLE = "raw ticks into Cassandra (rows/s) vs one synchronous INSERT per tick"


BATCHES = 5  # the backlog is read in about this many micro-batches; the first one (start-up) is not timed


def our_path(ctx: BenchContext, settings, session, n_ticks: int, timeout_s: float) -> tuple[int, float]:
    """The streaming job with only its fast query (valid ticks -> ticks_by_pair_day, rejects -> DLQ, and beside
    them the detectors' windows and the trends, in warm-up: no thresholds), measured on the running query: rows
    archived after its first micro-batch over the time its archive step took in those batches (the step runs
    beside the judgement, from a thread of its own; query start-up, the first Cassandra connection and the first
    batch are excluded). Not the whole batch's time: the replayed history spans a day, so each micro-batch also
    writes hours of trend windows, which a live feed's batch of seconds never does."""
    StreamingJob = require("jobs.streaming.job", "StreamingJob", "the streaming job (issue 5)")
    from jobs.streaming.job import FAST
    from jobs.streaming.sinks import CassandraSink, write_dlq
    from jobs.streaming.sources import kafka_ticks
    from jobs.streaming.state import ThresholdsHolder

    spark = ctx.spark()
    holder = ThresholdsHolder(lambda: None, lambda v: None, settings.detectors.reload_utc)
    ckpt = str(ctx.workdir / f"ckpt-{uuid.uuid4().hex[:6]}")
    s = settings.replace(spark={"fast_trigger_seconds": 1.0, "max_offsets_per_trigger": max(n_ticks // BATCHES, 1)})
    job = StreamingJob(spark, s, source=lambda: kafka_ticks(spark, s), holder=holder,
                       cassandra_sink=CassandraSink(session, s), dlq_sink=lambda rejected: write_dlq(rejected, s),
                       queries=(FAST,), checkpoint_root=ckpt)
    job.start()
    first = None  # (rows, archive ms) after the first micro-batch
    try:
        deadline = time.monotonic() + timeout_s
        while job.counters["ticks_written"] < n_ticks:
            problem = job.failed()
            if problem:
                raise RuntimeError(problem)
            if time.monotonic() > deadline:
                raise RuntimeError(f"fast query wrote {job.counters['ticks_written']} of {n_ticks} "
                                   f"in {timeout_s:.0f} s")
            if first is None and job.counters["ticks_written"]:
                first = (job.counters["ticks_written"], job.counters["archive_ms"])
            time.sleep(0.01)
    finally:
        job.stop(timeout_s=15.0)  # a benchmark need not let the last micro-batch finish
    rows = job.counters["ticks_written"] - first[0] if first else 0
    secs = (job.counters["archive_ms"] - first[1]) / 1000 if first else 0
    if rows <= 0 or secs <= 0:
        raise RuntimeError("the fast query wrote the whole backlog in its first micro-batch: nothing left to time")
    return rows, secs


def naive_path(settings, session, n_ticks: int, cap_s: float) -> tuple[int, float]:
    """The baseline: consume with a Python client, INSERT each tick synchronously (same table, same TTL)."""
    from fxtrue import kafka
    from fxtrue.ticks import Tick, from_json

    ks = settings.cassandra.keyspace
    cql = (f"INSERT INTO {ks}.ticks_by_pair_day (pair, day, ts, bid, ask, high, low, open, source, received_at) "
           f"VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) USING TTL {int(settings.cassandra.ticks_ttl_s)}")
    written = 0
    t0 = time.perf_counter()
    for msg in kafka.records(settings, settings.kafka.topic_ticks, component="admin", idle_s=10.0):
        tick = from_json(msg.value)
        if isinstance(tick, Tick):
            day = datetime.fromtimestamp(tick.ts / 1000, timezone.utc).date()
            session.execute(cql, (tick.pair, day, tick.ts, tick.bid, tick.ask, tick.high, tick.low, tick.open,
                                  tick.source, tick.received_at))
            written += 1
        if written >= n_ticks or time.perf_counter() - t0 > cap_s:
            break
    return written, time.perf_counter() - t0


def sink_only(ctx: BenchContext, settings, files, n_ticks: int) -> tuple[int, float]:
    """The archive writer (`sinks.TickArchive`) alone, on the ticks already in a cached Spark DataFrame (no
    Kafka, no parse, no judgement): splits our path's time between the rest of the fast query and Cassandra."""
    from fxtrue import history
    from fxtrue.ticks import Tick
    from jobs.streaming.sinks import TickArchive

    rows = []
    for rec in history.merge(files):
        if isinstance(rec.item, Tick):
            t = rec.item
            rows.append((t.pair, t.ts, t.bid, t.ask, None, None, None, t.source, t.received_at))
            if len(rows) >= n_ticks:
                break
    spark = ctx.spark()
    archive = TickArchive(spark, settings)
    df = spark.createDataFrame(rows, "pair string, ts long, bid double, ask double, high double, "
                                           "low double, open double, source string, received_at long")
    df = df.repartition(2).cache()
    df.count()
    try:
        t0 = time.perf_counter()
        wrote = archive.write(df)
        return wrote, time.perf_counter() - t0
    finally:
        df.unpersist()


def run(ctx: BenchContext) -> BenchResult:
    require("producers.main", "run", "the producer loop (issue 3)")
    require("jobs.streaming.sinks", "CassandraSink", "the streaming job's Cassandra sink")
    from fxtrue import cassandra

    scale = 0.05 if ctx.quick else 0.2
    files, _ = simulate(ctx, 1, scale)
    s = ctx.isolated("arc")
    n, _ = replay_once(s, files)
    session = cassandra.connect(s, component=cassandra.ADMIN, keyspace=s.cassandra.keyspace, wait_s=30)
    ctx.on_cleanup(session.cluster.shutdown)
    ours, naive, sink = [], [], []
    cap = 8.0 if ctx.quick else 60.0
    repeats = 2 if ctx.quick else ctx.repeats
    for i in range(repeats):
        session.execute("TRUNCATE ticks_by_pair_day", timeout=120)
        wrote, secs = our_path(ctx, s, session, n, timeout_s=600)
        ours.append(wrote / secs)
        session.execute("TRUNCATE ticks_by_pair_day", timeout=120)
        wrote_n, secs_n = naive_path(s, session, n, cap)
        naive.append(wrote_n / secs_n)
        session.execute("TRUNCATE ticks_by_pair_day", timeout=120)
        wrote_s, secs_s = sink_only(ctx, s, files, n)
        sink.append(wrote_s / secs_s)
        ctx.progress(f"  repeat {i + 1}/{repeats}: ours {wrote / secs:,.0f} rows/s ({wrote} rows), "
                     f"naive {wrote_n / secs_n:,.0f} rows/s ({wrote_n} rows in {secs_n:.0f} s), "
                     f"sink alone {wrote_s / secs_s:,.0f} rows/s")
    res = BenchResult("archive", TITLE)
    res.figures = [
        Figure("streaming fast query -> Cassandra", "rows/s", ours,
               note=f"running query: rows after its first micro-batch / the archive step's time in those batches "
                    f"(backlog read in ~{BATCHES} batches)"),
        Figure("naive consumer, sync INSERT per tick", "rows/s", naive, role="reference",
               note=f"confluent-kafka consumer loop, stops after all ticks or {cap:.0f} s"),
        Figure("archive writer alone", "rows/s", sink,
               note="sinks.TickArchive (the JVM writer) on the same ticks in a cached DataFrame (no Kafka, no "
                    "parse, no judgement): where our path's time goes"),
    ]
    res.add_ratio("streaming fast query -> Cassandra", "naive consumer, sync INSERT per tick", "speed-up over naive")
    res.params = {"ticks": n, "trigger_s": 1.0, "cassandra_concurrency": 64, "table": "ticks_by_pair_day (TTL)",
                  "writes": f"single-partition UNLOGGED batches of <= {s.cassandra.tick_batch_rows} rows, from the "
                            "executors' JVMs (Java driver)"}
    return res
