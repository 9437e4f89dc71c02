"""Pure builders for the non-chart panels: DataFrames and records (as dashboard.data returns them) -> grid rows and
Dash components. No I/O here.

Heartbeat metrics are free-form maps; the panel shows every key present, the ones below first with a label.
Keys the producer is expected to report: sent, rejected, failed, lag_s (and rows_per_s if it has it); keys the
streaming job is expected to report: input_rows_per_s, processed_rows_per_s, batch_duration_ms, dlq_rows.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import PurePosixPath
from typing import Sequence

import pandas as pd
from dash import html

from fxtrue.heartbeats import Heartbeat
from fxtrue.thresholds import Thresholds

# metric key -> (label, format)
KNOWN_METRICS: dict[str, tuple[str, str]] = {
    "lag_s": ("lag (s)", "{:.1f}"),
    "rows_per_s": ("rows/s", "{:.1f}"),
    "input_rows_per_s": ("input rows/s", "{:.1f}"),
    "processed_rows_per_s": ("processed rows/s", "{:.1f}"),
    "batch_duration_ms": ("last batch (ms)", "{:.0f}"),
    "sent": ("sent", "{:.0f}"),
    "rejected": ("rejected (DLQ)", "{:.0f}"),
    "failed": ("failed sends", "{:.0f}"),
    "dlq_rows": ("dead-letter rows", "{:.0f}"),
}
STALE_AFTER_S = 30.0  # a heartbeat older than this is shown as stale (jobs beat every few seconds)

ALERT_GRID_COLUMNS = [
    {"field": "window_start", "headerName": "window start (UTC)", "sort": "desc", "minWidth": 170},
    {"field": "pair", "headerName": "pair"},
    {"field": "detector", "headerName": "detector"},
    {"field": "severity", "headerName": "severity"},
    {"field": "subject", "headerName": "subject"},
    {"field": "observed", "headerName": "observed", "type": "numericColumn"},
    {"field": "threshold", "headerName": "threshold", "type": "numericColumn"},
    {"field": "score", "headerName": "score", "type": "numericColumn"},
    {"field": "window_end", "headerName": "window end (UTC)", "minWidth": 170},
    {"field": "thresholds_version", "headerName": "thresholds version"},
]


def _num(v, digits: int = 6):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return None
    return round(float(v), digits)


def _ts(v) -> str:
    return "" if v is None or pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d %H:%M:%S")


def filter_alerts(df: pd.DataFrame, detectors: Sequence[str] = (), pairs: Sequence[str] = (),
                  severities: Sequence[str] = ()) -> pd.DataFrame:
    """Alerts matching every non-empty filter (empty = all)."""
    mask = pd.Series(True, index=df.index)
    if detectors:
        mask &= df["detector"].isin(list(detectors))
    if pairs:
        mask &= df["pair"].isin(list(pairs))
    if severities:
        mask &= df["severity"].isin(list(severities))
    return df[mask].reset_index(drop=True)


def _ts_column(col: pd.Series) -> list[str]:
    return col.dt.strftime("%Y-%m-%d %H:%M:%S").fillna("").tolist()


def _num_column(col: pd.Series, digits: int = 6) -> list:
    values = pd.to_numeric(col, errors="coerce").astype(float).round(digits)
    return [None if not math.isfinite(v) else v for v in values.tolist()]


def alert_rows(df: pd.DataFrame) -> list[dict]:
    """Grid rows (JSON-safe) for the alerts table, one per alert, with a stable row id (column-wise: the table
    is rebuilt every few seconds)."""
    if df.empty:
        return []
    ws, we = _ts_column(df["window_start"]), _ts_column(df["window_end"])
    cols = {
        "window_start": ws, "window_end": we, "pair": df["pair"].tolist(), "detector": df["detector"].tolist(),
        "subject": df["subject"].tolist(), "severity": df["severity"].fillna("").tolist(),
        "observed": _num_column(df["observed"]), "threshold": _num_column(df["threshold"]),
        "score": _num_column(df["score"], 2), "thresholds_version": df["thresholds_version"].fillna("").tolist(),
    }
    cols["id"] = [f"{p}|{w}|{d}|{s}" for p, w, d, s in zip(cols["pair"], ws, cols["detector"], cols["subject"])]
    keys = list(cols)
    return [dict(zip(keys, values)) for values in zip(*(cols[k] for k in keys))]


def thresholds_table(t: Thresholds | None, hour: int, pairs: Sequence[str]) -> list[dict]:
    """Rows of threshold values for one UTC hour bucket: one row per subject (configured pairs first, then
    triangles), one column per detector."""
    if t is None:
        return []
    by_subject: dict[str, dict] = {}
    for r in t.rows:
        if r.hour != hour:
            continue
        by_subject.setdefault(r.subject, {"subject": r.subject})[r.detector] = _num(r.threshold)
    order = {p: i for i, p in enumerate(pairs)}
    return [by_subject[s] for s in sorted(by_subject, key=lambda s: (order.get(s, len(order)), s))]


def thresholds_panel(t: Thresholds | None, hour: int, pairs: Sequence[str], detectors: Sequence[str]):
    if t is None:
        return html.Div("No thresholds version is published yet: detectors run in warm-up mode "
                        "(publish one with `fxtrue stats --publish`).", className="empty", id="thresholds-none")
    src = f"{t.source_from or '?'} – {t.source_to or '?'}"
    meta = html.Div([
        html.Span(["version ", html.B(t.version, id="thresholds-version")]),
        html.Span(f"created {t.created_at:%Y-%m-%d %H:%M} UTC"),
        html.Span(f"source {t.source_kind}, {src}, {t.tick_count:,} ticks"),
        html.Span(f"status {t.status}"),
    ], className="meta")
    rows = thresholds_table(t, hour, pairs)
    cols = [d for d in detectors if any(d in r for r in rows)]
    header = html.Tr([html.Th("subject")] + [html.Th(d) for d in cols])
    body = [html.Tr([html.Td(r["subject"])] + [html.Td("" if r.get(d) is None else f"{r[d]:.6g}") for d in cols])
            for r in rows]
    table = html.Table([html.Thead(header), html.Tbody(body)], className="grid", id="thresholds-table") \
        if rows else html.Div(f"no rows for hour {hour:02d} UTC", className="empty")
    return html.Div([meta, html.Div(f"thresholds for hour {hour:02d}:00–{hour:02d}:59 UTC", className="caption"),
                     table])


def metric_items(metrics: dict[str, float]) -> list[tuple[str, str, str]]:
    """(key, label, formatted value) of a heartbeat's metrics: known keys first in a fixed order, then the rest."""
    out = []
    for key, (label, fmt) in KNOWN_METRICS.items():
        if key in metrics:
            v = metrics[key]
            out.append((key, label, fmt.format(v) if math.isfinite(v) else str(v)))
    for key in sorted(set(metrics) - set(KNOWN_METRICS)):
        out.append((key, key, f"{metrics[key]:g}"))
    return out


