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
import re
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
BOM = "\ufeff"
# Bounded parsing: a valid line is ~45 characters and a price a few digits, so these only ever stop hostile input.
MAX_LINE_CHARS = 64 * 1024  # longer lines are rejected unread (memory stays bounded on a file with no newline)
MAX_PRICE_CHARS = 24  # longer price text is rejected, not rounded (also the TrueFX reply parser's limit)
MAX_RAW_CHARS = 1000  # what a rejection keeps of its line
# ASCII digits only (str.isdigit and int() also take e.g. Arabic-Indic digits), fixed widths, no signs.
_TIME = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})\.([0-9]{3})", re.ASCII)
# A price as TrueFX writes it: digits, optionally a point and more digits (no sign, exponent, NaN or
# Infinity, which float() and Spark's cast accept). The one definition, for every reader of prices.
DECIMAL = r"[0-9]+(?:\.[0-9]*)?"
DECIMAL_RE = re.compile(DECIMAL, re.ASCII)


class Record(NamedTuple):
    path: str
    line: int  # 1-based line number within the file (or zip member)
    item: Tick | Rejection


def parse_time_ms(text: str) -> int:
    """`20160502 00:00:00.959` (UTC) -> epoch ms. Raises ValueError."""
    m = _TIME.fullmatch(text.strip())
    if m is None:
        raise ValueError("bad time")
    # Integer arithmetic is ~5x faster than strptime and exact.
    y, mo, d, h, mi, s, ms = map(int, m.groups())
    if h > 23 or mi > 59 or s > 59:  # no leap second: Spark's parser refuses :60 too
        raise ValueError("bad time")
    days = _epoch_day(y, mo, d)  # month/day ranges (and year 0) raise ValueError
    return ((days * 24 + h) * 60 + mi) * 60_000 + s * 1000 + ms


@functools.lru_cache(maxsize=4096)
def _epoch_day(y: int, mo: int, d: int) -> int:
    return datetime(y, mo, d).toordinal() - 719163  # date(1970, 1, 1).toordinal()


class _TooLong(ValueError):
    pass


def _price(text: str) -> float:
    t = text.strip()
    if len(t) > MAX_PRICE_CHARS:
        raise _TooLong(f"has more than {MAX_PRICE_CHARS} characters")
    if not DECIMAL_RE.fullmatch(t):
        raise ValueError("not a plain decimal")
    return float(t)


def parse_line(line: str, source: str = "replay", received_at: int | None = None) -> Tick | Rejection:
    """One history line -> Tick, or Rejection with the reason. Never raises; crossed quotes are valid."""
    try:
        raw = line.rstrip("\r\n")
        if len(raw) > MAX_LINE_CHARS:
            return Rejection(f"line has more than {MAX_LINE_CHARS:,} characters", raw[:MAX_RAW_CHARS], source)
        fields = (raw[1:] if raw.startswith(BOM) else raw).split(",")  # a UTF-8 BOM opens many exports
        if len(fields) != 4:
            return Rejection(f"expected 4 fields, got {len(fields)}", raw, source)
        pair = fields[0].strip()
        try:
            ts = parse_time_ms(fields[1])
        except ValueError:
            return Rejection("bad timestamp (want yyyyMMdd HH:mm:ss.SSS)", raw, source)
        prices = []
        for name, text in (("bid", fields[2]), ("ask", fields[3])):
            try:
                prices.append(_price(text))
            except _TooLong as exc:
                return Rejection(f"{name} {exc}", raw, source)
            except ValueError:
                return Rejection(f"{name} is not a number", raw, source)
        bid, ask = prices
        tick = Tick(pair, ts, bid, ask, source, ts if received_at is None else received_at)
        reason = validate(tick)
        return Rejection(reason, raw, source) if reason else tick
    except Exception as exc:  # noqa: BLE001 - the contract is "never raises"
        return Rejection(f"unparseable line ({type(exc).__name__})", str(line)[:MAX_RAW_CHARS], source)


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
# 1000x), a member declaring gigabytes, many small members adding up, or thousands of members are refused before
# anything is decompressed; what is then read is counted against the same budget (declared sizes can lie).
MAX_ZIP_UNCOMPRESSED_BYTES = 2 * 1024**3  # per archive, all members together
MAX_ZIP_RATIO = 50.0  # per member and for the archive as a whole
MAX_ZIP_MEMBERS = 1000
_RATIO_MIN_BYTES = 1024**2  # tiny members may compress oddly; judge the ratio only above this size


