"""dq: the ticks quality suites (fxtrue.dq.checks.check_ticks: every row of the GX ticks suite on Spark, then
the daily-completeness suite) over simulated days in the tick lake, rows/s, beside one Spark aggregation over
the same rows that counts what the row suite checks (nulls, non-positive prices, crossed quotes, unknown
pairs, times out of range, implausible price levels, duplicated (pair, ts)) in a single pass: how fast the
engine itself answers the same questions."""

from __future__ import annotations

import time
from datetime import date, timedelta

from fxtrue.bench.harness import BenchContext, BenchResult, Figure, require
from fxtrue.bench.ingest import simulate

TITLE = "ticks quality suites (rows/s) vs one Spark aggregation counting the same conditions"


def one_pass_counts(frame, settings, date_from: date, date_to: date) -> dict:
    """The reference: the row suite's conditions counted by one aggregation over suites.ticks_frame(...)."""
    from pyspark.sql import functions as F

    from fxtrue.dq.suites import REFERENCE_MID, day_span

    band = settings.dq.price_band_factor
    lo, hi = day_span(date_from, date_to)
    c = F.col
    return frame.agg(
        F.count(F.lit(1)).alias("rows"),
        *[F.count_if(c(x).isNull()).alias(f"{x}_null") for x in ("pair", "ts", "bid", "ask", "source")],
        F.count_if(c("bid") <= 0).alias("bid_not_positive"), F.count_if(c("ask") <= 0).alias("ask_not_positive"),
        F.count_if(c("ask") < c("bid")).alias("crossed"),
        F.count_if(~c("pair").isin(list(REFERENCE_MID))).alias("unknown_pair"),
        F.count_if((c("ts") < F.lit(lo)) | (c("ts") >= F.lit(hi))).alias("ts_out_of_range"),
        F.count_if((c("price_level") < 1 / band) | (c("price_level") > band)).alias("implausible_level"),
        F.count_distinct("pair", "ts").alias("distinct_pair_ts"),
    ).first().asDict()


def run(ctx: BenchContext) -> BenchResult:
    backfill = require("jobs.batch.backfill", "backfill", "the backfill job")
    check_ticks = require("fxtrue.dq.checks", "check_ticks", "the ticks quality suites")
    from fxtrue import lake
    from fxtrue.dq import suites
    from fxtrue.dq.runner import Runner

    days, scale = (1, 0.5) if ctx.quick else (7, 0.5)
    start = date(2026, 11, 2)  # a Monday: every simulated day is a market day
    end = start + timedelta(days=days - 1)
    files, _ = simulate(ctx, days, scale, start=start)
    s = ctx.isolated("dq", init=False)
    spark = ctx.spark()
    n = backfill(spark, s, [str(f) for f in files], progress=lambda m: None).ticks
    runner = Runner(s)
    ours, ref = [], []
    repeats = 2 if ctx.quick else ctx.repeats
    for i in range(repeats):
        t0 = time.perf_counter()
        results = check_ticks(runner, lake.read_lake(spark, s, start, end), s, start, end)
        ours.append(n / (time.perf_counter() - t0))
        if not all(r.success for r in results):
            raise RuntimeError(f"the ticks suites failed on simulated data: {[r.failing for r in results]}")
        t0 = time.perf_counter()
        counts = one_pass_counts(suites.ticks_frame(lake.read_lake(spark, s, start, end)), s, start, end)
        ref.append(counts["rows"] / (time.perf_counter() - t0))
        ctx.progress(f"  repeat {i + 1}/{repeats}: ticks suites {ours[-1]:,.0f} rows/s, "
                     f"one Spark aggregation {ref[-1]:,.0f} rows/s")
    res = BenchResult("dq", TITLE)
    res.figures = [
        Figure("ticks suites (GX on Spark)", "rows/s", ours,
               note="fxtrue.dq.checks.check_ticks over the lake: row suite (13 expectations) + daily completeness, "
                    "Data Docs updated"),
        Figure("one Spark aggregation, same conditions", "rows/s", ref, role="reference",
               note="the row suite's conditions counted in one pass over the same lake rows (no GX, no docs)"),
    ]
    res.add_ratio("ticks suites (GX on Spark)", "one Spark aggregation, same conditions",
                  "share of the engine's one-pass speed")
    res.params = {"days": days, "rate_scale": scale, "rows": n, "spark_master": s.spark.master}
    return res
