"""Test data for the detector tests: simulated clean ticks and thresholds learnt from them through the real
code paths (fxtrue.detectors.window_statistics -> fxtrue.baselines), never hand-typed numbers."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

from fxtrue.frames import TICK_SCHEMA

# Tuesday 2026-11-03 10:00 UTC: London session, market open.
T0_MS = int(datetime(2026, 11, 3, 10, 0, tzinfo=timezone.utc).timestamp() * 1000)
PAIRS3 = ("EUR/JPY", "EUR/USD", "USD/JPY")


def simulated_rows(start_ms: int, end_ms: int, pairs=PAIRS3, seed: int = 7, scenarios=(), model=None,
                   received_lag_ms: int = 3):
    """Simulated ticks as TICK_SCHEMA tuples (and the model, to continue the path contiguously)."""
    from fxtrue.simulator.market import MarketModel

    model = model or MarketModel(pairs=tuple(pairs), seed=seed)
    chunk = model.generate(start_ms, end_ms, scenarios)
    rows = [(model.pairs[int(p)], _dt(int(t)), float(b), float(a), None, None, None, "sim",
             _dt(int(t) + received_lag_ms))
            for p, t, b, a in zip(chunk.pair_index, chunk.ts, chunk.bid, chunk.ask)]
    return rows, model


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def ticks_frame(spark, rows):
    """TICK_SCHEMA DataFrame via Arrow (a local relation: cheap to re-read on a loaded 2-core machine)."""
    import pandas as pd

    spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
    pdf = pd.DataFrame(rows, columns=[f.name for f in TICK_SCHEMA.fields])
    for c in ("ts", "received_at"):
        pdf[c] = pd.to_datetime(pdf[c], utc=True)
    return spark.createDataFrame(pdf, TICK_SCHEMA)


def learn_thresholds(spark, rows, cfg, version: str = "vtest1", source_kind: str = "sim"):
    """window_statistics on clean ticks -> per (detector, subject, hour) bucket statistics -> fxtrue.baselines."""
    from fxtrue.baselines import build_thresholds, summarize
    from fxtrue.detectors import window_statistics

    values = defaultdict(list)
    for r in window_statistics(ticks_frame(spark, rows), cfg).select("detector", "subject", "hour", "value").collect():
        if r["value"] is not None:
            values[(r["detector"], r["subject"], r["hour"])].append(r["value"])
    buckets = [summarize(d, s, h, v) for (d, s, h), v in sorted(values.items())]
    return build_thresholds(buckets, cfg, source_kind=source_kind, source_from=None, source_to=None,
                            tick_count=len(rows), code_version="test", version=version)
