"""The local stack for real: Kafka round trip, authenticated Cassandra, Spark reading Kafka, and the
lifecycle of a second, throw-away stack (idempotent up, kill -9 recovery with data intact, clean down)."""

from __future__ import annotations

import json
import os
import socket
import uuid

import pytest
from isolation import isolated_settings
from ports import free_port

from fxtrue import cassandra, kafka, stack
from fxtrue.errors import ServiceUnavailable, StackError
from fxtrue.stack.services import CassandraService, KafkaService, pid_alive


def own_topics(settings):
    """Settings with fresh topics: other tests of the session read the session's topics and must not see ours."""
    own = isolated_settings(settings, "k")
    kafka.create_topics(own, progress=lambda m: None)
    return own


def test_kafka_produce_then_consume(settings):
    topic = own_topics(settings).kafka.topic_alerts
    producer = kafka.producer(settings, component="producer")
    sent = [{"n": i, "id": uuid.uuid4().hex} for i in range(50)]
    assert kafka.send_all(producer, topic, ((b"k", json.dumps(rec).encode()) for rec in sent)) == len(sent)
    got = [json.loads(m.value) for m in kafka.records(settings, topic, component="admin",
                                                       group=f"t-{uuid.uuid4().hex}", idle_s=10)]
    assert got == sent


def test_cassandra_write_and_read_as_the_generated_user(settings, cql):
    user, _ = settings.cassandra_credentials()
    assert user != "cassandra"
    cql.execute("INSERT INTO heartbeats_by_job (job, status, updated_at) VALUES (%s, %s, toTimestamp(now()))",
                ("it-test", "ok"))
    row = cql.execute("SELECT status FROM heartbeats_by_job WHERE job = %s", ("it-test",)).one()
    assert row.status == "ok"
    who = cql.execute("SELECT role, is_superuser, can_login FROM system_auth.roles WHERE role = 'cassandra'").one()
    assert who.can_login is False, "the well-known default superuser must be retired"


def test_wrong_password_is_a_clear_error(settings):
    bad = settings.replace(cassandra={"username": "fxtrue", "password": "wrong"})
    with pytest.raises(ServiceUnavailable) as err:
        cassandra.connect(bad, component=cassandra.ADMIN)
    assert "refused the admin credential" in str(err.value) and "fix:" in str(err.value)


def test_init_is_idempotent(settings):
    from fxtrue.commands.init import init

    messages = []
    init(settings, progress=messages.append)
    assert any("0 created, 3 existed" in m for m in messages)
    assert any("0 migration(s) applied" in m for m in messages)


def test_spark_structured_streaming_reads_the_kafka_topic(settings, spark):
    from fxtrue.ticks import Tick

    topic = own_topics(settings).kafka.topic_ticks
    producer = kafka.producer(settings, component="producer")
    ticks = [Tick("EUR/USD", 1_764_000_000_000 + i, 1.1 + i / 1e5, 1.1002 + i / 1e5, "sim", 1) for i in range(20)]
    assert kafka.send_all(producer, topic, ((t.key(), t.to_json()) for t in ticks)) == len(ticks)
    from fxtrue.frames import parse_kafka_ticks, valid_ticks

    stream = (spark.readStream.format("kafka").option("kafka.bootstrap.servers", settings.kafka_bootstrap)
              .option("subscribe", topic).option("startingOffsets", "earliest").load())
    name = f"q{uuid.uuid4().hex[:8]}"
    query = (stream.transform(parse_kafka_ticks).transform(valid_ticks)
             .writeStream.format("memory").queryName(name).outputMode("append").start())
    try:
        query.processAllAvailable()
    finally:
        query.stop()
    rows = spark.sql(f"SELECT pair, bid FROM {name} ORDER BY ts").collect()
    assert [(r.pair, round(r.bid, 5)) for r in rows] == [(t.pair, round(t.bid, 5)) for t in ticks]


# -- a second, throw-away stack on other ports --------------------------------------------------------

