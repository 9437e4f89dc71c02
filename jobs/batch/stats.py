"""Batch statistics: tick history (lake or TrueFX files) -> per detector, subject and UTC hour bucket, the window
count, mean, std, median, MAD, p99, p99.9 and max of the detector's window statistic -> a thresholds file.

sources (read_lake / read_history) -> fxtrue.detectors.window_statistics (the streaming job's transformations)
-> only_open_windows (weekend closure out) -> bucket_statistics (fxtrue.baselines.summarize per bucket; tick_rate:
every open window of every pair counts, empty ones as 0) -> fxtrue.baselines rules -> Thresholds file.

Submitted by path (Airflow, spark-submit) or run in-process by `fxtrue stats`:
    python jobs/batch/stats.py --from 2026-11-02 --to 2026-11-08 --out thresholds.json [--source PATH ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Callable, Mapping, Sequence

import numpy as np

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fxtrue.baselines import TICK_RATE, BucketStats, expected_keys, summarize_subject
from fxtrue.detectors.statistics import pair_window_aggregates, statistics_from_aggregates, utc_hour
from fxtrue.market_calendar import market_open
from fxtrue.settings import Settings

STATS_FIELDS = ("detector", "subject", "hour", "n", "mean", "std", "median", "mad", "p99", "p999", "max")
_TWO_DAYS_S = 2 * 86400


# -- sources ------------------------------------------------------------------------------------------

def read_ticks(spark: SparkSession, settings: Settings, date_from: date, date_to: date,
               source: Sequence[str] | None = None) -> DataFrame:
    """Ticks (frames.TICK_SCHEMA) of UTC dates [date_from, date_to]: from the lake (source None or ["lake"])
    or from TrueFX history files/folders."""
    if not source or list(source) == ["lake"]:
        from fxtrue.lake import read_lake

        return read_lake(spark, settings, date_from, date_to)
    from fxtrue.history import read_history

    ticks, _rejects = read_history(spark, list(source))
    return ticks.transform(within_dates(date_from, date_to))


def within_dates(date_from: date, date_to: date) -> Callable[[DataFrame], DataFrame]:
    lo, hi = range_bounds(date_from, date_to)

    def apply(df: DataFrame) -> DataFrame:
        return df.where((F.col("ts") >= F.lit(lo)) & (F.col("ts") < F.lit(hi)))
    return apply


def range_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """[from 00:00, to + 1 day 00:00) in UTC, as naive datetimes (the Spark session is in UTC)."""
    lo = datetime(date_from.year, date_from.month, date_from.day)
    hi = datetime(date_to.year, date_to.month, date_to.day) + timedelta(days=1)
    return lo, hi


# -- transformations -----------------------------------------------------------------------------------

def only_open_windows(stats: DataFrame) -> DataFrame:
    """Drop windows touching the weekend closure. Both ends open and shorter than the closure (48 h) means
    no closed time inside; a stale_feed row spanning a weekend is dropped by the length test."""
    end_minus = F.timestamp_millis(F.unix_millis("window_end") - F.lit(1))
    length_s = F.unix_seconds("window_end") - F.unix_seconds("window_start")
    return stats.where(market_open(F.col("window_start")) & market_open(end_minus)
                       & (length_s < F.lit(_TWO_DAYS_S)))


def open_windows_by_hour(spark: SparkSession, date_from: date, date_to: date, window_seconds: int) -> dict[int, int]:
    """How many open W-second windows (the weekend closure out) each UTC hour of day holds over [from, to]: the
    count of tick_rate observations a pair's hour bucket has, windows without a tick included (as 0)."""
    lo, hi = range_bounds(date_from, date_to)
    lo_s = int(lo.replace(tzinfo=timezone.utc).timestamp())
    count = int((hi - lo).total_seconds()) // window_seconds
    starts = spark.range(count).select(
        F.timestamp_seconds(F.lit(lo_s) + F.col("id") * F.lit(window_seconds)).alias("window_start"))
    return {int(r["hour"]): int(r["count"]) for r in
            starts.where(market_open(F.col("window_start"))).groupBy(utc_hour(F.col("window_start")).alias("hour"))
                  .count().collect()}


BUCKET_SCHEMA = ("detector string, subject string, hour int, n long, mean double, std double, median double, "
                 "mad double, p99 double, p999 double, max double")


def bucket_statistics(stats: DataFrame, open_windows: Mapping[int, int] | None = None) -> DataFrame:
    """Window statistics -> per (detector, subject, hour), and per (detector, subject) over all hours (hour =
    ALL_HOURS): n, mean, std (sample), median, MAD, p99, p999, max, exactly as fxtrue.baselines.summarize
    defines them. One shuffle: each (detector, subject)'s windows (a few tens of thousands per week of history)
    go to one Python worker as Arrow columns, where numpy sorts each bucket once.

    `open_windows` (open_windows_by_hour): tick_rate's buckets count every open window of their hour, those
    without a tick as 0 (an empty window in open hours is a real observation of the tick rate; leaving it out
    biases the mean upwards), without a row per empty window."""
    fill = dict(open_windows or {})

    def summarize_group(key, windows):  # (detector, subject), its windows as pandas -> its buckets as pandas
        import pandas as pd

        detector, subject = key
        rows = summarize_subject(detector, subject, windows["hour"].to_numpy(), windows["value"].to_numpy(),
                                 fill_to=fill if detector == TICK_RATE else None)
        return pd.DataFrame([dataclasses.astuple(r) for r in rows], columns=list(STATS_FIELDS))

    return (stats.select("detector", "subject", "hour", F.col("value").cast("double").alias("value"))
                 .groupBy("detector", "subject")
                 .applyInPandas(summarize_group, BUCKET_SCHEMA))


