"""One rule table, two parsers: fxtrue.ticks.from_json (producers, tools) and fxtrue.frames.parse_kafka_ticks
(the streaming job) give the same verdict and the same reason for every Kafka input of the bad-input corpus
(tests/corpus/manifest.json, generated entries included) and for the edge cases below; and the streaming
parser bounds event time against the Kafka timestamp.
"""

from __future__ import annotations

import importlib.util
import json
from datetime import datetime, timezone
from pathlib import Path


from fxtrue.frames import parse_kafka_ticks
from fxtrue.ticks import Rejection, Tick, from_json

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
_spec = importlib.util.spec_from_file_location("corpus_generate", CORPUS / "generate.py")
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)

KAFKA = [e for e in json.loads((CORPUS / "manifest.json").read_text())["entries"] if e["component"] == "kafka"]
T0 = 1_764_000_000_000
V = '{"v":1,"pair":"EUR/USD","ts":1764000000000,"bid":1.08601,"ask":1.08605,"source":"sim","received_at":1764000000001}'
EDGE = {  # shapes outside the corpus where two JSON parsers could disagree
    "leading whitespace": " \n\t" + V,
    "second object after the first": V + V,
    "JSON string": '"EUR/USD"',
    "JSON number": "42",
    "NaN alone": "NaN",
    "true then garbage": "true x",
    "truncated array": "[1,2",
    "nested object": '{"a":{"b":[1,{"c":null}]}}',
    "pair as number": V.replace('"EUR/USD"', "5.0"),
    "pair as bool": V.replace('"EUR/USD"', "true"),
    "pair with NUL and RTL": V.replace('"EUR/USD"', '"EUR\\u0000\\u202eUSD"'),
    "source as list": V.replace('"sim"', '["sim"]'),
    "v = 2 with new fields": V.replace('"v":1', '"v":2')[:-1] + ',"venue":"x"}',
    "v as 1e0": V.replace('"v":1', '"v":1e0'),
    "v negative": V.replace('"v":1', '"v":-1'),
    "v huge": V.replace('"v":1', '"v":' + "1" * 40),
    "two extra fields": V[:-1] + ',"zz":1,"aa":2}',
    "ts 1e3": V.replace("1764000000000", "1e3"),
    "ts -0": V.replace("1764000000000", "-0"),
    "ts huge negative": V.replace("1764000000000", "-" + "9" * 40),
    "ts as string": V.replace("1764000000000", '"1764000000000"'),
    "bid Infinity string": V.replace("1.08601", '"Infinity"'),
    "bid -Infinity": V.replace("1.08601", "-Infinity"),
    "bid 1e400": V.replace("1.08601", "1e400"),
    "bid 999-digit integer": V.replace("1.08601", "9" * 999),
    "bid 999-digit float": V.replace("1.08601", "0." + "1" * 997),
    "NaN in an array": "[NaN, 1]",
    "bid integer": V.replace("1.08601", "1"),
    "bid zero": V.replace("1.08601", "0"),
    "bid list": V.replace("1.08601", "[1.08601]"),
    "high only (valid)": V[:-1] + ',"high":1.09}',
    "high = low (valid)": V[:-1] + ',"high":1.09,"low":1.09,"open":1.085}',
    "low null (absent, valid)": V[:-1] + ',"high":1.09,"low":null}',
    "high string with low": V[:-1] + ',"high":"1.09","low":1.08}',
    "duplicate high": V[:-1] + ',"high":1.09,"high":1.07}',
    "received_at negative": V.replace("1764000000001", "-1"),
    "received_at float": V.replace("1764000000001", "1764000000001.5"),
    # the parser pays for its key checks only when the key count differs from the non-null schema fields
    "duplicate v, received_at missing": V.replace(',"received_at":1764000000001', "").replace('"v":1', '"v":1,"v":1'),
    "null high and an extra field": V[:-1] + ',"high":null,"zz":1}',
    "duplicate key whose first value is null": V[:-1] + ',"high":null,"high":1.09}',
    "duplicate source, pair missing": V.replace('"pair":"EUR/USD",', "").replace('"source":"sim"', '"source":"sim","source":"x"'),
    "pair null": V.replace('"EUR/USD"', "null"),
}


def corpus_bytes(entry: dict) -> bytes:
    if "file" in entry:
        return (CORPUS / entry["file"]).read_bytes()
    return generate.BYTES_GENERATORS[entry["generate"]]()


def python_verdict(value: bytes) -> str | None:
    item = from_json(value)
    assert isinstance(item, (Tick, Rejection))
    return item.reason if isinstance(item, Rejection) else None


def spark_verdicts(spark, values: list[bytes], kafka_ts_ms: int = T0 + 1000, **kw) -> list[str | None]:
    ts = datetime.fromtimestamp(kafka_ts_ms / 1000, tz=timezone.utc)
    df = spark.createDataFrame([(bytearray(v), ts) for v in values], "value binary, timestamp timestamp")
    return [r["invalid_reason"] for r in parse_kafka_ticks(df, **kw).select("invalid_reason").collect()]  # in order


def test_kafka_corpus_and_edge_cases_get_the_same_verdict_and_reason_from_both_parsers(spark):
    inputs = {f"{e['id']} {e['what']}": corpus_bytes(e) for e in KAFKA}
    inputs.update({f"edge: {k}": v.encode() for k, v in EDGE.items()})
    assert len(KAFKA) >= 45
    spark_reasons = spark_verdicts(spark, list(inputs.values()))
    mismatches = []
    for (name, value), got in zip(inputs.items(), spark_reasons):
        want = python_verdict(value)
        if got != want:
            mismatches.append(f"{name}: from_json={want!r} parse_kafka_ticks={got!r}")
    assert not mismatches, "\n".join(mismatches)


def test_every_corpus_reason_is_as_the_manifest_says():
    for e in KAFKA:
        reason = python_verdict(corpus_bytes(e))
        expect = e["expect"]
        if expect["outcome"] == "accepted":
            assert reason is None, (e["id"], reason)
        elif "reason" in expect:
            assert reason == expect["reason"], e["id"]
        else:
            assert reason is not None and reason.startswith(expect["reason_prefix"]), (e["id"], reason)


def test_spark_parser_bounds_event_time_against_the_kafka_timestamp(spark):
    """2099 / 1970 ticks mid-stream: ahead of the arrival beyond the skew -> reason with the distance; far
    behind -> the table's year-2000 floor (never silently dropped as late); within the skew -> valid."""
    def at(ts: int) -> bytes:
        return V.replace("1764000000000", str(ts)).encode()

    arrival = T0
    got = spark_verdicts(spark, [at(arrival + 59_000), at(arrival + 61_500), at(4_070_908_800_000), at(86_400_000),
                                 at(arrival - 3_600_000)], kafka_ts_ms=arrival, max_skew_ms=60_000)
    assert got[0] is None
    assert got[1] == "ts is 61 s ahead of its arrival (limit 60 s)"
    assert got[2] == f"ts is {(4_070_908_800_000 - arrival) // 1000} s ahead of its arrival (limit 60 s)"
    assert got[3] == "ts is before year 2000"
    assert got[4] is None, "an old tick (a replay of history) is not a skew error"
    assert spark_verdicts(spark, [at(arrival + 61_500)], kafka_ts_ms=arrival, max_skew_ms=120_000) == [None]
