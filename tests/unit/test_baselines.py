"""Baselines: bucket statistics on hand-checkable data (zero-tick windows counted, weekend excluded) and the
threshold rules."""

from __future__ import annotations

import math
from datetime import date, datetime, timezone

import pytest

from fxtrue.baselines import (ALL_HOURS, CROSS_RATE, TICK_RATE, TICK_RATE_LOW, BucketStats, build_thresholds,
                              expected_keys, lower_threshold, percentile, summarize, threshold_rows,
                              upper_threshold)
from fxtrue.market_calendar import is_market_open, open_hours
from fxtrue.settings import DetectorSettings, load_settings


# -- pure rules -------------------------------------------------------------------------------------------

def test_summarize_by_hand():
    s = summarize(TICK_RATE, "EUR/USD", 3, [6, 0, 3, 0, 0])
    assert s.n == 5
    assert s.mean == pytest.approx(1.8)
    assert s.std == pytest.approx(math.sqrt(7.2))  # ((3 * 1.8^2) + 1.2^2 + 4.2^2) / 4 = 7.2
    assert s.median == 0 and s.mad == 0 and s.max == 6
    assert s.p99 == pytest.approx(3 + 3 * 0.96)  # position 0.99 * 4 = 3.96 between 3 and 6


def test_percentile_interpolates_linearly():
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([10.0], 0.999) == 10.0
    assert math.isnan(percentile([], 0.5))


def test_upper_rule_takes_the_largest_of_three_terms():
    s = BucketStats(TICK_RATE, "EUR/USD", 0, 100, mean=10, std=2, median=9, mad=1, p99=0, p999=0, max=0)
    assert upper_threshold(s, k=3, floor=5) == pytest.approx(16)  # mean + 3*2 > 9 + 3*1.4826
    assert upper_threshold(s, k=3, floor=40) == 40  # the floor wins
    robust = BucketStats(TICK_RATE, "EUR/USD", 0, 100, mean=10, std=0.1, median=9, mad=2, p99=0, p999=0, max=0)
    assert upper_threshold(robust, k=3, floor=0) == pytest.approx(9 + 3 * 1.4826 * 2)


def test_undefined_std_is_skipped_not_propagated():
    one = summarize(TICK_RATE, "EUR/USD", 0, [4.0])
    assert math.isnan(one.std)
    assert upper_threshold(one, k=6, floor=1) == 4.0  # median + k * 1.4826 * 0
    assert lower_threshold(one, k=2) == 4.0


def test_drought_bound_is_never_negative():
    busy = BucketStats(TICK_RATE, "EUR/USD", 9, 360, mean=30, std=5, median=30, mad=3, p99=0, p999=0, max=0)
    assert lower_threshold(busy, k=4) == pytest.approx(min(30 - 20, 30 - 4 * 1.4826 * 3))
    quiet = BucketStats(TICK_RATE, "EUR/USD", 4, 360, mean=0.5, std=0.7, median=0, mad=0, p99=0, p999=0, max=0)
    assert lower_threshold(quiet, k=4) == 0.0


def test_rows_carry_a_drought_row_per_tick_rate_bucket_and_their_rule():
    cfg = DetectorSettings(k_tick_rate=2, floor_tick_rate=1, k_tick_rate_low=1)
    stats = [summarize(TICK_RATE, "EUR/USD", 0, [0, 0, 3, 5]),
             summarize(CROSS_RATE, "EUR/USD*USD/JPY~EUR/JPY", 0, [0.5, 1.5])]
    rows = {(r.detector, r.subject, r.hour): r for r in threshold_rows(stats, cfg)}
    assert set(rows) == {(TICK_RATE, "EUR/USD", 0), (TICK_RATE_LOW, "EUR/USD", 0),
                         (CROSS_RATE, "EUR/USD*USD/JPY~EUR/JPY", 0)}
    up, low = rows[(TICK_RATE, "EUR/USD", 0)], rows[(TICK_RATE_LOW, "EUR/USD", 0)]
    mean, std = 2.0, math.sqrt((4 + 4 + 1 + 9) / 3)
    assert up.threshold == pytest.approx(mean + 2 * std)
    assert low.threshold == 0.0 and low.n == up.n == 4 and low.mean == up.mean
    assert up.rule.startswith("upper:") and low.rule.startswith("lower:")
    # cross_rate (k 8, floor 3 bps): mean + 8 std = 1 + 8 * 0.707 = 6.66 < median + 8 * 1.4826 * MAD(0.5) = 6.93
    assert rows[(CROSS_RATE, "EUR/USD*USD/JPY~EUR/JPY", 0)].threshold == pytest.approx(1 + 8 * 1.4826 * 0.5)


