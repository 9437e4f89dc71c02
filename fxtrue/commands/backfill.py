"""`fxtrue backfill`: TrueFX history files (CSV or zip) into the Parquet tick lake with Spark, idempotently."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fxtrue.settings import Settings

HELP = """Read TrueFX history files (headerless CSV `EUR/USD,20160502 00:00:00.959,1.14601,1.14605`, bare or
zipped; files or folders, many pairs and months) with Spark and write them into the tick lake
(<lake>/history, Parquet partitioned by symbol/date; lake = FXTRUE_SPARK_LAKE_PATH, default <state>/lake).
Re-running a file duplicates nothing: touched partitions are rewritten de-duplicated on (pair, ts).
Bad rows are counted and reported with up to 5 samples, non-TrueFX text masked (`<N chars>`).

--confine (what the fx_backfill DAG runs): read only files inside FXTRUE_AIRFLOW_BACKFILL_INPUT_ROOTS
(absolute paths, no `..`, no symlink out of a root, no S3); anything else is refused before Spark starts.
--result-json FILE: write the outcome (counts, loaded dates, masked samples) as JSON for a caller."""


def register(sub) -> None:
    p = sub.add_parser("backfill", help="load TrueFX history files into the tick lake (Spark, idempotent)",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", help="history files (.csv or .zip) or folders holding them")
    p.add_argument("--confine", action="store_true",
                   help="refuse files outside airflow.backfill_input_roots (fx_backfill passes this)")
    p.add_argument("--result-json", metavar="FILE", default="",
                   help="write the outcome (counts, loaded dates, masked samples) to FILE as JSON")
    p.set_defaults(func=run)


def result_record(result) -> dict:
    """The outcome as JSON-able data: counts, the loaded dates, masked samples of bad rows (never raw text)."""
    from fxtrue.orchestration.inputs import SAMPLES_MAX, sample_line

    return {"files": result.files, "ticks": result.ticks, "bad_rows": result.bad_rows,
            "partitions": result.partitions, "seconds": round(result.seconds, 1), "dates": list(result.dates),
            "samples": [{"file": file, "row": sample_line(raw), "reason": reason}
                        for file, raw, reason in result.examples[:SAMPLES_MAX]]}


def run(args: argparse.Namespace, settings: Settings) -> int:
    from fxtrue.spark import session
    from jobs.batch.backfill import backfill, report

    files = list(args.files)
    if args.confine:
        from fxtrue.orchestration.inputs import resolve_inputs

        files = [str(p) for p in resolve_inputs(files, settings.airflow.backfill_input_roots)]
    spark = session(settings, "fxtrue-backfill", with_kafka=False)
    try:
        result = backfill(spark, settings, files)
    finally:
        spark.stop()
    report(result)
    if args.result_json:
        out = Path(args.result_json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result_record(result)))
    print(f"done: {result.ticks:,} ticks from {result.files} file(s) into {result.partitions} partition(s), "
          f"{result.bad_rows:,} bad row(s), {result.seconds:.1f} s ({result.ticks_per_s:,.0f} ticks/s)")
    return 0
