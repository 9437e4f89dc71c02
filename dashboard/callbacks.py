"""Thin callbacks: each reads through dashboard.data and hands the frames to figures/panels.

The functions below take the data access object and plain values, so tests and the latency bench call them
directly; `register` wires them to the page's components.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Callable, Sequence

from dashboard import figures, panels
from dashboard.data import DashboardData
from dashboard.layout import DQ_DOCS_ROUTE, RAW_TICKS_MAX_S, SEVERITIES
from fxtrue.heartbeats import PRODUCER, STREAMING
from fxtrue.settings import Settings

log = logging.getLogger(__name__)
UNAVAILABLE = "unavailable (the reason is in the dashboard's log)"


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def chart(data: DashboardData, pair: str, range_s: int, now: datetime | None = None):
    """(figure, caption) of the price chart for `pair` over the last `range_s` seconds."""
    end = _now(now)
    start = end - timedelta(seconds=int(range_s))
    from_trends = int(range_s) > RAW_TICKS_MAX_S
    trends = data.trends(pair, start - timedelta(seconds=60), end)
    ticks = trends.iloc[0:0] if from_trends else data.ticks(pair, start, end)
    alerts = data.pair_alerts(pair, start - timedelta(seconds=60), end)
    truncated = len(trends) >= data.trend_limit if from_trends else len(ticks) >= data.tick_limit
    fig = figures.price_figure(ticks, trends, alerts, pair, start, end,
                               from_trends=from_trends, truncated=truncated)
    shown = len(trends) if from_trends else len(ticks)
    caption = (f"{pair}: {shown} {'trend windows' if from_trends else 'ticks'}, {len(alerts)} alerts · "
               f"updated {end:%H:%M:%S} UTC")
    return fig, caption


def alerts_table(data: DashboardData, detectors: Sequence[str] | None, pairs: Sequence[str] | None,
                 severities: Sequence[str] | None, range_s: int, now: datetime | None = None):
    """(grid rows, caption, severity options) for the alerts across pairs matching the filters."""
    end = _now(now)
    start = end - timedelta(seconds=int(range_s))
    fetched = data.alerts(start, end, pairs=list(pairs or ()))
    shown = panels.filter_alerts(fetched, detectors or (), pairs or (), severities or ())
    caption = f"{len(shown)} alerts"
    if len(fetched) >= data.alert_limit:
        caption += f" among the newest {data.alert_limit} in range (narrow the range or filter by pair for more)"
    severity_values = sorted(set(SEVERITIES) | {s for s in fetched["severity"].dropna().unique() if s})
    return panels.alert_rows(shown), caption, [{"label": s, "value": s} for s in severity_values]


def thresholds(data: DashboardData, settings: Settings, hour: int | None, now: datetime | None = None):
    h = _now(now).hour if hour is None or int(hour) < 0 else int(hour)
    return panels.thresholds_panel(data.thresholds(), h, settings.truefx.pairs, figures.DETECTORS)


def health(data: DashboardData, now: datetime | None = None):
    now = _now(now)
    return panels.health_panel(data.heartbeats(), data.supervisor_actions(now), now, (PRODUCER, STREAMING))


def data_quality(data: DashboardData, settings: Settings):
    return panels.dq_panel(data.dq_runs(), settings.dq_docs_dir, DQ_DOCS_ROUTE)


def register(app, get_data: Callable[[], DashboardData], settings: Settings,
             clean: Callable[[str], str] = lambda text: text) -> None:
    """Wire the functions above to the layout's components. A failed read shows a generic note in its panel;
    the detail goes to the log through `clean` (redaction), never to the browser."""
    from dash import Input, Output, no_update

    def guarded(fn, fallback):
        try:
            return fn()
        except Exception as exc:  # a dashboard keeps serving while Cassandra restarts
            log.warning("dashboard read failed: %s", clean(f"{type(exc).__name__}: {exc}"))
            return fallback(UNAVAILABLE)

    @app.callback(Output("price-chart", "figure"), Output("last-update", "children"),
                  Input("pair", "value"), Input("chart-range", "value"), Input("tick", "n_intervals"))
    def _chart(pair, range_s, _n):
        return guarded(lambda: chart(get_data(), pair, range_s),
                       lambda note: (no_update, f"data {note}"))

    @app.callback(Output("alerts-grid", "rowData"), Output("alerts-count", "children"),
                  Output("alerts-severity", "options"),
                  Input("alerts-detector", "value"), Input("alerts-pair", "value"),
                  Input("alerts-severity", "value"), Input("alerts-range", "value"), Input("slow", "n_intervals"))
    def _alerts(detectors, pairs, severities, range_s, _n):
        return guarded(lambda: alerts_table(get_data(), detectors, pairs, severities, range_s),
                       lambda note: (no_update, f"alerts {note}", no_update))

    @app.callback(Output("thresholds-panel", "children"),
                  Input("thresholds-hour", "value"), Input("slow", "n_intervals"))
    def _thresholds(hour, _n):
        return guarded(lambda: thresholds(get_data(), settings, hour), lambda note: f"thresholds {note}")

    @app.callback(Output("health-panel", "children"), Input("tick", "n_intervals"))
    def _health(_n):
        return guarded(lambda: health(get_data()), lambda note: f"health {note}")

    @app.callback(Output("dq-panel", "children"), Input("slow", "n_intervals"))
    def _dq(_n):
        return guarded(lambda: data_quality(get_data(), settings), lambda note: f"data quality {note}")
