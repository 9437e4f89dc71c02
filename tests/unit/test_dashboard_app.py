"""dashboard.callbacks called directly, and dashboard.app's auth, Data Docs route and command (fake session).
The hostile-input guards (mode, Host, failed logins, errors, Data Docs paths) are in test_dashboard_security.py."""

from __future__ import annotations

import base64
from collections import namedtuple
from datetime import datetime, timedelta, timezone

import pytest

from dashboard import callbacks
from dashboard.app import check_auth_settings, create_app, is_loopback
from dashboard.data import ALERT_COLUMNS, DashboardData
from fxtrue.errors import ConfigError
from fxtrue.settings import Settings

from dashboard_fakes import FakeSession

NOW = datetime.now(timezone.utc).replace(microsecond=0)
Tick = namedtuple("Tick", "pair day ts bid ask")
Trend = namedtuple("Trend", "pair day window_start window_end mean_bid mean_ask mean_mid tick_count mean_spread_bps")
Alert = namedtuple("Alert", ["day"] + ALERT_COLUMNS)
Beat = namedtuple("Beat", "job updated_at started_at host pid status metrics info")


def naive(dt):
    return dt.replace(tzinfo=None)


def alert(pair, minutes_ago, detector, severity):
    ws = NOW - timedelta(minutes=minutes_ago)
    return Alert(ws.date(), pair, naive(ws), naive(ws + timedelta(seconds=10)), detector, pair, 9.0, 1.0, 1.0, 6.0,
                 8.0, severity, "v1", naive(ws), "")


@pytest.fixture
def data():
    s = FakeSession()
    s.tables["ticks_by_pair_day"] = [
        Tick("EUR/USD", (NOW - timedelta(seconds=k)).date(), naive(NOW - timedelta(seconds=k)), 1.08501, 1.08507)
        for k in range(0, 600, 20)]
    s.tables["trends_by_pair_day"] = [
        Trend("EUR/USD", (NOW - timedelta(seconds=k)).date(), naive(NOW - timedelta(seconds=k + 30)),
              naive(NOW - timedelta(seconds=k)), 1.085, 1.0851, 1.08505, 10, 0.5) for k in range(0, 600, 5)]
    rows = [alert("EUR/USD", 2, "spread", "critical"), alert("USD/JPY", 3, "price_jump", "warning"),
            alert("EUR/USD", 90, "tick_rate", "warning")]
    s.tables["alerts_by_pair_day"] = rows
    s.tables["alerts_by_day"] = rows
    s.tables["heartbeats_by_job"] = [
        Beat("producer", naive(NOW - timedelta(seconds=1)), naive(NOW - timedelta(hours=1)), "h", 1, "running",
             {"sent": 4242.0, "lag_s": 0.3}, {"source": "sim"}),
        Beat("streaming", naive(NOW - timedelta(seconds=400)), None, "h", 2, "running",
             {"batch_duration_ms": 1234.0, "dlq_rows": 7.0}, {})]
    return DashboardData(s, Settings())


def test_chart_callback_draws_ticks_mean_and_alert_windows(data):
    fig, caption = callbacks.chart(data, "EUR/USD", 900)
    assert fig.data[0].name == "bid" and len(fig.data[0].x) == 30
    assert len(fig.data[2].x) == len(data.trends("EUR/USD", NOW - timedelta(minutes=16), NOW))
    assert [s.name for s in fig.layout.shapes] == ["alert:spread"]  # the 90-min-old one is out of range
    assert "30 ticks, 1 alerts" in caption


def test_chart_callback_long_range_uses_trend_means(data):
    fig, caption = callbacks.chart(data, "EUR/USD", 14400)
    assert fig.data[0].name == "bid (30 s mean)"
    assert "trend windows" in caption
    assert len(fig.layout.shapes) == 2


def test_alerts_callback_filters(data):
    rows, caption, options = callbacks.alerts_table(data, None, None, None, 86400)
    assert len(rows) == 3 and caption == "3 alerts"
    assert rows[0]["detector"] == "spread"  # newest first
    rows, _, _ = callbacks.alerts_table(data, ["price_jump"], None, None, 86400)
    assert [r["pair"] for r in rows] == ["USD/JPY"]
    rows, _, _ = callbacks.alerts_table(data, None, ["EUR/USD"], ["warning"], 86400)
    assert [r["detector"] for r in rows] == ["tick_rate"]
    rows, _, _ = callbacks.alerts_table(data, None, None, None, 3600)
    assert len(rows) == 2  # time range
    assert {o["value"] for o in options} >= {"warning", "critical"}


def test_health_callback_shows_metrics_and_staleness(data):
    text = str(callbacks.health(data, NOW))
    assert "4242" in text and "1234" in text and "dead-letter rows" in text
    assert "card ok" in text and "card stale" in text


def test_thresholds_and_dq_callbacks_without_data(data):
    assert "warm-up" in str(callbacks.thresholds(data, Settings(), -1))
    assert "no data-quality runs" in str(callbacks.data_quality(data, Settings()))


def test_loopback_detection():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3") and not is_loopback("dash.example.org")


