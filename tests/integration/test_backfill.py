"""Backfill: history files (CSV and zip) into the tick lake, idempotent on re-run, bad rows reported;
read_lake unions the history and live roots and de-duplicates on (pair, ts)."""

from __future__ import annotations

import zipfile
from datetime import date

from fxtrue import lake
from fxtrue.frames import TICK_SCHEMA
from fxtrue.simulator import simulate_files
from jobs.batch.backfill import backfill


def test_backfill_is_idempotent_and_reports_bad_rows(spark, settings, tmp_path):
    s = settings.replace(spark={"lake_path": str(tmp_path / "lake")})
    files = tmp_path / "files"
    summary = simulate_files(files, date(2026, 11, 4), 2, pairs=("EUR/USD", "USD/JPY"), rate_scale=0.005, seed=9,
                             zip_files=True)
    with zipfile.ZipFile(files / "EURUSD-2026-11.zip") as zf:
        eur = zf.read("EURUSD-2026-11.csv").decode()
    (files / "EURUSD-2026-11.zip").unlink()
    (files / "EURUSD-2026-11.csv").write_text(eur + "EUR/USD,20261105 10:00:00.000,bad,1.1\n")

    msgs: list[str] = []
    first = backfill(spark, s, [str(files)], progress=msgs.append)
    assert first.ticks == summary.ticks and first.bad_rows == 1
    assert first.examples[0][2] == "bid is not a number" and first.partitions == 4  # 2 pairs x 2 days
    assert any("bad row" in m for m in msgs)

    again = backfill(spark, s, [str(files / "EURUSD-2026-11.csv")], progress=msgs.append)  # a re-run
    df = lake.read_lake(spark, s, "2026-11-04", "2026-11-05")
    assert [f.name for f in df.schema] == [f.name for f in TICK_SCHEMA]
    raw = spark.read.parquet(lake.history_path(s))
    assert raw.count() == summary.ticks == df.count()  # nothing duplicated on disk
    assert again.ticks == summary.per_pair["EUR/USD"]
    assert {r["symbol"] for r in raw.select("symbol").distinct().collect()} == {"EURUSD", "USDJPY"}
    assert lake.read_lake(spark, s, "2026-11-05", "2026-11-05").count() < summary.ticks
    assert lake.read_lake(spark, s, pairs=["USD/JPY"]).count() == summary.per_pair["USD/JPY"]

    # The live root (the streaming job's) may hold the same ticks again: read_lake keeps one of each.
    live = df.where("pair = 'USD/JPY'").limit(50)
    from fxtrue.frames import with_lake_partitions
    live.transform(with_lake_partitions).write.partitionBy("symbol", "date").parquet(lake.live_path(s))
    assert lake.read_lake(spark, s).count() == summary.ticks


def test_read_lake_with_no_data_is_empty(spark, settings, tmp_path):
    s = settings.replace(spark={"lake_path": str(tmp_path / "nothing")})
    df = lake.read_lake(spark, s, date(2026, 1, 1), date(2026, 1, 2))
    assert df.count() == 0 and [f.name for f in df.schema] == [f.name for f in TICK_SCHEMA]
