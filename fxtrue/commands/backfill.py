"""`fxtrue backfill`: TrueFX history files (CSV or zip) into the Parquet tick lake with Spark, idempotently."""

from __future__ import annotations

import argparse

from fxtrue.settings import Settings

HELP = """Read TrueFX history files (headerless CSV `EUR/USD,20160502 00:00:00.959,1.14601,1.14605`, bare or
zipped; files or folders, many pairs and months) with Spark and write them into the tick lake
(<lake>/history, Parquet partitioned by symbol/date; lake = FXTRUE_SPARK_LAKE_PATH, default <state>/lake).
Re-running a file duplicates nothing: touched partitions are rewritten de-duplicated on (pair, ts).
Bad rows are counted and reported with up to 5 examples."""


def register(sub) -> None:
    p = sub.add_parser("backfill", help="load TrueFX history files into the tick lake (Spark, idempotent)",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", help="history files (.csv or .zip) or folders holding them")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from fxtrue.spark import session
    from jobs.batch.backfill import backfill, report

    spark = session(settings, "fxtrue-backfill", with_kafka=False)
    try:
        result = backfill(spark, settings, args.files)
    finally:
        spark.stop()
    report(result)
    print(f"done: {result.ticks:,} ticks from {result.files} file(s) into {result.partitions} partition(s), "
          f"{result.bad_rows:,} bad row(s), {result.seconds:.1f} s ({result.ticks_per_s:,.0f} ticks/s)")
    return 0
