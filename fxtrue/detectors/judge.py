"""Judging window statistics against a thresholds version: statistics -> alerts (README "How detection works").

Rules (thresholds rows keyed by detector, subject, UTC hour of window_start; see fxtrue.baselines):
  * every detector fires when value > threshold ("upper" rows); stale_feed's threshold is never below
    settings.detectors.stale_after_seconds;
  * tick_rate also fires on a drought: value < the "tick_rate_low" row's threshold when that bound is > 0
    (0 = the bucket is too quiet for a drought bound; a pair that falls silent is stale_feed's job, since an
    empty window has no statistics row in streaming);
  * a bucket with fewer than settings.detectors.min_samples windows (n) judges nothing;
  * crossed quotes (spread rows with crossed_count > 0) ALWAYS alert, with or without thresholds. With no
    thresholds version at all (warm-up mode, version WARMUP) they are the only alerts.
Score: |z| = |value - mean| / std when std > 0, else value / threshold. Severity: "critical" for crossed
quotes, for an excess at least twice the threshold's distance from the mean (value - mean >= 2 (threshold -
mean)), and for a drought below half the bound; "warning" otherwise.
An alert's identity is (detector, subject, window_start): `alert_id` is that, so sinks upsert.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from fxtrue.detectors.statistics import SPREAD, STALE_FEED, TICK_RATE

if TYPE_CHECKING:
    from fxtrue.settings import DetectorSettings
    from fxtrue.thresholds import Thresholds

TICK_RATE_LOW = "tick_rate_low"
WARMUP = "warmup"
THRESHOLDS_DDL = ("detector string, subject string, hour int, n long, mean double, std double, "
                  "threshold double")
ALERT_COLUMNS = ("alert_id", "detector", "subject", "pair", "window_start", "window_end", "hour", "observed",
                 "baseline_mean", "baseline_std", "threshold", "score", "severity", "thresholds_version",
                 "detected_at", "details", "last_received_at", "tick_count")


def thresholds_frame(spark: SparkSession, thresholds: "Thresholds | None") -> DataFrame:
    """A Thresholds set as a small DataFrame (THRESHOLDS_DDL); empty for None (warm-up)."""
    rows = [] if thresholds is None else [
        (r.detector, r.subject, int(r.hour), int(r.n or 0), _num(r.mean), _num(r.std), _num(r.threshold))
        for r in thresholds.rows]
    return spark.createDataFrame(rows, THRESHOLDS_DDL)


def _num(v) -> float | None:
    import math
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


ISO_MS = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"  # alert times as text (Spark pattern; the session time zone is UTC)


def alert_id(detector, subject, window_start):
    """Deterministic alert key: 'detector|subject|window_start ISO-8601 UTC ms'."""
    return F.concat_ws("|", detector, subject, F.date_format(window_start, ISO_MS))


def judge(stats: DataFrame, thresholds_df: DataFrame, version: str | None, cfg: "DetectorSettings",
          closed: bool = True, detected_at: Column | None = None) -> DataFrame:
    """Window statistics (fxtrue.detectors.statistics.STATS_COLUMNS) -> alerts (ALERT_COLUMNS).

    `version` None means warm-up mode (no published thresholds): only crossed quotes alert. `closed` False:
    the statistics are of running (still open) windows (statistics.EARLY, statistics.TICK): only the upper
    bounds and crossed quotes are judged, since a running count can still rise above a drought bound.
    `detected_at`: the detection time column (default: the micro-batch's time; the tick query passes a
    per-row wall clock, since a real-time batch lasts many seconds).
    """
    warmup = version is None
    thr = thresholds_df.where(F.col("n") >= F.lit(cfg.min_samples))
    upper = thr.where(F.col("detector") != TICK_RATE_LOW).select(
        "detector", "subject", "hour", F.col("mean").alias("baseline_mean"), F.col("std").alias("baseline_std"),
        F.col("threshold").alias("upper"))
    # joined on (subject, hour) only, and applied to tick_rate rows only (`low` below): a join key that is a
    # constant on both sides would fold into a nested-loop join, which the tick query's real-time mode refuses
    lower = thr.where(F.col("detector") == TICK_RATE_LOW).select("subject", "hour", F.col("threshold").alias("lower"))
    if warmup:  # no thresholds: columns of nulls (no join, which the tick query's real-time mode could not run)
        j = stats.select("*", *[F.lit(None).cast("double").alias(c)
                                for c in ("baseline_mean", "baseline_std", "upper", "lower")])
    else:
        j = (stats.join(F.broadcast(upper), ["detector", "subject", "hour"], "left")
                  .join(F.broadcast(lower), ["subject", "hour"], "left"))

    value, mean, std = F.col("value"), F.col("baseline_mean"), F.col("baseline_std")
    # greatest() skips nulls: only floor a threshold that exists (no baseline row -> no judgement).
    upper_eff = F.when((F.col("detector") == STALE_FEED) & F.col("upper").isNotNull(),
                       F.greatest(F.col("upper"), F.lit(float(cfg.stale_after_seconds)))).otherwise(F.col("upper"))
    j = j.withColumn("upper_eff", upper_eff)
    high = F.col("upper_eff").isNotNull() & value.isNotNull() & (value > F.col("upper_eff"))
    low = ((F.col("detector") == TICK_RATE) & F.col("lower").isNotNull() & (F.col("lower") > 0)
           & value.isNotNull() & (value < F.col("lower")) & F.lit(closed))
    crossed = (F.col("detector") == SPREAD) & (F.coalesce(F.col("crossed_count"), F.lit(0)) > 0)
    j = j.withColumn("_high", F.coalesce(high, F.lit(False))) \
         .withColumn("_low", F.coalesce(low, F.lit(False))) \
         .withColumn("_crossed", F.coalesce(crossed, F.lit(False)))
    fired = j.where(F.col("_high") | F.col("_low") | F.col("_crossed"))

    threshold = F.when(F.col("_low") & ~F.col("_high"), F.col("lower")).otherwise(F.col("upper_eff"))
    z = F.when(std > 0, F.abs(value - mean) / std)
    ratio = F.when(threshold > 0, value / threshold)
    score = F.coalesce(z, ratio, F.when(F.col("_crossed"), F.col("crossed_count").cast("double")))
    critical = (F.col("_crossed")
                | (F.col("_high") & ((value - mean) >= F.lit(2.0) * (F.col("upper_eff") - mean)))
                | (F.col("_low") & (value < F.col("lower") / F.lit(2.0))))
    details = F.concat_ws(
        "; ",
        F.when(F.col("_crossed"), F.concat(F.lit("crossed quotes: "), F.col("crossed_count").cast("string"))),
        F.when(F.col("_high") & (F.col("detector") == TICK_RATE), F.lit("flood: above upper bound")),
        F.when(F.col("_high") & (F.col("detector") != TICK_RATE), F.lit("above upper bound")),
        F.when(F.col("_low"), F.lit("drought: below lower bound")),
        F.concat(F.lit("ticks: "), F.col("tick_count").cast("string")))
    return fired.select(
        alert_id(F.col("detector"), F.col("subject"), F.col("window_start")).alias("alert_id"),
        "detector", "subject", "pair", "window_start", "window_end", "hour",
        value.alias("observed"), "baseline_mean", "baseline_std", threshold.alias("threshold"),
        score.cast("double").alias("score"),
        F.when(critical, F.lit("critical")).otherwise(F.lit("warning")).alias("severity"),
        F.lit(version if version else WARMUP).alias("thresholds_version"),
        (F.current_timestamp() if detected_at is None else detected_at).alias("detected_at"),
        details.alias("details"), "last_received_at", "tick_count")


def alert_id_of(detector: str, subject: str, window_start_ms: int) -> str:
    """The Python twin of `alert_id` (for alerts made on the driver, e.g. processing-time stale_feed)."""
    from datetime import datetime, timezone

    dt = datetime.fromtimestamp(window_start_ms / 1000, tz=timezone.utc)
    return f"{detector}|{subject}|{dt.strftime('%Y-%m-%dT%H:%M:%S.')}{window_start_ms % 1000:03d}Z"


TIMESTAMP_COLUMNS = ("window_start", "window_end", "detected_at", "last_received_at")


def collect_alerts(alerts: DataFrame) -> list[dict]:
    """Alerts -> plain dicts with timestamps as epoch ms (independent of the Python process time zone)."""
    cols = [F.unix_millis(F.col(c)).alias(c) if c in TIMESTAMP_COLUMNS else F.col(c) for c in ALERT_COLUMNS]
    return [r.asDict() for r in alerts.select(*cols).collect()]
