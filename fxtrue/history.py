"""TrueFX history files: headerless CSV `EUR/USD,20160502 00:00:00.959,1.14601,1.14605` (pair, UTC time, bid,
ask), bare or inside TrueFX's monthly zips.

Pure Python side: `parse_line` (never raises), `iter_file` (streams one file as Record(path, line, Tick|Rejection)),
`merge` (k-way time-ordered merge across files). Spark side: `read_history(spark, paths)` ->
(ticks in frames.TICK_SCHEMA, rejected rows), shared by backfill, the batch stats job and `fxtrue detect`.
"""

from __future__ import annotations

import atexit
import functools
import heapq
import io
import shutil
import tempfile
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple, Sequence

from fxtrue.errors import FxtrueError
from fxtrue.ticks import Rejection, Tick, validate

TIME_FORMAT = "%Y%m%d %H:%M:%S.%f"
SPARK_TIME_FORMAT = "yyyyMMdd HH:mm:ss.SSS"
HISTORY_SUFFIXES = (".csv", ".zip")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class Record(NamedTuple):
    path: str
    line: int  # 1-based line number within the file (or zip member)
    item: Tick | Rejection


def parse_time_ms(text: str) -> int:
    """`20160502 00:00:00.959` (UTC) -> epoch ms. Raises ValueError."""
    text = text.strip()
    if len(text) != 21 or text[8] != " " or text[17] != ".":
        raise ValueError("bad time")
    # Integer arithmetic is ~5x faster than strptime and exact.
    y, mo, d = int(text[0:4]), int(text[4:6]), int(text[6:8])
    h, mi, s, ms = int(text[9:11]), int(text[12:14]), int(text[15:17]), int(text[18:21])
    if text[11] != ":" or text[14] != ":" or h > 23 or mi > 59 or s > 60:
        raise ValueError("bad time")
    days = _epoch_day(y, mo, d)
    return ((days * 24 + h) * 60 + mi) * 60_000 + s * 1000 + ms


@functools.lru_cache(maxsize=4096)
def _epoch_day(y: int, mo: int, d: int) -> int:
    return datetime(y, mo, d).toordinal() - 719163  # date(1970, 1, 1).toordinal()


def _price(text: str) -> float:
    t = text.strip()
    if not t or t[0] in "+-" or not t.replace(".", "", 1).isdigit():
        raise ValueError("not a plain decimal")
    return float(t)


def parse_line(line: str, source: str = "replay", received_at: int | None = None) -> Tick | Rejection:
    """One history line -> Tick, or Rejection with the reason. Never raises; crossed quotes are valid."""
    try:
        raw = line.rstrip("\r\n")
        fields = raw.split(",")
        if len(fields) != 4:
            return Rejection(f"expected 4 fields, got {len(fields)}", raw, source)
        pair = fields[0].strip()
        try:
            ts = parse_time_ms(fields[1])
        except ValueError:
            return Rejection("bad timestamp (want yyyyMMdd HH:mm:ss.SSS)", raw, source)
        try:
            bid = _price(fields[2])
        except ValueError:
            return Rejection("bid is not a number", raw, source)
        try:
            ask = _price(fields[3])
        except ValueError:
            return Rejection("ask is not a number", raw, source)
        tick = Tick(pair, ts, bid, ask, source, ts if received_at is None else received_at)
        reason = validate(tick)
        return Rejection(reason, raw, source) if reason else tick
    except Exception as exc:  # noqa: BLE001 - the contract is "never raises"
        return Rejection(f"unparseable line ({type(exc).__name__})", str(line)[:1000], source)


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; directories -> their *.csv / *.zip history files (labels.csv excluded), sorted."""
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out.extend(sorted(f for f in path.iterdir() if f.is_file() and f.suffix.lower() in HISTORY_SUFFIXES
                              and not f.name.startswith("labels")))
        elif path.is_file():
            out.append(path)
        else:
            raise FxtrueError(f"history file not found: {path}", hint="give TrueFX CSV or zip files, or folders")
    if not out:
        raise FxtrueError("no history files to read", hint="give TrueFX CSV or zip files, or folders holding them")
    return out


# Zip-bomb guard: TrueFX's monthly zips hold one CSV of a few hundred MB that deflates ~5-8x; a bomb (zeros,
# 1000x) or a member declaring gigabytes is refused before anything is decompressed.
MAX_ZIP_UNCOMPRESSED_BYTES = 2 * 1024**3
MAX_ZIP_RATIO = 50.0
_RATIO_MIN_BYTES = 1024**2  # tiny members may compress oddly; judge the ratio only above this size


def check_zip(zf: zipfile.ZipFile, path: Path | str) -> None:
    """Raise FxtrueError when the archive's declared uncompressed size or compression ratio is too large."""
    infos = zf.infolist()
    total = sum(i.file_size for i in infos)
    if total > MAX_ZIP_UNCOMPRESSED_BYTES:
        raise FxtrueError(f"refusing zip {path}: {total:,} bytes uncompressed exceeds the cap of "
                          f"{MAX_ZIP_UNCOMPRESSED_BYTES:,}", hint="split the file, or unzip it and give the CSV")
    for info in infos:
        if info.file_size > _RATIO_MIN_BYTES and info.file_size / max(info.compress_size, 1) > MAX_ZIP_RATIO:
            raise FxtrueError(f"refusing zip {path}: member {info.filename[:80]!r} has compression ratio "
                              f"{info.file_size / max(info.compress_size, 1):,.0f}:1 (limit {MAX_ZIP_RATIO:.0f}:1; "
                              "a zip bomb?)")