def bucket_stats_rows(df: DataFrame) -> list[BucketStats]:
    nan = float("nan")

    def num(x):
        return nan if x is None else float(x)

    return [BucketStats(r["detector"], r["subject"], int(r["hour"]), int(r["n"]), num(r["mean"]), num(r["std"]),
                        num(r["median"]), num(r["mad"]), num(r["p99"]), num(r["p999"]), num(r["max"]))
            for r in df.collect()]


def batch_window_statistics(ticks: DataFrame, settings: Settings, aggregates: DataFrame | None = None) -> DataFrame:
    """Ticks -> the window statistics the baselines learn from: the detectors' own statistics (window_statistics
    = pair_window_aggregates -> statistics_from_aggregates; pass `aggregates` to reuse a cached
    pair_window_aggregates(ticks)), open windows only. Windows without a tick have no row: `all_buckets`
    counts them in tick_rate's buckets."""
    aggs = aggregates if aggregates is not None else pair_window_aggregates(ticks, settings.detectors)
    return statistics_from_aggregates(aggs, settings.detectors).transform(only_open_windows)


def all_buckets(windows: DataFrame, settings: Settings, date_from: date, date_to: date) -> list[BucketStats]:
    """Every bucket of the window statistics of [from, to] (batch_window_statistics), tick_rate's with the range's
    windows without a tick as 0; a configured pair with no tick at all gets tick_rate buckets of zeros only."""
    open_windows = open_windows_by_hour(windows.sparkSession, date_from, date_to,
                                        settings.detectors.window_seconds)
    rows = bucket_stats_rows(bucket_statistics(windows, open_windows))
    quoted = {b.subject for b in rows if b.detector == TICK_RATE}
    for pair in settings.truefx.pairs:
        if pair not in quoted:
            rows += summarize_subject(TICK_RATE, pair, np.zeros(0, np.int64), np.zeros(0), fill_to=open_windows)
    return rows


def expected(settings: Settings) -> set[tuple[str, str, int]]:
    """The (detector, subject, hour) keys a complete thresholds set has for the configured pairs."""
    from fxtrue.detectors.triangles import triangles

    pairs = settings.truefx.pairs
    return expected_keys(pairs, [t.subject for t in triangles(pairs)])


# -- the job -------------------------------------------------------------------------------------------

@dataclass
class StatsResult:
    stats: list[BucketStats]
    tick_count: int
    source_kind: str
    seconds: float


def source_counts(ticks: DataFrame) -> dict[str | None, int]:
    """Ticks per `source` column value: one pass gives both the tick count and the capture kind."""
    return {r["source"]: int(r["count"]) for r in ticks.groupBy("source").count().collect()}


def source_kind_of(counts: dict[str | None, int], source: Sequence[str] | None) -> str:
    """What capture the ticks come from (fxtrue.thresholds.SOURCE_KINDS), from their `source_counts`: mostly
    simulator ticks -> "sim", ticks polled from the live TrueFX API -> "polled", history files (every tick) or
    nothing -> "history"."""
    if (source and list(source) != ["lake"]) or not counts:
        return "history"
    most = max(counts, key=lambda k: (counts[k], str(k)))
    return {"sim": "sim", "truefx": "polled"}.get(most, "history")


def compute(spark: SparkSession, settings: Settings, date_from: date, date_to: date,
            source: Sequence[str] | None = None, ticks: DataFrame | None = None,
            progress: Callable[[str], None] = lambda msg: None) -> StatsResult:
    """Read the ticks (or take `ticks`) and compute every bucket's statistics."""
    import time

    began = time.monotonic()
    if ticks is None:
        ticks = read_ticks(spark, settings, date_from, date_to, source)
    counts = source_counts(ticks)  # one scan for the count and the kind
    tick_count = sum(counts.values())
    progress(f"{tick_count:,} ticks in {date_from} .. {date_to}")
    kind = source_kind_of(counts, source)
    # Cached: the five detectors each read the pair-window aggregates.
    aggs = pair_window_aggregates(ticks, settings.detectors).cache()
    try:
        rows = all_buckets(batch_window_statistics(ticks, settings, aggregates=aggs), settings, date_from, date_to)
    finally:
        aggs.unpersist()
    progress(f"{len(rows):,} buckets (detector x subject x hour) in {time.monotonic() - began:.1f} s")
    return StatsResult(rows, tick_count, kind, time.monotonic() - began)


def code_version() -> str:
    """fxtrue's version plus the git commit of the checkout, when there is one."""
    import subprocess

    from fxtrue import __version__
    from fxtrue.settings import PROJECT_ROOT

    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                             text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{__version__}+{sha}" if sha else __version__


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="batch statistics over the tick history -> a thresholds file")
    p.add_argument("--from", dest="date_from", type=date.fromisoformat, required=True)
    p.add_argument("--to", dest="date_to", type=date.fromisoformat, required=True)
    p.add_argument("--source", nargs="+", default=["lake"], help="'lake' or TrueFX files/folders")
    p.add_argument("--out", required=True, help="thresholds file to write (JSON)")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    from fxtrue import spark as fx_spark
    from fxtrue.baselines import build_thresholds
    from fxtrue.settings import get_settings

    args = parse_args(argv)
    settings = get_settings()
    spark = fx_spark.session(settings, "fxtrue-batch-stats", with_kafka=False)
    result = compute(spark, settings, args.date_from, args.date_to, args.source, progress=print)
    thresholds = build_thresholds(result.stats, settings.detectors, source_kind=result.source_kind,
                                  source_from=args.date_from, source_to=args.date_to,
                                  tick_count=result.tick_count, code_version=code_version(),
                                  expected=expected(settings))
    print(f"wrote {thresholds.to_file(args.out)} ({len(thresholds.rows)} rows, version {thresholds.version})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