def check_zip(zf: zipfile.ZipFile, path: Path | str) -> list[zipfile.ZipInfo]:
    """The archive's file members, or FxtrueError when its declared uncompressed size, compression ratio (of a
    member or of the whole) or member count is too large."""
    infos = zf.infolist()
    total = sum(i.file_size for i in infos)
    if total > MAX_ZIP_UNCOMPRESSED_BYTES:
        raise FxtrueError(f"refusing zip {path}: {total:,} bytes uncompressed exceeds the cap of "
                          f"{MAX_ZIP_UNCOMPRESSED_BYTES:,}", hint="split the file, or unzip it and give the CSV")
    if len(infos) > MAX_ZIP_MEMBERS:
        raise FxtrueError(f"refusing zip {path}: {len(infos):,} members (limit {MAX_ZIP_MEMBERS:,})",
                          hint="a TrueFX zip holds one CSV; unzip it and give the CSV files")
    for what, size, packed in [(f"member {i.filename[:80]!r} has", i.file_size, i.compress_size) for i in infos] + [
            ("all members together have", total, sum(i.compress_size for i in infos))]:
        if size > _RATIO_MIN_BYTES and size / max(packed, 1) > MAX_ZIP_RATIO:
            raise FxtrueError(f"refusing zip {path}: {what} compression ratio "
                              f"{size / max(packed, 1):,.0f}:1 (limit {MAX_ZIP_RATIO:.0f}:1; a zip bomb?)")
    return sorted((i for i in infos if not i.is_dir()), key=lambda i: i.filename)


class _Budget(io.RawIOBase):
    """A zip member stream that counts what it decompresses against the archive's budget (shared by members)."""

    def __init__(self, raw, left: list[int], path: Path) -> None:
        self.raw, self.left, self.path = raw, left, path

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        data = self.raw.read(len(b))
        self.left[0] -= len(data)
        if self.left[0] < 0:
            raise FxtrueError(f"refusing zip {self.path}: more than {MAX_ZIP_UNCOMPRESSED_BYTES:,} bytes "
                              "uncompressed (the sizes it declares are false)")
        b[:len(data)] = data
        return len(data)


def _members(zf: zipfile.ZipFile, path: Path) -> Iterator[tuple[zipfile.ZipInfo, io.BufferedReader]]:
    """(member, budgeted binary stream) for each file member of a checked archive."""
    left = [MAX_ZIP_UNCOMPRESSED_BYTES]
    for info in check_zip(zf, path):
        with zf.open(info) as raw:
            yield info, io.BufferedReader(_Budget(raw, left, path), 64 * 1024)


def _open_text(path: Path) -> Iterator[tuple[str, io.TextIOBase]]:
    """(name, text stream) for a CSV file or for each CSV member of a zip."""
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as zf:
            for info, raw in _members(zf, path):
                yield f"{path}!{info.filename}", io.TextIOWrapper(raw, encoding="utf-8", errors="replace",
                                                                  newline="")
    else:
        with open(path, encoding="utf-8", errors="replace", newline="") as fh:
            yield str(path), fh


