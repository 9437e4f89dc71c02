"""Lake compaction: the streaming sink's small files become one file per partition, read_lake sees the same
ticks (none lost, none doubled), and files arriving after compaction are still read."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from fxtrue.settings import load_settings


def _write_source_file(folder, name, ticks):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / name, "w") as fh:
        for pair, ts, bid, ask in ticks:
            fh.write(json.dumps({"pair": pair, "ts": ts.isoformat(), "bid": bid, "ask": ask, "source": "sim"}) + "\n")


def _run_sink(spark, settings, src, checkpoint):
    """The shape of the streaming job's lake sink: parquet file sink partitioned by symbol/date."""
    from fxtrue.frames import TICK_SCHEMA, with_lake_partitions
    from fxtrue.lake import live_path

    stream = (spark.readStream.schema(TICK_SCHEMA).option("maxFilesPerTrigger", 1).json(str(src))
                   .transform(with_lake_partitions))
    q = (stream.writeStream.format("parquet").partitionBy("symbol", "date")
               .option("checkpointLocation", str(checkpoint)).trigger(availableNow=True)
               .start(live_path(settings)))
    q.awaitTermination()


def test_compaction_keeps_every_tick_and_reads_late_files(spark, tmp_path):
    from fxtrue.lake import read_lake, superseded_live_partitions
    from jobs.batch.compact import compact, live_partitions

    settings = load_settings({}).replace(spark={"lake_path": str(tmp_path / "lake")})
    src, chk = tmp_path / "src", tmp_path / "chk"
    t0 = datetime(2026, 11, 2, 23, 59, 0)
    for batch in range(3):  # three micro-batches, each touching both days
        _write_source_file(src, f"b{batch}.json", [
            ("EUR/USD", t0 + timedelta(seconds=batch * 10 + i), 1.1, 1.1001) for i in range(5)] + [
            ("EUR/USD", t0 + timedelta(seconds=90 + batch * 10 + i), 1.1, 1.1001) for i in range(5)])
    _write_source_file(src, "b3.json", [("EUR/USD", t0 + timedelta(seconds=91), 1.1, 1.1001)])  # a duplicate
    _run_sink(spark, settings, src, chk)
    parts = live_partitions(spark, settings)
    assert {k: len(v) for k, v in parts.items()} == {("EURUSD", "2026-11-02"): 3, ("EURUSD", "2026-11-03"): 4}
    before = sorted(r.ts for r in read_lake(spark, settings).collect())
    assert len(before) == 30

    done = compact(spark, settings, before=date(2026, 11, 4), min_files=2)
    assert sorted((c.day, c.files_in, c.rows) for c in done) == [("2026-11-02", 3, 15), ("2026-11-03", 4, 15)]
    compacted = tmp_path / "lake" / "compacted" / "symbol=EURUSD"
    assert [len(list((compacted / d).glob("*.parquet"))) for d in ("date=2026-11-02", "date=2026-11-03")] == [1, 1]
    assert sorted(superseded_live_partitions(spark, settings)) == [("EURUSD", "2026-11-02"), ("EURUSD", "2026-11-03")]
    assert sorted(r.ts for r in read_lake(spark, settings).collect()) == before
    assert compact(spark, settings, before=date(2026, 11, 4)) == []  # nothing new: idempotent

    # A late tick for a compacted day: its new live file is read until the next compaction takes it in.
    late = datetime(2026, 11, 2, 12, 0, 0)
    _write_source_file(src, "b4.json", [("EUR/USD", late, 1.1, 1.1001)])
    _run_sink(spark, settings, src, chk)
    assert superseded_live_partitions(spark, settings) == [("EURUSD", "2026-11-03")]
    assert sorted(r.ts for r in read_lake(spark, settings).collect()) == sorted(before + [late])
    again = compact(spark, settings, before=date(2026, 11, 4))
    assert [(c.day, c.files_in, c.rows) for c in again] == [("2026-11-02", 4, 16)]
    assert len(superseded_live_partitions(spark, settings)) == 2
    assert sorted(r.ts for r in read_lake(spark, settings).collect()) == sorted(before + [late])
