"""`fxtrue stream`: run the Spark Structured Streaming job (the speed layer) until SIGTERM/SIGINT."""

from __future__ import annotations

DESCRIPTION = """Run the speed layer: Spark Structured Streaming from the ticks topic to the Parquet tick lake
(<lake>/live), Cassandra (ticks with a TTL, trends, alerts) and the alerts topic, with the five detectors judged
against the current published thresholds version (reloaded daily and whenever a newer one is published, without
a restart; warm-up mode with only crossed-quote alerts while none exists). Invalid records go to the DLQ topic.

Spark runs in local mode by default (settings spark.master, FXTRUE_SPARK_MASTER for a cluster). Checkpoints live
under the state dir (FXTRUE_SPARK_CHECKPOINT_DIR); a restart resumes from them and rewrites nothing twice.
SIGTERM or Ctrl-C stops gracefully: running micro-batches finish first. Progress goes to the log and to the
"streaming" heartbeat. The same job can be submitted by path: python jobs/streaming/job.py"""


def register(sub) -> None:
    import argparse

    p = sub.add_parser("stream", help="run the Spark Structured Streaming job (speed layer)",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--master", help="Spark master (default: settings spark.master, local[2])")
    p.set_defaults(func=run)


def run(args, settings) -> int:
    if args.master:
        settings = settings.replace(spark={"master": args.master})
    from jobs.streaming.job import main

    return main([], settings=settings)