def health_state(beat: Heartbeat, now: datetime) -> str:
    """ok | stale | stopped | failed: what the card's colour says."""
    status = (beat.status or "").lower()
    if status in ("failed", "error", "dead"):
        return "failed"
    if status in ("stopped", "finished"):
        return "stopped"
    return "stale" if beat.age_s(now) > STALE_AFTER_S else "ok"


def health_panel(beats: Sequence[Heartbeat], supervisor: pd.DataFrame, now: datetime, expected: Sequence[str]):
    cards = []
    seen = {b.job for b in beats}
    for job in expected:
        if job not in seen:
            cards.append(html.Div([html.H4(job), html.Div("no heartbeat yet", className="state")],
                                  className="card missing", id=f"health-{job}"))
    for b in beats:
        state = health_state(b, now)
        items = [html.Li([html.Span("age "), html.B(f"{b.age_s(now):.1f} s", className="age")]),
                 html.Li([html.Span("status "), html.B(b.status or "?")])]
        items += [html.Li([html.Span(f"{label} "), html.B(value, **{"data-metric": key})])
                  for key, label, value in metric_items(b.metrics)]
        items += [html.Li([html.Span(f"{k} "), html.Code(v)]) for k, v in sorted(b.info.items())]
        started = f"since {b.started_at:%Y-%m-%d %H:%M:%S} UTC" if b.started_at else ""
        cards.append(html.Div([html.H4(b.job), html.Div(f"{state} · {b.host} pid {b.pid or '?'} {started}",
                                                        className="state"),
                               html.Ul(items)], className=f"card {state}", id=f"health-{b.job}"))
    parts = [html.Div(cards, className="cards")]
    if len(supervisor):
        parts.append(html.Div([html.H4("supervisor actions"), html.Ul([
            html.Li(f"{_ts(r.at)} {r.job}: {r.action} (attempt {r.attempt or '-'}) {r.reason or ''}")
            for r in supervisor.itertuples(index=False)])], className="supervisor"))
    return html.Div(parts)


def docs_href(docs_url: str | None, docs_dir: str, route: str = "/dq-docs/") -> str | None:
    """Where the dashboard links a run's report: file paths under the Data Docs folder become app routes."""
    if not docs_url:
        return None
    if docs_url.startswith(("http://", "https://", route)):
        return docs_url
    path = docs_url[len("file://"):] if docs_url.startswith("file://") else docs_url
    try:
        rel = PurePosixPath(path).relative_to(PurePosixPath(docs_dir))
    except ValueError:
        return None
    return route + str(rel)


def dq_panel(runs: pd.DataFrame, docs_dir: str, route: str = "/dq-docs/"):
    link = html.A("Open the Data Docs site", href=route, target="_blank", id="dq-docs-link")
    if not len(runs):
        return html.Div([html.Div("no data-quality runs recorded yet (`fxtrue dq`)", className="empty"), link])
    header = html.Tr([html.Th(h) for h in ("suite", "run at (UTC)", "result", "evaluated", "failed",
                                           "failing expectations", "target", "report")])
    body = []
    for r in runs.itertuples(index=False):
        href = docs_href(r.docs_url, docs_dir, route)
        body.append(html.Tr([
            html.Td(r.suite), html.Td(_ts(r.run_at)),
            html.Td("PASS" if r.success else "FAIL", className="pass" if r.success else "fail"),
            html.Td(r.evaluated), html.Td(r.failed), html.Td(", ".join(r.failing_expectations or [])),
            html.Td(r.target or ""), html.Td(html.A("report", href=href, target="_blank") if href else ""),
        ]))
    return html.Div([link, html.Table([html.Thead(header), html.Tbody(body)], className="grid", id="dq-table")])
