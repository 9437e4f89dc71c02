"""Settings are validated at load: finite numbers, positive where they must be, CQL names, Kafka topics and
time formats; each error names the key, its variable and what is allowed."""

import pytest

from fxtrue.errors import ConfigError
from fxtrue.settings import load_settings, validation_errors


@pytest.mark.parametrize("var,value", [
    ("FXTRUE_SPARK_TRIGGER_SECONDS", "nan"),
    ("FXTRUE_DETECTORS_K_SPREAD", "inf"),
    ("FXTRUE_KAFKA_MAX_EVENT_SKEW_S", "-inf"),
    ("FXTRUE_DQ_MAX_CHANGE_FACTOR", "NaN"),
    # a number without a rule of its own: finite and >= 0 all the same
    ("FXTRUE_DETECTORS_FLOOR_SPREAD_BPS", "nan"),
])
def test_non_finite_numbers_are_refused(var, value):
    with pytest.raises(ConfigError) as err:
        load_settings({var: value})
    key = var.removeprefix("FXTRUE_").lower().replace("_", ".", 1)
    assert key in str(err.value) and var in str(err.value) and "finite" in str(err.value)


@pytest.mark.parametrize("var,value,allowed", [
    ("FXTRUE_SPARK_TRIGGER_SECONDS", "0", "> 0"),
    ("FXTRUE_TRUEFX_POLL_INTERVAL_S", "-1", "> 0"),
    ("FXTRUE_DETECTORS_WINDOW_SECONDS", "0", ">= 1"),
    ("FXTRUE_CASSANDRA_TICK_BATCH_ROWS", "0", ">= 1"),
    ("FXTRUE_KAFKA_PARTITIONS", "0", ">= 1"),
    ("FXTRUE_DASHBOARD_PORT", "70000", "<= 65535"),
    ("FXTRUE_STACK_KAFKA_PORT", "0", ">= 1"),
    ("FXTRUE_DQ_MAX_DUPLICATE_SHARE", "1.5", "<= 1"),
    ("FXTRUE_CASSANDRA_TICKS_TTL_S", "-5", ">= 0"),
    ("FXTRUE_DETECTORS_FLOOR_SPREAD_BPS", "-3", ">= 0"),
])
def test_numbers_out_of_range_are_refused(var, value, allowed):
    with pytest.raises(ConfigError) as err:
        load_settings({var: value})
    assert var in str(err.value) and allowed in str(err.value)


@pytest.mark.parametrize("keyspace", ["fx; DROP KEYSPACE fxtrue", "FxTrue", "1fx", "_fx", "fx-true", "fx true",
                                      "f" * 49, ""])
def test_keyspace_must_be_a_plain_cql_name(keyspace):
    with pytest.raises(ConfigError, match="cassandra.keyspace .*CQL name"):
        load_settings({"FXTRUE_CASSANDRA_KEYSPACE": keyspace})


@pytest.mark.parametrize("keyspace", ["fxtrue", "fxtrue_t1a2b3c4", "f" * 48])
def test_plain_cql_names_are_accepted(keyspace):
    assert load_settings({"FXTRUE_CASSANDRA_KEYSPACE": keyspace}).cassandra.keyspace == keyspace


@pytest.mark.parametrize("topic", ["fx ticks", "fx.ticks;x", "", "t" * 250, "fx/ticks"])
def test_topics_must_be_kafka_names(topic):
    with pytest.raises(ConfigError, match="kafka.topic_dlq .*Kafka topic name"):
        load_settings({"FXTRUE_KAFKA_TOPIC_DLQ": topic})


@pytest.mark.parametrize("value", ["24:00", "7:30", "00:60", "0030", "noon", "00:30:00", ""])
def test_reload_time_must_be_hh_mm(value):
    with pytest.raises(ConfigError, match="detectors.reload_utc .*HH:MM"):
        load_settings({"FXTRUE_DETECTORS_RELOAD_UTC": value})


@pytest.mark.parametrize("var,value", [("FXTRUE_SPARK_DRIVER_MEMORY", "lots"),
                                       ("FXTRUE_SPARK_DRIVER_MEMORY", "2g -Dx=y"),
                                       ("FXTRUE_KAFKA_SECURITY_PROTOCOL", "SASL"),
                                       ("FXTRUE_KAFKA_SASL_MECHANISM", "GSSAPI"),
                                       ("FXTRUE_CASSANDRA_HOSTS", " , ")])
def test_formats_and_choices_are_checked(var, value):
    with pytest.raises(ConfigError, match=var):
        load_settings({var: value})


def test_every_problem_is_reported_at_once():
    problems = validation_errors(load_settings({}))  # the defaults are valid
    assert problems == []
    with pytest.raises(ConfigError) as err:
        load_settings({"FXTRUE_SPARK_TRIGGER_SECONDS": "nan", "FXTRUE_CASSANDRA_KEYSPACE": "a-b"})
    assert "spark.trigger_seconds" in str(err.value) and "cassandra.keyspace" in str(err.value)


def test_toml_values_are_validated_too(tmp_path):
    cfg = tmp_path / "fx.toml"
    cfg.write_text("[spark]\ntrigger_seconds = nan\n")
    with pytest.raises(ConfigError, match="spark.trigger_seconds"):
        load_settings({"FXTRUE_CONFIG": str(cfg)})


def test_replace_validates_like_load():
    # Airflow connections and tests derive settings with replace(): the same rules hold there.
    with pytest.raises(ConfigError, match="cassandra.keyspace"):
        load_settings({}).replace(cassandra={"keyspace": "x; DROP KEYSPACE fxtrue"})
    with pytest.raises(ConfigError, match="detectors.k_spread"):
        load_settings({}).replace(detectors={"k_spread": float("nan")})


def test_cql_names_are_checked_before_reaching_a_statement(tmp_path):
    from fxtrue import cassandra

    s = load_settings({"FXTRUE_STATE_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match="bad CQL name"):
        cassandra.drop_keyspace(s, "t; DROP KEYSPACE fxtrue")
