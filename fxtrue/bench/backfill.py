"""backfill: TrueFX history files into the tick lake (ticks/s) through `jobs.batch.backfill` (parse, validate,
de-duplicate on (pair, ts), Parquet partitioned by symbol/date, counted on the way), beside Spark's own CSV
reader writing the same files as Parquet with no validation and no de-duplication: the reading-and-writing
speed any Spark backfill is bounded by, measured in the same run on the same files."""

from __future__ import annotations

import shutil
import time

from fxtrue.bench.harness import BenchContext, BenchResult, Figure, require
from fxtrue.bench.ingest import simulate

TITLE = "history files into the tick lake (ticks/s) vs Spark's CSV reader -> Parquet"

REFERENCE_SCHEMA = "pair string, ts string, bid double, ask double"


def run(ctx: BenchContext) -> BenchResult:
    backfill = require("jobs.batch.backfill", "backfill", "the backfill job")
    from fxtrue import lake

    days, scale = (1, 0.5) if ctx.quick else (7, 1.0)
    files, _ = simulate(ctx, days, scale)
    paths = [str(f) for f in files]
    s = ctx.isolated("bfl", init=False)
    spark = ctx.spark()
    ref_out = str(ctx.workdir / "backfill-reference")
    ours, ref, rerun = [], [], []
    repeats = 2 if ctx.quick else ctx.repeats
    n = 0
    for i in range(repeats):
        shutil.rmtree(lake.history_path(s), ignore_errors=True)
        result = backfill(spark, s, paths, progress=lambda m: None)
        n = result.ticks
        ours.append(result.ticks_per_s)
        again = backfill(spark, s, paths, progress=lambda m: None)  # every partition exists: merged, not added
        rerun.append(again.ticks_per_s)
        t0 = time.perf_counter()
        spark.read.schema(REFERENCE_SCHEMA).csv(paths).write.mode("overwrite").parquet(ref_out)
        ref.append(n / (time.perf_counter() - t0))
        ctx.progress(f"  repeat {i + 1}/{repeats}: backfill {ours[-1]:,.0f} ticks/s, re-run {rerun[-1]:,.0f} "
                     f"ticks/s, Spark CSV -> Parquet {ref[-1]:,.0f} rows/s")
    res = BenchResult("backfill", TITLE)
    res.figures = [
        Figure("backfill into an empty lake", "ticks/s", ours,
               note="jobs.batch.backfill.backfill: parse + validate + de-duplicate + partitioned Parquet"),
        Figure("Spark CSV reader -> Parquet", "rows/s", ref, role="reference",
               note="the same files read with a fixed schema and written unpartitioned: no validation, "
                    "no de-duplication"),
        Figure("backfill re-run (every partition merged)", "ticks/s", rerun,
               note="the same files again: each touched partition is read back, merged and rewritten"),
    ]
    res.add_ratio("backfill into an empty lake", "Spark CSV reader -> Parquet", "share of Spark's reading speed")
    res.params = {"days": days, "rate_scale": scale, "files": len(files), "ticks": n,
                  "spark_master": s.spark.master}
    return res