def test_build_thresholds_records_provenance_and_checks_the_source_kind():
    cfg = load_settings({}).detectors
    t = build_thresholds([summarize(TICK_RATE, "EUR/USD", 0, [1, 2])], cfg, source_kind="sim",
                         source_from=date(2026, 11, 2), source_to=date(2026, 11, 8), tick_count=3,
                         code_version="0.1.0+abc")
    assert t.status == "candidate" and t.source_kind == "sim" and t.tick_count == 3 and len(t.rows) == 2
    with pytest.raises(ValueError):
        build_thresholds([], cfg, source_kind="guess", source_from=None, source_to=None, tick_count=0,
                         code_version="")


def test_source_kind_is_the_most_common_capture_of_the_lake():
    from jobs.batch.stats import source_kind_of

    assert source_kind_of({"sim": 900, "truefx": 100}, None) == "sim"
    assert source_kind_of({"sim": 10, "truefx": 100, "replay": 50}, ["lake"]) == "polled"
    assert source_kind_of({"replay": 100, "sim": 99}, None) == "history"
    assert source_kind_of({"sim": 5}, ["/data/EURUSD-2026-11.zip"]) == "history"  # files are history
    assert source_kind_of({}, None) == "history"


def test_expected_keys_cover_pairs_triangles_and_hours():
    keys = expected_keys(["EUR/USD", "USD/JPY"], ["T1"])
    assert len(keys) == (5 * 2 + 1) * 24
    assert (TICK_RATE_LOW, "USD/JPY", 23) in keys and (CROSS_RATE, "T1", 0) in keys


def test_market_calendar_closes_friday_22_to_sunday_22_utc():
    assert is_market_open(datetime(2026, 11, 6, 21, 59, 59))  # Friday
    assert not is_market_open(datetime(2026, 11, 6, 22, 0))
    assert not is_market_open(datetime(2026, 11, 8, 21, 59))  # Sunday
    assert is_market_open(datetime(2026, 11, 8, 22, 0))
    assert open_hours(date(2026, 11, 7)) == []  # Saturday
    assert open_hours(date(2026, 11, 6)) == list(range(22))
    assert open_hours(date(2026, 11, 8)) == [22, 23]


# -- Spark statistics on hand-built ticks -------------------------------------------------------------------

def _ticks(spark, rows):
    from fxtrue.frames import TICK_SCHEMA

    return spark.createDataFrame([(p, ts, bid, ask, None, None, None, "replay", None) for p, ts, bid, ask in rows],
                                 TICK_SCHEMA)


@pytest.fixture(scope="module")
def one_pair():
    return load_settings({}).replace(truefx={"pairs": ("EUR/USD",)})


def test_zero_tick_windows_count_in_the_tick_rate_buckets(spark, one_pair):
    from jobs.batch.stats import all_buckets, batch_window_statistics

    day = date(2026, 11, 2)  # a Monday
    ticks = _ticks(spark, [
        ("EUR/USD", datetime(2026, 11, 2, 0, 0, 1), 1.1, 1.1002),
        ("EUR/USD", datetime(2026, 11, 2, 0, 0, 4), 1.1, 1.1002),
        ("EUR/USD", datetime(2026, 11, 2, 0, 0, 9, 999000), 1.1001, 1.1003),
        ("EUR/USD", datetime(2026, 11, 2, 0, 0, 25), 1.1, 1.1002),
        ("EUR/USD", datetime(2026, 11, 2, 5, 59, 55), 1.1, 1.0999),  # crossed: still a tick
    ])
    stats = batch_window_statistics(ticks, one_pair)
    buckets = {(s.detector, s.subject, s.hour): s for s in all_buckets(stats, one_pair, day, day)}

    # Every hour of the day has a tick_rate bucket of all 360 ten-second windows, empty ones as 0; the subject
    # pooled over all hours (ALL_HOURS) holds the day's 8,640.
    assert {h for (d, _, h) in buckets if d == TICK_RATE} == set(range(24)) | {ALL_HOURS}
    assert buckets[(TICK_RATE, "EUR/USD", ALL_HOURS)].n == 8640
    h0 = buckets[(TICK_RATE, "EUR/USD", 0)]
    expected = summarize(TICK_RATE, "EUR/USD", 0, [3, 1] + [0] * 358)
    assert h0.n == 360
    assert h0.mean == pytest.approx(4 / 360) and h0.mean == pytest.approx(expected.mean)
    assert h0.std == pytest.approx(expected.std)
    assert (h0.median, h0.mad, h0.max) == (0, 0, 3)
    assert h0.p99 == pytest.approx(expected.p99) and h0.p999 == pytest.approx(expected.p999)
    assert buckets[(TICK_RATE, "EUR/USD", 7)].mean == 0 and buckets[(TICK_RATE, "EUR/USD", 7)].n == 360
    # Other detectors only where ticks are: price_jump of the 3-tick window = (max-min)/min mid in bps.
    pj = buckets[("price_jump", "EUR/USD", 0)]
    assert pj.n == 2
    mids = [1.1001, 1.1001, 1.1002]
    assert pj.max == pytest.approx((max(mids) - min(mids)) / min(mids) * 1e4)
    assert buckets[("spread", "EUR/USD", 5)].max < 0  # the crossed quote's spread


