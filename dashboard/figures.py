"""Pure figure builders: DataFrames (as dashboard.data returns them) -> Plotly figures. No I/O here."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from fxtrue.ticks import price_decimals

DETECTORS = ("tick_rate", "price_jump", "spread", "stale_feed", "cross_rate")
DETECTOR_COLORS = {
    "tick_rate": "#1f77b4", "price_jump": "#d62728", "spread": "#ff7f0e", "stale_feed": "#7f7f7f",
    "cross_rate": "#9467bd",
}
OTHER_COLOR = "#8c564b"
_AXIS = {"showgrid": True, "gridcolor": "#ebf0f8", "linecolor": "#c8d4e3", "zeroline": False, "automargin": True}
BID_COLOR, ASK_COLOR, MEAN_COLOR = "#2ca02c", "#d62728", "#1f1f1f"


def _arr(series) -> np.ndarray:
    """A plain numpy array for Plotly (naive UTC datetime64 for times): Plotly converts pandas objects through
    narwhals on every trace, which costs more than the rest of a one-second refresh."""
    s = pd.Series(series)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    return s.to_numpy()


def _naive_utc(dt: datetime) -> str:
    return pd.Timestamp(dt).tz_convert("UTC").tz_localize(None).isoformat() if pd.Timestamp(dt).tzinfo else \
        pd.Timestamp(dt).isoformat()


def detector_color(detector: str) -> str:
    return DETECTOR_COLORS.get(detector, OTHER_COLOR)


def _fmt(value, decimals: int = 4) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "n/a"
    return f"{value:.{decimals}f}"


def alert_hover(row) -> str:
    """Hover text of one alert: what was observed against which threshold, judged by which version."""
    return (f"<b>{row['detector']}</b> on {row['subject']} ({row.get('severity') or 'n/a'})<br>"
            f"window {pd.Timestamp(row['window_start']):%H:%M:%S}–{pd.Timestamp(row['window_end']):%H:%M:%S} UTC<br>"
            f"observed {_fmt(row['observed'])} vs threshold {_fmt(row['threshold'])}<br>"
            f"baseline mean {_fmt(row['baseline_mean'])}, std {_fmt(row['baseline_std'])}, "
            f"score {_fmt(row['score'], 2)}<br>"
            f"thresholds version {row.get('thresholds_version') or 'none (warm-up)'}")


def price_figure(ticks: pd.DataFrame, trends: pd.DataFrame, alerts: pd.DataFrame, pair: str,
                 start: datetime, end: datetime, *, from_trends: bool = False,
                 truncated: bool = False) -> go.Figure:
    """Bid and ask (full prices) with the running average (trend mean mid) and the pair's alert windows.

    With `from_trends`, bid/ask are the trend windows' mean bid/ask (long ranges, where raw ticks would be too
    many to send every second). Each alert window is a shaded vrect coloured by detector, plus a marker at the
    top of the window carrying the hover details (shapes have no hover in Plotly).
    """
    decimals = price_decimals(pair)
    price_fmt = f".{decimals}f"
    if from_trends:
        x, bid, ask = _arr(trends["window_end"]), _arr(trends["mean_bid"]), _arr(trends["mean_ask"])
        label = " (30 s mean)"
    else:
        x, bid, ask = _arr(ticks["ts"]), _arr(ticks["bid"]), _arr(ticks["ask"])
        label = ""
    traces = [
        go.Scatter(x=x, y=bid, name=f"bid{label}", mode="lines", line={"color": BID_COLOR, "width": 1},
                   line_shape="hv", hovertemplate=f"bid %{{y:{price_fmt}}}<extra></extra>"),
        go.Scatter(x=x, y=ask, name=f"ask{label}", mode="lines", line={"color": ASK_COLOR, "width": 1},
                   line_shape="hv", hovertemplate=f"ask %{{y:{price_fmt}}}<extra></extra>"),
        go.Scatter(x=_arr(trends["window_end"]), y=_arr(trends["mean_mid"]), name="running mean (mid)", mode="lines",
                   line={"color": MEAN_COLOR, "width": 2, "dash": "dot"},
                   hovertemplate=f"mean mid %{{y:{price_fmt}}}<extra></extra>"),
    ]
    # Shapes as plain dicts in one layout update: add_vrect per alert re-validates the whole layout each time.
    shapes: list[dict] = []
    prices = np.concatenate([bid.astype(float), ask.astype(float)])
    prices = prices[np.isfinite(prices)]
    top = float(prices.max()) if len(prices) else None
    for detector, group in (alerts.groupby("detector", sort=True) if len(alerts) else []):
        color = detector_color(detector)
        shapes += [{"type": "rect", "xref": "x", "yref": "paper", "x0": ws.isoformat(), "x1": we.isoformat(),
                    "y0": 0, "y1": 1,
                    "fillcolor": color, "opacity": 0.25, "line": {"width": 0}, "layer": "below",
                    "name": f"alert:{detector}"}
                   for ws, we in zip(group["window_start"], group["window_end"])]
        if top is not None:
            mid_x = group["window_start"] + (group["window_end"] - group["window_start"]) / 2
            traces.append(go.Scatter(
                x=_arr(mid_x), y=np.full(len(group), top), mode="markers", name=f"alert: {detector}",
                marker={"symbol": "triangle-down", "size": 11, "color": color},
                hovertext=[alert_hover(r) for r in group.to_dict("records")], hoverinfo="text"))

    title = f"{pair}: bid / ask and running mean"
    if truncated:
        title += " (newest rows only: narrow the range to see every tick)"
    layout = go.Layout(
        title={"text": title, "x": 0.01}, margin={"l": 60, "r": 20, "t": 50, "b": 40}, height=430,
        hovermode="closest", legend={"orientation": "h", "y": -0.15}, uirevision=pair, shapes=shapes,
        xaxis={"range": [_naive_utc(start), _naive_utc(end)], "title": {"text": "UTC"}, **_AXIS},
        yaxis={"tickformat": price_fmt, "title": {"text": pair}, "hoverformat": price_fmt, **_AXIS},
        # An empty template styled by hand: a named template is deep-copied and validated on every figure,
        # which costs more than the rest of the figure at a one-second refresh.
        template="none", plot_bgcolor="white", paper_bgcolor="white", font={"size": 12})
    if not len(x):
        layout.annotations = [{"text": f"no {'trends' if from_trends else 'ticks'} for {pair} in this range",
                               "showarrow": False, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5}]
    return go.Figure(data=traces, layout=layout)
