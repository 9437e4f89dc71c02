"""The fault suite: the no-loss promise under kill -9 of the streaming job (five times during a replay), a
Cassandra restart and then a Kafka broker restart (in one replay), and a producer killed and brought back by
the supervisor.

Every scenario runs on the throw-away stack of conftest.fault_stack, launches the real jobs (`fxtrue stream`,
`fxtrue produce replay`) as the supervisor does (fxtrue.orchestration.supervise, which also restarts what
died), and ends with exact counts: ticks in the lake = ticks sent with no duplicate rows, the same ticks in
Cassandra, and the alerts of a clean run (compared by their deterministic key). A run is over when the job's
checkpoints say so (fxtrue.checkpoints: every query has committed the topic's end offsets and run with the
input's final watermark), never when nothing has changed for a while. Slow (minutes per scenario): `make
fault`; `make test` runs it after the main suite.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from fxtrue.heartbeats import PRODUCER, STREAMING

pytestmark = pytest.mark.fault

REPLAY_SECONDS = 150  # how long a paced replay of the test day lasts
DAY_S = 86_400


def scenario(stack, history, tag: str, speed: float):
    """Settings of one scenario (own keyspace, topics, lake, checkpoints, run dir) and the children's env."""
    from fxtrue.commands.init import init
    from fxtrue.orchestration import processes
    from fxtrue.orchestration.connections import settings_env

    tag = f"{tag}{uuid.uuid4().hex[:4]}"
    state = stack.state_dir
    s = stack.replace(
        cassandra={"keyspace": f"fault_{tag}"},
        kafka={"topic_ticks": f"{tag}.fx.ticks", "topic_dlq": f"{tag}.fx.ticks.dlq", "topic_alerts": f"{tag}.fx.alerts"},
        spark={"lake_path": str(state / tag / "lake"), "checkpoint_dir": str(state / tag / "checkpoints"),
               "trigger_seconds": 2.0, "lake_trigger_seconds": 2.0, "driver_memory": "1g"},
        airflow={"supervisor_producer_command": f"produce replay {history} --speed {speed:g}",
                 "supervisor_streaming_command": "stream", "supervisor_stale_after_s": 120.0,
                 "supervisor_start_grace_s": 240.0, "supervisor_restart_budget": 30,
                 "supervisor_backoff_s": 1.0, "supervisor_backoff_max_s": 4.0},
    )
    init(s, progress=lambda m: None)
    env = processes.child_env(s, settings_env(s))
    return s, env


def supervise(s, env, jobs=(STREAMING, PRODUCER)):
    from fxtrue.orchestration.supervise import supervise as one_pass

    return one_pass(s, jobs, env=env, progress=lambda m: print(f"[supervisor] {m}"))


def pid_of(s, job: str) -> int | None:
    from fxtrue.orchestration import processes

    launch = processes.read_launch(s, job)
    return launch.pid if launch and processes.pid_alive(launch.pid) else None


def kill9(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)  # the job and its Spark JVM (launched in their own session)
    except ProcessLookupError:
        pass


def stop_jobs(s) -> None:
    from fxtrue.orchestration import processes

    for job in (PRODUCER, STREAMING):
        processes.stop(s, job, timeout_s=60)
        processes.pid_file(s, job).unlink(missing_ok=True)


def lake_rows(spark, s) -> tuple[int, int]:
    """(rows, distinct (pair, ts)) in the live lake, read through the file sink's commit log."""
    from fxtrue import lake

    path = lake.live_path(s)
    if not (Path(path) / "_spark_metadata").is_dir():
        return 0, 0
    if not any(Path(path).glob("symbol=*")):
        return 0, 0  # the sink's log exists before its first file
    df = spark.read.schema(lake.lake_schema()).parquet(path)
    return df.count(), df.select("pair", "ts").distinct().count()


def cassandra_state(s) -> tuple[int, set]:
    from fxtrue import cassandra

    session = cassandra.connect(s, component=cassandra.ADMIN, keyspace=s.cassandra.keyspace, wait_s=60)
    try:
        ticks = session.execute("SELECT count(*) FROM ticks_by_pair_day", timeout=120).one()[0]
        alerts = {(r.window_start, r.detector, r.subject)
                  for r in session.execute("SELECT window_start, detector, subject FROM alerts_by_day", timeout=60)
                  if r.detector != "stale_feed"}  # processing-time stale_feed depends on wall-clock gaps
    finally:
        session.cluster.shutdown()
    return ticks, alerts


