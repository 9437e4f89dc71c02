"""dashboard: callback latency p95 with 30 days of seeded data (dashboard/bench.py: seeds a throw-away keyspace,
calls the callbacks directly, no browser). Repeated measurement passes on the same seeded keyspace give the
spread; there is no external reference for this one."""

from __future__ import annotations

from fxtrue.bench.harness import BenchContext, BenchResult, Figure, require

TITLE = "dashboard callback p95 with 30 days of data"


def run(ctx: BenchContext) -> BenchResult:
    bench_run = require("dashboard.bench", "run", "the dashboard benchmark (issue 7)")

    days = 30
    calls = 15 if ctx.quick else 30
    # Older than the last hour, dashboard.seed writes one tick per pair per `old_tick_interval_s`: 10 s (its
    # default) is ~4 M rows for 30 days, too many to seed within --quick on 2 cores.
    old_tick_interval = 900.0 if ctx.quick else 30.0
    first = bench_run(ctx.settings, days=days, repeats=calls, keep=True, old_tick_interval_s=old_tick_interval,
                      progress=lambda m: ctx.progress(f"  {m}"))
    seeded_ks = first["keyspace"]
    ctx.on_cleanup(lambda: _drop(ctx, seeded_ks))
    passes = [first] + [bench_run(ctx.settings, days=days, repeats=calls, keyspace=seeded_ks,
                                  progress=lambda m: None) for _ in range(ctx.repeats - 1)]
    res = BenchResult("dashboard", TITLE)
    res.figures.append(Figure("all callbacks p95", "ms", [p["latency"]["all callbacks"]["p95_ms"] for p in passes],
                              higher_is_better=False, note=f"{calls} calls per callback per pass"))
    res.figures.append(Figure("all callbacks p50", "ms", [p["latency"]["all callbacks"]["p50_ms"] for p in passes],
                              higher_is_better=False))
    worst = max((k for k in first["latency"] if k != "all callbacks"),
                key=lambda k: first["latency"][k]["p95_ms"])
    res.figures.append(Figure(f"slowest callback p95 ({worst})", "ms", [p["latency"][worst]["p95_ms"] for p in passes],
                              higher_is_better=False))
    res.params = {"days": days, "pairs": first["pairs"], "calls_per_callback": calls,
                  "old_tick_interval_s": old_tick_interval,
                  "seed": first.get("seed", ""), "seed_seconds": round(first.get("seed_seconds", 0.0), 1)}
    res.notes.append("per callback p95 (first pass, ms): " + ", ".join(
        f"{k} {v['p95_ms']:.0f}" for k, v in first["latency"].items()))
    return res


def _drop(ctx: BenchContext, ks: str) -> None:
    from fxtrue import cassandra

    cassandra.drop_keyspace(ctx.settings, ks)
