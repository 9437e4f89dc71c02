"""stack.kafka_sasl: a throw-away broker (own state dir, free ports, jars shared through a lib symlink) started
with SASL/SCRAM and ACLs. `fxtrue init` creates the component users and their ACLs; each component's client
logs in with its own credential and may do only what ACL_TABLE gives it; a client without credentials or with
a wrong password is refused; a storage formatted with the other setting is refused with what to do."""

from __future__ import annotations

import json
import os
import re
import stat
import uuid

import pytest
from ports import free_port

from fxtrue import kafka
from fxtrue.errors import StackError


@pytest.fixture(scope="module")
def sasl_kafka(base_settings, tmp_path_factory):
    from fxtrue import stack
    from fxtrue.commands.init import init

    state = tmp_path_factory.mktemp("sasl-stack")
    stack.fetch(base_settings, progress=lambda m: None)
    (state / "lib").symlink_to(base_settings.lib_dir)
    s = base_settings.replace(state_dir=state, kafka={"bootstrap": ""}, stack={
        "kafka_port": free_port(), "kafka_controller_port": free_port(), "kafka_heap_mb": 384,
        "kafka_sasl": True})
    svc = stack.KafkaService(s)
    svc.start(progress=lambda m: print(f"[sasl-stack] {m}"))
    try:
        init(s, cassandra=False, progress=lambda m: print(f"[sasl-init] {m}"))
        yield s
    finally:
        svc.stop(progress=lambda m: print(f"[sasl-stack] {m}"))


def _consume(s, topic, component, group=None, **extra):
    return [m.value for m in kafka.records(s, topic, component=component, group=group, idle_s=8, **extra)]


def test_components_log_in_with_their_own_users_and_acls(sasl_kafka):
    from confluent_kafka import KafkaException

    s = sasl_kafka
    users = s.state_dir / "kafka" / "users"
    for component in kafka.ACL_TABLE:
        assert stat.S_IMODE(os.stat(users / f"{component}.toml").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(kafka.admin_file(s)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(s.state_dir / "kafka" / "server.properties").st_mode) == 0o600

    # producer -> fx.ticks, streaming reads it back (in a group of its own prefix)
    tag = uuid.uuid4().hex[:8]
    p = kafka.producer(s, component="producer")
    kafka.send(p, s.kafka.topic_ticks, json.dumps({"tag": tag}).encode(), key=b"EUR/USD")
    got = _consume(s, s.kafka.topic_ticks, "streaming", group=f"fxtrue-streaming-{tag}")
    assert any(tag.encode() in v for v in got)

    # ACLs: the producer may not read alerts, the dashboard may not write ticks, the streaming job may not
    # produce ticks, the producer may not join a consumer group
    c = kafka.consumer(s, component="producer")
    try:
        assert kafka.partitions(c, s.kafka.topic_ticks)  # it may see the topic it writes...
        with pytest.raises(KafkaException, match="TOPIC_AUTHORIZATION_FAILED"):  # ...not the alerts
            kafka.partitions(c, s.kafka.topic_alerts)
    finally:
        c.close()
    with pytest.raises(KafkaException, match="TOPIC_AUTHORIZATION_FAILED"):
        kafka.end_offsets(s, s.kafka.topic_alerts, component="producer")
    with pytest.raises(KafkaException, match="GROUP_AUTHORIZATION_FAILED"):
        _consume(s, s.kafka.topic_ticks, "producer", group=f"fxtrue-producer-{tag}")
    with pytest.raises(KafkaException, match="GROUP_AUTHORIZATION_FAILED"):  # groups only under its own prefixes
        _consume(s, s.kafka.topic_ticks, "streaming", group=f"other-{tag}")
    for component in ("dashboard", "streaming"):
        prod = kafka.producer(s, component=component, delivery_timeout_ms=15000)
        with pytest.raises(KafkaException, match="TOPIC_AUTHORIZATION_FAILED"):
            kafka.send(prod, s.kafka.topic_ticks, b"{}", timeout_s=30)
    # the dashboard reads alerts (empty is fine: it is allowed to)
    assert _consume(s, s.kafka.topic_alerts, "dashboard", group=f"fxtrue-dashboard-{tag}") == []


def test_no_or_wrong_credentials_are_refused(sasl_kafka):
    """librdkafka does not fail at construction: a refused client's metadata request fails once the broker
    hung up on it (PLAINTEXT against the SASL listener) or refused its login, which it reports as an error."""
    import logging

    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    s = sasl_kafka
    base = {"bootstrap.servers": s.kafka_bootstrap, "socket.timeout.ms": 5000,
            "logger": logging.getLogger("fxtrue.kafka.client")}

    def refused(conf: dict) -> str:
        """The errors librdkafka reported for a client of `conf` whose metadata request must fail."""
        errors: list = []
        client = AdminClient({**base, **conf, "error_cb": errors.append})
        with pytest.raises(KafkaException, match="_TRANSPORT"):
            client.list_topics(timeout=8)
        client.poll(1)  # serves the error callbacks
        return "\n".join(str(e) for e in errors)

    refused({})  # PLAINTEXT against SASL listeners: the broker closes the connection
    user, password = kafka.credentials(s, "producer")
    login = {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": user,
             "sasl.password": password}
    # the same login with its password: the broker answers at once
    assert s.kafka.topic_ticks in AdminClient({**base, **login}).list_topics(timeout=8).topics
    bad_login = r"(?i)_AUTHENTICATION.*SASL authentication error.*invalid credentials"
    assert re.search(bad_login, refused({**login, "sasl.password": password + "x"})), "wrong password"
    assert re.search(bad_login, refused({**login, "sasl.username": "fxtrue_nobody"})), "unknown user"


def test_streaming_job_source_and_dlq_sink_use_the_streaming_credential(sasl_kafka, spark):
    """The streaming job's own Kafka source (jobs.streaming.sources) and DLQ sink (Spark's Kafka source/sink)."""
    from pyspark.sql import functions as F

    from jobs.streaming.sinks import write_dlq
    from jobs.streaming.sources import kafka_ticks

    s = sasl_kafka
    tag = uuid.uuid4().hex[:8]
    kafka.send(kafka.producer(s, component="producer"), s.kafka.topic_ticks, json.dumps({"spark": tag}).encode())
    q = (kafka_ticks(spark, s).select("raw").writeStream.format("memory").queryName(f"sasl_{tag}")
         .trigger(availableNow=True).start())
    q.awaitTermination(120)
    assert any(tag in r.raw for r in spark.table(f"sasl_{tag}").collect())

    rejected = spark.range(1).select(F.lit("test").alias("reason"), F.lit(f"sasl-{tag}").alias("source"),
                                     F.lit("{}").alias("raw"), F.current_timestamp().alias("time"))
    write_dlq(rejected, s)
    assert any(f"sasl-{tag}".encode() in v for v in _consume(s, s.kafka.topic_dlq, "admin"))


def test_storage_formatted_with_the_other_setting_is_refused(sasl_kafka):
    """`stack up` with the option switched off over this SASL broker stops at once, saying what to do."""
    from fxtrue import stack

    off = sasl_kafka.replace(stack={"kafka_sasl": False})
    with pytest.raises(StackError, match="formatted with it") as err:
        stack.KafkaService(off).start(progress=print)
    assert "FXTRUE_STACK_KAFKA_SASL=true" in err.value.hint
    assert stack.KafkaService(sasl_kafka).status().healthy  # left alone
