"""Settings: defaults, precedence (TOML file < environment), explicit booleans, clear errors."""

from pathlib import Path

import pytest

from fxtrue.errors import ConfigError
from fxtrue.settings import TRUEFX_PAIRS, load_settings, parse_replication


def test_defaults_point_at_the_local_stack():
    s = load_settings({})
    assert s.kafka_bootstrap == "127.0.0.1:9092"
    assert s.cassandra.hosts == ("127.0.0.1",)
    assert s.cassandra_port == 9042
    assert s.cassandra.keyspace == "fxtrue"
    assert s.spark.master.startswith("local")
    assert s.truefx.pairs == TRUEFX_PAIRS and len(TRUEFX_PAIRS) == 15
    assert s.lake_path == str(s.state_dir / "lake")


def test_environment_overrides_every_section(tmp_path):
    s = load_settings({
        "FXTRUE_STATE_DIR": str(tmp_path),
        "FXTRUE_KAFKA_BOOTSTRAP": "b1:9094,b2:9094",
        "FXTRUE_KAFKA_PARTITIONS": "6",
        "FXTRUE_CASSANDRA_HOSTS": "10.0.0.1, 10.0.0.2",
        "FXTRUE_CASSANDRA_SSL": "true",
        "FXTRUE_SPARK_MASTER": "spark://m:7077",
        "FXTRUE_DETECTORS_K_SPREAD": "4.5",
        "FXTRUE_TRUEFX_PAIRS": "EUR/USD,USD/JPY",
    })
    assert s.state_dir == tmp_path.resolve()
    assert s.kafka_bootstrap == "b1:9094,b2:9094"
    assert s.kafka.partitions == 6
    assert s.cassandra.hosts == ("10.0.0.1", "10.0.0.2")
    assert s.cassandra.ssl is True
    assert s.spark.master == "spark://m:7077"
    assert s.detectors.k_spread == 4.5
    assert s.truefx.pairs == ("EUR/USD", "USD/JPY")
    assert s.lake_path == str(tmp_path.resolve() / "lake")


@pytest.mark.parametrize("raw,expected", [("False", False), ("0", False), ("no", False), ("", False),
                                          ("true", True), ("YES", True), ("1", True)])
def test_booleans_are_parsed_explicitly(raw, expected):
    assert load_settings({"FXTRUE_CASSANDRA_SSL": raw}).cassandra.ssl is expected


def test_toml_file_then_environment_wins(tmp_path):
    cfg = tmp_path / "fxtrue.toml"
    cfg.write_text('state_dir = "/tmp/fx"\n[kafka]\npartitions = 9\ntopic_ticks = "a.ticks"\n'
                   '[cassandra]\nhosts = ["c1", "c2"]\n')
    s = load_settings({"FXTRUE_CONFIG": str(cfg), "FXTRUE_KAFKA_PARTITIONS": "2"})
    assert s.state_dir == Path("/tmp/fx")
    assert s.kafka.topic_ticks == "a.ticks"
    assert s.kafka.partitions == 2
    assert s.cassandra.hosts == ("c1", "c2")


@pytest.mark.parametrize("env,needle", [
    ({"FXTRUE_KAFKA_PARTITIONS": "many"}, "kafka.partitions"),
    ({"FXTRUE_CASSANDRA_SSL": "maybe"}, "cassandra.ssl"),
    ({"FXTRUE_TRUEFX_PAIRS": "EUR/USD,XXX/YYY"}, "XXX/YYY"),
    ({"FXTRUE_CASSANDRA_REPLICATION": "Simple:x"}, "cassandra.replication"),
    ({"FXTRUE_CONFIG": "/nonexistent/fx.toml"}, "not a file"),
])
def test_bad_configuration_names_the_setting(env, needle):
    with pytest.raises(ConfigError) as err:
        load_settings(env)
    assert needle in str(err.value)


def test_unknown_keys_in_the_file_are_rejected(tmp_path):
    cfg = tmp_path / "fx.toml"
    cfg.write_text("[kafka]\nbootstrapp = 'x'\n")
    with pytest.raises(ConfigError, match="bootstrapp"):
        load_settings({"FXTRUE_CONFIG": str(cfg)})


def test_java_home_falls_back_to_JAVA_HOME():
    assert load_settings({"JAVA_HOME": "/opt/jdk17"}).stack.java_home == "/opt/jdk17"
    assert load_settings({"JAVA_HOME": "/opt/jdk17",
                          "FXTRUE_STACK_JAVA_HOME": "/opt/other"}).stack.java_home == "/opt/other"


def test_replication_specs():
    assert parse_replication("SimpleStrategy:1") == {"class": "SimpleStrategy", "replication_factor": "1"}
    assert parse_replication("NetworkTopologyStrategy:dc1=3,dc2=2") == {
        "class": "NetworkTopologyStrategy", "dc1": "3", "dc2": "2"}
    with pytest.raises(ConfigError):
        parse_replication("NetworkTopologyStrategy:")


def test_cassandra_credential_from_state_dir_or_settings(tmp_path):
    s = load_settings({"FXTRUE_STATE_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match="fxtrue stack up"):
        s.cassandra_credentials()
    s.cassandra_credentials_file.parent.mkdir(parents=True)
    s.cassandra_credentials_file.write_text('username = "u"\npassword = "p"\n')
    assert s.cassandra_credentials() == ("u", "p")
    s2 = load_settings({"FXTRUE_STATE_DIR": str(tmp_path), "FXTRUE_CASSANDRA_USERNAME": "x",
                        "FXTRUE_CASSANDRA_PASSWORD": "y"})
    assert s2.cassandra_credentials() == ("x", "y")
    with pytest.raises(ConfigError, match="PASSWORD"):
        load_settings({"FXTRUE_CASSANDRA_USERNAME": "x"}).cassandra_credentials()


def test_replace_returns_a_modified_copy():
    s = load_settings({})
    t = s.replace(kafka={"topic_ticks": "x"}, state_dir="/tmp/y")
    assert t.kafka.topic_ticks == "x" and s.kafka.topic_ticks == "fx.ticks"
    assert t.state_dir == Path("/tmp/y")


def test_kafka_clients_and_spark_share_security_settings():
    from fxtrue.kafka import client_config, spark_options

    plain = load_settings({})
    assert spark_options(plain, component="producer") == {"kafka.bootstrap.servers": "127.0.0.1:9092",
                                    "kafka.security.protocol": "PLAINTEXT"}
    msk = load_settings({"FXTRUE_KAFKA_BOOTSTRAP": "b-1:9096", "FXTRUE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                         "FXTRUE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "FXTRUE_KAFKA_SASL_USERNAME": "fx",
                         "FXTRUE_KAFKA_SASL_PASSWORD": 'se"cret'})
    opts = spark_options(msk, component="producer")
    assert opts["kafka.bootstrap.servers"] == "b-1:9096" and opts["kafka.sasl.mechanism"] == "SCRAM-SHA-512"
    assert 'ScramLoginModule required username="fx" password="se\\"cret";' in opts["kafka.sasl.jaas.config"]
    conf = client_config(msk, component="producer")
    assert (conf["security.protocol"], conf["sasl.username"], conf["sasl.password"]) == (
        "SASL_SSL", "fx", 'se"cret')
