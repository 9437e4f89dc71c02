"""The fast path: running windows merged micro-batch by micro-batch on the driver and judged early, with the
same statistics, judge and alert ids as the judgement at close (so the two are one alert row)."""

from __future__ import annotations

import random

import pytest
from pyspark.sql import functions as F

from detector_data import T0_MS, learn_thresholds, simulated_rows, ticks_frame
from fxtrue.frames import parse_kafka_ticks
from fxtrue.detectors import pair_window_aggregates
from fxtrue.settings import load_settings
from jobs.streaming.state import RunningWindows, merge_aggregates
from jobs.streaming.transformations import AGG_MS
from test_detectors_streaming import ListSink, as_json_lines, file_source, tick_row

CFG = load_settings().detectors
T1 = T0_MS + 30 * 60_000


def aggregates(spark, rows) -> dict:
    df = pair_window_aggregates(ticks_frame(spark, rows), CFG)
    out = {}
    for r in df.select(*[F.unix_millis(c).alias(c) if c in AGG_MS else F.col(c) for c in df.columns]).collect():
        out[(r["pair"], r["window_start"])] = r.asDict()
    return out


def test_merged_partial_aggregates_equal_the_aggregate_of_all_ticks(spark):
    rows, _ = simulated_rows(T0_MS, T0_MS + 40_000)
    rows.append(tick_row("EUR/USD", T0_MS + 12_345, 1.2, 1.1))  # a crossed quote
    random.Random(3).shuffle(rows)
    whole = aggregates(spark, rows)
    running = RunningWindows()
    for k in range(0, len(rows), 37):  # micro-batches of 37 ticks in arrival order
        running.merge(list(aggregates(spark, rows[k:k + 37]).values()))
    assert running.windows.keys() == whole.keys()
    for key, want in whole.items():
        got = running.windows[key]
        for col in ("tick_count", "crossed_count", "first_ts", "last_ts", "last_received_at"):
            assert got[col] == want[col], (key, col)
        for col in ("mid_min", "mid_max", "spread_max_bps", "mid_mean"):
            assert got[col] == pytest.approx(want[col], rel=1e-12), (key, col)
    closed = running.pop_closed(T0_MS + 30_000)
    assert [(w["window_start"], w["pair"]) for w in closed] == sorted(
        (ws, p) for p, ws in whole if ws + 10_000 <= T0_MS + 30_000), "ended at or before the watermark, oldest first"
    assert {ws for _, ws in running.windows} == {T0_MS + 30_000}


def test_merge_ignores_nulls_of_a_priceless_part():
    a = {"pair": "EUR/USD", "window_start": 0, "tick_count": 2, "mid_min": 1.0, "mid_max": 1.1, "mid_mean": 1.05,
         "spread_max_bps": 2.0, "crossed_count": 0, "first_ts": 5, "last_ts": 9, "last_received_at": 10}
    b = dict(a, tick_count=1, mid_min=None, mid_max=None, mid_mean=None, spread_max_bps=None, crossed_count=1,
             first_ts=3, last_ts=4, last_received_at=None)
    m = merge_aggregates(a, b)
    assert (m["tick_count"], m["mid_min"], m["mid_max"], m["mid_mean"], m["crossed_count"], m["first_ts"],
            m["last_ts"], m["last_received_at"]) == (3, 1.0, 1.1, 1.05, 1, 3, 9, 10)


@pytest.fixture(scope="module")
def v1(spark):
    rows, model = simulated_rows(T0_MS, T1)
    return learn_thresholds(spark, rows, CFG, version="v1"), model


