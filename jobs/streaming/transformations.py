"""Transformations of the streaming job (DataFrame -> DataFrame), on top of the shared ones in fxtrue.frames
and fxtrue.detectors: the event-time watermark, the trends, and the per-micro-batch judging of closed
detector windows."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from fxtrue.detectors import judge, statistics_from_aggregates
from fxtrue.frames import mid, spread_bps
from fxtrue.settings import DetectorSettings

TREND_COLUMNS = ("pair", "window_start", "window_end", "mean_bid", "mean_ask", "mean_mid", "tick_count",
                 "mean_spread_bps")


def with_watermark(seconds: int):
    def apply(ticks: DataFrame) -> DataFrame:
        return ticks.withWatermark("ts", f"{int(seconds)} seconds")
    return apply


def trend_aggregates(ticks: DataFrame, cfg: DetectorSettings) -> DataFrame:
    """Sliding-window trends per pair (trend_window_seconds every trend_slide_seconds): mean bid, ask, mid,
    tick count, mean spread (bps of mid)."""
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


def last_tick_per_pair(aggs: DataFrame) -> dict[str, int]:
    return {r["pair"]: int(r["ms"]) for r in
            aggs.groupBy("pair").agg(F.max(F.unix_millis("last_ts")).alias("ms")).collect()}
