"""Per-window detector statistics: the ONE definition shared by the streaming job, the batch stats job and
`fxtrue detect` (README "How detection works").

Output of `window_statistics` (STATS_COLUMNS): one row per (detector, subject, window) with
  detector, subject, pair, window_start, window_end, hour (UTC hour of window_start), value (the statistic),
  tick_count, last_received_at (max received_at of the window's ticks, for alert latency), crossed_count.

Statistics (W = settings.detectors.window_seconds, tumbling windows aligned on the epoch):
  tick_rate   ticks of the pair in the window.
  price_jump  (max(mid) - min(mid)) / min(mid) in bps: the largest mid move inside the window. Chosen over
              "largest move between consecutive ticks" because it needs no ordering of ticks (lag() is not
              available in Structured Streaming) and an off-market spike that reverts still shows in full.
              A one-tick window gives 0. Relative to the minimum (not the mean) so that the statistic never
              falls as ticks are added to a window: a running window can then fire early (see EARLY).
  spread      max spread in bps of mid; crossed_count = ticks with bid > ask (spread < 0) in the window.
  cross_rate  per triangle (fxtrue.detectors.triangles): |avg mid of the quoted cross / implied mid of the two
              legs' avg mids - 1| in bps, for windows where all three pairs quoted. subject e.g.
              "EUR/USD*USD/JPY~EUR/JPY", pair = the quoted cross.
  stale_feed  event-time silence, from window aggregates: for each window of a pair with ticks, the gap in
              seconds from the pair's previous tick (last tick of its previous non-empty window) to its first
              tick in this window. The row's window starts at the first window after the previous tick (the
              first silent window) and ends with this window, so a stall gives one row whose window_start is
              within one window of the stall's start. Gaps inside one window (< W) are not seen; they never
              matter since the stale threshold is floored at settings.detectors.stale_after_seconds >= W.
              The streaming job adds processing-time staleness (no data at all) under the same key.

Early firing (EARLY): tick_rate's flood side, price_jump and spread only grow as ticks join a window
(counts, max - min over min, max, crossed count), so a running window whose statistic is above its threshold
will still be above it when the window closes: the streaming job judges these on every micro-batch of a
window's running aggregates (`merge_aggregates`), long before the watermark closes the window, and the
judgement at close upserts the same alert (same alert id). The other statistics need the closed window.

Per-tick judgement (TICK, `tick_statistics`): spread's window statistic is a maximum and its crossed count a
count of ticks, so one tick whose spread is above the threshold (or that is crossed) settles its window's
verdict on its own: the streaming job's tick query judges every tick as it arrives, with the same judge and
alert id, and the window's later judgements upsert the same alert. (price_jump needs the window's other ticks,
tick_rate their count: they stay with the running windows.)

The computation is split in two: `pair_window_aggregates` (one groupBy(window, pair); the streaming job runs it
on each micro-batch and merges the partial aggregates per window on the driver) and
`statistics_from_aggregates` (pure, static: runs on the aggregates of a finished batch, or on the windows one
micro-batch closed, where every pair's row for a closed window is present together, since the watermark is
global). `window_statistics` chains both for static DataFrames.
"""

from __future__ import annotations

from functools import reduce
from typing import TYPE_CHECKING, Mapping

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from fxtrue.detectors.triangles import triangles
from fxtrue.frames import mid, spread_bps

if TYPE_CHECKING:
    from fxtrue.settings import DetectorSettings

TICK_RATE, PRICE_JUMP, SPREAD, STALE_FEED, CROSS_RATE = (
    "tick_rate", "price_jump", "spread", "stale_feed", "cross_rate")
DETECTORS = (TICK_RATE, PRICE_JUMP, SPREAD, STALE_FEED, CROSS_RATE)
EARLY = (TICK_RATE, PRICE_JUMP, SPREAD)  # statistics that never fall as a window gains ticks
TICK = (SPREAD,)  # statistics whose window verdict a single tick can settle

STATS_COLUMNS = ("detector", "subject", "pair", "window_start", "window_end", "hour", "value", "tick_count",
                 "last_received_at", "crossed_count")
AGG_COLUMNS = ("pair", "window_start", "window_end", "tick_count", "mid_min", "mid_max", "mid_mean",
               "spread_max_bps", "crossed_count", "first_ts", "last_ts", "last_received_at")


def utc_hour(ts: Column) -> Column:
    """UTC hour of day (0-23) of a timestamp, independent of the session time zone."""
    return (F.floor(F.unix_seconds(ts) / 3600) % 24).cast("int")


def floor_to_window(ts: Column, window_seconds: int) -> Column:
    """Start of the epoch-aligned W-second window holding ts (as Spark's window() aligns them)."""
    ms = F.unix_millis(ts)
    w = window_seconds * 1000
    return F.timestamp_millis(ms - F.pmod(ms, F.lit(w)))


