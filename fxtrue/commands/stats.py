"""`fxtrue stats`: batch statistics over the tick history -> thresholds file and/or a published version."""

from __future__ import annotations

import argparse
import time
from datetime import date

from fxtrue.errors import FxtrueError
from fxtrue.settings import Settings
from fxtrue.thresholds import SOURCE_KINDS

HELP = """Learn per-pair, per-hour baselines of the five detectors from tick history and turn them into thresholds
(jobs/batch/stats.py, the same window statistics the streaming job computes; zero-tick windows in open hours
count; the weekend closure Fri 22:00 - Sun 22:00 UTC is left out).

  --source lake          the Parquet tick lake (backfilled history + the streaming job's sink), the default
  --source PATH...       TrueFX history files (CSV or zip) or folders holding them
  --out FILE             write a thresholds file (read by `fxtrue detect`; needs no Kafka or Cassandra)
  --publish              write a new immutable version to Cassandra and move the `current` pointer to it only
                         when the data-quality gate passes (ticks suites on the source, thresholds suite on
                         the result); a failed gate marks the version rejected, keeps the pointer, names the
                         failing expectations and exits with status 3. Data Docs: settings.dq_docs_dir.

Example: fxtrue stats --from 2026-11-02 --to 2026-11-08 --publish --out var/thresholds.json"""


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from None


def register(sub) -> None:
    p = sub.add_parser("stats", help="batch statistics over the tick history -> thresholds file / published version",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--from", dest="date_from", type=_date, required=True, help="first UTC day, YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", type=_date, required=True, help="last UTC day (inclusive)")
    p.add_argument("--source", nargs="+", default=["lake"], metavar="lake|PATH",
                   help="'lake' (default) or TrueFX history files / folders")
    p.add_argument("--source-kind", choices=("auto", *SOURCE_KINDS), default="auto",
                   help="how the ticks were captured (auto: from the ticks' source; files are 'history')")
    p.add_argument("--out", help="write the thresholds to this JSON file")
    p.add_argument("--publish", action="store_true", help="gate and publish a new version in Cassandra")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from fxtrue.dq.runner import GateFailed

    if args.date_to < args.date_from:
        raise FxtrueError("--to is before --from")
    if not args.out and not args.publish:
        raise FxtrueError("nothing to do: give --out FILE and/or --publish")
    try:
        compute_and_publish(settings, args.date_from, args.date_to, args.source, out=args.out,
                            publish=args.publish, source_kind=args.source_kind)
    except GateFailed as exc:
        print(f"fxtrue stats: {exc}")
        return 3
    return 0


def compute_and_publish(settings: Settings, date_from: date, date_to: date, source: list[str], *,
                        out: str | None = None, publish: bool = False, source_kind: str = "auto",
                        progress=print):
    """The whole `fxtrue stats` flow; returns the Thresholds (status published / candidate), raises GateFailed."""
    from fxtrue import spark as fx_spark
    from fxtrue.baselines import build_thresholds
    from jobs.batch import stats as job

    began = time.monotonic()
    progress(f"stats {date_from} .. {date_to} from {' '.join(source)}")
    spark = fx_spark.session(settings, "fxtrue-stats", with_kafka=False)
    ticks = job.read_ticks(spark, settings, date_from, date_to, source).cache()
    try:
        prior = []
        runner = None
        if publish:
            from fxtrue.dq.checks import check_ticks
            from fxtrue.dq.runner import Runner

            runner = Runner(settings)
            progress("data quality: ticks suites over every row of the source")
            prior = check_ticks(runner, ticks, settings, date_from, date_to,
                                target=f"ticks {date_from}..{date_to} {' '.join(source)}", progress=progress)
        result = job.compute(spark, settings, date_from, date_to, source, ticks=ticks, progress=progress)
    finally:
        ticks.unpersist()
    if result.tick_count == 0:
        raise FxtrueError(f"no ticks in {date_from} .. {date_to} from {' '.join(source)}",
                          hint="backfill history first (`fxtrue backfill FILES`), or give --source FILES")
    kind = result.source_kind if source_kind == "auto" else source_kind
    thresholds = build_thresholds(result.stats, settings.detectors, source_kind=kind, source_from=date_from,
                                  source_to=date_to, tick_count=result.tick_count,
                                  code_version=job.code_version(), expected=job.expected(settings))
    progress(f"version {thresholds.version}: {len(thresholds.rows)} rows from {result.tick_count:,} ticks "
             f"({kind}); {result.tick_count / max(result.seconds, 1e-9):,.0f} ticks/s")
    if out:
        progress(f"wrote {thresholds.to_file(out)}")
    if publish:
        from fxtrue import cassandra
        from fxtrue.publish import publish as publish_version

        session = cassandra.connect(settings, component="batch", keyspace=settings.cassandra.keyspace)
        try:
            publish_version(session, settings, thresholds, runner, prior_results=prior, progress=progress)
        finally:
            session.cluster.shutdown()
            progress(f"Data Docs: {runner.build_docs()}")
    progress(f"done in {time.monotonic() - began:.1f} s")
    return thresholds
