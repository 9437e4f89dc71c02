"""dashboard.figures and dashboard.panels: pure DataFrame -> figure / rows / components."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pandas as pd

from dashboard import figures, panels
from dashboard.data import ALERT_COLUMNS, DQ_COLUMNS, SUPERVISOR_COLUMNS, TICK_COLUMNS, TREND_COLUMNS
from fxtrue.heartbeats import Heartbeat
from fxtrue.thresholds import ThresholdRow, Thresholds

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=timezone.utc)
START = NOW - timedelta(minutes=15)


def ticks_df():
    ts = pd.date_range(START, NOW, periods=5, tz="UTC")
    return pd.DataFrame({"ts": ts, "bid": [150.123, 150.125, 150.121, 150.13, 150.129],
                         "ask": [150.127, 150.129, 150.119, 150.134, 150.133]})[TICK_COLUMNS]  # one crossed


def trends_df():
    ws = pd.date_range(START, NOW - timedelta(seconds=30), periods=3, tz="UTC")
    return pd.DataFrame({"window_start": ws, "window_end": ws + pd.Timedelta(seconds=30),
                         "mean_bid": [150.12, 150.125, 150.13], "mean_ask": [150.124, 150.129, 150.134],
                         "mean_mid": [150.122, 150.127, 150.132], "tick_count": [3, 4, 5],
                         "mean_spread_bps": [0.3, 0.3, 0.2]})[TREND_COLUMNS]


def alerts_df(rows):
    base = dict(subject="USD/JPY", pair="USD/JPY", observed=12.5, baseline_mean=2.0, baseline_std=1.0,
                threshold=10.0, score=10.5, severity="critical", thresholds_version="v20260303T000000000Z",
                detected_at=pd.Timestamp(NOW), details="")
    out = []
    for detector, offset_s in rows:
        ws = pd.Timestamp(START + timedelta(seconds=offset_s))
        out.append({**base, "detector": detector, "window_start": ws, "window_end": ws + pd.Timedelta(seconds=10)})
    return pd.DataFrame(out, columns=ALERT_COLUMNS)


def test_price_figure_full_prices_running_mean_and_alert_shading():
    alerts = alerts_df([("spread", 60), ("price_jump", 300), ("spread", 500)])
    fig = figures.price_figure(ticks_df(), trends_df(), alerts, "USD/JPY", START, NOW)
    names = [t.name for t in fig.data]
    assert names[:3] == ["bid", "ask", "running mean (mid)"]
    # full prices, JPY with 3 decimals, the crossed quote kept as it is
    assert list(fig.data[0].y) == [150.123, 150.125, 150.121, 150.13, 150.129]
    assert fig.layout.yaxis.tickformat == ".3f"
    assert list(fig.data[2].y) == [150.122, 150.127, 150.132]
    # one shaded rect per alert window, coloured by detector
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(rects) == 3
    assert {s.fillcolor for s in rects} == {figures.DETECTOR_COLORS["spread"], figures.DETECTOR_COLORS["price_jump"]}
    assert sorted(s.name for s in rects) == ["alert:price_jump", "alert:spread", "alert:spread"]
    # hover markers, one trace per detector, with observed vs threshold and the thresholds version
    markers = {t.name: t for t in fig.data if t.name.startswith("alert: ")}
    assert set(markers) == {"alert: spread", "alert: price_jump"}
    hover = markers["alert: spread"].hovertext[0]
    assert "observed 12.5000 vs threshold 10.0000" in hover
    assert "v20260303T000000000Z" in hover
    assert len(markers["alert: spread"].x) == 2


def test_price_figure_from_trends_and_empty_range():
    fig = figures.price_figure(ticks_df().iloc[0:0], trends_df(), alerts_df([]), "EUR/USD", START, NOW,
                               from_trends=True)
    assert fig.data[0].name == "bid (30 s mean)"
    assert list(fig.data[0].y) == [150.12, 150.125, 150.13]
    assert fig.layout.yaxis.tickformat == ".5f"
    assert not fig.layout.shapes

    empty = figures.price_figure(ticks_df().iloc[0:0], trends_df().iloc[0:0], alerts_df([]), "EUR/USD",
                                 START, NOW)
    assert "no ticks for EUR/USD" in empty.layout.annotations[0].text
    assert len(empty.data) == 3


def test_alert_hover_without_version_says_warm_up():
    row = alerts_df([("tick_rate", 10)]).iloc[0].to_dict()
    row["thresholds_version"] = None
    row["threshold"] = float("nan")
    text = figures.alert_hover(row)
    assert "warm-up" in text and "threshold n/a" in text


def test_filter_alerts_and_rows():
    df = alerts_df([("spread", 60), ("price_jump", 300), ("stale_feed", 500)])
    df.loc[1, "pair"] = "EUR/USD"
    df.loc[2, "severity"] = "warning"
    assert len(panels.filter_alerts(df)) == 3
    assert panels.filter_alerts(df, detectors=["spread", "price_jump"])["detector"].tolist() == ["spread", "price_jump"]
    assert panels.filter_alerts(df, pairs=["EUR/USD"])["detector"].tolist() == ["price_jump"]
    assert panels.filter_alerts(df, severities=["warning"])["detector"].tolist() == ["stale_feed"]
    assert panels.filter_alerts(df, detectors=["spread"], pairs=["EUR/USD"]).empty
    df.loc[0, "observed"] = float("inf")
    rows = panels.alert_rows(df)
    assert rows[0]["observed"] is None  # JSON has no inf
    assert rows[1]["window_start"] == (START + timedelta(seconds=300)).strftime("%Y-%m-%d %H:%M:%S")
    assert len({r["id"] for r in rows}) == 3


def _thresholds():
    rows = [ThresholdRow(d, s, h, 100, 1.0, 0.5, 1.0, 0.3, 2.0, 2.5, 3.0, thr, "k")
            for d, s, h, thr in [("spread", "EUR/USD", 12, 5.0), ("spread", "USD/JPY", 12, 6.0),
                                 ("tick_rate", "EUR/USD", 12, 40.0), ("spread", "EUR/USD", 13, 99.0),
                                 ("cross_rate", "EUR/USD*USD/JPY~EUR/JPY", 12, 2.5)]]
    return Thresholds(version="v7", created_at=NOW, source_kind="sim", source_from=NOW.date(),
                      source_to=NOW.date(), tick_count=1000, rows=rows, status="published")


def test_thresholds_table_per_pair_for_the_hour():
    table = panels.thresholds_table(_thresholds(), 12, ["USD/JPY", "EUR/USD"])
    assert [r["subject"] for r in table] == ["USD/JPY", "EUR/USD", "EUR/USD*USD/JPY~EUR/JPY"]
    assert table[1] == {"subject": "EUR/USD", "spread": 5.0, "tick_rate": 40.0}
    assert panels.thresholds_table(_thresholds(), 13, ["EUR/USD"]) == [{"subject": "EUR/USD", "spread": 99.0}]
    assert panels.thresholds_table(None, 12, ["EUR/USD"]) == []
    panel = str(panels.thresholds_panel(_thresholds(), 12, ["EUR/USD"], figures.DETECTORS))
    assert "v7" in panel and "published" in panel
    assert "warm-up" in str(panels.thresholds_panel(None, 12, ["EUR/USD"], figures.DETECTORS))


def test_health_metrics_known_keys_first_then_the_rest():
    items = panels.metric_items({"zz_custom": 2.5, "lag_s": 0.25, "sent": 1000.0, "dlq_rows": 3.0,
                                 "batch_duration_ms": math.nan})
    keys = [k for k, _, _ in items]
    assert keys == ["lag_s", "batch_duration_ms", "sent", "dlq_rows", "zz_custom"]
    assert dict((k, v) for k, _, v in items)["lag_s"] == "0.2"  # "{:.1f}"
    assert dict((k, v) for k, _, v in items)["batch_duration_ms"] == "nan"


def test_health_state_and_panel():
    fresh = Heartbeat(job="producer", updated_at=NOW - timedelta(seconds=2), status="running",
                      metrics={"sent": 5.0, "lag_s": 0.5})
    old = Heartbeat(job="streaming", updated_at=NOW - timedelta(seconds=300), status="running")
    failed = Heartbeat(job="x", updated_at=NOW, status="failed")
    assert panels.health_state(fresh, NOW) == "ok"
    assert panels.health_state(old, NOW) == "stale"
    assert panels.health_state(failed, NOW) == "failed"
    sup = pd.DataFrame([{"at": pd.Timestamp(NOW), "job": "streaming", "action": "restart", "reason": "stale",
                         "attempt": 2}], columns=SUPERVISOR_COLUMNS)
    text = str(panels.health_panel([fresh, old], sup, NOW, ("producer", "streaming", "batch")))
    assert "health-batch" in text and "no heartbeat yet" in text
    assert "2.0 s" in text and "300.0 s" in text
    assert "card stale" in text and "card ok" in text
    assert "restart (attempt 2)" in text


def test_dq_panel_and_docs_links():
    assert panels.docs_href("/var/dq/docs/validations/a.html", "/var/dq/docs") == "/dq-docs/validations/a.html"
    assert panels.docs_href("file:///var/dq/docs/index.html", "/var/dq/docs") == "/dq-docs/index.html"
    assert panels.docs_href("https://x/y.html", "/var/dq/docs") == "https://x/y.html"
    assert panels.docs_href("/elsewhere/a.html", "/var/dq/docs") is None
    runs = pd.DataFrame([("lake_ticks", pd.Timestamp(NOW), "r1", False, 10, 2, ["expect_a", "expect_b"], "lake",
                          "/var/dq/docs/validations/r1.html")], columns=DQ_COLUMNS)
    text = str(panels.dq_panel(runs, "/var/dq/docs"))
    assert "FAIL" in text and "expect_a, expect_b" in text and "/dq-docs/validations/r1.html" in text
    assert "no data-quality runs" in str(panels.dq_panel(runs.iloc[0:0], "/var/dq/docs"))