def wait_dead(pid: int, timeout_s: float = 60) -> None:
    from fxtrue.orchestration import processes

    deadline = time.monotonic() + timeout_s
    while processes.pid_alive(pid):
        assert time.monotonic() < deadline, f"pid {pid} still alive {timeout_s:.0f} s after kill -9"
        time.sleep(0.2)


def wait_until_settled(s, env, last_event_ms: int, timeout_s: float, jobs=(STREAMING,)) -> None:
    """Keep the supervisor running (streaming job only: a finished replay is not restarted) until the producer
    is done, then until every query of the job has committed the topic's end offsets and the stateful ones
    have run with the input's final watermark (fxtrue.checkpoints): only then is every tick written and every
    window the input can close judged. Raises with what is behind, and by how much, after `timeout_s`."""
    from fxtrue import checkpoints, kafka
    from jobs.streaming.job import STORING_QUERIES

    deadline = time.monotonic() + timeout_s
    while pid_of(s, PRODUCER):
        assert time.monotonic() < deadline, f"the producer did not finish in {timeout_s:.0f} s"
        supervise(s, env, jobs)
        time.sleep(3)
    final_watermark = last_event_ms - s.spark.watermark_seconds * 1000
    checkpoints.wait_caught_up(
        f"{s.checkpoint_dir}/streaming", lambda: kafka.end_offsets(s, s.kafka.topic_ticks), final_watermark,
        max(deadline - time.monotonic(), 0), queries=STORING_QUERIES, every_s=3,
        on_poll=lambda: supervise(s, env, jobs))


def day_input(history) -> tuple[int, int]:
    """(ticks the producer sends, newest event time ms) of the test day."""
    from fxtrue import history as hist
    from fxtrue.ticks import Tick

    ticks = [r.item for r in hist.merge([history]) if isinstance(r.item, Tick)]
    return len(ticks), max(t.ts for t in ticks)


def kafka_count(s) -> int:
    from fxtrue import kafka

    return sum(kafka.end_offsets(s, s.kafka.topic_ticks)[s.kafka.topic_ticks].values())


@pytest.fixture(scope="module")
def clean_run(fault_stack, history_dir, spark):
    """The reference: the same day replayed once as fast as possible, no faults."""
    history, _ = history_dir
    s, env = scenario(fault_stack, history, "clean", speed=0)
    sent, last_ms = day_input(history)
    try:
        supervise(s, env)
        wait_until_settled(s, env, last_ms, timeout_s=900)
        rows, distinct = lake_rows(spark, s)
        ticks, alerts = cassandra_state(s)
    finally:
        stop_jobs(s)
    assert rows == distinct == ticks == sent
    assert alerts, "the crossed-quote episodes must produce alerts in the clean run"
    return {"sent": sent, "last_ms": last_ms, "alerts": alerts}


def check_exact(spark, s, clean) -> None:
    rows, distinct = lake_rows(spark, s)
    ticks, alerts = cassandra_state(s)
    assert rows == clean["sent"], f"lake holds {rows} rows, {clean['sent']} ticks were sent"
    assert distinct == rows, f"{rows - distinct} duplicate rows in the lake"
    assert ticks == clean["sent"], f"Cassandra holds {ticks} ticks, {clean['sent']} were sent"
    assert alerts == clean["alerts"], (f"alerts differ from the clean run: missing {clean['alerts'] - alerts}, "
                                       f"extra {alerts - clean['alerts']}")


def paced_speed() -> float:
    return DAY_S / REPLAY_SECONDS