def test_fast_path_alerts_early_and_the_closed_window_upserts_the_same_row(spark, tmp_path, v1):
    from jobs.streaming.job import FAST, StreamingJob
    from jobs.streaming.state import ThresholdsHolder

    thresholds, model = v1
    holder = ThresholdsHolder(lambda: "v1", {"v1": thresholds}.get, "00:30")
    holder.load()
    settings = load_settings().replace(spark={"trigger_seconds": 0.5, "fast_trigger_seconds": 0.0,
                                              "watermark_seconds": 5}, state_dir=str(tmp_path / "state"))
    src = tmp_path / "in"
    source = file_source(spark, src)
    sink = ListSink()
    job = StreamingJob(spark, settings, source=source, holder=holder, alert_sink=sink, queries=(FAST,),
                       checkpoint_root=str(tmp_path / "ckpt"))
    clean, _ = simulated_rows(T1, T1 + 28_000, model=model)
    jpy = [r for r in clean if r[0] == "USD/JPY"][-1]
    eur = [r for r in clean if r[0] == "EUR/USD"][-1]
    events = [tick_row("USD/JPY", T1 + 27_000, round(jpy[2] * 1.005, 3), round(jpy[3] * 1.005, 3)),  # spike
              tick_row("EUR/USD", T1 + 27_500, eur[3] + 0.0002, eur[3])]  # crossed quote
    (src / "1.json").write_text(as_json_lines(clean + events))
    job.start()
    try:
        job.queries[FAST].processAllAvailable()
        first = list(sink.alerts)
        early = {a["alert_id"]: a for a in first if a["path"] == "fast"}
        want = {("price_jump", "USD/JPY", T1 + 20_000), ("spread", "EUR/USD", T1 + 20_000)}
        assert want <= {(a["detector"], a["subject"], a["window_start"]) for a in early.values()}, sorted(early)
        assert all(a["window_end"] > T1 + 28_000 - 5_000 for a in early.values()), \
            "raised while the window was still open (the watermark had not passed its end)"
        assert job.counters["alerts_early"] >= 2

        more, _ = simulated_rows(T1 + 28_000, T1 + 60_000, model=model)
        (src / "2.json").write_text(as_json_lines(more))
        job.queries[FAST].processAllAvailable()
        rows = {}
        for a in sink.alerts:  # the sinks upsert by alert id: the last write of an id is its row
            rows[a["alert_id"]] = a
        closed = {a["alert_id"] for a in sink.alerts[len(first):] if a["path"] == "close"}
        assert closed >= {i for i, a in early.items() if (a["detector"], a["subject"], a["window_start"]) in want}, \
            "the closed window's judgement re-judged the same events under the same ids"
        for alert_id, a in early.items():
            assert rows[alert_id]["detected_at"] == a["detected_at"], "one row, keeping the first detection time"
    finally:
        job.stop()


