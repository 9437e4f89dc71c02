"""The shared detectors on tiny DataFrames: each fires on its scenario, stays silent on clean data, and copes
with one-tick windows, nulls and warm-up. Thresholds are learnt from simulated clean ticks (detector_data)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from detector_data import T0_MS, learn_thresholds, simulated_rows, ticks_frame
from fxtrue.detectors import (judge, pair_window_aggregates, statistics_from_aggregates, thresholds_frame,
                              triangles, window_statistics)
from fxtrue.detectors.judge import collect_alerts
from fxtrue.settings import DetectorSettings
from fxtrue.simulator.scenarios import Scenario

CFG = DetectorSettings()
LEARN_MS = 30 * 60 * 1000  # 30 simulated minutes of clean data per pair -> 180 windows per hour bucket
T1 = T0_MS + LEARN_MS


@pytest.fixture(scope="module")
def learnt(spark):
    rows, model = simulated_rows(T0_MS, T1)
    return learn_thresholds(spark, rows, CFG), model


def run_detectors(spark, rows, thresholds, cfg=CFG):
    stats = window_statistics(ticks_frame(spark, rows), cfg)
    alerts = judge(stats, thresholds_frame(spark, thresholds), thresholds.version if thresholds else None, cfg)
    return collect_alerts(alerts)


def dt(ms):
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def tick(pair, ms, bid, ask, received=None):
    return (pair, dt(ms), bid, ask, None, None, None, "sim", dt(received if received is not None else ms + 2))


def continue_with(learnt, minutes, scenarios=()):
    """Clean (or scenario-carrying) ticks right after the learning period, same price path."""
    thresholds, model = learnt
    import copy
    m = copy.deepcopy(model)
    rows, _ = simulated_rows(T1, T1 + minutes * 60_000, scenarios=scenarios, model=m)
    return rows


# -- triangles -------------------------------------------------------------------------------------------

def test_triangles_are_consistent_products():
    from fxtrue.simulator.market import MarketModel

    mids = MarketModel(seed=3).mids()
    tris = triangles()
    assert len(tris) == len({frozenset(t.pairs) for t in tris}) == 10
    for t in tris:
        assert t.implied(mids) == pytest.approx(mids[t.quoted], rel=1e-9), t.subject
    assert "EUR/USD*USD/JPY~EUR/JPY" in {t.subject for t in tris}


# -- statistics ------------------------------------------------------------------------------------------

def test_statistics_of_a_tiny_frame(spark):
    t = T0_MS
    rows = [tick("EUR/USD", t + 1000, 1.10000, 1.10010),
            tick("EUR/USD", t + 4000, 1.10100, 1.10110),   # +~91 bps move of mid inside the window
            tick("EUR/USD", t + 5000, 1.10020, 1.10010),   # crossed quote
            tick("EUR/USD", t + 15000, 1.10000, 1.10010)]  # one-tick window
    got = (window_statistics(ticks_frame(spark, rows), CFG, detectors=("tick_rate", "price_jump", "spread"))
           .select("detector", "window_start", "tick_count", "crossed_count", F.round("value", 3).alias("value")))
    w0, w1 = dt(t), dt(t + 10_000)
    mid = [(1.10000 + 1.10010) / 2, (1.10100 + 1.10110) / 2, (1.10020 + 1.10010) / 2]
    jump = round((max(mid) - min(mid)) / min(mid) * 1e4, 3)
    spread = round(max((1.10010 - 1.10000) / mid[0], (1.10110 - 1.10100) / mid[1]) * 1e4, 3)
    expected = spark.createDataFrame([
        ("tick_rate", w0, 3, 0, 3.0), ("tick_rate", w1, 1, 0, 1.0),
        ("price_jump", w0, 3, 0, jump), ("price_jump", w1, 1, 0, 0.0),
        ("spread", w0, 3, 1, spread), ("spread", w1, 1, 0, round(0.0001 / 1.10005 * 1e4, 3)),
    ], "detector string, window_start timestamp, tick_count long, crossed_count long, value double")
    assertDataFrameEqual(got, expected)


def test_null_prices_are_counted_but_do_not_break_price_statistics(spark):
    t = T0_MS
    rows = [tick("EUR/USD", t + 1000, 1.1, 1.1001), ("EUR/USD", dt(t + 2000), None, None, None, None, None,
                                                      "sim", None)]
    from pyspark.sql.types import StructField, StructType
    schema = StructType([StructField(f.name, f.dataType, True) for f in ticks_frame(spark, rows[:1]).schema])
    df = spark.createDataFrame(rows, schema)
    got = {r["detector"]: r for r in window_statistics(df, CFG, detectors=("tick_rate", "price_jump", "spread"))
           .collect()}
    assert got["tick_rate"]["value"] == 2
    assert got["price_jump"]["value"] == 0.0
    assert got["spread"]["value"] == pytest.approx(0.0001 / 1.10005 * 1e4)
    assert got["spread"]["last_received_at"] is not None


def test_window_statistics_rejects_a_stream(spark, tmp_path):
    stream = spark.readStream.schema(ticks_frame(spark, []).schema).json(str(tmp_path))
    with pytest.raises(ValueError, match="static"):
        window_statistics(stream, CFG)


def test_stale_feed_carry_equals_one_batch_run(spark):
    """Splitting the aggregates in two with a carry (the streaming way) gives the batch result."""
    t = T0_MS
    rows = [tick("EUR/USD", t + i * 1000, 1.1, 1.1001) for i in range(5)] + \
           [tick("EUR/USD", t + 95_000 + i * 1000, 1.1, 1.1001) for i in range(5)]
    aggs = pair_window_aggregates(ticks_frame(spark, rows), CFG)
    whole = statistics_from_aggregates(aggs, CFG, detectors=("stale_feed",))
    first = aggs.where(F.col("window_start") < dt(t + 50_000))
    second = aggs.where(F.col("window_start") >= dt(t + 50_000))
    carry = spark.createDataFrame([("EUR/USD", dt(t + 4000))], "pair string, last_ts timestamp")
    split = statistics_from_aggregates(first, CFG, detectors=("stale_feed",)).unionByName(
        statistics_from_aggregates(second, CFG, carry=carry, detectors=("stale_feed",)))
    assertDataFrameEqual(split, whole)
    gap = whole.where(F.col("value") > 60).collect()
    assert len(gap) == 1 and gap[0]["value"] == pytest.approx(91.0)
    assert gap[0]["window_start"] == dt(t + 10_000).replace(tzinfo=None)  # the first silent window


# -- judging: silent on clean data, each detector fires on its scenario ------------------------------

def test_thresholds_learnt_cover_every_detector(learnt):
    thresholds, _ = learnt
    detectors = {r.detector for r in thresholds.rows}
    assert {"tick_rate", "tick_rate_low", "price_jump", "spread", "stale_feed", "cross_rate"} <= detectors
    assert all(r.n >= CFG.min_samples for r in thresholds.rows if r.detector != "cross_rate" or r.n)


def test_silent_on_clean_data(spark, learnt):
    rows = continue_with(learnt, 10)
    assert run_detectors(spark, rows, learnt[0]) == []


# Every scenario kind in one continuation of 8 simulated minutes (one Spark run): (kind, pair, offset s,
# duration s, magnitude, expected detector).
SCENARIOS = [
    ("crossed_quote", "EUR/JPY", 20, 2, 4, "spread"),
    ("quote_stuffing", "EUR/USD", 30, 40, 30, "tick_rate"),
    ("price_spike", "USD/JPY", 60, 2, 40, "price_jump"),
    ("feed_stall", "USD/JPY", 150, 150, 1.0, "stale_feed"),
    ("spread_blowout", "EUR/USD", 150, 40, 15, "spread"),
    ("cross_rate_break", "EUR/JPY", 400, 40, 15, "cross_rate"),
]


@pytest.fixture(scope="module")
def scenario_run(spark, learnt):
    scs = [Scenario(k, p, T1 + off * 1000, dur, mag) for k, p, off, dur, mag, _ in SCENARIOS]
    return run_detectors(spark, continue_with(learnt, 8, scs), learnt[0])


def near(alert, start_ms, window_ms=CFG.window_seconds * 1000):
    return start_ms - window_ms <= alert["window_start"] <= start_ms + window_ms


def involves(alert, pair):
    return pair in [p.removeprefix("1/") for p in alert["subject"].replace("~", "*").split("*")]


@pytest.mark.parametrize("kind,pair,offset,duration,magnitude,detector", SCENARIOS)
def test_each_detector_fires_on_its_scenario(learnt, scenario_run, kind, pair, offset, duration, magnitude,
                                             detector):
    start = T1 + offset * 1000
    hits = [a for a in scenario_run if a["detector"] == detector and involves(a, pair) and near(a, start)]
    assert hits, f"{kind}: no {detector} alert within a window of its start; got " \
                 f"{[(a['detector'], a['subject'], a['window_start'] - T1) for a in scenario_run]}"
    a = hits[0]
    assert a["thresholds_version"] == learnt[0].version
    assert a["severity"] in ("warning", "critical") and a["score"] is not None and a["observed"] > 0
    assert a["alert_id"] == f"{a['detector']}|{a['subject']}|" + \
        dt(a["window_start"]).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def test_scenario_run_alerts_only_near_scenarios(scenario_run):
    """Everything that fires is explained by a scenario (its pair, between its start and its end)."""
    spans = [(p, T1 + off * 1000, T1 + (off + dur) * 1000) for _, p, off, dur, _, _ in SCENARIOS]
    w = CFG.window_seconds * 1000
    stray = [a for a in scenario_run
             if not any(involves(a, p) and s - w <= a["window_start"] <= e + w for p, s, e in spans)]
    assert stray == []


def test_tick_rate_drought_fires_below_the_lower_bound(spark, learnt):
    thresholds, _ = learnt
    low = {(r.subject, r.hour): r.threshold for r in thresholds.rows if r.detector == "tick_rate_low"}
    bound = low[("EUR/USD", 10)]
    assert bound > 1, "the busy-hour EUR/USD drought bound should be meaningful"
    t = T1 + 60_000
    rows = [tick("EUR/USD", t + 100, 1.16, 1.16007)]  # a one-tick window
    alerts = run_detectors(spark, rows, thresholds)
    drought = [a for a in alerts if a["detector"] == "tick_rate"]
    assert len(drought) == 1 and "drought" in drought[0]["details"] and drought[0]["threshold"] == bound
    assert not [a for a in alerts if a["detector"] in ("price_jump", "spread")]  # one tick: no move, no spread


def test_crossed_quotes_always_alert_also_in_warm_up(spark, learnt):
    t = T1 + 60_000
    rows = [tick("EUR/USD", t + 100, 1.16010, 1.16000)]
    for thresholds in (learnt[0], None):
        spread = [a for a in run_detectors(spark, rows, thresholds) if a["detector"] == "spread"]
        assert len(spread) == 1, thresholds
        assert spread[0]["severity"] == "critical" and "crossed quotes: 1" in spread[0]["details"]
        assert spread[0]["thresholds_version"] == (thresholds.version if thresholds else "warmup")


def test_warm_up_ignores_everything_but_crossed_quotes(spark, learnt, scenario_run):
    scs = [Scenario(k, p, T1 + off * 1000, dur, mag) for k, p, off, dur, mag, _ in SCENARIOS]
    warm = run_detectors(spark, continue_with(learnt, 8, scs), None)
    assert {(a["detector"], a["subject"]) for a in warm} == {("spread", "EUR/JPY")}
    assert all("crossed quotes" in a["details"] and a["thresholds_version"] == "warmup" for a in warm)
    assert len(scenario_run) > len(warm)


def test_buckets_with_too_few_samples_judge_nothing(spark, learnt):
    t = T1 + 60_000
    rows = [tick("EUR/USD", t + i * 10, 1.16, 1.16007) for i in range(500)]  # a flood
    assert [a for a in run_detectors(spark, rows, learnt[0]) if a["detector"] == "tick_rate"]
    strict = DetectorSettings(min_samples=10_000)
    assert run_detectors(spark, rows, learnt[0], strict) == []
