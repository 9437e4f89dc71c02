"""stack.kafka_sasl, the pure parts: the rendered broker config, the ACLs per component (one table), how each
client logs in, and the refusal of a storage formatted with the other setting."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from fxtrue import credentials, kafka
from fxtrue.errors import ConfigError, StackError
from fxtrue.settings import load_settings
from fxtrue.stack.services import check_kafka_security, kafka_properties

CRED = {"username": "fxtrue_admin", "password": "adm-pw", "controller_password": "ctl-pw"}


def _settings(tmp_path: Path, **env: str):
    return load_settings({"FXTRUE_STATE_DIR": str(tmp_path), **env})


def _props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_broker_config_is_plaintext_without_the_option(tmp_path):
    s = _settings(tmp_path)
    assert s.stack.kafka_sasl is False
    p = _props(kafka_properties(s, tmp_path / "data", None))
    assert p["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert p["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9092"
    assert p["inter.broker.listener.name"] == "PLAINTEXT"
    assert p["listener.security.protocol.map"] == "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
    assert not [k for k in p if "sasl" in k or "authorizer" in k or k == "super.users"]


def test_broker_config_with_the_option_authenticates_and_authorizes_every_listener(tmp_path):
    s = _settings(tmp_path, FXTRUE_STACK_KAFKA_SASL="true")
    text = kafka_properties(s, tmp_path / "data", CRED)
    p = _props(text)
    assert p["listeners"] == "BROKER://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert p["listener.security.protocol.map"] == "CONTROLLER:SASL_PLAINTEXT,BROKER:SASL_PLAINTEXT"
    assert p["inter.broker.listener.name"] == "BROKER"
    assert p["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
    assert p["listener.name.broker.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert p["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert p["allow.everyone.if.no.acl.found"] == "false"
    assert p["super.users"] == "User:fxtrue_admin;User:fxtrue_controller"  # never User:ANONYMOUS
    assert 'username="fxtrue_admin" password="adm-pw"' in p["listener.name.broker.scram-sha-512.sasl.jaas.config"]
    assert 'user_fxtrue_controller="ctl-pw"' in p["listener.name.controller.plain.sasl.jaas.config"]
    keys = [line.split("=", 1)[0] for line in text.splitlines() if line and not line.startswith("#")]
    assert len(keys) == len(set(keys))  # the SASL part adds keys, never overrides one


def test_acls_come_from_one_table_with_the_configured_topics(tmp_path):
    s = _settings(tmp_path, FXTRUE_KAFKA_TOPIC_TICKS="t.ticks", FXTRUE_KAFKA_TOPIC_DLQ="t.dlq",
                  FXTRUE_KAFKA_TOPIC_ALERTS="t.alerts")
    acl = {c: set(kafka.acl_entries(s, c)) for c in kafka.ACL_TABLE}
    assert acl["producer"] == {("TOPIC", "t.ticks", "LITERAL", "WRITE"), ("TOPIC", "t.ticks", "LITERAL", "DESCRIBE"),
                               ("TOPIC", "t.dlq", "LITERAL", "WRITE"), ("TOPIC", "t.dlq", "LITERAL", "DESCRIBE")}
    assert ("TOPIC", "t.ticks", "LITERAL", "READ") in acl["streaming"]
    assert ("TOPIC", "t.alerts", "LITERAL", "WRITE") in acl["streaming"]
    assert ("GROUP", "spark-kafka-source-", "PREFIXED", "READ") in acl["streaming"]
    assert not [a for a in acl["streaming"] if a[1] == "t.ticks" and a[3] == "WRITE"]
    assert {a[3] for a in acl["dashboard"]} == {"READ", "DESCRIBE"}  # read-only
    assert {a[1] for a in acl["dashboard"] if a[0] == "TOPIC"} == {"t.alerts"}
    assert not [a for c in acl.values() for a in c if a[0] not in ("TOPIC", "GROUP")]  # nothing cluster-wide


def test_clients_log_in_as_their_component_only_with_the_option(tmp_path):
    off = _settings(tmp_path)
    for component in kafka.COMPONENTS:  # option off: unchanged PLAINTEXT clients, whatever the component
        conf = kafka.client_config(off, component=component)
        assert conf["security.protocol"] == "PLAINTEXT" and "sasl.mechanism" not in conf
        assert kafka.spark_options(off, component=component) == {
            "kafka.bootstrap.servers": "127.0.0.1:9092", "kafka.security.protocol": "PLAINTEXT"}

    on = _settings(tmp_path, FXTRUE_STACK_KAFKA_SASL="1")
    with pytest.raises(ConfigError, match="no Kafka credential for producer") as err:
        kafka.client_config(on, component="producer")
    assert "fxtrue init" in err.value.hint
    with pytest.raises(ConfigError, match="no Kafka credential for admin"):
        kafka.client_config(on, component="admin")
    credentials.write_private(kafka.user_file(on, "producer"), 'username = "fxtrue_producer"\npassword = "p-pw"\n')
    kafka.ensure_admin_credential(on)
    conf = kafka.client_config(on, component="producer")
    assert (conf["security.protocol"], conf["sasl.mechanism"], conf["sasl.username"],
            conf["sasl.password"]) == ("SASL_PLAINTEXT", "SCRAM-SHA-512", "fxtrue_producer", "p-pw")
    opts = kafka.spark_options(on, component="producer")
    assert opts["kafka.security.protocol"] == "SASL_PLAINTEXT" and opts["kafka.sasl.mechanism"] == "SCRAM-SHA-512"
    assert 'ScramLoginModule required username="fxtrue_producer" password="p-pw";' in opts["kafka.sasl.jaas.config"]
    assert kafka.client_config(on, component="admin")["sasl.username"] == "fxtrue_admin"
    with pytest.raises(ValueError, match="unknown Kafka component"):
        kafka.client_config(on, component="nobody")

    # a configured login (a cluster) wins over the local stack's users
    cluster = _settings(tmp_path, FXTRUE_STACK_KAFKA_SASL="1", FXTRUE_KAFKA_SECURITY_PROTOCOL="SASL_SSL",
                        FXTRUE_KAFKA_SASL_MECHANISM="SCRAM-SHA-512", FXTRUE_KAFKA_SASL_USERNAME="ops",
                        FXTRUE_KAFKA_SASL_PASSWORD="o")
    conf = kafka.client_config(cluster, component="producer")
    assert (conf["security.protocol"], conf["sasl.username"]) == ("SASL_SSL", "ops")


def test_admin_credential_is_private_and_stable(tmp_path):
    s = _settings(tmp_path, FXTRUE_STACK_KAFKA_SASL="1")
    first = kafka.ensure_admin_credential(s)
    assert first["username"] == "fxtrue_admin" and first["password"] != first["controller_password"]
    assert stat.S_IMODE(os.stat(kafka.admin_file(s)).st_mode) == 0o600
    assert kafka.ensure_admin_credential(s) == first


def test_storage_formatted_with_the_other_setting_is_refused(tmp_path):
    data = tmp_path / "kafka" / "data"
    data.mkdir(parents=True)
    on, off = _settings(tmp_path, FXTRUE_STACK_KAFKA_SASL="1"), _settings(tmp_path)
    check_kafka_security(on, data)  # not formatted yet: anything goes
    (data / "meta.properties").write_text("formatted\n")
    with pytest.raises(StackError, match="formatted without it") as err:
        check_kafka_security(on, data)
    assert "FXTRUE_STACK_KAFKA_SASL off" in err.value.hint and str(data) in err.value.hint
    check_kafka_security(off, data)  # PLAINTEXT storage, option off: fine
    kafka.ensure_admin_credential(on)
    check_kafka_security(on, data)  # SASL storage, option on: fine
    with pytest.raises(StackError, match="formatted with it") as err:
        check_kafka_security(off, data)
    assert "FXTRUE_STACK_KAFKA_SASL=true" in err.value.hint
    (data / "meta.properties").unlink()  # a SASL format that never happened leaves no trap behind
    check_kafka_security(off, data)
    assert not kafka.admin_file(off).exists()
