"""fx_supervisor via dag.test() against the real stack: it starts the producer and the streaming job, and
restarts each after a kill -9, recording every action in supervisor_actions_by_day."""

from __future__ import annotations

import os
import signal
from datetime import datetime, timezone

import pytest

import dag_helpers as h  # noqa: E402  (sets the throw-away AIRFLOW_HOME before airflow is imported)

pytestmark = [pytest.mark.integration, pytest.mark.fault]


@pytest.fixture
def sup_settings(settings, tmp_path, monkeypatch):
    """The session's keyspace/topics, but pid files and logs in a private state dir; a small sim producer."""
    user, password = settings.cassandra_credentials()
    s = settings.replace(
        state_dir=tmp_path, cassandra={"username": user, "password": password},
        spark={"jars_dir": str(settings.spark_jars_dir)},
        airflow={"supervisor_producer_command": "produce sim --rate-scale 0.05",
                 "supervisor_backoff_s": 5.0})
    h.task_env(monkeypatch, s)
    yield s
    from fxtrue.orchestration import processes

    for job in ("producer", "streaming"):
        processes.stop(s, job)


def actions(cql, settings, job):
    from fxtrue.orchestration.actions import recent

    return [a for a in recent(cql, settings, datetime.now(timezone.utc), 200) if a["job"] == job]


def fresh_beat(cql, settings, job, pid):
    from fxtrue.heartbeats import read_all

    hb = read_all(cql, settings).get(job)
    return hb if hb is not None and hb.pid == pid and hb.age_s() < 30 else None


def test_supervisor_starts_then_restarts_killed_jobs(sup_settings, cql):
    from fxtrue.orchestration import processes

    s = sup_settings
    h.airflow_db()
    dag = h.load_dag("fx_supervisor")

    dr = dag.test()
    assert h.ti_states(dr) == {"supervise_streaming": "success", "supervise_producer": "success"}
    first = {job: processes.read_launch(s, job) for job in ("producer", "streaming")}
    for job, launch in first.items():
        assert launch is not None and processes.pid_alive(launch.pid), f"{job} not launched"
        assert [a["action"] for a in actions(cql, s, job)] == ["start"]
        # the job really runs: it writes heartbeats from the launched pid
        h.wait_for(lambda: fresh_beat(cql, s, job, launch.pid), 240, f"{job} heartbeat")

    for launch in first.values():  # crash both, as kill -9 would
        os.killpg(launch.pid, signal.SIGKILL)
    h.wait_for(lambda: not any(processes.pid_alive(x.pid) for x in first.values()), 30, "the kill")

    dr = dag.test()
    assert h.ti_states(dr) == {"supervise_streaming": "success", "supervise_producer": "success"}
    for job, old in first.items():
        latest = actions(cql, s, job)[0]
        assert latest["action"] == "restart" and f"pid {old.pid} is gone" in latest["reason"]
        assert latest["attempt"] == 2
        new = processes.read_launch(s, job)
        assert new.pid != old.pid and processes.pid_alive(new.pid)
        h.wait_for(lambda: fresh_beat(cql, s, job, new.pid), 240, f"{job} heartbeat after restart")

    # both healthy now: a third pass does nothing and records nothing
    dr = dag.test()
    for job in first:
        assert len(actions(cql, s, job)) == 2


def test_supervisor_never_signals_a_look_alike_or_a_recycled_pid(settings, cql, tmp_path, monkeypatch):
    """Each job's pid file names a running stranger whose command line is the job's own (a recycled pid: right
    pid, wrong start time). The pass must treat the job as gone and launch it anew, leaving the strangers be."""
    import json
    import subprocess
    import sys

    from ports import free_port

    from fxtrue.orchestration import processes
    from fxtrue.procs import boot_id, start_ticks

    user, password = settings.cassandra_credentials()
    s = settings.replace(
        state_dir=tmp_path, cassandra={"username": user, "password": password},
        airflow={"supervisor_producer_command": f"truefx-mock --port {free_port()}",  # light, no Spark
                 "supervisor_streaming_command": f"truefx-mock --port {free_port()}",
                 "supervisor_backoff_s": 0.0, "supervisor_restart_budget": 100})
    h.task_env(monkeypatch, s)
    cql.execute(f"DELETE FROM {s.cassandra.keyspace}.heartbeats_by_job WHERE job IN ('producer', 'streaming')")
    specs = processes.job_specs(s)
    strangers = {}
    try:
        processes.run_dir(s).mkdir(parents=True)
        for job, spec in specs.items():
            p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", *spec.command()[1:]],
                                 start_new_session=True)
            h.wait_for(lambda: start_ticks(p.pid), 10, "the stranger", every_s=0.05)
            strangers[job] = p
            processes.pid_file(s, job).write_text(json.dumps({
                "pid": p.pid, "started_at": "2026-01-01T00:00:00+00:00", "command": spec.command(), "log": "",
                "start_ticks": start_ticks(p.pid) - 1, "boot_id": boot_id()}))
        h.airflow_db()
        dr = h.load_dag("fx_supervisor").test()
        assert h.ti_states(dr) == {"supervise_streaming": "success", "supervise_producer": "success"}
        for job, stranger in strangers.items():
            assert stranger.poll() is None, f"the supervisor signalled a stranger in place of {job}"
            latest = actions(cql, s, job)[0]
            assert latest["action"] == "restart" and f"pid {stranger.pid} is gone" in latest["reason"]
            new = processes.read_launch(s, job)
            assert new.pid != stranger.pid and new.running()
    finally:
        for job in specs:
            processes.stop(s, job, timeout_s=10)
        for p in strangers.values():
            p.kill()
            p.wait(10)
