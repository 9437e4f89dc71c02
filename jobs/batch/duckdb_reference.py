"""A reference point for the batch job: the tick_rate bucket statistics (the aggregation with the zero-tick
window grid, the widest one) computed by DuckDB straight from the lake's Parquet files, single process.

Same definitions as jobs/batch/stats.py: epoch-aligned W-second windows, open windows only (weekend closure
from fxtrue.market_calendar), empty windows count as 0, per (pair, UTC hour): n, mean, sample std, median,
MAD, p99, p99.9 (linear interpolation: quantile_cont), max. Used by tests (Spark and DuckDB must agree) and
by the benchmark (`fxtrue bench`, closing figures):

    python jobs/batch/duckdb_reference.py --from 2026-11-02 --to 2026-11-08 [--lake PATH]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, datetime, timedelta, timezone
from typing import Sequence

from fxtrue.market_calendar import CLOSE_MS, EPOCH_TO_MONDAY_MS, OPEN_MS, WEEK_MS


def parquet_glob(lake_root: str) -> list[str]:
    """The Parquet files of the lake roots (history, compacted; live only if the sink wrote any) as globs."""
    from pathlib import Path

    roots = [Path(lake_root) / name for name in ("history", "compacted", "live")]
    return [f"{r}/*/*/*.parquet" for r in roots if r.is_dir() and any(r.glob("*/*/*.parquet"))]


def tick_rate_stats(parquet: Sequence[str], date_from: date, date_to: date, pairs: Sequence[str],
                    window_seconds: int = 10):
    """pandas DataFrame: detector, subject, hour, n, mean, std, median, mad, p99, p999, max, plus
    `seconds` (wall time of the query) in .attrs. Ticks are de-duplicated on (pair, ts) as read_lake does."""
    import duckdb

    lo = datetime(date_from.year, date_from.month, date_from.day, tzinfo=timezone.utc)
    hi = datetime(date_to.year, date_to.month, date_to.day, tzinfo=timezone.utc) + timedelta(days=1)
    lo_ms, hi_ms, w_ms = int(lo.timestamp() * 1000), int(hi.timestamp() * 1000), window_seconds * 1000
    files = ", ".join("'" + p.replace("'", "''") + "'" for p in parquet)
    pair_list = ", ".join("('" + p + "')" for p in pairs)
    sql = f"""
    WITH ticks AS (
        SELECT DISTINCT pair, epoch_ms(ts) AS ts_ms
        FROM read_parquet([{files}], hive_partitioning = true)
        WHERE ts >= make_timestamp({lo_ms} * 1000) AND ts < make_timestamp({hi_ms} * 1000)
    ),
    counts AS (
        SELECT pair, ts_ms - (ts_ms % {w_ms}) AS w, count(*) AS c FROM ticks GROUP BY ALL
    ),
    grid AS (
        SELECT p.pair, g.w
        FROM (VALUES {pair_list}) AS p(pair),
             (SELECT range AS w FROM range({lo_ms}, {hi_ms}, {w_ms})) AS g
        WHERE NOT (((g.w + {EPOCH_TO_MONDAY_MS}) % {WEEK_MS}) >= {CLOSE_MS}
                   AND ((g.w + {EPOCH_TO_MONDAY_MS}) % {WEEK_MS}) < {OPEN_MS})
    ),
    windows AS (
        SELECT g.pair, CAST(((g.w // 3600000) % 24) AS INTEGER) AS hour, CAST(coalesce(c.c, 0) AS DOUBLE) AS v
        FROM grid g LEFT JOIN counts c USING (pair, w)
    ),
    first AS (
        SELECT pair, hour, count(*) AS n, avg(v) AS mean, stddev_samp(v) AS std,
               quantile_cont(v, 0.5) AS median, quantile_cont(v, 0.99) AS p99, quantile_cont(v, 0.999) AS p999,
               max(v) AS max
        FROM windows GROUP BY ALL
    ),
    mad AS (
        SELECT w.pair, w.hour, quantile_cont(abs(w.v - f.median), 0.5) AS mad
        FROM windows w JOIN first f USING (pair, hour) GROUP BY ALL
    )
    SELECT 'tick_rate' AS detector, f.pair AS subject, f.hour, f.n, f.mean, f.std, f.median, m.mad, f.p99, f.p999,
           f.max
    FROM first f JOIN mad m USING (pair, hour)
    ORDER BY subject, hour
    """
    began = time.monotonic()
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        df = con.execute(sql).fetchdf()
    finally:
        con.close()
    df.attrs["seconds"] = time.monotonic() - began
    return df


def count_ticks(parquet: Sequence[str], date_from: date, date_to: date) -> int:
    import duckdb

    files = ", ".join("'" + p.replace("'", "''") + "'" for p in parquet)
    con = duckdb.connect()
    try:
        return int(con.execute(
            f"SELECT count(*) FROM (SELECT DISTINCT pair, ts FROM read_parquet([{files}], hive_partitioning = true) "
            f"WHERE date >= '{date_from.isoformat()}' AND date <= '{date_to.isoformat()}')").fetchone()[0])
    finally:
        con.close()


def main(argv: Sequence[str] | None = None) -> int:
    from fxtrue.settings import get_settings

    p = argparse.ArgumentParser(description="tick_rate bucket statistics by DuckDB over the lake's Parquet files")
    p.add_argument("--from", dest="date_from", type=date.fromisoformat, required=True)
    p.add_argument("--to", dest="date_to", type=date.fromisoformat, required=True)
    p.add_argument("--lake", help="lake root (default: settings.lake_path)")
    args = p.parse_args(argv)
    settings = get_settings()
    globs = parquet_glob(args.lake or settings.lake_path)
    ticks = count_ticks(globs, args.date_from, args.date_to)
    df = tick_rate_stats(globs, args.date_from, args.date_to, settings.truefx.pairs,
                         settings.detectors.window_seconds)
    secs = df.attrs["seconds"]
    print(f"duckdb: {len(df)} tick_rate buckets from {ticks:,} ticks in {secs:.2f} s ({ticks / max(secs, 1e-9):,.0f} "
          "ticks/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