def _open_text(path: Path) -> Iterator[tuple[str, io.TextIOBase]]:
    """(name, text stream) for a CSV file or for each CSV member of a zip."""
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as zf:
            check_zip(zf, path)
            for name in sorted(n for n in zf.namelist() if not n.endswith("/")):
                with zf.open(name) as raw:
                    yield f"{path}!{name}", io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")
    else:
        with open(path, encoding="utf-8", errors="replace", newline="") as fh:
            yield str(path), fh


def iter_file(path: str | Path, source: str = "replay") -> Iterator[Record]:
    """Stream one history file (CSV or zip); blank lines are skipped, every other line yields a Record."""
    path = Path(path)
    try:
        for name, fh in _open_text(path):
            for lineno, line in enumerate(fh, start=1):
                if line.strip():
                    yield Record(name, lineno, parse_line(line, source))
    except (OSError, zipfile.BadZipFile) as exc:
        raise FxtrueError(f"cannot read history file {path}: {exc}") from None


def merge(paths: Sequence[str | Path], source: str = "replay") -> Iterator[Record]:
    """All records of many files in event-time order (each file is time-ordered, as TrueFX's are).

    A rejection keeps the position of the last good tick of its file, so it comes out near where it was.
    """
    def keyed(i: int, path: Path) -> Iterator[tuple[int, int, Record]]:
        last = 0
        for rec in iter_file(path, source):
            if isinstance(rec.item, Tick):
                last = rec.item.ts
            yield last, i, rec

    streams = [keyed(i, p) for i, p in enumerate(expand_paths(paths))]
    for _, _, rec in heapq.merge(*streams, key=lambda x: (x[0], x[1])):
        yield rec


# -- Spark

_extract_dirs: list[str] = []


def _cleanup_extracts() -> None:
    for d in _extract_dirs:
        shutil.rmtree(d, ignore_errors=True)


def spark_input_paths(paths: Iterable[str | Path], tmp_dir: str | None = None) -> list[str]:
    """Paths Spark can read as text: CSVs as they are, zips extracted to a temp folder (kept until exit,
    since DataFrames are lazy)."""
    out: list[str] = []
    extract_to: str | None = None
    for path in expand_paths(paths):
        if path.suffix.lower() != ".zip":
            out.append(str(path.resolve()))
            continue
        if extract_to is None:
            extract_to = tempfile.mkdtemp(prefix="fxtrue-history-", dir=tmp_dir)
            if not _extract_dirs:
                atexit.register(_cleanup_extracts)
            _extract_dirs.append(extract_to)
        target = Path(extract_to) / path.stem
        try:
            with zipfile.ZipFile(path) as zf:
                check_zip(zf, path)
                zf.extractall(target)
        except (OSError, zipfile.BadZipFile) as exc:
            raise FxtrueError(f"cannot read history file {path}: {exc}") from None
        out.extend(str(f) for f in sorted(target.rglob("*")) if f.is_file())
    return out


def read_history(spark, paths: Iterable[str | Path], source: str = "replay", tmp_dir: str | None = None):
    """History files (CSV or zip, files or folders) -> (ticks_df in frames.TICK_SCHEMA, rejects_df).

    rejects_df has columns file, raw, reason. Crossed quotes are valid ticks. Blank lines are ignored.
    """
    from pyspark.sql import functions as F

    from fxtrue import frames

    inputs = spark_input_paths(paths, tmp_dir)
    text = (spark.read.text(inputs)
            .where(F.trim("value") != "")
            .select(F.regexp_replace("value", "\r$", "").alias("raw"), F.input_file_name().alias("file")))
    parts = F.split("raw", ",")
    num = r"^\s*[0-9]+(\.[0-9]*)?\s*$"
    parsed = text.select(
        "file", "raw", F.size(parts).alias("n_fields"),
        F.trim(F.try_element_at(parts, F.lit(1))).alias("pair"),
        F.try_to_timestamp(F.trim(F.try_element_at(parts, F.lit(2))), F.lit(SPARK_TIME_FORMAT)).alias("ts"),
        F.try_element_at(parts, F.lit(3)).alias("bid_s"),
        F.try_element_at(parts, F.lit(4)).alias("ask_s"),
    ).withColumns({
        "bid": F.when(F.col("bid_s").rlike(num), F.trim("bid_s").try_cast("double")),
        "ask": F.when(F.col("ask_s").rlike(num), F.trim("ask_s").try_cast("double")),
        "ts_ms": frames.ts_to_epoch_ms(F.col("ts")),
        "source": F.lit(source),
    })
    reason = (F.when(F.col("n_fields") != 4, F.concat(F.lit("expected 4 fields, got "),
                                                      F.col("n_fields").cast("string")))
               .when(F.col("ts").isNull(), F.lit("bad timestamp (want yyyyMMdd HH:mm:ss.SSS)"))
               .when(F.col("bid").isNull(), F.lit("bid is not a number"))
               .when(F.col("ask").isNull(), F.lit("ask is not a number"))
               .otherwise(frames.invalid_reason()))
    parsed = parsed.withColumn("reason", reason)
    ticks = (parsed.where(F.col("reason").isNull())
             .select(F.col("pair"), F.col("ts"), F.col("bid"), F.col("ask"),
                     F.lit(None).cast("double").alias("high"), F.lit(None).cast("double").alias("low"),
                     F.lit(None).cast("double").alias("open"), F.col("source"),
                     F.lit(None).cast("timestamp").alias("received_at")))
    ticks = _conform(ticks, frames.TICK_SCHEMA)
    rejects = parsed.where(F.col("reason").isNotNull()).select("file", "raw", "reason")
    return ticks, rejects


def _conform(df, schema):
    """Cast to the schema's types; nullability as declared is enforced downstream by the writers."""
    from pyspark.sql import functions as F

    return df.select([F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields])
