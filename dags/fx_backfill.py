"""fx_backfill (manual): TrueFX-format history files (paths, globs or folders on the Airflow host, or an S3
prefix) -> tick lake; optionally -> statistics over the loaded days -> quality gate -> published thresholds.

Trigger with params, e.g. {"files": ["/data/truefx/*.zip"], "stats": true}.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, dag, task


@task(execution_timeout=timedelta(hours=4))
def load_lake(params=None) -> dict:
    from fxtrue.orchestration.tasks import backfill_files

    return backfill_files(params["files"], params["s3_prefix"])


@task.short_circuit
def stats_requested(loaded: dict, params=None) -> bool:
    return bool(params["stats"]) and bool(loaded.get("from"))


@task(execution_timeout=timedelta(hours=2))
def compute_stats(loaded: dict, run_id=None) -> dict:
    from datetime import date

    from fxtrue.orchestration.tasks import compute_stats as run

    first, last = date.fromisoformat(loaded["from"]), date.fromisoformat(loaded["to"])
    return run(last, (last - first).days + 1, run_id)


@task(retries=0)
def gate(stats: dict) -> dict:
    from fxtrue.orchestration.tasks import gate_stats

    return gate_stats(stats)


@task
def publish(gated: dict) -> dict:
    from fxtrue.orchestration.tasks import publish_stats

    return publish_stats(gated)


@dag(
    dag_id="fx_backfill",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "fxtrue-batch", "retries": 1, "retry_delay": timedelta(minutes=2)},
    tags=["fxtrue", "batch-layer", "backfill"],
    params={
        "files": Param([], type="array", items={"type": "string"},
                       description="history files (zip or csv), globs or folders on the Airflow host"),
        "s3_prefix": Param("", type="string", description="or: an s3a://bucket/prefix holding history files"),
        "stats": Param(False, type="boolean", description="then compute statistics and publish thresholds"),
    },
    doc_md=__doc__,
)
def fx_backfill():
    loaded = load_lake()
    stats = compute_stats(loaded)
    stats_requested(loaded) >> stats
    publish(gate(stats))


fx_backfill()
