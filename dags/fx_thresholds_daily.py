"""fx_thresholds_daily: learn and publish detector thresholds from the tick lake.

check_lake (Great Expectations ticks suites on the previous day's lake partitions) -> compute_stats (the Spark
batch job jobs/batch/stats.py, submitted by path, over the last `lookback_days` days) -> gate (GX thresholds
suite on the candidate vs the current version) -> publish (new immutable version, pointer moved) ->
record_outcome (always runs: writes the outcome to dq_runs_by_suite; fails the run when a step failed).
A failed gate stores the candidate as rejected and leaves the current version in place.
Params: day (YYYY-MM-DD, default: the day before the run), lookback_days.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, dag, task

STEPS = ["check_lake", "compute_stats", "gate", "publish"]


@task(execution_timeout=timedelta(minutes=30))
def check_lake(logical_date=None, params=None) -> dict:
    from fxtrue.orchestration.tasks import check_lake as run, run_day

    return run(run_day(logical_date, params))


@task(execution_timeout=timedelta(hours=2))
def compute_stats(lake: dict, run_id=None, params=None) -> dict:
    from datetime import date

    from fxtrue.orchestration.tasks import compute_stats as run

    return run(date.fromisoformat(lake["day"]), int(params["lookback_days"]), run_id)


@task(retries=0, execution_timeout=timedelta(minutes=20))
def gate(stats: dict) -> dict:
    from fxtrue.orchestration.tasks import gate_stats

    return gate_stats(stats)


@task(execution_timeout=timedelta(minutes=20))
def publish(gated: dict) -> dict:
    from fxtrue.orchestration.tasks import publish_stats

    return publish_stats(gated)


@task(trigger_rule="all_done", retries=0)
def record_outcome(dag_run=None, ti=None) -> dict:
    from fxtrue.orchestration.tasks import record_thresholds_outcome

    published = ti.xcom_pull(task_ids="publish")
    return record_thresholds_outcome(dag_run.dag_id, dag_run.run_id, STEPS, published)


@dag(
    dag_id="fx_thresholds_daily",
    schedule="30 0 * * *",  # after midnight UTC: the previous day's partitions are complete
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=3),
    default_args={"owner": "fxtrue-batch", "retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["fxtrue", "batch-layer", "thresholds", "data-quality"],
    params={
        "day": Param("", type="string", description="UTC day to check (YYYY-MM-DD); empty: the day before the run"),
        "lookback_days": Param(7, type="integer", minimum=1, description="days of lake history to learn from"),
    },
    doc_md=__doc__,
)
def fx_thresholds_daily():
    publish(gate(compute_stats(check_lake()))) >> record_outcome()


fx_thresholds_daily()
