"""batch: the statistics job (jobs/batch/stats.py compute) over 7 and 30 simulated days in the tick lake (1 day
with --quick), ticks/s, each beside DuckDB doing the same aggregation on the same Parquet (the reference
function of the batch issue)."""

from __future__ import annotations

import time
from datetime import date, timedelta

from fxtrue.bench.harness import BenchContext, BenchResult, Figure, failure_reason, require
from fxtrue.bench.ingest import simulate

TITLE = "stats over 7 and 30 simulated days (ticks/s) vs DuckDB on the same Parquet"


def run(ctx: BenchContext) -> BenchResult:
    compute = require("jobs.batch.stats", "compute", "the batch statistics job (issue 6)")
    backfill = require("jobs.batch.backfill", "backfill", "the backfill job (issue 3)")
    tick_rate_stats = require("jobs.batch.duckdb_reference", "tick_rate_stats",
                              "the batch issue's DuckDB reference aggregation")
    from jobs.batch.duckdb_reference import parquet_glob
    from fxtrue import lake

    # (days, quote rate scale, repeats): the full run measures a week and a month at the same rate
    cases = [(1, 0.05, 2)] if ctx.quick else [(7, 0.5, ctx.repeats), (30, 0.5, min(3, ctx.repeats))]
    res = BenchResult("batch", TITLE)
    for days, scale, repeats in cases:
        span = f"{days} day{'s' if days > 1 else ''}"
        start = date(2026, 11, 2)  # a Monday
        files, _ = simulate(ctx, days, scale, start=start)
        s = ctx.isolated(f"bat{days}", init=False)
        spark = ctx.spark()
        ctx.progress(f"  {span}: backfilling {len(files)} simulated files into the bench's lake")
        filled = backfill(spark, s, [str(f) for f in files], progress=lambda m: None)
        end = start + timedelta(days=days - 1)
        ours, ref = [], []
        for i in range(repeats):
            t0 = time.perf_counter()
            try:
                result = compute(spark, s, start, end)
            except Exception as exc:  # noqa: BLE001 - a failed repeat is reported, the finished ones are kept
                if not ours:
                    raise
                res.notes.append(f"{span}: repeat {i + 1}/{repeats} failed ({failure_reason(exc)}); the "
                                 f"figures are those of the {len(ours)} repeat(s) before it")
                ctx.progress(f"  {span}, repeat {i + 1}/{repeats} failed: {failure_reason(exc)}")
                break
            ours.append(result.tick_count / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            tick_rate_stats(parquet_glob(s.lake_path), start, end, s.truefx.pairs, s.detectors.window_seconds)
            ref.append(filled.ticks / (time.perf_counter() - t0))
            ctx.progress(f"  {span}, repeat {i + 1}/{repeats}: spark stats {ours[-1]:,.0f} ticks/s, "
                         f"duckdb {ref[-1]:,.0f} ticks/s")
        name, ref_name = f"Spark stats job, {span}", f"DuckDB same aggregation, {span}"
        res.figures += [Figure(name, "ticks/s", ours, note="jobs.batch.stats.compute, lake -> bucket statistics"),
                        Figure(ref_name, "ticks/s", ref, role="reference",
                               note="jobs.batch.duckdb_reference.tick_rate_stats on the same Parquet files")]
        res.add_ratio(name, ref_name, "Spark local[2] throughput relative to DuckDB")
        res.params[span] = {"ticks": filled.ticks, "lake": lake.history_path(s), "repeats": repeats}
    res.notes.append("the DuckDB reference computes the tick_rate bucket statistics only (the widest "
                     "aggregation: every open window of every pair, empty ones as 0); the Spark job computes "
                     "all five detectors' statistics, so the ratio understates Spark on equal work")
    res.params["spark_master"] = ctx.settings.spark.master
    return res