def test_weekend_closure_is_excluded(spark, one_pair):
    from jobs.batch.stats import all_buckets, batch_window_statistics

    friday = date(2026, 11, 6)
    ticks = _ticks(spark, [
        ("EUR/USD", datetime(2026, 11, 6, 21, 0, 0), 1.1, 1.1002),
        ("EUR/USD", datetime(2026, 11, 6, 21, 59, 45), 1.1, 1.1002),
        ("EUR/USD", datetime(2026, 11, 6, 22, 30, 0), 1.1, 1.1002),  # closed market: ignored
        ("EUR/USD", datetime(2026, 11, 8, 22, 0, 5), 1.1, 1.1002),   # Sunday reopening
    ])
    buckets = {(s.detector, s.hour): s for s in all_buckets(
        batch_window_statistics(ticks, one_pair), one_pair, friday, date(2026, 11, 8))}
    tick_rate = {h: s for (d, h), s in buckets.items() if d == TICK_RATE}
    # Friday 0-21 and Sunday 22-23 are open; Saturday contributes nothing.
    assert tick_rate[21].n == 360 and tick_rate[21].max == 1
    assert tick_rate[22].n == 360 and tick_rate[22].max == 1  # Sunday's hour 22 only (Friday's is closed)
    assert tick_rate[0].n == 360
    # The weekend-long silence is not a stale_feed observation; the 21:00 -> 21:59:45 gap (3,585 s) is.
    stale = buckets[("stale_feed", 21)]
    assert stale.n == 1 and stale.max == pytest.approx(3585.0)
    assert ("stale_feed", 22) not in buckets


def test_stale_feed_bound_covers_the_exponential_tail_of_quote_gaps():
    import random

    from fxtrue.baselines import STALE_FEED, threshold_row

    rng = random.Random(5)
    mean_gap = 20.0  # a quiet pair: a quote every 20 s, ~4,300 gaps a day
    learnt = summarize(STALE_FEED, "AUD/NZD", 3, [rng.expovariate(1 / mean_gap) for _ in range(1260)])
    cfg = DetectorSettings()
    without_tail = upper_threshold(learnt, cfg.k_stale_feed, cfg.stale_after_seconds)
    row = threshold_row(learnt, cfg)
    assert row.threshold == pytest.approx(cfg.stale_tail_factor * learnt.p999) and row.threshold > without_tail
    assert "1.5*p999" in row.rule
    per_day = 86_400 / mean_gap
    assert per_day * math.exp(-without_tail / mean_gap) > 1  # mean + k*std alone: over one a day
    assert per_day * math.exp(-row.threshold / mean_gap) < 0.5  # with the tail term: well under
    # a busy pair: the floor (stale_after_seconds) still decides
    busy = summarize(STALE_FEED, "EUR/USD", 3, [rng.expovariate(1.0) for _ in range(5000)])
    assert threshold_row(busy, cfg).threshold == cfg.stale_after_seconds


# -- the batch job's bucket statistics against the aggregates it replaced ---------------------------------