LOCAL = "http://127.0.0.1:8050"  # the Host a browser on this machine sends (the default allow-list)
LOCAL_ONLY = {"local_only": True}


def test_refuses_to_expose_without_credentials():
    with pytest.raises(ConfigError, match="not a loopback address"):
        check_auth_settings(Settings().replace(dashboard={"host": "0.0.0.0"}))
    with pytest.raises(ConfigError):
        create_app(Settings().replace(dashboard={"host": "0.0.0.0"}), data=lambda: None)
    with pytest.raises(ConfigError, match="only one"):
        check_auth_settings(Settings().replace(dashboard={"username": "u"}))
    with pytest.raises(ConfigError, match="ALLOWED_HOSTS"):  # exposed but answering loopback names only
        check_auth_settings(Settings().replace(dashboard={"host": "0.0.0.0", "username": "u", "password": "p"}))
    assert check_auth_settings(Settings().replace(dashboard={"host": "0.0.0.0", "username": "u", "password": "p",
                                                             "allowed_hosts": ("dash.example.org",)}))
    assert not check_auth_settings(Settings().replace(dashboard=LOCAL_ONLY))


def test_command_refuses_before_any_io(monkeypatch, capsys):
    from fxtrue import cassandra
    from fxtrue.cli import main

    def no_io(*a, **k):
        raise AssertionError("connected to Cassandra before checking auth")

    monkeypatch.setattr(cassandra, "connect", no_io)
    assert main(["dashboard", "--host", "0.0.0.0", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "not a loopback address" in err and "FXTRUE_DASHBOARD_PASSWORD" in err
    assert main(["dashboard", "--host", "0.0.0.0", "--port", "1", "--local-only"]) == 2
    assert "local-only mode but would listen on 0.0.0.0" in capsys.readouterr().err


def _auth(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_basic_auth_guards_every_route(data, tmp_path):
    s = Settings().replace(dashboard={"host": "0.0.0.0", "username": "ops", "password": "s3cret",
                                      "allowed_hosts": ("dash.example.org",)},
                           dq={"docs_dir": str(tmp_path / "docs")})
    client = create_app(s, data=data).server.test_client()
    site = "https://dash.example.org"
    for path in ("/", "/_dash-layout", "/dq-docs/"):
        r = client.get(path, base_url=site)
        assert r.status_code == 401, path
        assert r.headers["WWW-Authenticate"].startswith("Basic")
    assert client.get("/", base_url=site, headers=_auth("ops", "wrong")).status_code == 401
    assert client.get("/", base_url=site, headers=_auth("ops", "s3cret")).status_code == 200
    assert client.get("/_dash-layout", base_url=site, headers=_auth("ops", "s3cret")).status_code == 200
    # the load balancer's health check (any Host, no login) learns nothing but "ok"
    r = client.get("/healthz", base_url="http://10.0.1.7:8050")
    assert r.status_code == 200 and r.get_json() == {"status": "ok"}


def test_local_only_without_credentials_is_open_on_loopback(data):
    client = create_app(Settings().replace(dashboard=LOCAL_ONLY), data=data).server.test_client()
    assert client.get("/healthz", base_url=LOCAL).status_code == 200
    layout = client.get("/_dash-layout", base_url=LOCAL).get_json()
    text = str(layout)
    for component in ("price-chart", "alerts-grid", "health-panel", "thresholds-panel", "dq-panel"):
        assert component in text


def test_dq_docs_route_serves_the_site_and_nothing_else(data, tmp_path):
    site = tmp_path / "site"
    (site / "validations").mkdir(parents=True)
    (site / "index.html").write_text("<h1>Data Docs</h1>")
    (site / "validations" / "r1.html").write_text("run r1")
    (tmp_path / "secret.txt").write_text("no")
    client = create_app(Settings().replace(dashboard=LOCAL_ONLY, dq={"docs_dir": str(site)}),
                        data=data).server.test_client()
    assert b"Data Docs" in client.get("/dq-docs/", base_url=LOCAL).data
    assert client.get("/dq-docs/validations/r1.html", base_url=LOCAL).data == b"run r1"
    assert client.get("/dq-docs/../secret.txt", base_url=LOCAL).status_code == 404
    assert client.get("/dq-docs/%2e%2e/secret.txt", base_url=LOCAL).status_code == 404

    empty = create_app(Settings().replace(dashboard=LOCAL_ONLY, dq={"docs_dir": str(tmp_path / "none")}),
                       data=data).server.test_client()
    r = empty.get("/dq-docs/", base_url=LOCAL)
    assert r.status_code == 404 and b"fxtrue dq" in r.data


def test_module_builds_app_only_on_access():
    import dashboard.app as mod

    assert "app" not in mod._default
    with pytest.raises(AttributeError):
        mod.nothing_here  # noqa: B018


def test_command_is_registered_with_help():
    from fxtrue.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["dashboard", "--host", "127.0.0.1", "--port", "8099"])
    assert args.port == 8099 and args.host == "127.0.0.1" and not args.local_only
    assert parser.parse_args(["dashboard", "--local-only"]).local_only
    assert args.func.__module__ == "fxtrue.commands.dashboard"
