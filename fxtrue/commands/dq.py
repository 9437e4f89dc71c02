"""`fxtrue dq`: run the Great Expectations suites (ticks of a lake day, a thresholds version) and build Data Docs."""

from __future__ import annotations

import argparse
from datetime import date, datetime, timedelta, timezone

from fxtrue.errors import FxtrueError
from fxtrue.settings import Settings

HELP = """Data quality with Great Expectations 1.x (suites as code in fxtrue/dq/suites.py).

  fxtrue dq run --suite ticks [--date D]        every tick of lake day D (default: yesterday UTC): schema,
                                                nulls, positive prices, ask >= bid share, known pairs, time
                                                range, plausible price level, duplicates; and each pair's
                                                tick count against its intraday profile (settings.dq.profile_days
                                                of the lake up to D)
  fxtrue dq run --suite thresholds [--version V] [--against W]
                                                a thresholds version (default: the current one): complete,
                                                enough samples, std > 0, finite; changes against W (warning)
  fxtrue dq run --suite all                     both
  fxtrue dq docs                                rebuild the Data Docs site (settings.dq_docs_dir) and print it

Each run writes a summary row to Cassandra dq_runs_by_suite and updates the Data Docs; the exit status is 3
when a suite failed (failing expectations are listed)."""


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from None


def register(sub) -> None:
    p = sub.add_parser("dq", help="run Great Expectations suites / build Data Docs", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    dq_sub = p.add_subparsers(dest="dq_command", metavar="run|docs")
    dq_sub.required = True
    r = dq_sub.add_parser("run", help="run suites", description=HELP,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("--suite", choices=("ticks", "thresholds", "all"), default="all")
    r.add_argument("--date", type=_date, help="lake day for the ticks suite (default: yesterday UTC)")
    r.add_argument("--version", help="thresholds version (default: the current one)")
    r.add_argument("--against", help="compare thresholds with this version (change warnings)")
    r.set_defaults(func=run)
    d = dq_sub.add_parser("docs", help="rebuild the Data Docs site and print its URL")
    d.set_defaults(func=docs)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from fxtrue import cassandra
    from fxtrue.dq.runner import Runner, record

    runner = Runner(settings)
    results = []
    session = cassandra.connect(settings, component="batch", keyspace=settings.cassandra.keyspace)
    try:
        if args.suite in ("ticks", "all"):
            results += run_ticks(runner, settings, args.date or (datetime.now(timezone.utc).date() - timedelta(days=1)))
        if args.suite in ("thresholds", "all"):
            results.append(run_thresholds(runner, session, settings, args.version, args.against))
        for r in results:
            record(session, settings, r)
    finally:
        session.cluster.shutdown()
    for r in results:
        print(r.summary() + (f"  {r.docs_url}" if r.docs_url else ""))
        for f in r.failing:
            print(f"  FAILED {r.suite}.{f}")
        for w in r.warnings:
            print(f"  warning {r.suite}.{w}")
    return 0 if all(r.success for r in results) else 3


def run_ticks(runner, settings: Settings, day: date):
    from fxtrue import spark as fx_spark
    from fxtrue.dq.checks import check_ticks
    from fxtrue.lake import read_lake

    spark = fx_spark.session(settings, "fxtrue-dq", with_kafka=False)
    first = day - timedelta(days=max(settings.dq.profile_days, 1) - 1)
    reference = read_lake(spark, settings, first, day).cache()
    try:
        from pyspark.sql import functions as F

        ticks = reference.where(F.to_date("ts") == F.lit(day.isoformat()).cast("date"))
        print(f"ticks suite: lake day {day} (intraday profile from {first} .. {day})")
        return check_ticks(runner, ticks, settings, day, day, reference=reference, target=f"lake {day}",
                           progress=print)
    finally:
        reference.unpersist()


def run_thresholds(runner, session, settings: Settings, version: str | None, against: str | None):
    from fxtrue.dq.checks import check_thresholds
    from fxtrue.thresholds import current_version, load_version

    version = version or current_version(session, settings)
    if not version:
        raise FxtrueError("no thresholds version published yet", hint="give --version V, or run `fxtrue stats "
                                                                       "--publish`")
    t = load_version(session, settings, version)
    previous = load_version(session, settings, against) if against else None
    return check_thresholds(runner, t, settings, previous, progress=print)


def docs(args: argparse.Namespace, settings: Settings) -> int:
    from fxtrue.dq.runner import Runner

    print(Runner(settings).build_docs())
    return 0
