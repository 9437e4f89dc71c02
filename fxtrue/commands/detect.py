"""`fxtrue detect`: offline detection over TrueFX history files with a thresholds file or version -> alerts CSV."""

from __future__ import annotations

DESCRIPTION = """Run the five detectors in batch over TrueFX history files (CSV or zip, files or folders), with
exactly the streaming job's statistics and judging (fxtrue.detectors), and write the alerts as CSV.

Thresholds come from a file written by `fxtrue stats --out FILE` (no Kafka or Cassandra needed), or from a
version published in Cassandra (--thresholds-version V, or 'current'). Without either, warm-up rules apply
(only crossed quotes alert). stale_feed is judged on event-time gaps (offline there is no processing time).

CSV columns: detector, subject, pair, window_start, window_end (ISO-8601 UTC), observed, baseline_mean,
baseline_std, threshold, score, severity, thresholds_version, details, tick_count, alert_id.

Example: fxtrue detect --ticks data/sim/ --thresholds thresholds.json --out alerts.csv"""

CSV_COLUMNS = ("detector", "subject", "pair", "window_start", "window_end", "observed", "baseline_mean",
               "baseline_std", "threshold", "score", "severity", "thresholds_version", "details", "tick_count",
               "alert_id")


def register(sub) -> None:
    import argparse

    p = sub.add_parser("detect", help="offline detection over tick files with a thresholds file or version",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ticks", nargs="+", required=True, metavar="PATH",
                   help="TrueFX history files or folders (.csv or .zip)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--thresholds", metavar="FILE", help="thresholds file (fxtrue stats --out)")
    src.add_argument("--thresholds-version", metavar="V",
                     help="a published version in Cassandra, or 'current'")
    p.add_argument("--out", required=True, metavar="CSV", help="where to write the alerts")
    p.set_defaults(func=run)


def detect(spark, settings, tick_paths, thresholds):
    """History files + a Thresholds (or None: warm-up) -> (alerts DataFrame, rejected lines DataFrame)."""
    from fxtrue.detectors import judge, thresholds_frame, window_statistics
    from fxtrue.history import read_history

    ticks, rejects = read_history(spark, tick_paths)
    stats = window_statistics(ticks, settings.detectors)
    alerts = judge(stats, thresholds_frame(spark, thresholds), thresholds.version if thresholds else None,
                   settings.detectors)
    return alerts, rejects


def write_csv(alerts, path) -> int:
    import csv
    from pathlib import Path

    from fxtrue.detectors.judge import collect_alerts
    from jobs.streaming.sinks import iso

    rows = sorted(collect_alerts(alerts), key=lambda a: (a["window_start"], a["detector"], a["subject"]))
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for a in rows:
            w.writerow({**a, "window_start": iso(a["window_start"]), "window_end": iso(a["window_end"])})
    return len(rows)


def run(args, settings) -> int:
    import logging

    from fxtrue.errors import FxtrueError
    from fxtrue.history import expand_paths
    from fxtrue.thresholds import Thresholds

    log = logging.getLogger("fxtrue.detect")
    if not expand_paths(args.ticks):
        raise FxtrueError(f"no tick files found in {' '.join(args.ticks)}",
                          hint="give TrueFX history files (.csv/.zip) or folders holding them")
    if args.thresholds:
        thresholds = Thresholds.from_file(args.thresholds)
    elif args.thresholds_version:
        from fxtrue import cassandra
        from fxtrue import thresholds as thr

        session = cassandra.connect(settings, component="batch", keyspace=settings.cassandra.keyspace, wait_s=10)
        try:
            version = args.thresholds_version
            if version == "current":
                version = thr.current_version(session, settings)
                if version is None:
                    raise FxtrueError("no thresholds version is published yet",
                                      hint="publish one with `fxtrue stats --publish`, or pass --thresholds FILE")
            thresholds = thr.load_version(session, settings, version)
        finally:
            session.cluster.shutdown()
    else:
        thresholds = None
        log.warning("no thresholds given: warm-up rules (only crossed quotes alert)")

    from fxtrue.spark import session as spark_session

    spark = spark_session(settings, "fxtrue-detect", with_kafka=False)
    alerts, rejects = detect(spark, settings, args.ticks, thresholds)
    n = write_csv(alerts, args.out)
    bad = rejects.count()
    print(f"{n} alert(s) written to {args.out} (thresholds {thresholds.version if thresholds else 'warm-up'})"
          + (f"; {bad} unparseable line(s) skipped" if bad else ""))
    return 0
