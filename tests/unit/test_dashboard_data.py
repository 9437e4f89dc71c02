"""dashboard.data against a fake session: every read is prepared, names its partition key and carries a LIMIT,
time ranges walk day partitions newest first with a cap, and rows come back as ordered DataFrames."""

from __future__ import annotations

import re
from collections import namedtuple
from datetime import date, datetime, timedelta, timezone

import pytest

from dashboard.data import ALERT_COLUMNS, DashboardData, days_between
from fxtrue.settings import Settings

from dashboard_fakes import FakePrepared, FakeSession

NOW = datetime(2026, 3, 4, 0, 5, tzinfo=timezone.utc)


Tick = namedtuple("Tick", "pair day ts bid ask")
Alert = namedtuple("Alert", ["day"] + ALERT_COLUMNS)


def naive(dt: datetime) -> datetime:
    return dt.replace(tzinfo=None)


def alert(pair: str, ws: datetime, detector: str = "spread", severity: str = "warning") -> Alert:
    return Alert(day=ws.date(), pair=pair, window_start=naive(ws), window_end=naive(ws + timedelta(seconds=10)),
                 detector=detector, subject=pair, observed=3.0, baseline_mean=1.0, baseline_std=0.2,
                 threshold=2.6, score=10.0, severity=severity, thresholds_version="v1", detected_at=naive(ws),
                 details="")


@pytest.fixture
def fake():
    return FakeSession()


@pytest.fixture
def data(fake):
    return DashboardData(fake, Settings(), tick_limit=3, alert_limit=4, max_days=31)


def test_days_between_newest_first_and_capped():
    start = datetime(2026, 3, 1, 23, 0, tzinfo=timezone.utc)
    assert days_between(start, NOW, 10) == [date(2026, 3, 4), date(2026, 3, 3), date(2026, 3, 2), date(2026, 3, 1)]
    assert days_between(start, NOW, 2) == [date(2026, 3, 4), date(2026, 3, 3)]
    assert days_between(NOW, NOW, 5) == [date(2026, 3, 4)]


def test_every_statement_is_bounded_and_keyed(fake, data):
    queries = [q for q, _ in fake.executed] or []
    prepared = [v.query for v in vars(data).values() if isinstance(v, FakePrepared)]
    assert len(prepared) >= 7 and not queries
    for q in prepared:
        assert q.rstrip().endswith("LIMIT ?"), q
        assert "ALLOW FILTERING" not in q
        if "DISTINCT" not in q:
            assert re.search(r"WHERE (pair|day|suite) = \?", q), q
        assert "fxtrue." in q  # the configured keyspace, not hard-coded elsewhere


def test_ticks_limit_keeps_the_newest_and_returns_them_oldest_first(fake, data):
    # clustering order is ts DESC, as in Cassandra
    base = NOW - timedelta(minutes=1)
    fake.tables["ticks_by_pair_day"] = [
        Tick("EUR/USD", NOW.date(), naive(base + timedelta(seconds=s)), 1.1 + s / 1e5, 1.1001 + s / 1e5)
        for s in (50, 40, 30, 20, 10)]
    df = data.ticks("EUR/USD", NOW - timedelta(minutes=5), NOW)
    assert list(df.columns) == ["ts", "bid", "ask"]
    assert len(df) == 3  # tick_limit
    assert df["ts"].is_monotonic_increasing
    assert df["ts"].iloc[-1] == base + timedelta(seconds=50)
    assert str(df["ts"].dt.tz) == "UTC"


def test_ticks_across_midnight_read_both_day_partitions(fake, data):
    fake.tables["ticks_by_pair_day"] = [
        Tick("EUR/USD", date(2026, 3, 4), naive(NOW - timedelta(minutes=1)), 1.2, 1.3),
        Tick("EUR/USD", date(2026, 3, 3), naive(NOW - timedelta(minutes=7)), 1.0, 1.1),
        Tick("GBP/USD", date(2026, 3, 3), naive(NOW - timedelta(minutes=7)), 9.0, 9.1),  # other pair
    ]
    df = data.ticks("EUR/USD", NOW - timedelta(minutes=10), NOW)
    assert df["bid"].tolist() == [1.0, 1.2]
    days = [p[1] for q, p in fake.executed if "ticks_by_pair_day" in q]
    assert days == [date(2026, 3, 4), date(2026, 3, 3)]


def test_alerts_stop_reading_days_once_the_limit_is_reached(fake, data):
    fake.tables["alerts_by_day"] = [alert("EUR/USD", NOW - timedelta(minutes=m)) for m in (1, 2, 3, 4, 5)] + \
        [alert("USD/JPY", NOW - timedelta(days=d)) for d in range(1, 30)]
    df = data.alerts(NOW - timedelta(days=30), NOW)
    assert len(df) == 4  # alert_limit
    reads = [p for q, p in fake.executed if "alerts_by_day" in q]
    assert len(reads) == DashboardData.DAY_WAVE  # one wave of partitions, not 31
    assert df["window_start"].is_monotonic_decreasing


def test_alerts_for_a_few_pairs_use_their_own_partitions(fake, data):
    fake.tables["alerts_by_pair_day"] = [alert("EUR/USD", NOW - timedelta(minutes=3)),
                                         alert("USD/JPY", NOW - timedelta(minutes=1)),
                                         alert("GBP/USD", NOW - timedelta(minutes=2))]
    df = data.alerts(NOW - timedelta(hours=1), NOW, pairs=["EUR/USD", "USD/JPY"])
    assert df["pair"].tolist() == ["USD/JPY", "EUR/USD"]  # newest first, GBP/USD not read
    assert not any("alerts_by_day" in q for q, _ in fake.executed)


def test_alerts_range_is_capped_at_max_days(fake):
    d = DashboardData(fake, Settings(), max_days=3)
    d.alerts(NOW - timedelta(days=30), NOW)
    days = {p[0] for q, p in fake.executed if "alerts_by_day" in q}
    assert days == {date(2026, 3, 4), date(2026, 3, 3), date(2026, 3, 2)}


def test_thresholds_version_is_read_once(monkeypatch, fake, data):
    from fxtrue import thresholds as th

    loads = []
    monkeypatch.setattr(th, "current_version", lambda session, settings: "v2")
    monkeypatch.setattr(th, "load_version", lambda session, settings, v: loads.append(v) or
                        th.Thresholds(version=v, created_at=NOW, source_kind="sim"))
    assert data.thresholds().version == "v2"
    assert data.thresholds().version == "v2"
    assert loads == ["v2"]


def test_no_thresholds_published(monkeypatch, data):
    from fxtrue import thresholds as th

    monkeypatch.setattr(th, "current_version", lambda session, settings: None)
    assert data.thresholds() is None


def test_empty_tables_give_empty_frames_with_columns(data):
    assert data.ticks("EUR/USD", NOW - timedelta(minutes=5), NOW).empty
    df = data.alerts(NOW - timedelta(hours=1), NOW)
    assert df.empty and list(df.columns) == ALERT_COLUMNS
    assert data.dq_runs().empty