def test_early_judgement_never_fires_where_the_closed_window_would_not(spark, v1):
    """The early statistics only grow as a window gains ticks: judged on any prefix of a window's ticks, the
    fast path fires a subset of what the closed window fires (same thresholds)."""
    from fxtrue.detectors import judge, statistics_from_aggregates, thresholds_frame
    from fxtrue.detectors.statistics import EARLY
    from jobs.streaming.transformations import aggregates_frame, alerts_of_running_windows

    thresholds, model = v1
    thr = thresholds_frame(spark, thresholds)
    rows, _ = simulated_rows(T1, T1 + 60_000, seed=11)  # a path of its own (the module model has moved on)
    rows += [tick_row("USD/JPY", T1 + 15_000, 200.0, 200.01), tick_row("EUR/USD", T1 + 31_000, 1.3, 1.2)]
    rows.sort(key=lambda r: r[1])
    full = aggregates(spark, rows)
    closed = {a["alert_id"] for a in judge(statistics_from_aggregates(
        aggregates_frame(spark, list(full.values())), CFG, detectors=EARLY), thr, "v1", CFG).collect()}
    assert closed, "the injected spike and crossed quote alert at close"
    for cut in (len(rows) // 3, len(rows) // 2, len(rows) - 1):
        prefix = aggregates(spark, rows[:cut])
        fired = {a["alert_id"] for a in alerts_of_running_windows(
            aggregates_frame(spark, list(prefix.values())), thr, "v1", CFG).collect()}
        assert fired <= closed, fired - closed


def test_a_tick_from_the_future_is_rejected_and_leaves_the_watermark_alone(spark, tmp_path):
    """One tick stamped years ahead must not move the watermark (every later window would be 'late' for
    good): it is rejected (to the DLQ) for being ahead of its arrival at the broker (kafka.max_event_skew_s)."""
    from fxtrue.frames import rejected_ticks
    from jobs.streaming.job import FAST, StreamingJob
    from jobs.streaming.state import ThresholdsHolder

    holder = ThresholdsHolder(lambda: None, lambda v: None, "00:30")
    holder.load()
    settings = load_settings().replace(spark={"trigger_seconds": 0.5, "watermark_seconds": 5},
                                       state_dir=str(tmp_path / "state"))
    src = tmp_path / "in"
    source = file_source(spark, src)
    rows, _ = simulated_rows(T1, T1 + 20_000, seed=5)
    future = tick_row("EUR/USD", 4_070_908_800_000, 1.1, 1.2)  # 2099-01-01
    (src / "1.json").write_text(as_json_lines(rows[:50] + [future] + rows[50:]))
    parsed = spark.read.text(str(src)).select(F.col("value").cast("binary").alias("value"),
                                              F.current_timestamp().alias("timestamp")).transform(parse_kafka_ticks)
    reasons = [r["reason"] for r in rejected_ticks(parsed).collect()]
    assert len(reasons) == 1 and "ahead of its arrival (limit" in reasons[0], reasons

    job = StreamingJob(spark, settings, source=source, holder=holder, alert_sink=ListSink(), queries=(FAST,),
                       checkpoint_root=str(tmp_path / "ckpt"))
    job.start()
    try:
        job.queries[FAST].processAllAvailable()
        assert job.windows.watermark_ms == max(r[1] for r in rows).timestamp() * 1000 - 5_000
        assert job.status()[1]["fast.watermark"].startswith("2026-")
    finally:
        job.stop()


def trend_rows(spark, rows, cfg) -> dict:
    from jobs.streaming.transformations import trend_aggregates

    df = trend_aggregates(ticks_frame(spark, rows), cfg)
    return {(r["pair"], r["ws"]): r.asDict() for r in df.select("*", F.unix_millis("window_start").alias("ws"))
            .collect()}


@pytest.mark.parametrize("window_s, slide_s", [(30, 5), (20, 8)])
def test_trend_windows_from_merged_bucket_sums_equal_the_trends_of_all_ticks(spark, window_s, slide_s):
    """The streaming job builds the sliding trends from per-bucket sums merged micro-batch by micro-batch
    (state.TrendBuckets); every window must equal `trend_aggregates` over all its ticks, also when the slide
    does not divide the window (buckets of their gcd)."""
    from jobs.streaming.state import TREND_SUMS, TrendBuckets
    from jobs.streaming.transformations import batch_trend_parts, trend_bucket_seconds

    cfg = load_settings().replace(detectors={"trend_window_seconds": window_s,
                                             "trend_slide_seconds": slide_s}).detectors
    rows, _ = simulated_rows(T0_MS, T0_MS + 60_000, seed=4)
    random.Random(5).shuffle(rows)
    want = trend_rows(spark, rows, cfg)
    trends = TrendBuckets(window_s * 1000, slide_s * 1000, trend_bucket_seconds(cfg) * 1000)
    got = {}
    for k in range(0, len(rows), 211):  # micro-batches in arrival order, no watermark: nothing is late
        parts = [r.asDict() for r in batch_trend_parts(ticks_frame(spark, rows[k:k + 211]), cfg).collect()]
        out, late = trends.advance([{c: p[c] for c in ("pair", "trend_bucket", *TREND_SUMS)} for p in parts],
                                   None, None)
        assert late == 0
        got.update({(r["pair"], r["window_start"]): r for r in out})
    assert got.keys() == want.keys()
    for key, w in want.items():
        g = got[key]
        assert (g["tick_count"], g["window_end"]) == (w["tick_count"], key[1] + window_s * 1000), key
        for col in ("mean_bid", "mean_ask", "mean_mid", "mean_spread_bps"):
            assert g[col] == pytest.approx(w[col], rel=1e-12), (key, col)


def test_trend_buckets_leave_late_ticks_out_of_closed_windows_and_forget_closed_buckets():
    from jobs.streaming.state import TrendBuckets

    t = TrendBuckets(30_000, 5_000, 5_000)
    assert list(t.windows_of(40_000)) == [15_000, 20_000, 25_000, 30_000, 35_000, 40_000]
    part = lambda b, n: {"pair": "EUR/USD", "trend_bucket": b, "trend_n": n, "bid_sum": 1.0 * n,  # noqa: E731
                         "ask_sum": 1.1 * n, "mid_sum": 1.05 * n, "spread_sum": 2.0 * n}
    rows, late = t.advance([part(40_000, 2)], None, 10_000)
    assert [r["window_start"] for r in rows] == [15_000, 20_000, 25_000, 30_000, 35_000, 40_000] and late == 0
    # watermark 50 s: windows that end at or before it (start <= 20 s) are closed
    rows, late = t.advance([part(40_000, 1), part(10_000, 4)], 50_000, 50_000)
    assert [r["window_start"] for r in rows] == [25_000, 30_000, 35_000, 40_000] and late == 4
    assert {r["window_start"]: r["tick_count"] for r in rows}[40_000] == 3
    t.advance([], 50_000, 70_000)  # every window holding the 40 s bucket ends by 70 s: forgotten
    assert t.buckets == {}
