"""Bounded Cassandra reads for the dashboard: prepared statements on one partition (pair + day, or day) with a
LIMIT, and time ranges that walk day partitions newest first up to a cap. Results come back as DataFrames.

Every read here is O(LIMIT), whatever the amount of history kept, which is what keeps the dashboard
responsive with weeks of data. The thresholds panel reads the immutable published version once per version
(through fxtrue.thresholds) and the health panel uses fxtrue.heartbeats.read_all (one row per job).
"""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta, timezone
from typing import Iterable, Sequence

import pandas as pd

from fxtrue import heartbeats as hb
from fxtrue import thresholds as th
from fxtrue.settings import Settings

TICK_COLUMNS = ["ts", "bid", "ask"]
TREND_COLUMNS = ["window_start", "window_end", "mean_bid", "mean_ask", "mean_mid", "tick_count",
                 "mean_spread_bps"]
ALERT_COLUMNS = ["pair", "window_start", "window_end", "detector", "subject", "observed", "baseline_mean",
                 "baseline_std", "threshold", "score", "severity", "thresholds_version", "detected_at", "details"]
DQ_COLUMNS = ["suite", "run_at", "run_id", "success", "evaluated", "failed", "failing_expectations", "target",
              "docs_url"]
SUPERVISOR_COLUMNS = ["at", "job", "action", "reason", "attempt"]


def utc(dt: datetime) -> datetime:
    """An aware UTC datetime (the driver returns naive UTC datetimes)."""
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def days_between(start: datetime, end: datetime, max_days: int) -> list[date]:
    """The UTC day partitions that [start, end] touches, newest first, at most `max_days` of them."""
    first, last = utc(start).date(), utc(end).date()
    out: list[date] = []
    day = last
    while day >= first and len(out) < max_days:
        out.append(day)
        day -= timedelta(days=1)
    return out


def _frame(rows: Iterable, columns: Sequence[str]) -> pd.DataFrame:
    rows = list(rows)
    if rows:  # the driver's rows are named tuples: pandas reads their fields as columns
        df = pd.DataFrame(rows)[list(columns)]
    else:
        df = pd.DataFrame(columns=list(columns))
    for col in columns:
        if col in ("ts", "window_start", "window_end", "detected_at", "run_at", "at", "updated_at"):
            df[col] = pd.to_datetime(df[col], utc=True)
    return df


