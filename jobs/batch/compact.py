"""Lake upkeep: compact the many small files the streaming job's file sink writes into one file per partition.

For each (symbol, date) partition of <lake>/live before a cut-off day (default: today UTC, i.e. closed days)
with at least `min_files` files not yet compacted: read it through the sink's commit log, merge it with the
partition's earlier compacted rows, de-duplicate on (pair, ts), write it to <lake>/compacted (dynamic partition
overwrite, sorted by ts, one file), then write the manifest naming the live files it replaced. read_lake then
takes the partition from the compacted root and skips those live files; the sink's own folder is never
modified (it owns it), and a partition that receives late files is read from both roots until compacted again.

    python jobs/batch/compact.py [--before 2026-11-09] [--min-files 2]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Callable, Sequence

from fxtrue import lake
from fxtrue.settings import Settings


@dataclass
class Compacted:
    symbol: str
    day: str
    files_in: int
    rows: int


def live_partitions(spark, settings: Settings) -> dict[tuple[str, str], list[str]]:
    """(symbol, date) -> parquet file names of each partition folder of <lake>/live."""
    root = lake.live_path(settings)
    out: dict[tuple[str, str], list[str]] = {}
    for sym_dir in lake._list_names(spark, root) or []:
        if not sym_dir.startswith("symbol="):
            continue
        for day_dir in lake._list_names(spark, f"{root}/{sym_dir}") or []:
            if day_dir.startswith("date="):
                files = [n for n in lake._list_names(spark, f"{root}/{sym_dir}/{day_dir}") or []
                         if n.endswith(".parquet")]
                out[(sym_dir.split("=", 1)[1], day_dir.split("=", 1)[1])] = files
    return out


def partitions_to_compact(spark, settings: Settings, before: date, min_files: int) -> list[tuple[str, str]]:
    """Closed live partitions with at least `min_files` files that no manifest covers yet."""
    todo = []
    for (symbol, day), files in sorted(live_partitions(spark, settings).items()):
        if day >= before.isoformat() or not files:
            continue
        text = lake._read_text(spark, lake.manifest_path(settings, symbol, day))
        done = set(json.loads(text)["files"]) if text else set()
        new = [f for f in files if f not in done]
        if new and (len(files) >= min_files or done):
            todo.append((symbol, day))
    return todo


def compact_partitions(spark, settings: Settings, partitions: Sequence[tuple[str, str]],
                       progress: Callable[[str], None] = lambda msg: None) -> list[Compacted]:
    from pyspark.sql import functions as F

    from fxtrue.frames import TICK_SCHEMA

    if not partitions:
        return []
    cols = [f.name for f in TICK_SCHEMA.fields]
    keys = spark.createDataFrame(list(partitions), "symbol string, date string")
    live = (lake._read_root(spark, lake.live_path(settings))
                .join(F.broadcast(keys), ["symbol", "date"], "left_semi")
                .withColumn("_file", F.input_file_name()))
    live = live.localCheckpoint(eager=True)  # fixes the set of files compacted (the sink keeps writing)
    files = {(r["symbol"], r["date"]): sorted({f.rsplit("/", 1)[-1] for f in r["files"]})
             for r in live.groupBy("symbol", "date").agg(F.collect_set("_file").alias("files")).collect()}
    merged = live.select(*cols, "symbol", "date")
    earlier = lake._read_root(spark, lake.compacted_path(settings))
    if earlier is not None:
        old = earlier.join(F.broadcast(keys), ["symbol", "date"], "left_semi").select(*cols, "symbol", "date")
        merged = merged.unionByName(old).localCheckpoint(eager=True)  # before overwriting what it reads
    merged = (lake.dedupe_ticks(merged).repartition("symbol", "date").sortWithinPartitions("symbol", "date", "ts")
              .localCheckpoint(eager=True))
    counts = {(r["symbol"], r["date"]): r["count"] for r in merged.groupBy("symbol", "date").count().collect()}
    (merged.write.mode("overwrite").option("partitionOverwriteMode", "dynamic")
           .partitionBy("symbol", "date").parquet(lake.compacted_path(settings)))
    out = []
    for (symbol, day), names in sorted(files.items()):
        previous = lake._read_text(spark, lake.manifest_path(settings, symbol, day))
        names = sorted(set(names) | set(json.loads(previous)["files"] if previous else []))
        _write_manifest(spark, settings, symbol, day, {
            "symbol": symbol, "date": day, "files": names, "rows": counts.get((symbol, day), 0),
            "compacted_at": datetime.now(timezone.utc).isoformat()})
        out.append(Compacted(symbol, day, len(names), counts.get((symbol, day), 0)))
        progress(f"compacted {symbol} {day}: {len(names)} live file(s) -> 1, {counts.get((symbol, day), 0):,} rows")
    return out


def _write_manifest(spark, settings: Settings, symbol: str, day: str, body: dict) -> None:
    path = lake.manifest_path(settings, symbol, day)
    text = json.dumps(body, indent=1)
    if "://" not in path or path.startswith("file:"):
        from pathlib import Path

        target = Path(path.removeprefix("file://").removeprefix("file:"))
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(target)
        return
    jvm = spark.sparkContext._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    fs = hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    stream = fs.create(hpath, True)
    try:
        stream.write(bytearray(text.encode()))
    finally:
        stream.close()


def compact(spark, settings: Settings, before: date | None = None, min_files: int = 2,
            progress: Callable[[str], None] = lambda msg: None) -> list[Compacted]:
    before = before or datetime.now(timezone.utc).date()
    todo = partitions_to_compact(spark, settings, before, min_files)
    progress(f"{len(todo)} live partition(s) before {before} to compact")
    return compact_partitions(spark, settings, todo, progress)


def main(argv: Sequence[str] | None = None) -> int:
    from fxtrue import spark as fx_spark
    from fxtrue.settings import get_settings

    p = argparse.ArgumentParser(description="compact the streaming sink's small files, per closed partition")
    p.add_argument("--before", type=date.fromisoformat, help="compact days before this (default: today UTC)")
    p.add_argument("--min-files", type=int, default=2, help="skip partitions with fewer files (default 2)")
    args = p.parse_args(argv)
    settings = get_settings()
    spark = fx_spark.session(settings, "fxtrue-compact", with_kafka=False)
    done = compact(spark, settings, args.before, args.min_files, progress=print)
    print(f"done: {len(done)} partition(s) compacted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
