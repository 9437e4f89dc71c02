"""Callback latency of the dashboard against Cassandra with weeks of seeded data.

Seeds `days` days for the configured pairs into a throw-away keyspace (dashboard.seed), then calls the
callback functions directly (no browser, no HTTP) and reports p50/p95 per callback. Run it with
`python -m dashboard.bench [--days 30] [--repeats 30]`; `fxtrue bench` can call `run()`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from datetime import datetime, timezone
from typing import Callable

from fxtrue.settings import Settings


def _percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def measure(data, settings: Settings, repeats: int = 30) -> dict[str, dict[str, float]]:
    """p50/p95/max (ms) of each callback, cycling through the pairs; one warm-up call each first."""
    from dashboard import callbacks
    from dashboard.layout import ALERT_RANGES, CHART_RANGES

    pairs = list(settings.truefx.pairs)
    cases: dict[str, Callable[[int], object]] = {}
    for label, seconds in CHART_RANGES.items():
        cases[f"chart {label}"] = lambda i, s=seconds: callbacks.chart(data, pairs[i % len(pairs)], s)
    for label, seconds in ALERT_RANGES.items():
        cases[f"alerts {label}"] = lambda i, s=seconds: callbacks.alerts_table(data, None, None, None, s)
    cases["alerts 30 days, 1 pair + detector"] = lambda i: callbacks.alerts_table(
        data, ["price_jump"], [pairs[i % len(pairs)]], None, 30 * 86400)
    cases["thresholds"] = lambda i: callbacks.thresholds(data, settings, -1)
    cases["health"] = lambda i: callbacks.health(data)
    cases["data quality"] = lambda i: callbacks.data_quality(data, settings)

    out: dict[str, dict[str, float]] = {}
    everything: list[float] = []
    for name, fn in cases.items():
        fn(0)
        times = []
        for i in range(repeats):
            t0 = time.perf_counter()
            fn(i)
            times.append((time.perf_counter() - t0) * 1000)
        everything += times
        out[name] = {"n": len(times), "p50_ms": statistics.median(times), "p95_ms": _percentile(times, 0.95),
                     "max_ms": max(times)}
    out["all callbacks"] = {"n": len(everything), "p50_ms": statistics.median(everything),
                            "p95_ms": _percentile(everything, 0.95), "max_ms": max(everything)}
    return out


def run(settings: Settings, *, days: int = 30, repeats: int = 30, keyspace: str | None = None,
        keep: bool = False, old_tick_interval_s: float = 10.0, recent_s: int = 3600,
        progress: Callable[[str], None] = print) -> dict:
    """Seed (unless `keyspace` names an already seeded one), measure, drop the keyspace (unless `keep`)."""
    from dashboard.data import DashboardData
    from dashboard.seed import seed
    from fxtrue import cassandra

    reuse = keyspace is not None
    ks = keyspace or f"fxtrue_dashbench_{uuid.uuid4().hex[:8]}"
    s = settings.replace(cassandra={"keyspace": ks})
    admin = cassandra.connect(s, component=cassandra.ADMIN)
    report: dict = {"keyspace": ks, "days": days, "pairs": len(s.truefx.pairs)}
    try:
        if not reuse:
            cassandra.apply_migrations(admin, s, progress=progress)
        session = cassandra.connect(s, component=cassandra.ADMIN, keyspace=ks)
        try:
            if not reuse:
                progress(f"seeding {days} days x {len(s.truefx.pairs)} pairs into {ks} ...")
                r = seed(session, s, days=days, now=datetime.now(timezone.utc),
                         old_tick_interval_s=old_tick_interval_s, recent_s=recent_s)
                progress(r.summary())
                report["seed"] = r.summary()
                report["seed_seconds"] = r.seconds
            report["latency"] = measure(DashboardData(session, s), s, repeats=repeats)
        finally:
            session.cluster.shutdown()
    finally:
        if not (keep or reuse):
            admin.execute(f"DROP KEYSPACE IF EXISTS {ks}", timeout=120)
        admin.cluster.shutdown()
    return report


def format_report(report: dict) -> str:
    lines = [f"dashboard callback latency ({report['pairs']} pairs, keyspace {report['keyspace']})"]
    if "seed" in report:
        lines.append(f"seeded: {report['seed']}")
    lines.append(f"{'callback':38} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, v in report["latency"].items():
        lines.append(f"{name:38} {v['n']:>4} {v['p50_ms']:>8.1f} {v['p95_ms']:>8.1f} {v['max_ms']:>8.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from fxtrue.settings import get_settings

    p = argparse.ArgumentParser(prog="python -m dashboard.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--old-tick-interval", type=float, default=10.0,
                   help="about one tick per pair per this many seconds before the recent period")
    p.add_argument("--recent-s", type=int, default=3600, help="seconds of full-rate ticks and 5 s trends")
    p.add_argument("--keyspace", help="measure an already seeded keyspace (no seeding, no drop)")
    p.add_argument("--keep", action="store_true", help="keep the seeded keyspace")
    p.add_argument("--json", help="also write the report as JSON here")
    args = p.parse_args(argv)
    report = run(get_settings(), days=args.days, repeats=args.repeats, keyspace=args.keyspace, keep=args.keep,
                 old_tick_interval_s=args.old_tick_interval, recent_s=args.recent_s)
    print(format_report(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
