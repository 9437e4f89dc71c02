"""Transformations of the streaming job (DataFrame -> DataFrame), on top of the shared ones in fxtrue.frames
and fxtrue.detectors: the trends, the per-micro-batch partial aggregates the driver merges into the detectors'
windows and the trends' buckets, the judging of closed detector windows, and the early judging of running ones
(the fast path)."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from fxtrue.detectors import judge, pair_window_aggregates, statistics_from_aggregates
from fxtrue.detectors.statistics import AGG_COLUMNS, EARLY, floor_to_window, tick_statistics
from fxtrue.frames import mid, spread_bps
from fxtrue.settings import DetectorSettings
from jobs.streaming.state import TREND_SUMS  # the names TrendBuckets merges

TREND_COLUMNS = ("pair", "window_start", "window_end", "mean_bid", "mean_ask", "mean_mid", "tick_count",
                 "mean_spread_bps")


def trend_aggregates(ticks: DataFrame, cfg: DetectorSettings) -> DataFrame:
    """Sliding-window trends per pair (trend_window_seconds every trend_slide_seconds): mean bid, ask, mid,
    tick count, mean spread (bps of mid). The definition, on static ticks; the streaming job builds the same
    windows from per-bucket sums (`batch_parts`, state.TrendBuckets), tested equal."""
    return (ticks.groupBy(F.window("ts", f"{cfg.trend_window_seconds} seconds",
                                   f"{cfg.trend_slide_seconds} seconds").alias("w"), "pair")
                 .agg(F.avg("bid").alias("mean_bid"), F.avg("ask").alias("mean_ask"),
                      F.avg(mid(F.col("bid"), F.col("ask"))).alias("mean_mid"),
                      F.count(F.lit(1)).alias("tick_count"),
                      F.avg(spread_bps(F.col("bid"), F.col("ask"))).alias("mean_spread_bps"))
                 .select("pair", F.col("w.start").alias("window_start"), F.col("w.end").alias("window_end"),
                         *TREND_COLUMNS[3:]))


def carry_frame(spark, carry: dict[str, int]) -> DataFrame:
    """{pair: last tick epoch ms} -> (pair, last_ts) for statistics_from_aggregates."""
    return (spark.createDataFrame(sorted(carry.items()), "pair string, last_ms long")
                 .select("pair", F.timestamp_millis("last_ms").alias("last_ts")))


def alerts_of_closed_windows(aggs: DataFrame, carry: DataFrame | None, thresholds_df: DataFrame,
                             version: str | None, cfg: DetectorSettings) -> DataFrame:
    """Closed pair windows of one micro-batch (static) -> alerts: the same statistics and judge as
    `fxtrue detect` and the batch layer."""
    return judge(statistics_from_aggregates(aggs, cfg, carry=carry), thresholds_df, version, cfg)


AGG_MS = ("window_start", "window_end", "first_ts", "last_ts", "last_received_at")  # as epoch ms on the driver


def batch_window_parts(ticks: DataFrame, cfg: DetectorSettings) -> DataFrame:
    """Valid ticks of one micro-batch (static, with kafka_ts) -> per (pair, window) partial aggregates
    (AGG_COLUMNS, times as epoch ms) plus `arrival_ms` (newest broker timestamp) and `sources`: what the fast
    path merges into its running windows and what the processing-time stale_feed check learns arrivals from."""
    aggs = pair_window_aggregates(ticks, cfg, extra={"arrival_ms": F.max(F.unix_millis("kafka_ts")),
                                                     "sources": F.collect_set("source")})
    return aggs.select(*[F.unix_millis(c).alias(c) if c in AGG_MS else F.col(c) for c in AGG_COLUMNS],
                       "arrival_ms", "sources")


def trend_bucket_seconds(cfg: DetectorSettings) -> int:
    """The trends' bucket: the largest length that tiles both the slide and the window (their gcd)."""
    from math import gcd

    return gcd(int(cfg.trend_window_seconds), int(cfg.trend_slide_seconds))


def batch_trend_parts(ticks: DataFrame, cfg: DetectorSettings) -> DataFrame:
    """Valid ticks of one micro-batch (static) -> per (pair, trend bucket) sums (`trend_bucket` epoch ms,
    TREND_SUMS): every sliding trend window is a run of whole buckets, so its means are sums of sums."""
    bucket = floor_to_window(F.col("ts"), trend_bucket_seconds(cfg))
    return (ticks.where(F.col("ts").isNotNull() & F.col("pair").isNotNull())
                 .groupBy("pair", F.unix_millis(bucket).alias("trend_bucket"))
                 .agg(*[agg.alias(name) for name, agg in zip(TREND_SUMS, (
                     F.count(F.lit(1)), F.sum("bid"), F.sum("ask"), F.sum(mid(F.col("bid"), F.col("ask"))),
                     F.sum(spread_bps(F.col("bid"), F.col("ask")))), strict=True)]))


def batch_parts(ticks: DataFrame, cfg: DetectorSettings) -> DataFrame:
    """Both partial aggregates of one micro-batch in one Spark job: the detector windows'
    (`batch_window_parts`, rows with `window_start`) and the trend buckets' (`batch_trend_parts`, rows with
    `trend_bucket`), as one union the driver splits."""
    return batch_window_parts(ticks, cfg).unionByName(batch_trend_parts(ticks, cfg), allowMissingColumns=True)


def aggregates_frame(spark, rows: list[dict]) -> DataFrame:
    """Running window aggregates held on the driver (AGG_COLUMNS, times as epoch ms) -> a static DataFrame of
    AGG_COLUMNS with timestamps, as statistics_from_aggregates takes them."""
    ddl = ("pair string, window_start long, window_end long, tick_count long, mid_min double, mid_max double, "
           "mid_mean double, spread_max_bps double, crossed_count long, first_ts long, last_ts long, "
           "last_received_at long")
    df = spark.createDataFrame([tuple(r.get(c) for c in AGG_COLUMNS) for r in rows], ddl)
    return df.select(*[F.timestamp_millis(c).alias(c) if c in AGG_MS else F.col(c) for c in AGG_COLUMNS])


def alerts_of_running_windows(aggs: DataFrame, thresholds_df: DataFrame, version: str | None,
                              cfg: DetectorSettings) -> DataFrame:
    """Running (open) pair windows -> early alerts: the statistics that only grow with the window
    (statistics.EARLY) against their upper bounds, and crossed quotes. Same statistics, judge and alert ids
    as at close, so the closed window's judgement upserts the same rows."""
    return judge(statistics_from_aggregates(aggs, cfg, detectors=EARLY), thresholds_df, version, cfg, closed=False)


def alerts_of_ticks(ticks: DataFrame, thresholds_df: DataFrame, version: str | None,
                    cfg: DetectorSettings) -> DataFrame:
    """Valid ticks (a stream) -> alerts judged on each tick alone (statistics.TICK: spread above its upper
    bound, crossed quotes), stateless so that Spark's real-time mode can run it: the same judge and alert ids as
    the running and closed windows, detected_at = the wall clock when the row is judged."""
    wall_clock = F.timestamp_millis(F.expr("reflect('java.lang.System', 'currentTimeMillis')").cast("long"))
    return judge(tick_statistics(ticks, cfg), thresholds_df, version, cfg, closed=False, detected_at=wall_clock)