def _lines(fh: io.TextIOBase) -> Iterator[str]:
    """The lines of a text stream, each at most MAX_LINE_CHARS + 1 characters held in memory: the rest of a longer
    line is read and dropped in bounded pieces (parse_line then rejects it as too long)."""
    while line := fh.readline(MAX_LINE_CHARS + 1):
        if len(line) > MAX_LINE_CHARS and line[-1] not in "\r\n":
            while (more := fh.readline(MAX_LINE_CHARS)) and more[-1] not in "\r\n":
                pass
        yield line


def iter_file(path: str | Path, source: str = "replay") -> Iterator[Record]:
    """Stream one history file (CSV or zip); blank lines are skipped, every other line yields a Record."""
    path = Path(path)
    try:
        for name, fh in _open_text(path):
            for lineno, line in enumerate(_lines(fh), start=1):
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
    for n, path in enumerate(expand_paths(paths)):
        if path.suffix.lower() != ".zip":
            out.append(str(path.resolve()))
            continue
        if extract_to is None:
            extract_to = tempfile.mkdtemp(prefix="fxtrue-history-", dir=tmp_dir)
            if not _extract_dirs:
                atexit.register(_cleanup_extracts)
            _extract_dirs.append(extract_to)
        # Unique names: the n-th zip's m-th member -> <n>-<zip stem>/<m>-<member base name>, so same-named zips
        # (from two folders) or members never overwrite each other, and no member path ('../') is followed.
        target = Path(extract_to) / f"{n:04d}-{_safe_name(path.stem)}"
        target.mkdir()
        try:
            with zipfile.ZipFile(path) as zf:
                for m, (info, raw) in enumerate(_members(zf, path)):
                    dest = target / f"{m:04d}-{_safe_name(Path(info.filename).name)}"
                    with open(dest, "wb") as fh:
                        shutil.copyfileobj(raw, fh, 1024**2)
                    out.append(str(dest))
        except (OSError, zipfile.BadZipFile) as exc:
            raise FxtrueError(f"cannot read history file {path}: {exc}") from None
    return out