def pair_window_aggregates(ticks: DataFrame, cfg: "DetectorSettings",
                           extra: Mapping[str, Column] | None = None) -> DataFrame:
    """Ticks (TICK_SCHEMA) -> one row per (pair, W-second window): AGG_COLUMNS, then `extra` (name ->
    aggregate expression).

    The only stateful step of the detectors; valid on a stream (with a watermark on ts) and on a batch.
    Rows with a null ts or pair are ignored; null prices are ignored by the price aggregates (still counted).
    """
    m = mid(F.col("bid"), F.col("ask"))
    s = spread_bps(F.col("bid"), F.col("ask"))
    return (ticks.where(F.col("ts").isNotNull() & F.col("pair").isNotNull())
                 .groupBy(F.window("ts", f"{cfg.window_seconds} seconds").alias("w"), "pair")
                 .agg(F.count(F.lit(1)).alias("tick_count"),
                      F.min(m).alias("mid_min"), F.max(m).alias("mid_max"), F.avg(m).alias("mid_mean"),
                      F.max(s).alias("spread_max_bps"),
                      F.sum(F.when(F.col("bid") > F.col("ask"), 1).otherwise(0)).cast("long").alias("crossed_count"),
                      F.min("ts").alias("first_ts"), F.max("ts").alias("last_ts"),
                      F.max("received_at").alias("last_received_at"),
                      *[agg.alias(name) for name, agg in (extra or {}).items()])
                 .select("pair", F.col("w.start").alias("window_start"), F.col("w.end").alias("window_end"),
                         *AGG_COLUMNS[3:], *(extra or {})))


def _stat(aggs: DataFrame, detector: str, value: Column, crossed: Column | None = None) -> DataFrame:
    return aggs.select(F.lit(detector).alias("detector"), F.col("pair").alias("subject"), "pair",
                       "window_start", "window_end", utc_hour(F.col("window_start")).alias("hour"),
                       value.cast("double").alias("value"), F.col("tick_count").cast("long").alias("tick_count"),
                       "last_received_at",
                       (crossed if crossed is not None else F.lit(0)).cast("long").alias("crossed_count"))


def tick_rate_statistics(aggs: DataFrame) -> DataFrame:
    return _stat(aggs, TICK_RATE, F.col("tick_count"))


def price_jump_statistics(aggs: DataFrame) -> DataFrame:
    return _stat(aggs, PRICE_JUMP, (F.col("mid_max") - F.col("mid_min")) / F.col("mid_min") * F.lit(10000.0))


def spread_statistics(aggs: DataFrame) -> DataFrame:
    return _stat(aggs, SPREAD, F.col("spread_max_bps"), F.coalesce(F.col("crossed_count"), F.lit(0)))


def tick_statistics(ticks: DataFrame, cfg: "DetectorSettings") -> DataFrame:
    """Ticks (TICK_SCHEMA; a stream or a static frame, no state) -> one spread statistics row per tick, as the
    one-tick aggregate of its window (STATS_COLUMNS): judged like a running window, a tick above the threshold
    gives the alert its closed window will give (same detector, subject, window_start)."""
    start = floor_to_window(F.col("ts"), cfg.window_seconds)
    aggs = ticks.where(F.col("ts").isNotNull() & F.col("pair").isNotNull()).select(
        "pair", start.alias("window_start"),
        F.timestamp_millis(F.unix_millis(start) + F.lit(cfg.window_seconds * 1000)).alias("window_end"),
        F.lit(1).cast("long").alias("tick_count"),
        spread_bps(F.col("bid"), F.col("ask")).alias("spread_max_bps"),
        F.when(F.col("bid") > F.col("ask"), 1).otherwise(0).cast("long").alias("crossed_count"),
        F.col("received_at").alias("last_received_at"))
    return spread_statistics(aggs)


