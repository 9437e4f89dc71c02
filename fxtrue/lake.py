"""The tick lake: Parquet ticks (frames.TICK_SCHEMA columns), the batch layer's master dataset.

Layout under settings.lake_path (a local folder, or s3a://bucket/lake on AWS):

    <lake>/history/symbol=EURUSD/date=2026-11-02/part-*.parquet   backfilled files (`fxtrue backfill`)
    <lake>/live/symbol=EURUSD/date=2026-11-02/part-*.parquet      the streaming job's exactly-once file sink
    <lake>/live/_spark_metadata/                                  its commit log (readers must go through it)
    <lake>/compacted/symbol=EURUSD/date=2026-11-02/part-*.parquet live partitions compacted (jobs/batch/compact.py);
    <lake>/compacted/_manifests/symbol=EURUSD/date=2026-11-02.json the live files each one replaced

The two roots are separate because Spark's file sink owns its folder: a batch write into a folder with a
_spark_metadata log would be invisible to readers of that log. `history` is written with dynamic partition
overwrite after merging with the partitions' existing rows and de-duplicating on (pair, ts), so re-running a
backfill duplicates nothing. `read_lake` unions both roots (either may be missing) and de-duplicates on
(pair, ts), since a tick replayed through Kafka can be in both.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Sequence

from fxtrue.settings import Settings

HISTORY = "history"
LIVE = "live"
COMPACTED = "compacted"  # jobs/batch/compact.py: closed live partitions rewritten as few files
MANIFESTS = "_manifests"  # <lake>/compacted/_manifests/symbol=S/date=D.json: the live files compacted


def history_path(settings: Settings) -> str:
    return _join(settings.lake_path, HISTORY)


def live_path(settings: Settings) -> str:
    return _join(settings.lake_path, LIVE)


def compacted_path(settings: Settings) -> str:
    return _join(settings.lake_path, COMPACTED)


def manifest_path(settings: Settings, symbol: str, day: str) -> str:
    return _join(compacted_path(settings), f"{MANIFESTS}/symbol={symbol}/date={day}.json")


def _list_names(spark, path: str) -> list[str] | None:
    """Names of the entries of a folder (local or Hadoop file system); None when it does not exist."""
    if "://" not in path or path.startswith("file:"):
        local = Path(path.removeprefix("file://").removeprefix("file:"))
        return sorted(p.name for p in local.iterdir()) if local.is_dir() else None
    jvm = spark.sparkContext._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    fs = hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if not fs.exists(hpath):
        return None
    return sorted(st.getPath().getName() for st in fs.listStatus(hpath))


def _read_text(spark, path: str) -> str | None:
    if "://" not in path or path.startswith("file:"):
        local = Path(path.removeprefix("file://").removeprefix("file:"))
        return local.read_text() if local.is_file() else None
    rows = spark.read.text(path, wholetext=True).collect() if _exists(spark, path) else []
    return rows[0][0] if rows else None


def superseded_live_partitions(spark, settings: Settings) -> list[tuple[str, str]]:
    """(symbol, date) partitions of <lake>/live whose files all went into <lake>/compacted (per the compaction
    manifest): readers take them from the compacted root. A live partition that got files after its
    compaction (late or replayed ticks) is not superseded, so nothing is lost (read_lake de-duplicates)."""
    import json

    out: list[tuple[str, str]] = []
    root = _join(compacted_path(settings), MANIFESTS)
    for sym_dir in _list_names(spark, root) or []:
        if not sym_dir.startswith("symbol="):
            continue
        symbol = sym_dir.split("=", 1)[1]
        for name in _list_names(spark, _join(root, sym_dir)) or []:
            if not name.startswith("date=") or not name.endswith(".json"):
                continue
            day = name[len("date="):-len(".json")]
            manifest = json.loads(_read_text(spark, manifest_path(settings, symbol, day)) or "{}")
            live_files = {n for n in (_list_names(spark, _join(live_path(settings), f"symbol={symbol}/date={day}"))
                                      or []) if n.endswith(".parquet")}
            if live_files <= set(manifest.get("files", [])):
                out.append((symbol, day))
    return out


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


def has_history(spark, settings: Settings) -> bool:
    """True when <lake>/history holds data (a backfill must merge with it)."""
    return _exists(spark, history_path(settings))


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
    """Ticks (frames.TICK_SCHEMA) from the lake roots (history, compacted, live minus the partitions compaction
    superseded) for UTC dates in [date_from, date_to] (inclusive,
    None = unbounded), de-duplicated on (pair, ts). Partition-pruned on date and symbol."""
    from pyspark.sql import functions as F

    from fxtrue.frames import TICK_SCHEMA

    live = _read_root(spark, live_path(settings))
    compacted = _read_root(spark, compacted_path(settings))
    if live is not None and compacted is not None:
        done = [f"{sym}/{day}" for sym, day in superseded_live_partitions(spark, settings)]
        if done:  # a predicate on partition columns only: those small files are never opened
            live = live.where(~F.concat_ws("/", "symbol", "date").isin(done))
    frames = [df for df in (_read_root(spark, history_path(settings)), compacted, live) if df is not None]
    if not frames:
        return spark.createDataFrame([], TICK_SCHEMA)
    df = frames[0]
    for other in frames[1:]:
        df = df.unionByName(other)
    lo, hi = _date_str(date_from), _date_str(date_to)
    if lo:
        df = df.where(F.col("date") >= lo)
    if hi:
        df = df.where(F.col("date") <= hi)
    if pairs:
        df = df.where(F.col("symbol").isin([p.replace("/", "") for p in pairs]))
    return dedupe_ticks(df.select(*[f.name for f in TICK_SCHEMA.fields]))


def write_history(df, settings: Settings, touched: Sequence[tuple[str, str]] | None = None) -> None:
    """Write ticks (TICK_SCHEMA) into <lake>/history, idempotently.

    Only the (symbol, date) partitions present in df are replaced, each with the union of its existing rows
    and the new ones, de-duplicated on (pair, ts). `touched`: a superset of those partitions when the caller
    knows one (history.partition_candidates), saving a pass over df; a listed partition df has no row for is
    rewritten with its own rows. One shuffle: rows are clustered by pair, which also clusters every (pair, ts)
    duplicate, and the lake partition columns are derived after it.
    """
    from pyspark.sql import functions as F

    from fxtrue.frames import TICK_SCHEMA, with_lake_partitions

    spark = df.sparkSession
    cols = [f.name for f in TICK_SCHEMA.fields]
    merged = df.select(*cols)
    target = history_path(settings)
    existing = _read_root(spark, target)
    if existing is not None:
        if touched is None:
            touched = [(r["symbol"], r["date"]) for r in
                       merged.transform(with_lake_partitions).select("symbol", "date").distinct().collect()]
        if touched:
            # A predicate on the partition columns only: the other partitions are never opened. Materialised
            # before the write overwrites the partitions it reads.
            keys = sorted({f"{sym}/{day}" for sym, day in touched})
            old = (existing.where(F.concat_ws("/", "symbol", "date").isin(keys)).select(*cols)
                   .localCheckpoint(eager=True))
            merged = merged.unionByName(old)
    (dedupe_ticks(merged.repartition("pair"))
        .transform(with_lake_partitions)
        .sortWithinPartitions("symbol", "date", "ts")
        .write.mode("overwrite")
        .option("partitionOverwriteMode", "dynamic")
        .partitionBy("symbol", "date")
        .parquet(target))