class DashboardData:
    """The dashboard's reads on one Cassandra session; build one per process (it prepares its statements).

    Limits (rows per read) are constructor arguments so tests and the bench can see where they bite.
    """

    DAY_WAVE = 8  # day partitions read concurrently per round

    def __init__(self, session, settings: Settings, *, tick_limit: int = 5000, trend_limit: int = 3000,
                 alert_limit: int = 1000, max_days: int = 31, dq_runs_per_suite: int = 10) -> None:
        self.session = session
        self.settings = settings
        self.tick_limit = tick_limit
        self.trend_limit = trend_limit
        self.alert_limit = alert_limit
        self.max_days = max_days
        self.dq_runs_per_suite = dq_runs_per_suite
        ks = settings.cassandra.keyspace
        prep = session.prepare
        self._ticks = prep(f"SELECT ts, bid, ask FROM {ks}.ticks_by_pair_day "
                           "WHERE pair = ? AND day = ? AND ts >= ? AND ts <= ? LIMIT ?")
        self._trends = prep(f"SELECT {', '.join(TREND_COLUMNS)} FROM {ks}.trends_by_pair_day "
                            "WHERE pair = ? AND day = ? AND window_start >= ? AND window_start <= ? LIMIT ?")
        self._pair_alerts = prep(f"SELECT {', '.join(ALERT_COLUMNS)} FROM {ks}.alerts_by_pair_day "
                                 "WHERE pair = ? AND day = ? AND window_start >= ? AND window_start <= ? LIMIT ?")
        self._day_alerts = prep(f"SELECT {', '.join(ALERT_COLUMNS)} FROM {ks}.alerts_by_day "
                                "WHERE day = ? AND window_start >= ? AND window_start <= ? LIMIT ?")
        self._dq_suites = prep(f"SELECT DISTINCT suite FROM {ks}.dq_runs_by_suite LIMIT ?")
        self._dq_runs = prep(f"SELECT {', '.join(DQ_COLUMNS)} FROM {ks}.dq_runs_by_suite WHERE suite = ? LIMIT ?")
        self._supervisor = prep(f"SELECT {', '.join(SUPERVISOR_COLUMNS)} FROM {ks}.supervisor_actions_by_day "
                                "WHERE day = ? LIMIT ?")
        self._thresholds_cache: dict[str, th.Thresholds] = {}
        self._suites_cache: tuple[float, list[str]] = (0.0, [])
        self._lock = threading.Lock()

    # -- helpers
    def _gather(self, stmt, params: list[tuple]) -> list:
        """Run one prepared read per partition concurrently; rows in the order of `params`."""
        futures = [self.session.execute_async(stmt, p) for p in params]
        rows: list = []
        for f in futures:
            rows.extend(f.result())
        return rows

    def _per_day(self, stmt, key: tuple, start: datetime, end: datetime, limit: int) -> list:
        """Newest-first rows of one key over the day partitions of [start, end], at most `limit` in all."""
        start, end = utc(start), utc(end)
        days = days_between(start, end, self.max_days)
        rows: list = []
        # A few partitions at a time, newest first, stopping once the limit is reached: a 30-day range with
        # recent alerts reads one or two partitions, not thirty.
        for i in range(0, len(days), self.DAY_WAVE):
            need = limit - len(rows)
            rows += self._gather(stmt, [(*key, d, start, end, need) for d in days[i:i + self.DAY_WAVE]])
            if len(rows) >= limit:
                break
        return rows[:limit]

    # -- the price chart
    def ticks(self, pair: str, start: datetime, end: datetime, limit: int | None = None) -> pd.DataFrame:
        """The newest ticks of `pair` in [start, end] (at most `limit`), oldest first."""
        rows = self._per_day(self._ticks, (pair,), start, end, limit or self.tick_limit)
        return _frame(rows, TICK_COLUMNS).iloc[::-1].reset_index(drop=True)

    def trends(self, pair: str, start: datetime, end: datetime, limit: int | None = None) -> pd.DataFrame:
        """Trend windows of `pair` starting in [start, end] (newest `limit`), oldest first."""
        rows = self._per_day(self._trends, (pair,), start, end, limit or self.trend_limit)
        return _frame(rows, TREND_COLUMNS).iloc[::-1].reset_index(drop=True)

    def pair_alerts(self, pair: str, start: datetime, end: datetime, limit: int | None = None) -> pd.DataFrame:
        """Alerts on `pair` whose window starts in [start, end], newest first."""
        rows = self._per_day(self._pair_alerts, (pair,), start, end, limit or self.alert_limit)
        return _frame(rows, ALERT_COLUMNS)

    # -- the alerts table
    def alerts(self, start: datetime, end: datetime, pairs: Sequence[str] = (),
               limit: int | None = None) -> pd.DataFrame:
        """Alerts whose window starts in [start, end], newest first, at most `limit`.

        With a few pairs chosen, reads their own partitions (so the limit counts only their alerts);
        otherwise reads the across-pairs partitions by day.
        """
        limit = limit or self.alert_limit
        if pairs and len(pairs) <= 5:
            frames = [_frame(self._per_day(self._pair_alerts, (p,), start, end, limit), ALERT_COLUMNS) for p in pairs]
            df = pd.concat(frames, ignore_index=True)
            return df.sort_values("window_start", ascending=False, kind="stable").head(limit).reset_index(drop=True)
        df = _frame(self._per_day(self._day_alerts, (), start, end, limit), ALERT_COLUMNS)
        if pairs:
            df = df[df["pair"].isin(list(pairs))].reset_index(drop=True)
        return df

    # -- thresholds
    def thresholds(self) -> th.Thresholds | None:
        """The current published thresholds; a published version is immutable, so each is read once."""
        version = th.current_version(self.session, self.settings)
        if version is None:
            return None
        with self._lock:
            cached = self._thresholds_cache.get(version)
        if cached is None:
            cached = th.load_version(self.session, self.settings, version)
            with self._lock:
                self._thresholds_cache[version] = cached
        return cached

    # -- health
    def heartbeats(self) -> list[hb.Heartbeat]:
        """Every job's latest heartbeat, producer and streaming first."""
        beats = hb.read_all(self.session, self.settings)
        order = {hb.PRODUCER: 0, hb.STREAMING: 1}
        return sorted(beats.values(), key=lambda b: (order.get(b.job, 2), b.job))

    def supervisor_actions(self, now: datetime, limit: int = 10) -> pd.DataFrame:
        """The supervisor's latest actions (today's partition, then yesterday's), newest first."""
        now = utc(now)
        days = [now.date(), now.date() - timedelta(days=1)]
        rows = self._gather(self._supervisor, [(d, limit) for d in days])
        return _frame(rows[:limit], SUPERVISOR_COLUMNS)

    # -- data quality
    def dq_suites(self, max_suites: int = 50, cache_s: float = 60.0) -> list[str]:
        stamp, suites = self._suites_cache
        if time.monotonic() - stamp > cache_s or not suites:
            suites = sorted(r.suite for r in self.session.execute(self._dq_suites, (max_suites,)))
            self._suites_cache = (time.monotonic(), suites)
        return suites

    def dq_runs(self, per_suite: int | None = None) -> pd.DataFrame:
        """The latest runs of every data-quality suite, newest first within each suite."""
        suites = self.dq_suites()
        rows = self._gather(self._dq_runs, [(s, per_suite or self.dq_runs_per_suite) for s in suites])
        return _frame(rows, DQ_COLUMNS)