def stale_feed_statistics(aggs: DataFrame, cfg: "DetectorSettings", carry: DataFrame | None = None) -> DataFrame:
    """Event-time gaps between a pair's consecutive non-empty windows (static DataFrames only: uses lag()).

    `carry` (pair, last_ts): each pair's last tick before these aggregates (the streaming job passes what
    earlier micro-batches saw), so a gap that spans micro-batches is measured as in one batch run.
    """
    rows = aggs.select("pair", "window_start", "window_end", "tick_count", "first_ts", "last_ts",
                       "last_received_at", F.lit(False).alias("carried"))
    if carry is not None:
        rows = rows.unionByName(carry.select(
            "pair", F.lit(None).cast("timestamp").alias("window_start"),
            F.lit(None).cast("timestamp").alias("window_end"), F.lit(0).cast("long").alias("tick_count"),
            F.col("last_ts").alias("first_ts"), "last_ts", F.lit(None).cast("timestamp").alias("last_received_at"),
            F.lit(True).alias("carried")))
    order = Window.partitionBy("pair").orderBy(F.col("first_ts").asc(), F.col("carried").desc())
    with_prev = rows.withColumn("prev_last_ts", F.lag("last_ts").over(order)).where(
        ~F.col("carried") & F.col("prev_last_ts").isNotNull())
    gap_s = (F.unix_millis(F.col("first_ts")) - F.unix_millis(F.col("prev_last_ts"))) / F.lit(1000.0)
    silent_start = F.timestamp_millis(F.unix_millis(floor_to_window(F.col("prev_last_ts"), cfg.window_seconds))
                                      + F.lit(cfg.window_seconds * 1000))
    # A late/out-of-order window can make prev_last_ts later than first_ts: no silence there.
    start = F.least(silent_start, F.col("window_start"))
    return (with_prev.withColumn("window_start", start)
                     .withColumn("gap_s", F.greatest(gap_s, F.lit(0.0)))
                     .transform(lambda df: _stat(df, STALE_FEED, F.col("gap_s"))))


def cross_rate_statistics(aggs: DataFrame) -> DataFrame:
    """|quoted avg mid / implied avg mid - 1| in bps, per triangle and window (static or micro-batch)."""
    spark = aggs.sparkSession
    tri = spark.createDataFrame(
        [(t.subject, t.quoted, t.leg1, t.exp1, t.leg2, t.exp2) for t in triangles()],
        "subject string, quoted string, leg1 string, exp1 int, leg2 string, exp2 int")
    q = aggs.select(F.col("pair").alias("quoted"), "window_start", "window_end", F.col("mid_mean").alias("mq"),
                    F.col("tick_count").alias("nq"), F.col("last_received_at").alias("rq"))
    l1 = aggs.select(F.col("pair").alias("leg1"), "window_start", F.col("mid_mean").alias("m1"),
                     F.col("tick_count").alias("n1"), F.col("last_received_at").alias("r1"))
    l2 = aggs.select(F.col("pair").alias("leg2"), "window_start", F.col("mid_mean").alias("m2"),
                     F.col("tick_count").alias("n2"), F.col("last_received_at").alias("r2"))
    joined = (q.join(F.broadcast(tri), "quoted")
               .join(l1, ["leg1", "window_start"])
               .join(l2, ["leg2", "window_start"]))
    implied = F.pow(F.col("m1"), F.col("exp1")) * F.pow(F.col("m2"), F.col("exp2"))
    dev = F.abs(F.col("mq") / implied - F.lit(1.0)) * F.lit(10000.0)
    return joined.select(
        F.lit(CROSS_RATE).alias("detector"), "subject", F.col("quoted").alias("pair"), "window_start",
        "window_end", utc_hour(F.col("window_start")).alias("hour"), dev.cast("double").alias("value"),
        (F.col("nq") + F.col("n1") + F.col("n2")).cast("long").alias("tick_count"),
        F.greatest("rq", "r1", "r2").alias("last_received_at"), F.lit(0).cast("long").alias("crossed_count"))


def statistics_from_aggregates(aggs: DataFrame, cfg: "DetectorSettings", carry: DataFrame | None = None,
                               detectors: tuple[str, ...] = DETECTORS) -> DataFrame:
    """Pair-window aggregates (static) -> detector statistics (STATS_COLUMNS), all detectors unioned."""
    parts = {
        TICK_RATE: lambda: tick_rate_statistics(aggs),
        PRICE_JUMP: lambda: price_jump_statistics(aggs),
        SPREAD: lambda: spread_statistics(aggs),
        STALE_FEED: lambda: stale_feed_statistics(aggs, cfg, carry),
        CROSS_RATE: lambda: cross_rate_statistics(aggs),
    }
    frames = [parts[d]() for d in detectors]
    return reduce(DataFrame.unionByName, frames).select(*STATS_COLUMNS)


def window_statistics(ticks: DataFrame, cfg: "DetectorSettings",
                      detectors: tuple[str, ...] = DETECTORS) -> DataFrame:
    """Ticks (TICK_SCHEMA, static) -> one row per (detector, subject, window): STATS_COLUMNS.

    For a stream, apply `pair_window_aggregates` in the query and `statistics_from_aggregates` to each
    micro-batch (foreachBatch), as jobs/streaming does: the result is the same.
    """
    if ticks.isStreaming:
        raise ValueError("window_statistics needs a static DataFrame; on a stream use pair_window_aggregates "
                         "in the query and statistics_from_aggregates inside foreachBatch")
    aggs = pair_window_aggregates(ticks, cfg)
    return statistics_from_aggregates(aggs, cfg, detectors=detectors)
