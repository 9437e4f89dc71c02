"""fx_backfill (manual): TrueFX-format history files (paths, globs or folders on the Airflow host, inside the
input roots FXTRUE_AIRFLOW_BACKFILL_INPUT_ROOTS) -> tick lake; optionally -> statistics over the loaded days ->
quality gate -> published thresholds.

Trigger with params, e.g. {"files": ["/data/truefx/*.zip"], "stats": true}. A path outside the roots (elsewhere,
with `..`, or a symlink out) is refused before anything is read; S3 is not read (sync the files into a root
first). The task log shows counts and masked samples of bad rows, never file text. load_lake passes its
outcome (loaded dates, counts) as XCom; a run that loaded no day fails.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, dag, task


@task(execution_timeout=timedelta(hours=4))
def load_lake(params=None, run_id=None) -> dict:
    from fxtrue.orchestration.tasks import backfill_files

    return backfill_files(params["files"], params["s3_prefix"], run_id or "manual")


@task.short_circuit
def stats_requested(loaded: dict, params=None) -> bool:
    return bool(params["stats"]) and bool(loaded["dates"])


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
                       description="history files (zip or csv), globs or folders on the Airflow host, "
                                   "inside FXTRUE_AIRFLOW_BACKFILL_INPUT_ROOTS"),
        "s3_prefix": Param("", type="string", description="not supported, refused: sync the files into an input "
                                                          "root first and list them in files"),
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
