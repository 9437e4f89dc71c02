"""The dashboard's page: controls, chart, alerts grid, thresholds, pipeline health and data quality. No I/O."""

from __future__ import annotations

import dash_ag_grid as dag
from dash import dcc, html

from dashboard.figures import DETECTORS
from dashboard.panels import ALERT_GRID_COLUMNS
from fxtrue.settings import Settings

# Chart ranges (seconds); ranges above RAW_TICKS_MAX_S draw the trend windows' mean bid/ask, not raw ticks.
# The longest range fits DashboardData.trend_limit windows at the default 5 s trend slide.
CHART_RANGES = {"5 min": 300, "15 min": 900, "1 h": 3600, "4 h": 14400}
RAW_TICKS_MAX_S = 900
ALERT_RANGES = {"last hour": 3600, "last 6 h": 21600, "last 24 h": 86400, "last 7 days": 7 * 86400,
                "last 30 days": 30 * 86400}
SEVERITIES = ("info", "warning", "critical")
SLOW_REFRESH_MS = 10_000  # alerts grid, thresholds and data quality change slowly
DQ_DOCS_ROUTE = "/dq-docs/"


def _options(values) -> list[dict]:
    return [{"label": v, "value": v} for v in values]


def build_layout(settings: Settings) -> html.Div:
    pairs = list(settings.truefx.pairs)
    return html.Div([
        html.Header([
            html.H1("FXTrue"),
            html.Div([
                html.Label("pair", htmlFor="pair"),
                dcc.Dropdown(id="pair", options=_options(pairs), value=pairs[0] if pairs else None,
                             clearable=False, style={"width": "160px"}),
                html.Label("range"),
                dcc.RadioItems(id="chart-range", options=[{"label": k, "value": v} for k, v in CHART_RANGES.items()],
                               value=CHART_RANGES["15 min"], inline=True),
            ], className="controls"),
            html.Span(id="last-update", className="updated"),
        ]),
        dcc.Interval(id="tick", interval=settings.dashboard.refresh_ms),
        dcc.Interval(id="slow", interval=SLOW_REFRESH_MS),
        html.Section([dcc.Graph(id="price-chart", config={"displaylogo": False})], className="chart"),
        html.Section([
            html.H2("Alerts"),
            html.Div([
                dcc.Dropdown(id="alerts-detector", options=_options(DETECTORS), multi=True, placeholder="detector"),
                dcc.Dropdown(id="alerts-pair", options=_options(pairs), multi=True, placeholder="pair"),
                dcc.Dropdown(id="alerts-severity", options=_options(SEVERITIES), multi=True,
                             placeholder="severity"),
                dcc.Dropdown(id="alerts-range", options=[{"label": k, "value": v} for k, v in ALERT_RANGES.items()],
                             value=ALERT_RANGES["last 24 h"], clearable=False),
            ], className="filters"),
            html.Div(id="alerts-count", className="caption"),
            dag.AgGrid(id="alerts-grid", columnDefs=ALERT_GRID_COLUMNS, rowData=[],
                       defaultColDef={"sortable": True, "resizable": True, "filter": True, "minWidth": 90},
                       getRowId="params.data.id", columnSize="responsiveSizeToFit",
                       dashGridOptions={"pagination": True, "paginationPageSize": 50,
                                        "animateRows": False},
                       style={"height": "420px"}),
        ], className="alerts"),
        html.Div([
            html.Section([
                html.H2("Current thresholds"),
                html.Div([html.Label("hour (UTC)"),
                          dcc.Dropdown(id="thresholds-hour",
                                       options=[{"label": "now", "value": -1}] +
                                               [{"label": f"{h:02d}", "value": h} for h in range(24)],
                                       value=-1, clearable=False, style={"width": "100px"})],
                         className="controls"),
                html.Div(id="thresholds-panel"),
            ], className="thresholds"),
            html.Section([html.H2("Pipeline health"), html.Div(id="health-panel")], className="health"),
            html.Section([html.H2("Data quality"), html.Div(id="dq-panel")], className="dq"),
        ], className="panels"),
    ], className="page")
