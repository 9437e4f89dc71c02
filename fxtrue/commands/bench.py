"""`fxtrue bench`: benchmarks with reference measurements, written as a JSON and a markdown report."""

from __future__ import annotations

import argparse
from pathlib import Path

from fxtrue.bench.harness import BENCHMARKS
from fxtrue.settings import Settings

HELP = """Measure FXTrue beside named references, each measured in the same run on this machine:

  ingest     replay into Kafka (ticks/s) vs Kafka's own ProducerPerformance tool, same broker
  archive    raw ticks into Cassandra (rows/s), our sink vs a naive one-INSERT-per-tick consumer loop
  stream     highest sustained ticks/s through the full streaming job vs a Spark query that only counts
  latency    alert latency p50/p95/p99 at 1,000 and 10,000 ticks/s, per path (fast / at close)
  lateness   how late ticks arrive behind the newest event time, per source (what the watermark must cover)
  backfill   history files into the tick lake (ticks/s) vs Spark's CSV reader writing the same files as Parquet
  dq         the ticks quality suites over the lake (rows/s) vs one Spark aggregation counting the same conditions
  batch      stats over 7 and 30 simulated days (ticks/s) vs DuckDB doing the same aggregation on the same Parquet
  dashboard  dashboard callback p95 with 30 days of data

Every figure comes with the machine, the repeat count and the spread. A benchmark whose prerequisite is
missing is reported as "not run: <reason>". Benchmarks use their own keyspace and topics and clean up.
The local stack must be up (`fxtrue stack up`). --quick keeps the whole run under 10 minutes on 2 cores
(shorter measurement periods and fewer repeats; the report says so)."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmarks with reference measurements (JSON + markdown report)",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="short run (< 10 min on 2 cores): fewer repeats, "
                                                         "shorter measurement periods")
    p.add_argument("--out", metavar="DIR", type=Path, default=None,
                   help="where to write the reports (default: <state>/bench)")
    p.add_argument("--only", metavar="NAME,...", default="",
                   help="comma-separated subset: " + ",".join(name for name, _ in BENCHMARKS))
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    import logging

    from fxtrue.bench import harness, report

    # librdkafka reports every broker reconnect (e.g. around a restart): noise in a benchmark log.
    logging.getLogger("fxtrue.kafka.client").setLevel(logging.ERROR)
    only = [n.strip() for n in args.only.split(",") if n.strip()] or None
    out_dir = args.out or settings.state_dir / "bench"
    result = harness.run(settings, quick=args.quick, only=only, workdir=settings.state_dir / "bench" / "work",
                         progress=lambda m: print(m, flush=True))
    json_path, md_path = report.write(result, out_dir)
    print()
    print(report.table(result))
    print()
    print(f"machine: {report.machine_line(result['machine'])}")
    print(f"report: {json_path}\n        {md_path}")
    return 1 if any(r["status"] == "failed" for r in result["results"]) else 0