@pytest.fixture
def spare_stack(base_settings, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    stack.fetch(base_settings, progress=lambda m: None)
    (state / "lib").symlink_to(base_settings.lib_dir)
    s = base_settings.replace(state_dir=state, stack={
        "kafka_port": free_port(), "kafka_controller_port": free_port(), "cassandra_port": free_port(),
        "cassandra_storage_port": free_port(), "cassandra_jmx_port": free_port(), "cassandra_heap_mb": 512,
        "kafka_heap_mb": 256})
    s = s.replace(cassandra={"keyspace": "fxtrue"})
    yield s
    stack.down(s, progress=print)


def test_stack_lifecycle_survives_kill_9(spare_stack):
    s = spare_stack
    log = []
    statuses = stack.up(s, progress=log.append)
    assert all(st.healthy for st in statuses), statuses
    pids = {st.name: st.pid for st in statuses}
    assert (s.state_dir / "cassandra" / "credentials.toml").stat().st_mode & 0o077 == 0

    # up twice is harmless: same processes, still healthy
    again = stack.up(s, progress=log.append)
    assert {st.name: st.pid for st in again} == pids

    from fxtrue.commands.init import init
    init(s, progress=log.append)
    sess = cassandra.connect(s, component=cassandra.ADMIN, keyspace="fxtrue")
    sess.execute("INSERT INTO heartbeats_by_job (job, status) VALUES ('durable', 'before-crash')")
    sess.cluster.shutdown()
    producer = kafka.producer(s, component="producer")
    kafka.send(producer, s.kafka.topic_ticks, b"durable", key=b"k")

    # crash both services
    for svc in (KafkaService(s), CassandraService(s)):
        svc.kill()
        assert not pid_alive(pids[svc.name])
    assert all(not st.running for st in stack.status(s))

    recovered = stack.up(s, progress=log.append)
    assert all(st.healthy for st in recovered)
    assert any("stale pid file" in m for m in log)
    sess = cassandra.connect(s, component=cassandra.ADMIN, keyspace="fxtrue", wait_s=30)
    assert sess.execute("SELECT status FROM heartbeats_by_job WHERE job = 'durable'").one().status == "before-crash"
    sess.cluster.shutdown()
    assert [m.value for m in kafka.records(s, s.kafka.topic_ticks, component="admin", idle_s=10)] == [b"durable"]

    new_pids = [st.pid for st in recovered]
    stack.down(s, progress=log.append)  # returns once every process it stopped is gone
    assert not any(pid_alive(p) for p in new_pids), "down must leave no process behind"
    assert all(not st.running for st in stack.status(s))


def test_port_taken_is_a_clear_error(base_settings, tmp_path):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        s = base_settings.replace(state_dir=tmp_path, stack={"kafka_port": port})
        (tmp_path / "lib").symlink_to(base_settings.lib_dir)
        with pytest.raises(StackError) as err:
            KafkaService(s).start(lambda m: None)
    assert f"port {port}" in str(err.value) and "already in use" in str(err.value)


def test_wrong_java_home_is_a_clear_error(base_settings, tmp_path):
    s = base_settings.replace(state_dir=tmp_path, stack={"java_home": str(tmp_path / "nojdk")})
    with pytest.raises(StackError, match="no bin/java"):
        stack.up(s, progress=lambda m: None)
    if os.path.exists("/usr/lib/jvm/temurin-25-jdk-amd64/bin/java"):
        s25 = base_settings.replace(state_dir=tmp_path, stack={"java_home": "/usr/lib/jvm/temurin-25-jdk-amd64"})
        with pytest.raises(StackError, match="needs Java 17"):
            stack.up(s25, progress=lambda m: None)


def test_missing_jar_is_a_clear_error(base_settings, tmp_path):
    import shutil

    lib = tmp_path / "lib" / "kafka"
    shutil.copytree(base_settings.lib_dir / "kafka", lib)
    for jar in lib.glob("kafka_2.13-*.jar"):
        jar.unlink()
    s = base_settings.replace(state_dir=tmp_path, stack={"kafka_port": free_port(),
                                                         "kafka_controller_port": free_port()})
    with pytest.raises(StackError) as err:
        KafkaService(s).start(lambda m: None)
    assert "missing jar(s)" in str(err.value) and "stack fetch --force" in str(err.value)
