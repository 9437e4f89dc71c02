"""fx_supervisor: every minute, keep the producer and the streaming job alive.

Reads each job's heartbeat (Cassandra heartbeats_by_job); starts a job that is absent, restarts one whose
process died or whose heartbeat is stale, within a restart budget and with backoff; every action is recorded
in supervisor_actions_by_day. Jobs are launched detached (own process group, pid file and log under the
state dir): they never occupy a worker slot. Policy: FXTRUE_AIRFLOW_SUPERVISOR_* settings.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task

JOBS = ("streaming", "producer")


@task(execution_timeout=timedelta(minutes=3))
def supervise(job: str) -> dict:
    from fxtrue.orchestration.tasks import supervise_job

    return supervise_job(job)


@dag(
    dag_id="fx_supervisor",
    schedule=timedelta(minutes=1),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    is_paused_upon_creation=False,  # supervising is the point of the deployment
    dagrun_timeout=timedelta(minutes=5),
    default_args={"owner": "fxtrue-ops", "retries": 1, "retry_delay": timedelta(seconds=15)},
    tags=["fxtrue", "supervisor", "speed-layer"],
    doc_md=__doc__,
)
def fx_supervisor():
    for job in JOBS:
        supervise.override(task_id=f"supervise_{job}")(job)


fx_supervisor()
