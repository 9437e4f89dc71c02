"""The canonical tick, its JSON form, validation reasons, and the CQL migrations' shape."""

import json
import math

import pytest

from fxtrue import cassandra
from fxtrue.settings import load_settings
from fxtrue.ticks import Rejection, Tick, from_json, price_decimals, validate

T0 = 1_764_000_000_000


def tick(**kw):
    base = dict(pair="EUR/USD", ts=T0, bid=1.16001, ask=1.16004, source="sim", received_at=T0 + 5)
    base.update(kw)
    return Tick(**base)


def test_json_round_trip_keeps_every_field():
    t = tick(high=1.17, low=1.15, open=1.16)
    back = from_json(t.to_json())
    assert back == t
    assert json.loads(t.to_json())["v"] == 1


def test_crossed_quote_is_valid():
    assert validate(tick(bid=1.2, ask=1.1)) is None


@pytest.mark.parametrize("kw,reason", [
    ({"pair": "EUR/XXX"}, "unknown pair"),
    ({"bid": -1.0}, "bid is not positive"),
    ({"ask": math.nan}, "ask is not finite"),
    ({"ask": math.inf}, "ask is not finite"),
    ({"ts": 0}, "ts is not a positive"),
    ({"ts": 5_000_000_000_000}, "beyond year 2100"),
    ({"source": "x"}, "unknown source"),
    ({"ts": 86_400_000}, "ts is before year 2000"),
    ({"high": math.nan, "low": 1.1}, "high is not finite"),
    ({"high": 1.2, "low": -1.0}, "low is not positive"),
    ({"open": 2e6}, "open is above 1000000"),
    ({"high": 1.1, "low": 1.2}, "high is below low"),
    ({"received_at": -1}, "received_at is not an epoch-ms integer"),
])
def test_invalid_ticks_have_reasons(kw, reason):
    assert reason in validate(tick(**kw))


def test_far_from_now_only_rejected_when_asked():
    t = tick(ts=T0 - 3_600_000)
    assert validate(t) is None
    assert validate(t, now_ms=T0, max_skew_ms=300_000) == "ts is 3600 s behind its arrival (limit 300 s)"
    assert validate(tick(ts=T0 + 301_000), now_ms=T0, max_skew_ms=300_000) == \
        "ts is 301 s ahead of its arrival (limit 300 s)"


@pytest.mark.parametrize("raw,reason", [
    (b'{"v":1.0,"pair":"EUR/USD"}', "schema version is not an integer"),
    (b'{"v":true,"pair":"EUR/USD"}', "schema version is not an integer"),
    (b'{"v":1,"pair":"EUR/USD","ts":1764000000000,"bid":1.1,"ask":1.2,"received_at":1}', "missing field source"),
    (b'{"v":1,"pair":"EUR/USD","pair":"EUR/USD"}', "duplicate field 'pair'"),
    (b'{"v":1,"x":1}', "unexpected field 'x'"),
    (b'{"v":1,"pair":"EUR/USD","ts":1764000000000,"bid":' + b"9" * 400 + b',"ask":1.2,"source":"sim",'
     b'"received_at":1}', "bid is not finite"),
    (b'{"v":1,"pair":"EUR/USD","ts":1764000000000,"bid":' + b"9" * 5000 + b'}', "not JSON"),
])
def test_from_json_rule_table_reasons(raw, reason):
    """Python's int() of a 400-digit value used to pass and math.isfinite() then raised OverflowError."""
    item = from_json(raw)
    assert isinstance(item, Rejection) and item.reason == reason


@pytest.mark.parametrize("raw", [b"", b"nope", b"[]", b'{"v": 2}', b'{"v":1,"pair":"EUR/USD"}', b"\xff\xfe"])
def test_from_json_never_raises(raw):
    assert isinstance(from_json(raw), Rejection)


def test_dlq_record_carries_reason_and_raw():
    rec = json.loads(Rejection("bid is not positive", "raw-line", "replay").to_dlq_json(now_ms=1))
    assert rec == {"v": 1, "reason": "bid is not positive", "source": "replay", "raw": "raw-line", "time": 1}


def test_precision():
    assert price_decimals("USD/JPY") == 3 and price_decimals("EUR/USD") == 5


def test_migrations_are_numbered_and_keyed_by_query():
    migs = cassandra.migrations()
    assert [m[0] for m in migs] == sorted({m[0] for m in migs}) and migs[0][0] == 1
    statements = [s for _, _, text in migs for s in cassandra.split_statements(text)]
    tables = [s.split("{ks}.")[1].split()[0] for s in statements if s.startswith("CREATE TABLE")]
    assert {"ticks_by_pair_day", "alerts_by_pair_day", "alerts_by_day", "thresholds_by_version",
            "heartbeats_by_job"} <= set(tables)
    assert all("_by_" in t for t in tables)
    assert all("IF NOT EXISTS" in s for s in statements)


def test_keyspace_replication_follows_settings():
    local = cassandra.keyspace_cql(load_settings({}))
    assert "'class': 'SimpleStrategy', 'replication_factor': '1'" in local
    cluster = cassandra.keyspace_cql(load_settings({"FXTRUE_CASSANDRA_REPLICATION": "NetworkTopologyStrategy:eu=3",
                                                    "FXTRUE_CASSANDRA_KEYSPACE": "fx_prod"}))
    assert cluster.startswith("CREATE KEYSPACE IF NOT EXISTS fx_prod") and "'eu': '3'" in cluster


def test_the_json_schema_states_the_rule_table():
    from pathlib import Path

    from fxtrue import ticks

    schema = json.loads((Path(ticks.__file__).parent / "schema" / "tick-v1.json").read_text())
    props = schema["properties"]
    assert schema["required"] == list(ticks.REQUIRED_FIELDS) and set(props) == set(ticks.FIELDS)
    assert schema["additionalProperties"] is False
    assert props["ts"]["minimum"] == ticks.MIN_TS_MS and props["ts"]["exclusiveMaximum"] == ticks.MAX_TS_MS
    assert all(props[f]["maximum"] == ticks.MAX_PRICE for f in ticks.PRICE_FIELDS)
    assert props["source"]["enum"] == list(ticks.SOURCES)


def test_dlq_records_pass_the_redaction_step():
    from fxtrue.errors import register_secret
    from fxtrue.ticks import Rejection

    register_secret("canary-dlq-7f3a9c")
    raw = "EUR/USD,bad row quoting https://x/connect.html?u=me&p=canary-dlq-7f3a9c&q=eurates"
    record = json.loads(Rejection("bad price", raw, "truefx").to_dlq_json(now_ms=1))
    assert "canary-dlq-7f3a9c" not in record["raw"] and record["raw"].startswith("EUR/USD,bad row")
