"""The supervisor's decisions: start, restart, wait (grace, backoff), give up, and the connection mapping."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from fxtrue.heartbeats import Heartbeat
from fxtrue.orchestration.connections import apply_connections, settings_env
from fxtrue.orchestration.supervisor import (GIVE_UP, NONE, RESTART, START, WAIT, Decision, PastAction, Policy,
                                             ProcessState, decide)
from fxtrue.settings import load_settings

NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=timezone.utc)
POLICY = Policy(stale_after_s=90, start_grace_s=180, restart_budget=3, budget_window_s=3600, backoff_s=30,
                backoff_max_s=100)


def beat(age_s: float, pid: int = 42) -> Heartbeat:
    return Heartbeat(job="streaming", updated_at=NOW - timedelta(seconds=age_s), pid=pid, host="h")


def ago(s: float) -> datetime:
    return NOW - timedelta(seconds=s)


def run(hb=None, proc=ProcessState(), history=(), policy=POLICY) -> Decision:
    return decide("streaming", hb, proc, list(history), policy, NOW)


def test_nothing_known_starts():
    d = run()
    assert (d.action, d.attempt) == (START, 1)


def test_fresh_heartbeat_and_live_process_is_left_alone():
    assert run(beat(10), ProcessState(42, True, ago(600))).action == NONE


def test_fresh_heartbeat_from_elsewhere_is_left_alone():
    assert run(beat(10)).action == NONE


def test_dead_process_is_restarted_even_with_a_fresh_heartbeat():
    d = run(beat(5), ProcessState(42, False, ago(600)), [PastAction(ago(600), START)])
    assert d.action == RESTART and "gone" in d.reason and d.attempt == 2


def test_stale_heartbeat_without_local_process_restarts():
    d = run(beat(91))
    assert d.action == RESTART and "91 s old" in d.reason


def test_heartbeat_just_under_the_limit_is_fine():
    assert run(beat(89), ProcessState(42, True, ago(600))).action == NONE


def test_just_launched_process_gets_its_start_grace():
    d = run(None, ProcessState(42, True, ago(60)), [PastAction(ago(60), START)])
    assert d.action == WAIT and "first heartbeat" in d.reason


def test_old_heartbeat_from_before_launch_does_not_end_the_grace():
    d = run(beat(300), ProcessState(42, True, ago(60)), [PastAction(ago(60), RESTART)])
    assert d.action == WAIT


def test_hung_process_after_grace_is_restarted():
    d = run(beat(120), ProcessState(42, True, ago(1000)), [PastAction(ago(1000), START)])
    assert d.action == RESTART and "hung" in d.reason


def test_no_heartbeat_after_grace_is_restarted():
    d = run(None, ProcessState(42, True, ago(200)), [PastAction(ago(200), START)])
    assert d.action == RESTART


def test_backoff_doubles_with_each_launch_in_the_window():
    assert POLICY.backoff_after(0) == 0 and POLICY.backoff_after(1) == 30 and POLICY.backoff_after(2) == 60
    assert POLICY.backoff_after(5) == 100  # capped
    dead = ProcessState(42, False, ago(40))
    two = [PastAction(ago(500), START), PastAction(ago(40), RESTART)]
    d = run(None, dead, two)
    assert d.action == WAIT and "backoff" in d.reason
    assert run(None, ProcessState(42, False, ago(61)), [PastAction(ago(500), START),
                                                         PastAction(ago(61), RESTART)]).action == RESTART


def test_budget_exhausted_gives_up_once_then_stays_quiet():
    hist = [PastAction(ago(3000), START), PastAction(ago(2000), RESTART), PastAction(ago(1000), RESTART)]
    d = run(None, ProcessState(42, False, ago(1000)), hist)
    assert d.action == GIVE_UP and "budget of 3" in d.reason
    d2 = run(None, ProcessState(42, False, ago(1000)), hist + [PastAction(ago(900), GIVE_UP)])
    assert d2.action == NONE and "gave up" in d2.reason


def test_budget_frees_when_old_launches_leave_the_window():
    hist = [PastAction(ago(4000), START), PastAction(ago(2000), RESTART), PastAction(ago(1000), RESTART),
            PastAction(ago(900), GIVE_UP)]
    d = run(None, ProcessState(42, False, ago(1000)), hist)
    assert d.action == RESTART and d.attempt == 3


def test_waits_and_give_ups_do_not_count_against_the_budget():
    hist = [PastAction(ago(x), WAIT) for x in range(100, 1000, 60)] + [PastAction(ago(900), START)]
    assert run(None, ProcessState(42, False, ago(900)), hist).action == RESTART


def test_policy_comes_from_settings():
    s = load_settings({"FXTRUE_AIRFLOW_SUPERVISOR_STALE_AFTER_S": "12", "FXTRUE_AIRFLOW_SUPERVISOR_RESTART_BUDGET": "2"})
    p = Policy.from_settings(s)
    assert (p.stale_after_s, p.restart_budget) == (12.0, 2)


def conn(host=None, port=None, login=None, password=None, schema=None, extra=None):
    return SimpleNamespace(host=host, port=port, login=login, password=password, schema=schema,
                           extra_dejson=extra or {})


def test_connections_override_settings_and_absent_ones_do_not():
    base = load_settings({})
    s = apply_connections(base, {
        "fxtrue_kafka": conn(host="b1,b2:9094", port=9092, extra={"security_protocol": "SSL"}),
        "fxtrue_cassandra": conn(host="10.0.0.1,10.0.0.2", port=9142, login="u", password="p", schema="ks",
                                 extra={"ssl": "true", "local_dc": "dc1"}),
        "fxtrue_truefx": conn(host="http://127.0.0.1:8099/rates/connect.html", login="me", password="pw"),
    })
    assert s.kafka_bootstrap == "b1:9092,b2:9094" and s.kafka.security_protocol == "SSL"
    assert s.cassandra.hosts == ("10.0.0.1", "10.0.0.2") and s.cassandra_port == 9142
    assert s.cassandra_credentials() == ("u", "p") and s.cassandra.keyspace == "ks" and s.cassandra.ssl
    assert s.truefx.url.startswith("http://127.0.0.1:8099") and s.truefx.username == "me"
    assert s.spark == base.spark  # no fxtrue_spark connection: unchanged
    env = settings_env(s, base)
    assert env["FXTRUE_KAFKA_BOOTSTRAP"] == "b1:9092,b2:9094"
    assert env["FXTRUE_CASSANDRA_HOSTS"] == "10.0.0.1,10.0.0.2" and env["FXTRUE_CASSANDRA_SSL"] == "true"
    assert "FXTRUE_SPARK_MASTER" not in env
    # the child parses exactly the same settings back
    assert load_settings(env).kafka == s.kafka and load_settings(env).cassandra == s.cassandra


@pytest.mark.parametrize("host,port,expected", [("yarn", None, "yarn"), ("local[2]", None, "local[2]"),
                                                ("spark://m", 7077, "spark://m:7077")])
def test_spark_connection_sets_master(host, port, expected):
    assert apply_connections(load_settings({}), {"fxtrue_spark": conn(host=host, port=port)}).spark.master == expected


def test_a_heartbeat_row_without_updated_at_is_skipped_not_fatal():
    # A partial upsert (any writer with MODIFY on the table) leaves a row whose updated_at is null; reading
    # it used to raise AttributeError and fail every supervisor run.
    from datetime import datetime
    from types import SimpleNamespace

    from fxtrue.heartbeats import heartbeat_of_row

    partial = SimpleNamespace(job="producer", updated_at=None, started_at=None, host=None, pid=None,
                              status="ok", metrics=None, info=None)
    assert heartbeat_of_row(partial) is None
    whole = SimpleNamespace(**{**vars(partial), "updated_at": datetime(2026, 12, 1, 1, 0)})
    hb = heartbeat_of_row(whole)
    assert hb.job == "producer" and hb.updated_at.tzinfo is not None and hb.metrics == {}
