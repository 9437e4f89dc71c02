"""The tick lake: Parquet ticks (frames.TICK_SCHEMA columns), the batch layer's master dataset.

Layout under settings.lake_path (a local folder, or s3a://bucket/lake on AWS):

    <lake>/history/symbol=EURUSD/date=2026-11-02/part-*.parquet   backfilled files (`fxtrue backfill`)
    <lake>/live/symbol=EURUSD/date=2026-11-02/part-*.parquet      the streaming job's exactly-once file sink
    <lake>/live/_spark_metadata/                                  its commit log (readers must go through it)

The two roots are separate because Spark's file sink owns its folder: a batch write into a folder with a
_spark_metadata log would be invisible to readers of that log. `history` is written with dynamic partition
overwrite after merging with the partitions' existing rows and de-duplicating on (pair, ts), so re-running a
backfill duplicates nothing. `read_lake` unions both roots (either may be missing) and de-duplicates on
(pair, ts), since a tick replayed through Kafka can be in both.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fxtrue.settings import Settings

HISTORY = "history"
LIVE = "live"


def history_path(settings: Settings) -> str:
    return _join(settings.lake_path, HISTORY)


def live_path(settings: Settings) -> str:
    return _join(settings.lake_path, LIVE)


def _join(root: str, name: str) -> str:
    return root.rstrip("/") + "/" + name


def lake_schema():
    """TICK_SCHEMA plus the partition columns (read as strings, not inferred dates)."""
    from pyspark.sql.types import StringType, StructField, StructType

    from fxtrue.frames import TICK_SCHEMA

    return StructType([*TICK_SCHEMA.fields, StructField("symbol", StringType()), StructField("date", StringType())])


def _exists(spark, path: str) -> bool:
    """True when the folder exists and holds data (works for local paths and Hadoop file systems)."""
    if "://" not in path or path.startswith("file:"):
        local = Path(path.removeprefix("file://").removeprefix("file:"))
        return local.is_dir() and any(local.iterdir())
    jvm = spark.sparkContext._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    fs = hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    return fs.exists(hpath)


def _read_root(spark, path: str):
    if not _exists(spark, path):
        return None
    try:
        return spark.read.schema(lake_schema()).parquet(path)
    except Exception as exc:  # noqa: BLE001 - an empty/unfinished root (e.g. only _spark_metadata) reads as none
        if "UNABLE_TO_INFER_SCHEMA" in str(exc) or "PATH_NOT_FOUND" in str(exc):
            return None
        raise


def _date_str(d: date | str | None) -> str | None:
    return None if d is None else (d.isoformat() if isinstance(d, date) else str(d))


def dedupe_ticks(df):
    """One row per (pair, ts): a tick's identity."""
    return df.dropDuplicates(["pair", "ts"])


def read_lake(spark, settings: Settings, date_from: date | str | None = None, date_to: date | str | None = None,
              pairs: list[str] | None = None):
    """Ticks (frames.TICK_SCHEMA) from both lake roots for UTC dates in [date_from, date_to] (inclusive,
    None = unbounded), de-duplicated on (pair, ts). Partition-pruned on date and symbol."""
    from pyspark.sql import functions as F

    from fxtrue.frames import TICK_SCHEMA

    frames = [df for df in (_read_root(spark, history_path(settings)), _read_root(spark, live_path(settings)))
              if df is not None]
    if not frames:
        return spark.createDataFrame([], TICK_SCHEMA)
    df = frames[0] if len(frames) == 1 else frames[0].unionByName(frames[1])
    lo, hi = _date_str(date_from), _date_str(date_to)
    if lo:
        df = df.where(F.col("date") >= lo)
    if hi:
        df = df.where(F.col("date") <= hi)
    if pairs:
        df = df.where(F.col("symbol").isin([p.replace("/", "") for p in pairs]))
    return dedupe_ticks(df.select(*[f.name for f in TICK_SCHEMA.fields]))


def write_history(df, settings: Settings) -> int:
    """Write ticks (TICK_SCHEMA) into <lake>/history, idempotently; returns the number of partitions written.

    Only the (symbol, date) partitions present in df are replaced, each with the union of its existing rows
    and the new ones, de-duplicated on (pair, ts).
    """
    from pyspark.sql import functions as F

    from fxtrue.frames import TICK_SCHEMA, with_lake_partitions

    spark = df.sparkSession
    cols = [f.name for f in TICK_SCHEMA.fields]
    new = df.select(*cols).transform(with_lake_partitions)
    touched = [(r["symbol"], r["date"]) for r in new.select("symbol", "date").distinct().collect()]
    if not touched:
        return 0
    target = history_path(settings)
    existing = _read_root(spark, target)
    merged = new
    if existing is not None:
        keys = spark.createDataFrame(touched, "symbol string, date string")
        old = existing.join(F.broadcast(keys), ["symbol", "date"], "left_semi").select(*cols, "symbol", "date")
        # Materialise before overwriting the partitions being read.
        merged = new.unionByName(old).localCheckpoint(eager=True)
    merged = (dedupe_ticks(merged)
              .repartition("symbol", "date")
              .sortWithinPartitions("symbol", "date", "ts"))
    (merged.write.mode("overwrite")
           .option("partitionOverwriteMode", "dynamic")
           .partitionBy("symbol", "date")
           .parquet(target))
    return len(touched)