def _safe_name(name: str) -> str:
    """A file name made of plain characters only (no separators, no leading dot), at most 100 of them."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name).lstrip(".")[:100] or "member"


def read_history(spark, paths: Iterable[str | Path], source: str = "replay", tmp_dir: str | None = None):
    """History files (CSV or zip, files or folders) -> (ticks_df in frames.TICK_SCHEMA, rejects_df).

    rejects_df has columns file, raw, reason. Crossed quotes are valid ticks. Blank lines are ignored.
    """
    parsed = parse_history(spark, paths, source, tmp_dir)
    return parsed_ticks(parsed), parsed_rejects(parsed)


def parse_history(spark, paths: Iterable[str | Path], source: str = "replay", tmp_dir: str | None = None):
    """History files -> one row per non-blank line: file, raw, reason (null for a valid tick), the tick's
    columns (pair, ts, bid, ask, source) and the lake partition it belongs to (symbol, date). Lazy: every
    consumer (parsed_ticks, parsed_rejects, parse_metrics, partition_candidates) reads the same parse."""
    from pyspark.sql import functions as F

    from fxtrue import frames

    inputs = spark_input_paths(paths, tmp_dir)
    text = (spark.read.text(inputs)
            .where(F.trim("value") != "")
            .select(F.rtrim("value", F.lit("\r")).alias("raw"), F.input_file_name().alias("file")))
    raw = F.col("raw")  # a UTF-8 BOM opens many exports (plain string tests: a regex per line costs)
    parts = F.split(F.when(raw.startswith(BOM), raw.substr(F.lit(2), F.length(raw))).otherwise(raw), ",")
    num = rf"^\s*{DECIMAL}\s*$"
    parsed = text.select(
        "file", "raw", F.size(parts).alias("n_fields"),
        F.trim(F.try_element_at(parts, F.lit(1))).alias("pair"),
        F.trim(F.try_element_at(parts, F.lit(2))).alias("ts_text"),
        F.try_element_at(parts, F.lit(3)).alias("bid_s"),
        F.try_element_at(parts, F.lit(4)).alias("ask_s"),
    ).withColumns({
        "ts": F.try_to_timestamp("ts_text", F.lit(SPARK_TIME_FORMAT)),
        "bid": F.when(F.col("bid_s").rlike(num), F.trim("bid_s").try_cast("double")),
        "ask": F.when(F.col("ask_s").rlike(num), F.trim("ask_s").try_cast("double")),
        "ts_ms": frames.ts_to_epoch_ms(F.col("ts")),
        "source": F.lit(source),
    })
    too_long = {c: F.length(F.trim(f"{c}_s")) > MAX_PRICE_CHARS for c in ("bid", "ask")}
    reason = (F.when(F.length("raw") > MAX_LINE_CHARS, F.lit(f"line has more than {MAX_LINE_CHARS:,} characters"))
               .when(F.col("n_fields") != 4, F.concat(F.lit("expected 4 fields, got "),
                                                      F.col("n_fields").cast("string")))
               .when(F.col("ts").isNull(), F.lit("bad timestamp (want yyyyMMdd HH:mm:ss.SSS)"))
               .when(too_long["bid"], F.lit(f"bid has more than {MAX_PRICE_CHARS} characters"))
               .when(F.col("bid").isNull(), F.lit("bid is not a number"))
               .when(too_long["ask"], F.lit(f"ask has more than {MAX_PRICE_CHARS} characters"))
               .when(F.col("ask").isNull(), F.lit("ask is not a number"))
               .otherwise(frames.invalid_reason()))
    return parsed.withColumn("reason", reason).transform(frames.with_lake_partitions)


def parsed_ticks(parsed):
    """The valid ticks of parse_history's rows, in frames.TICK_SCHEMA."""
    from pyspark.sql import functions as F

    from fxtrue import frames

    ticks = (parsed.where(F.col("reason").isNull())
             .select(F.col("pair"), F.col("ts"), F.col("bid"), F.col("ask"),
                     F.lit(None).cast("double").alias("high"), F.lit(None).cast("double").alias("low"),
                     F.lit(None).cast("double").alias("open"), F.col("source"),
                     F.lit(None).cast("timestamp").alias("received_at")))
    return _conform(ticks, frames.TICK_SCHEMA)


def parsed_rejects(parsed):
    """The rejected rows of parse_history's rows: file, raw, reason."""
    from pyspark.sql import functions as F

    return parsed.where(F.col("reason").isNotNull()).select("file", "raw", "reason")


def parse_metrics():
    """Aggregates for DataFrame.observe on parse_history's rows, so a job that writes the ticks also counts
    them (no second pass): ticks, bad_rows, and the (symbol, date) partitions that received ticks as
    'SYMBOL/yyyy-MM-dd' strings."""
    from pyspark.sql import functions as F

    valid = F.col("reason").isNull()
    return (F.count_if(valid).alias("ticks"), F.count_if(~valid).alias("bad_rows"),
            F.collect_set(F.when(valid, F.concat_ws("/", "symbol", "date"))).alias("partitions"))


def partition_candidates(parsed) -> list[tuple[str, str]]:
    """Every (symbol, date) lake partition a line of the input could land in, valid or not: a superset of the
    partitions its valid ticks touch, found without parsing prices or times (the date is the first eight
    characters of the time field, as a valid time has it)."""
    from pyspark.sql import functions as F

    from fxtrue.frames import lake_symbol

    day = F.col("ts_text")
    rows = (parsed.where(F.length(day) >= 8)
            .select(lake_symbol(F.col("pair")).alias("symbol"),
                    F.concat_ws("-", day.substr(1, 4), day.substr(5, 2), day.substr(7, 2)).alias("date"))
            .distinct().collect())
    return [(r["symbol"], r["date"]) for r in rows if r["symbol"]]


def _conform(df, schema):
    """Cast to the schema's types; nullability as declared is enforced downstream by the writers."""
    from pyspark.sql import functions as F

    return df.select([F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields])