def _spark_aggregate_buckets(stats, pairs, day, window_seconds):
    """Reference: the bucket statistics as the batch job computed them before numpy per subject (2026-12-02):
    a row of value 0 for every open window of every pair without a tick (a grid of all windows, anti-joined),
    then Spark's count/avg/stddev_samp/max, its exact `percentile` and MAD by a join on the median; hourly and
    pooled."""
    from pyspark.sql import functions as F

    from fxtrue.baselines import ALL_HOURS
    from fxtrue.detectors.statistics import utc_hour
    from fxtrue.market_calendar import market_open
    from jobs.batch.stats import STATS_FIELDS, bucket_stats_rows, range_bounds

    spark = stats.sparkSession
    lo, _ = range_bounds(day, day)
    lo_s = int(lo.replace(tzinfo=timezone.utc).timestamp())
    starts = (spark.range(86_400 // window_seconds)
              .select(F.timestamp_seconds(F.lit(lo_s) + F.col("id") * window_seconds).alias("window_start"))
              .where(market_open(F.col("window_start"))))
    grid = spark.createDataFrame([(p,) for p in pairs], "pair string").crossJoin(starts)
    present = stats.where(F.col("detector") == TICK_RATE).select(F.col("subject").alias("pair"), "window_start")
    zeros = grid.join(present, ["pair", "window_start"], "left_anti").select(
        F.lit(TICK_RATE).alias("detector"), F.col("pair").alias("subject"),
        utc_hour(F.col("window_start")).alias("hour"), F.lit(0.0).alias("value"))
    stats = stats.select("detector", "subject", "hour", "value").unionByName(zeros)
    keys = ["detector", "subject", "hour"]
    out = []
    for frame in (stats, stats.withColumn("hour", F.lit(ALL_HOURS))):
        v = F.col("value").cast("double")
        first = (frame.groupBy(*keys).agg(F.count(v).alias("n"), F.avg(v).alias("mean"),
                                          F.stddev_samp(v).alias("std"),
                                          F.percentile(v, [0.5, 0.99, 0.999]).alias("q"), F.max(v).alias("max"))
                 .select(*keys, "n", "mean", "std", F.col("q")[0].alias("median"), F.col("q")[1].alias("p99"),
                         F.col("q")[2].alias("p999"), "max"))
        mad = (frame.join(first.select(*keys, "median"), keys).groupBy(*keys)
               .agg(F.percentile(F.abs(v - F.col("median")), 0.5).alias("mad")))
        out += bucket_stats_rows(first.join(mad, keys).select(*STATS_FIELDS))
    return out


def test_bucket_statistics_and_thresholds_agree_with_the_spark_aggregates(spark, tmp_path):
    """On a simulated day with injected manipulations (every detector, zero-tick windows, a cross rate): the
    same buckets, each statistic equal up to floating-point rounding, and the thresholds built from them equal.
    One configured pair never quotes: its tick_rate buckets are all zeros in both."""
    from fxtrue.history import read_history
    from fxtrue.simulator import default_schedule, simulate_files
    from jobs.batch.stats import all_buckets, batch_window_statistics

    day = date(2026, 11, 3)
    pairs = ("EUR/USD", "USD/JPY", "EUR/JPY")
    settings = load_settings({}).replace(truefx={"pairs": (*pairs, "GBP/USD")})
    simulate_files(tmp_path, day, 1, pairs=pairs, scenarios=default_schedule(day, 1, pairs), seed=5,
                   rate_scale=0.02)
    ticks, _ = read_history(spark, [str(tmp_path)])
    windows = batch_window_statistics(ticks, settings).cache()
    try:
        ours = {(b.detector, b.subject, b.hour): b for b in all_buckets(windows, settings, day, day)}
        ref = {(b.detector, b.subject, b.hour): b
               for b in _spark_aggregate_buckets(windows, settings.truefx.pairs, day,
                                                  settings.detectors.window_seconds)}
    finally:
        windows.unpersist()
    assert set(ours) == set(ref)
    assert {d for d, _, _ in ours} == {"tick_rate", "price_jump", "spread", "stale_feed", CROSS_RATE}
    silent = ours[(TICK_RATE, "GBP/USD", ALL_HOURS)]
    assert silent.n == 8640 and silent.max == 0
    for key, b in ref.items():
        for field in ("n", "mean", "std", "median", "mad", "p99", "p999", "max"):
            want, got = getattr(b, field), getattr(ours[key], field)
            assert (math.isnan(want) and math.isnan(got)) or got == pytest.approx(want, rel=1e-9, abs=1e-12), \
                (key, field, got, want)
    cfg = settings.detectors
    a = build_thresholds(list(ours.values()), cfg, source_kind="history", source_from=day, source_to=day,
                         tick_count=1, code_version="t")
    b = build_thresholds(list(ref.values()), cfg, source_kind="history", source_from=day, source_to=day,
                         tick_count=1, code_version="t")
    rows_a = {(r.detector, r.subject, r.hour): r for r in a.rows}
    rows_b = {(r.detector, r.subject, r.hour): r for r in b.rows}
    assert set(rows_a) == set(rows_b) and len(rows_a) > 100
    for key, r in rows_b.items():
        assert rows_a[key].threshold == pytest.approx(r.threshold, rel=1e-9, abs=1e-12), key
        assert (rows_a[key].n, rows_a[key].rule) == (r.n, r.rule), key
