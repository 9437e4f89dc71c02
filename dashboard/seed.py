"""Realistic dashboard data for tests and the bench: ticks (from the market simulator), 30 s trends computed from
them, alerts, a published thresholds version, heartbeats, data-quality runs and a supervisor action, written into
the keyspace of `settings` with batched concurrent inserts.

Density is a parameter: the last `recent_s` seconds get the simulator's real quote rate and 5 s trend steps;
older time gets about one tick per pair per `old_tick_interval_s` and a trend window every `old_trend_step_s`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Iterator, Sequence

import numpy as np

from fxtrue.settings import Settings
from fxtrue.ticks import price_decimals

log = logging.getLogger(__name__)

DETECTORS = ("tick_rate", "price_jump", "spread", "stale_feed", "cross_rate")
SEVERITIES = ("warning", "critical")
BATCH_ROWS = 50  # rows per single-partition UNLOGGED batch: stays under Cassandra's 5 KiB batch warning
DAY_MS = 86_400_000


@dataclass
class SeedReport:
    pairs: int = 0
    days: int = 0
    ticks: int = 0
    trends: int = 0
    alerts: int = 0
    threshold_rows: int = 0
    thresholds_version: str = ""
    seconds: float = 0.0
    tick_source: str = ""
    alerts_by_pair: dict[str, list[dict]] = field(default_factory=dict)

    def summary(self) -> str:
        return (f"{self.pairs} pairs x {self.days} days: {self.ticks:,} ticks ({self.tick_source}), "
                f"{self.trends:,} trend windows, {self.alerts:,} alerts, {self.threshold_rows:,} threshold rows "
                f"(version {self.thresholds_version}) in {self.seconds:.1f} s")


# -- tick generation ---------------------------------------------------------------------------------------

def _sim_ticks(pairs: Sequence[str], start_ms: int, end_ms: int, recent_from_ms: int, old_interval_s: float,
               seed: int) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """(pair index, ts, bid, ask) chunks from the market simulator, an hour at a time."""
    from fxtrue.simulator.market import GRID_MS, MarketModel

    model = MarketModel(pairs=tuple(pairs), seed=seed, rate_scale=1.0, weekend_closure=False)
    # Mean activity over a day is about half the peak: scale older hours to ~1 tick per old_interval_s.
    old_scale = min(1.0, (1.0 / old_interval_s) / (float(np.mean(model.peak_rate)) * 0.5))
    start_ms -= start_ms % GRID_MS
    t = start_ms
    while t < end_ms:
        nxt = min(t + 3_600_000, end_ms)
        if t < recent_from_ms < nxt:
            nxt = recent_from_ms
        nxt += (-nxt) % GRID_MS
        model.rate_scale = 1.0 if t >= recent_from_ms else old_scale
        chunk = model.generate(t, nxt)
        t = nxt
        for k in range(len(pairs)):
            sel = chunk.pair_index == k
            if sel.any():
                yield k, chunk.ts[sel], chunk.bid[sel], chunk.ask[sel]


def _walk_ticks(pairs: Sequence[str], start_ms: int, end_ms: int, recent_from_ms: int, old_interval_s: float,
                seed: int) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """Fallback without the simulator: a Gaussian random walk per pair, one tick per second when recent."""
    rng = np.random.default_rng(seed)
    for k, pair in enumerate(pairs):
        old = np.arange(start_ms, min(recent_from_ms, end_ms), int(old_interval_s * 1000), dtype=np.int64)
        new = np.arange(max(recent_from_ms, start_ms), end_ms, 1000, dtype=np.int64)
        ts = np.concatenate([old, new]) + rng.integers(0, 900, len(old) + len(new))
        ts = ts[ts < end_ms]
        base = 150.0 if pair.endswith("JPY") else 1.1
        mid = base * np.exp(np.cumsum(rng.normal(0, 2e-5, len(ts))))
        half = mid * 1e-4 / 2
        dec = price_decimals(pair)
        yield k, ts, np.round(mid - half, dec), np.round(mid + half, dec)


def trend_windows(ts: np.ndarray, bid: np.ndarray, ask: np.ndarray, window_s: int, step_s: int,
                  start_ms: int, end_ms: int) -> list[tuple]:
    """30 s sliding-window means as the streaming job writes them: (window_start ms, window_end ms, mean_bid,
    mean_ask, mean_mid, tick_count, mean_spread_bps) for each window start on the step grid with ticks."""
    step, width = step_s * 1000, window_s * 1000
    first = start_ms - start_ms % step
    nbins = max(0, (end_ms - first) // step + 1)
    if nbins == 0 or len(ts) == 0:
        return []
    per = width // step if width % step == 0 and width >= step else None
    mid = (bid + ask) / 2
    spread = (ask - bid) / mid * 1e4
    idx = ((ts - first) // step).astype(np.int64)
    ok = (idx >= 0) & (idx < nbins)
    idx = idx[ok]
    sums = [np.bincount(idx, weights=v[ok], minlength=nbins) for v in (bid, ask, mid, spread)]
    counts = np.bincount(idx, minlength=nbins).astype(float)
    if per:  # windows cover `per` consecutive bins: rolling sums
        kernel = np.ones(per)
        roll = [np.convolve(s, kernel)[per - 1:per - 1 + nbins] for s in [*sums, counts]]
    else:  # windows shorter than the step: only the first window_s of each step
        sub = ((ts[ok] - first) % step) < width
        roll = [np.bincount(idx[sub], weights=v[ok][sub], minlength=nbins) for v in (bid, ask, mid, spread)]
        roll.append(np.bincount(idx[sub], minlength=nbins).astype(float))
    *sum_vals, n = roll
    out = []
    for i in np.nonzero(n > 0)[0]:
        ws = first + int(i) * step
        if ws + width > end_ms:  # the window has not closed yet
            continue
        c = n[i]
        out.append((ws, ws + width, sum_vals[0][i] / c, sum_vals[1][i] / c, sum_vals[2][i] / c, int(c),
                    sum_vals[3][i] / c))
    return out


# -- writing -----------------------------------------------------------------------------------------------

class _Writer:
    """Single-partition UNLOGGED batches executed concurrently; raises on the first failure."""

    def __init__(self, session, concurrency: int = 48) -> None:
        self.session = session
        self.concurrency = concurrency

    def write(self, stmt, rows_by_partition: Iterator[list[tuple]]) -> int:
        from cassandra.concurrent import execute_concurrent
        from cassandra.query import BatchStatement, BatchType

        count = 0

        def batches():
            nonlocal count
            for rows in rows_by_partition:
                for i in range(0, len(rows), BATCH_ROWS):
                    b = BatchStatement(batch_type=BatchType.UNLOGGED)
                    for r in rows[i:i + BATCH_ROWS]:
                        b.add(stmt, r)
                    count += len(rows[i:i + BATCH_ROWS])
                    yield b, None

        for ok, result in execute_concurrent(self.session, batches(), concurrency=self.concurrency,
                                             raise_on_first_error=True, results_generator=True):
            if not ok:
                raise RuntimeError(f"seeding failed: {result}")
        return count


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def _day(ms: int) -> date:
    return _dt(ms).date()


def seed(session, settings: Settings, *, now: datetime | None = None, days: int = 1,
         pairs: Sequence[str] | None = None, recent_s: int = 3600, old_tick_interval_s: float = 10.0,
         old_trend_step_s: int = 60, alerts_per_pair_day: int = 12, recent_alerts: int = 4, seed_value: int = 7,
         heartbeats: bool = True, dq_runs: bool = True, use_simulator: bool = True) -> SeedReport:
    """Write `days` days (ending at `now`) of dashboard data for `pairs` into settings' keyspace.

    `recent_alerts` alerts per pair fall inside the last 10 minutes so a live chart shows them.
    """
    from fxtrue import thresholds as th
    from fxtrue.heartbeats import PRODUCER, STREAMING, HeartbeatWriter

    t0 = time.monotonic()
    now = now or datetime.now(timezone.utc)
    pairs = tuple(pairs or settings.truefx.pairs)
    ks = settings.cassandra.keyspace
    end_ms = int(now.timestamp() * 1000)
    start_ms = end_ms - days * DAY_MS
    recent_from_ms = end_ms - recent_s * 1000
    writer = _Writer(session)
    report = SeedReport(pairs=len(pairs), days=days)

    ins_tick = session.prepare(
        f"INSERT INTO {ks}.ticks_by_pair_day (pair, day, ts, bid, ask, source, received_at) "
        f"VALUES (?, ?, ?, ?, ?, 'sim', ?) USING TTL {int(settings.cassandra.ticks_ttl_s)}")
    ins_trend = session.prepare(
        f"INSERT INTO {ks}.trends_by_pair_day (pair, day, window_start, window_end, mean_bid, mean_ask, mean_mid, "
        "tick_count, mean_spread_bps, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")

    gen = _walk_ticks
    report.tick_source = "random walk"
    if use_simulator:
        try:
            import fxtrue.simulator.market  # noqa: F401
            gen = _sim_ticks
            report.tick_source = "simulator"
        except ImportError:
            log.info("fxtrue.simulator is not available: seeding a random walk")

    # Ticks arrive in hour chunks per pair; trends need whole windows, so keep each pair's recent tail.
    window_s = settings.detectors.trend_window_seconds
    recent_step = settings.detectors.trend_slide_seconds
    tails: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}

    def tick_partitions():
        for k, ts, bid, ask in gen(pairs, start_ms, end_ms, recent_from_ms, old_tick_interval_s, seed_value):
            pair = pairs[k]
            days_of = (ts // DAY_MS)
            for d in np.unique(days_of):
                sel = days_of == d
                day = _day(int(d) * DAY_MS)
                yield [(pair, day, _dt(int(t)), float(b), float(a), _dt(int(t) + 40))
                       for t, b, a in zip(ts[sel], bid[sel], ask[sel])]
            tails.setdefault(k, []).append((ts, bid, ask))

    report.ticks = writer.write(ins_tick, tick_partitions())

    def trend_partitions():
        for k, parts in tails.items():
            ts = np.concatenate([p[0] for p in parts])
            bid = np.concatenate([p[1] for p in parts])
            ask = np.concatenate([p[2] for p in parts])
            rows = []
            old = ts < recent_from_ms
            rows += trend_windows(ts[old], bid[old], ask[old], window_s, old_trend_step_s, start_ms, recent_from_ms)
            rows += trend_windows(ts, bid, ask, window_s, recent_step, recent_from_ms, end_ms)
            by_day: dict[date, list[tuple]] = {}
            for ws, we, mb, ma, mm, n, sp in rows:
                by_day.setdefault(_day(ws), []).append(
                    (pairs[k], _day(ws), _dt(ws), _dt(we), mb, ma, mm, n, sp, _dt(we + 2000)))
            yield from by_day.values()

    report.trends = writer.write(ins_trend, trend_partitions())
    tails.clear()

    # Alerts: spread over the days, plus a few in the last 10 minutes of each pair.
    rng = np.random.default_rng(seed_value + 1)
    version = th.new_version_id(now - timedelta(days=1))
    alert_cols = ("pair, day, window_start, detector, subject, window_end, observed, baseline_mean, baseline_std, "
                  "threshold, score, severity, thresholds_version, detected_at, details")
    ins_pair_alert = session.prepare(f"INSERT INTO {ks}.alerts_by_pair_day ({alert_cols}) "
                                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    ins_day_alert = session.prepare(f"INSERT INTO {ks}.alerts_by_day ({alert_cols}) "
                                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    window_ms = settings.detectors.window_seconds * 1000
    by_pair_day: dict[tuple[str, date], list[tuple]] = {}
    by_day: dict[date, list[tuple]] = {}
    for pair in pairs:
        n_old = alerts_per_pair_day * days
        # Not in the first hour of the seeded range: a "last N days" view taken a little later still sees them all.
        lo = start_ms + min(3_600_000, (recent_from_ms - start_ms) // 2)
        starts = list(rng.integers(lo, recent_from_ms, n_old)) if recent_from_ms > lo else []
        starts += list(rng.integers(end_ms - 600_000, end_ms - window_ms, recent_alerts))
        for i, s in enumerate(starts):
            ws = int(s) - int(s) % window_ms
            detector = DETECTORS[(i + pairs.index(pair)) % len(DETECTORS)]
            mean, std = float(rng.uniform(1, 5)), float(rng.uniform(0.2, 1.0))
            threshold = mean + 8 * std
            observed = threshold * float(rng.uniform(1.05, 3.0))
            severity = SEVERITIES[int(observed > 1.5 * threshold)]
            row = (pair, _day(ws), _dt(ws), detector, pair, _dt(ws + window_ms), observed, mean, std, threshold,
                   (observed - mean) / std, severity, version, _dt(ws + window_ms + 1500), "{}")
            by_pair_day.setdefault((pair, row[1]), []).append(row)
            by_day.setdefault(row[1], []).append(row)
            report.alerts_by_pair.setdefault(pair, []).append(
                {"window_start": _dt(ws), "detector": detector, "severity": severity})
    writer.write(ins_pair_alert, iter(by_pair_day.values()))
    writer.write(ins_day_alert, iter(by_day.values()))
    report.alerts = sum(len(v) for v in by_day.values())

    # A published thresholds version: every detector x pair x hour.
    rows = []
    for detector in DETECTORS:
        for pair in pairs:
            for hour in range(24):
                mean = float(rng.uniform(1, 5))
                std = float(rng.uniform(0.2, 1.0))
                rows.append(th.ThresholdRow(detector, pair, hour, int(rng.integers(100, 2000)), mean, std, mean,
                                            std * 0.7, mean + 3 * std, mean + 4 * std, mean + 5 * std,
                                            mean + 8 * std, "mean+k*std"))
    t = th.Thresholds(version=version, created_at=now - timedelta(days=1), source_kind="sim",
                      source_from=(now - timedelta(days=days)).date(), source_to=(now - timedelta(days=1)).date(),
                      tick_count=report.ticks, code_version="seed", rows=rows, status="published")
    th.write_version(session, settings, t, dq_success=True, dq_summary="seeded")
    th.move_pointer(session, settings, version)
    report.threshold_rows, report.thresholds_version = len(rows), version

    if heartbeats:
        HeartbeatWriter(session, settings, PRODUCER).beat(
            "running", {"sent": 123456, "rejected": 12, "failed": 0, "lag_s": 0.4}, {"source": "sim"})
        HeartbeatWriter(session, settings, STREAMING).beat(
            "running", {"input_rows_per_s": 41.5, "processed_rows_per_s": 40.9, "batch_duration_ms": 850,
                        "dlq_rows": 3}, {"thresholds_version": version})
        session.execute(
            f"INSERT INTO {ks}.supervisor_actions_by_day (day, at, job, action, reason, attempt) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (now.date(), now - timedelta(minutes=30), STREAMING, "restart", "heartbeat older than 120 s", 1))
    if dq_runs:
        ins = session.prepare(f"INSERT INTO {ks}.dq_runs_by_suite (suite, run_at, run_id, success, evaluated, "
                              "failed, failing_expectations, target, docs_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        docs = settings.dq_docs_dir.rstrip("/")
        for i, (suite, ok, failing) in enumerate([
                ("lake_ticks", True, []), ("lake_ticks", False, ["expect_column_values_to_be_between(bid)"]),
                ("thresholds", True, [])]):
            at = now - timedelta(hours=2 + i)
            session.execute(ins, (suite, at, f"run-{i}", ok, 12, len(failing), failing, f"{suite} {at:%Y-%m-%d}",
                                  f"{docs}/validations/{suite}/run-{i}.html"))
    report.seconds = time.monotonic() - t0
    return report

