"""fx_data_quality: daily Great Expectations suites (`fxtrue dq run`), each run recorded in Cassandra
dq_runs_by_suite: the previous day's lake ticks (rows + intraday completeness) and the current thresholds
version; then the Data Docs site is rebuilt (FXTRUE_DQ_DOCS_DIR) and a failed suite fails raise_alerts.
Params: day (YYYY-MM-DD, default: the day before the run)."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, dag, task

# The suites fxtrue.dq provides; trends and alerts suites join here when fxtrue.dq has them.
SUITES = ("ticks", "thresholds")


@task(execution_timeout=timedelta(minutes=30))
def validate(suite: str, logical_date=None, params=None) -> dict:
    from fxtrue.orchestration.tasks import run_day, run_dq_suite

    return run_dq_suite(suite, run_day(logical_date, params))


@task(trigger_rule="all_done", execution_timeout=timedelta(minutes=15))
def build_docs() -> str:
    from fxtrue.orchestration.tasks import build_dq_docs

    return build_dq_docs()


@task(retries=0, trigger_rule="all_done")
def raise_alerts(ti=None) -> dict:
    from fxtrue.orchestration.tasks import dq_alerts

    return dq_alerts([ti.xcom_pull(task_ids=f"validate_{s}") for s in SUITES])


@dag(
    dag_id="fx_data_quality",
    schedule="0 1 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "fxtrue-dq", "retries": 1, "retry_delay": timedelta(minutes=5)},
    tags=["fxtrue", "data-quality"],
    params={"day": Param("", type="string", description="UTC day to check (YYYY-MM-DD); empty: the day before")},
    doc_md=__doc__,
)
def fx_data_quality():
    results = [validate.override(task_id=f"validate_{s}")(s) for s in SUITES]
    results >> build_docs()
    results >> raise_alerts()


fx_data_quality()
