"""Backfill: TrueFX history files (CSV or zip) -> the tick lake's history root, idempotently.

Sources (fxtrue.history.read_history) -> transformations (de-duplication on (pair, ts), lake partitions) ->
sink (fxtrue.lake.write_history). Submit by path (`spark-submit jobs/batch/backfill.py FILES...`) or run
through `fxtrue backfill FILES...`.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from fxtrue.settings import Settings


@dataclass
class BackfillResult:
    files: int
    ticks: int
    bad_rows: int
    partitions: int
    seconds: float
    examples: list[tuple[str, str, str]] = field(default_factory=list)  # (file, raw, reason)
    dates: list[str] = field(default_factory=list)  # the UTC days (lake partitions) that received ticks

    @property
    def ticks_per_s(self) -> float:
        return self.ticks / max(self.seconds, 1e-9)


def backfill(spark, settings: Settings, paths: Sequence[str], progress: Callable[[str], None] = print,
             source: str = "replay") -> BackfillResult:
    from pyspark import StorageLevel

    from fxtrue import history, lake

    started = time.monotonic()
    files = history.expand_paths(paths)
    progress(f"backfill: reading {len(files)} file(s) "
             f"({sum(f.stat().st_size for f in files) / 1e6:,.1f} MB on disk)")
    ticks, rejects = history.read_history(spark, files, source=source)
    ticks = ticks.persist(StorageLevel.MEMORY_AND_DISK)
    n_ticks = ticks.count()
    rejects = rejects.persist(StorageLevel.MEMORY_AND_DISK)
    n_bad = rejects.count()
    examples = [(r["file"], r["raw"], r["reason"]) for r in rejects.limit(5).collect()] if n_bad else []
    progress(f"backfill: parsed {n_ticks:,} ticks, {n_bad:,} bad row(s) "
             f"({time.monotonic() - started:.1f} s); writing {lake.history_path(settings)}")
    from fxtrue.frames import with_lake_partitions

    dates = sorted(r["date"] for r in ticks.transform(with_lake_partitions).select("date").distinct().collect())
    partitions = lake.write_history(ticks, settings)
    ticks.unpersist()
    rejects.unpersist()
    result = BackfillResult(len(files), n_ticks, n_bad, partitions, time.monotonic() - started, examples, dates)
    progress(f"backfill: wrote {partitions} pair/date partition(s) in {result.seconds:.1f} s "
             f"({result.ticks_per_s:,.0f} ticks/s)")
    return result


def report(result: BackfillResult, progress: Callable[[str], None] = print) -> None:
    """Counts, and the bad rows only as masked, capped samples (fxtrue.orchestration.inputs.sample_line):
    the text of an input file never reaches a log."""
    from fxtrue.orchestration.inputs import SAMPLES_MAX, sample_line

    if result.bad_rows:
        progress(f"{result.bad_rows:,} bad row(s) skipped; samples (non-TrueFX text masked):")
        for file, raw, reason in result.examples[:SAMPLES_MAX]:
            progress(f"  {file}: {sample_line(raw)}: {reason}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="TrueFX history files -> tick lake (idempotent)")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)

    from fxtrue.settings import get_settings
    from fxtrue.spark import session

    settings = get_settings()
    spark = session(settings, "fxtrue-backfill", with_kafka=False)
    try:
        report(backfill(spark, settings, args.files))
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
