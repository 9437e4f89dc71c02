"""Backfill: TrueFX history files (CSV or zip) -> the tick lake's history root, idempotently.

Source (fxtrue.history.parse_history) -> transformations (valid ticks, de-duplication on (pair, ts), lake
partitions) -> sink (fxtrue.lake.write_history), counted on the way (DataFrame.observe). Submit by path
(`spark-submit jobs/batch/backfill.py FILES...`) or run through `fxtrue backfill FILES...`.
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
    """One pass over the input writes the ticks and counts them (DataFrame.observe on the parse): no cached
    copy, no counting job. A lake that already holds data costs one more cheap pass (the partitions the input
    could touch, found without parsing prices or times); bad rows one more, only when there are some (up to
    five samples)."""
    from pyspark.sql import Observation

    from fxtrue import history, lake

    started = time.monotonic()
    files = history.expand_paths(paths)
    progress(f"backfill: reading {len(files)} file(s) "
             f"({sum(f.stat().st_size for f in files) / 1e6:,.1f} MB on disk) into {lake.history_path(settings)}")
    parsed = history.parse_history(spark, files, source=source)
    touched = history.partition_candidates(parsed) if lake.has_history(spark, settings) else None
    if touched is not None:
        progress(f"backfill: the input can touch {len(touched)} pair/date partition(s); existing rows of those "
                 f"are merged ({time.monotonic() - started:.1f} s)")
    seen = Observation("backfill")
    lake.write_history(history.parsed_ticks(parsed.observe(seen, *history.parse_metrics())), settings, touched)
    metrics = _observed(seen, parsed)
    n_bad = int(metrics["bad_rows"])
    examples = ([(r["file"], r["raw"], r["reason"]) for r in history.parsed_rejects(parsed).limit(5).collect()]
                if n_bad else [])
    partitions = sorted(metrics["partitions"])
    dates = sorted({p.split("/", 1)[1] for p in partitions})
    result = BackfillResult(len(files), int(metrics["ticks"]), n_bad, len(partitions),
                            time.monotonic() - started, examples, dates)
    progress(f"backfill: {result.ticks:,} ticks, {n_bad:,} bad row(s) into {result.partitions} pair/date "
             f"partition(s) in {result.seconds:.1f} s ({result.ticks_per_s:,.0f} ticks/s)")
    return result


def _observed(seen, parsed) -> dict:
    """The write's observed metrics; when the write ran no task over the input (AQE drops the plan of a write
    whose shuffle came out empty, so a file of only bad rows reports none), a counting job over it."""
    from py4j.protocol import Py4JError

    from fxtrue import history

    try:
        return dict(seen.get.items())
    except Py4JError:
        return parsed.agg(*history.parse_metrics()).first().asDict()


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
