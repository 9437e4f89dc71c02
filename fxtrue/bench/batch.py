"""batch: the statistics job (jobs/batch/stats.py compute) over N simulated days in the tick lake, ticks/s,
beside DuckDB doing the same aggregation on the same Parquet (the reference function of the batch issue)."""

from __future__ import annotations

import time
from datetime import date, timedelta

from fxtrue.bench.harness import BenchContext, BenchResult, Figure, require
from fxtrue.bench.ingest import simulate

TITLE = "stats over N simulated days (ticks/s) vs DuckDB on the same Parquet"

def run(ctx: BenchContext) -> BenchResult:
    compute = require("jobs.batch.stats", "compute", "the batch statistics job (issue 6)")
    backfill = require("jobs.batch.backfill", "backfill", "the backfill job (issue 3)")
    tick_rate_stats = require("jobs.batch.duckdb_reference", "tick_rate_stats",
                              "the batch issue's DuckDB reference aggregation")
    from jobs.batch.duckdb_reference import parquet_glob
    from fxtrue import lake

    days, scale = (1, 0.05) if ctx.quick else (7, 0.5)
    start = date(2026, 11, 2)  # a Monday: every simulated day is a market day
    files, _ = simulate(ctx, days, scale, start=start)
    s = ctx.isolated("bat", init=False)
    spark = ctx.spark()
    filled = backfill(spark, s, [str(f) for f in files], progress=lambda m: None)
    lake_dir = lake.history_path(s)
    end = start + timedelta(days=days - 1)
    ours, ref = [], []
    repeats = 2 if ctx.quick else ctx.repeats
    for i in range(repeats):
        t0 = time.perf_counter()
        result = compute(spark, s, start, end)
        ours.append(result.tick_count / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        tick_rate_stats(parquet_glob(s.lake_path), start, end, s.truefx.pairs, s.detectors.window_seconds)
        ref.append(filled.ticks / (time.perf_counter() - t0))
        ctx.progress(f"  repeat {i + 1}/{repeats}: spark stats {ours[-1]:,.0f} ticks/s, duckdb {ref[-1]:,.0f} ticks/s")
    res = BenchResult("batch", TITLE)
    res.figures = [Figure("Spark stats job", "ticks/s", ours, note="jobs.batch.stats.compute, lake -> bucket statistics"),
                   Figure("DuckDB same aggregation", "ticks/s", ref, role="reference",
                          note="jobs.batch.duckdb_reference.tick_rate_stats on the same Parquet files")]
    res.add_ratio("Spark stats job", "DuckDB same aggregation", "Spark local[2] throughput relative to DuckDB")
    res.notes.append("the DuckDB reference computes the tick_rate bucket statistics only (the widest "
                     "aggregation: every open window of every pair, empty ones as 0); the Spark job computes "
                     "all five detectors' statistics, so the ratio understates Spark on equal work")
    res.params = {"days": days, "ticks": filled.ticks, "lake": lake_dir, "spark_master": s.spark.master}
    return res