def test_streaming_job_killed_five_times_during_a_replay(fault_stack, history_dir, clean_run, spark):
    history, _ = history_dir
    # A longer replay than the other scenarios: a restart of the job takes a minute on 2 busy cores, and all
    # five kills must land while ticks are still coming in.
    s, env = scenario(fault_stack, history, "kill", speed=DAY_S / (3 * REPLAY_SECONDS))
    kills = 0
    try:
        supervise(s, env)  # starts the producer (paced replay) and the streaming job
        while kills < 5:
            rows_before, _ = lake_rows(spark, s)
            deadline = time.monotonic() + 180
            # kill once the job has made progress since it (re)started, so every kill lands mid-stream
            while time.monotonic() < deadline and lake_rows(spark, s)[0] <= rows_before:
                supervise(s, env, (STREAMING,))
                time.sleep(3)
            pid = pid_of(s, STREAMING)
            assert pid, "the streaming job should be running"
            kill9(pid)
            kills += 1
            print(f"[fault] kill -9 #{kills} of the streaming job (pid {pid}) with {lake_rows(spark, s)[0]} rows in the lake")
            wait_dead(pid)
            supervise(s, env, (STREAMING,))  # the supervisor notices and restarts it
        wait_until_settled(s, env, clean_run["last_ms"], timeout_s=900)
        assert kafka_count(s) == clean_run["sent"], "the producer was not disturbed: Kafka holds each tick once"
        check_exact(spark, s, clean_run)
    finally:
        stop_jobs(s)


def test_cassandra_then_kafka_restarted_mid_stream(fault_stack, history_dir, clean_run, spark):
    """Both stores restarted in one replay, one after the other while ticks flow: Cassandra once a fifth of
    the day is in the lake, the Kafka broker once three fifths are (after Cassandra is back). The replay is
    paced to last twice as long as the others so that both restarts land mid-stream."""
    from fxtrue import stack
    from fxtrue.stack.services import CassandraService, KafkaService

    history, _ = history_dir
    s, env = scenario(fault_stack, history, "stores", speed=DAY_S / (2 * REPLAY_SECONDS))
    try:
        supervise(s, env)
        for service_cls, share in ((CassandraService, 1 / 5), (KafkaService, 3 / 5)):
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and lake_rows(spark, s)[0] < clean_run["sent"] * share:
                supervise(s, env, (STREAMING,))
                time.sleep(3)
            svc = service_cls(s)
            rows = lake_rows(spark, s)[0]
            assert rows < clean_run["sent"], f"{svc.name} would be restarted after the replay ended"
            print(f"[fault] restarting {svc.name} with {rows} rows in the lake")
            svc.stop(progress=print)
            time.sleep(10)
            svc.start(progress=print)
            assert all(st.healthy for st in stack.status(s))
        wait_until_settled(s, env, clean_run["last_ms"], timeout_s=900)
        check_exact(spark, s, clean_run)
    finally:
        stop_jobs(s)


def test_producer_killed_and_brought_back_by_the_supervisor(fault_stack, history_dir, clean_run, spark):
    """A restarted replay starts its files again: Kafka then holds some ticks twice (at-least-once at the
    producer). Cassandra upserts and the lake reader's (pair, ts) de-duplication absorb them: what readers see
    is every tick exactly once, and the alerts are those of the clean run."""
    from fxtrue import lake

    history, _ = history_dir
    s, env = scenario(fault_stack, history, "prod", speed=paced_speed())
    try:
        supervise(s, env)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and lake_rows(spark, s)[0] < clean_run["sent"] // 4:
            supervise(s, env, (STREAMING,))
            time.sleep(3)
        pid = pid_of(s, PRODUCER)
        assert pid, "the producer should be running"
        kill9(pid)
        print(f"[fault] kill -9 of the producer (pid {pid})")
        wait_dead(pid)
        decisions = supervise(s, env, (PRODUCER,))
        for _ in range(20):
            if any(d.action in ("start", "restart") for d in decisions):
                break
            time.sleep(2)
            decisions = supervise(s, env, (PRODUCER,))
        assert any(d.action in ("start", "restart") for d in decisions), decisions
        assert pid_of(s, PRODUCER) not in (None, pid), "the supervisor brought the producer back"
        while pid_of(s, PRODUCER):  # let the restarted replay finish (it is not restarted again after that)
            supervise(s, env, (STREAMING,))
            time.sleep(3)
        wait_until_settled(s, env, clean_run["last_ms"], timeout_s=900)
        ticks, alerts = cassandra_state(s)
        assert ticks == clean_run["sent"]
        assert lake.read_lake(spark, s).count() == clean_run["sent"], "the lake as read holds every tick once"
        assert alerts == clean_run["alerts"]
    finally:
        stop_jobs(s)
