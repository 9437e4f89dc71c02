"""The bad-input corpus (tests/corpus/manifest.json) through every component that takes outside data.

Each entry states its expected outcome; none may crash a component, and every rejection carries a reason
and is counted: the TrueFX reply parser, the history reader (Python and Spark, zip-bomb guard included),
fxtrue.ticks.from_json, frames.parse_kafka_ticks over a real Kafka topic, and the streaming job's DLQ writer;
and the rules that guard the other doors: fx_backfill's input roots, the dashboard's Host allow-list and Data
Docs route, and the settings rule table.
"""

from __future__ import annotations

import importlib.util
import json
import uuid
from pathlib import Path

import pytest

from fxtrue import history
from fxtrue.errors import FxtrueError
from fxtrue.ticks import Rejection, Tick, from_json

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())["entries"]

_spec = importlib.util.spec_from_file_location("corpus_generate", CORPUS / "generate.py")
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)


def entries(component: str) -> list[dict]:
    return [e for e in MANIFEST if e["component"] == component]


def ids(component: str) -> list[str]:
    return [f"{e['id']}-{e['what'][:30]}" for e in entries(component)]


def input_path(entry: dict, tmp_path: Path) -> Path:
    if "file" in entry:
        return CORPUS / entry["file"]
    return generate.FILE_GENERATORS[entry["generate"]](tmp_path)


def input_bytes(entry: dict) -> bytes:
    if "file" in entry:
        return (CORPUS / entry["file"]).read_bytes()
    return generate.BYTES_GENERATORS[entry["generate"]]()


def check_counts(expect: dict, items: list) -> None:
    accepted = [i for i in items if isinstance(i, Tick)]
    rejected = [i for i in items if isinstance(i, Rejection)]
    assert len(accepted) + len(rejected) == len(items), "every item is a Tick or a Rejection"
    assert len(accepted) == expect["accepted"]
    assert len(rejected) == expect["rejected"]
    assert all(r.reason for r in rejected), "every rejection has a reason"
    if "reasons" in expect:
        assert sorted({r.reason for r in rejected}) == sorted(expect["reasons"])
    if "reason_prefix" in expect:
        assert all(r.reason.startswith(expect["reason_prefix"]) for r in rejected), [r.reason for r in rejected]


def test_the_corpus_is_big_and_covers_every_component():
    assert len(MANIFEST) >= 130
    assert len({e["id"] for e in MANIFEST}) == len(MANIFEST)
    assert {e["component"] for e in MANIFEST} == {"history", "kafka", "truefx_http", "backfill_input",
                                                  "dashboard_host", "data_docs_path", "settings"}
    for e in MANIFEST:
        assert sum(k in e for k in ("file", "generate", "input")) == 1, e["id"]
        if "file" in e:
            assert (CORPUS / e["file"]).stat().st_size < 64 * 1024, "big inputs are generated, never committed"


# -- Inline inputs: fx_backfill paths, dashboard Host headers, Data Docs paths, settings -----------------------

@pytest.mark.parametrize("entry", entries("backfill_input"), ids=ids("backfill_input"))
def test_backfill_input_rule(entry, tmp_path):
    from fxtrue.orchestration.inputs import InputRefused, resolve_inputs

    world = generate.backfill_world(tmp_path)
    requested = [p.format(**world) for p in entry["input"]]
    expect = entry["expect"]
    if expect["outcome"] == "refused":
        with pytest.raises(InputRefused) as err:
            resolve_inputs(requested, [world["root"]])
        assert expect["error"] in str(err.value)
        assert world["secret"] not in str(err.value) + (err.value.hint or "")
    else:
        assert len(resolve_inputs(requested, [world["root"]])) == expect["files"]


@pytest.mark.parametrize("entry", entries("dashboard_host"), ids=ids("dashboard_host"))
def test_dashboard_host_allow_list(entry):
    from dashboard.app import allowed_hosts, host_allowed
    from fxtrue.settings import Settings

    allowed = allowed_hosts(Settings().replace(dashboard={"port": 8050}))
    assert host_allowed(entry["input"], allowed) == (entry["expect"]["outcome"] == "allowed")


@pytest.mark.parametrize("entry", entries("data_docs_path"), ids=ids("data_docs_path"))
def test_data_docs_file_rule(entry, tmp_path):
    from dashboard.app import docs_file

    root = generate.docs_world(tmp_path)
    found = docs_file(root, entry["input"])
    if entry["expect"]["outcome"] == "served":
        assert found is not None and found.read_text().startswith("<html>")
    else:
        assert found is None


@pytest.mark.parametrize("entry", entries("settings"), ids=ids("settings"))
def test_settings_rules(entry):
    from fxtrue.errors import ConfigError
    from fxtrue.settings import load_settings

    expect = entry["expect"]
    if expect["outcome"] == "refused":
        with pytest.raises(ConfigError) as err:
            load_settings(entry["input"])
        assert expect["error"] in str(err.value)
    else:
        load_settings(entry["input"])


# -- TrueFX HTTP replies ---------------------------------------------------------------------------------

@pytest.mark.parametrize("entry", entries("truefx_http"), ids=ids("truefx_http"))
def test_truefx_reply_parser(entry):
    from producers.truefx import parse_reply

    expect = entry["expect"]
    reply = parse_reply(input_bytes(entry), received_at=1_764_000_001_000)
    assert reply.kind == expect["kind"], reply
    check_counts(expect, list(reply.items))
    if reply.kind in ("error", "not_authorized"):
        assert reply.detail, "an error reply says what it was"
    if "detail" in expect:
        assert expect["detail"] in reply.detail


# -- history files ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("entry", entries("history"), ids=ids("history"))
def test_history_reader(entry, tmp_path):
    expect = entry["expect"]
    path = input_path(entry, tmp_path)
    if "error" in expect:
        with pytest.raises(FxtrueError) as err:
            list(history.iter_file(path))
        assert expect["error"] in str(err.value).lower()
        return
    records = list(history.iter_file(path))
    check_counts(expect, [r.item for r in records])
    assert all(r.line >= 1 for r in records), "each record says where it came from"


def test_history_spark_reader_agrees_and_guards_zips(spark, tmp_path):
    """read_history (backfill, stats, detect) gives the same counts per file; bombs are refused before
    extraction; a '../' member lands inside the extract folder."""
    good = [e for e in entries("history") if "error" not in e["expect"]]
    gen = tmp_path / "gen"
    gen.mkdir()
    paths = {e["id"]: input_path(e, gen) for e in good}
    extract = tmp_path / "extract"
    extract.mkdir()
    ticks, rejects = history.read_history(spark, list(paths.values()), tmp_dir=str(extract))
    assert ticks.count() == sum(e["expect"]["accepted"] for e in good)
    by_file = {r["file"]: r["n"] for r in rejects.groupBy("file").count().withColumnRenamed("count", "n").collect()}
    for e in good:
        name = paths[e["id"]].stem if paths[e["id"]].suffix == ".zip" else paths[e["id"]].name
        got = sum(n for f, n in by_file.items() if name in f)
        assert got == e["expect"]["rejected"], (e["id"], by_file)
    assert not any(p.name == "evil.csv" for p in tmp_path.parent.rglob("evil.csv") if extract not in p.parents)
    for e in entries("history"):
        if "error" in e["expect"] and "generate" in e:
            with pytest.raises(FxtrueError, match=e["expect"]["error"]):
                history.spark_input_paths([generate.FILE_GENERATORS[e["generate"]](gen)], tmp_dir=str(extract))


# -- Kafka messages --------------------------------------------------------------------------------------

@pytest.mark.parametrize("entry", entries("kafka"), ids=ids("kafka"))
def test_tick_from_json(entry):
    expect = entry["expect"]
    item = from_json(input_bytes(entry))
    if expect["outcome"] == "accepted":
        assert isinstance(item, Tick), item
        return
    assert isinstance(item, Rejection), item
    if "reason" in expect:
        assert item.reason == expect["reason"]
    else:
        assert item.reason.startswith(expect["reason_prefix"]), item.reason
    assert len(item.to_dlq_json(now_ms=1)) <= 10_000 + 1000, "the DLQ copy of the payload is bounded"


def test_spark_parser_and_dlq_over_kafka(settings, spark):
    """All Kafka corpus messages through a real topic: parse_kafka_ticks agrees with from_json on
    accepted/rejected, every rejection has a reason, and the job's DLQ writer counts each one on the DLQ."""
    from fxtrue import kafka
    from fxtrue.commands.init import init
    from fxtrue.frames import parse_kafka_ticks, rejected_ticks
    from jobs.streaming.sinks import write_dlq

    tag = uuid.uuid4().hex[:6]
    s = settings.replace(kafka={"topic_ticks": f"{settings.kafka.topic_ticks}.corpus{tag}",
                                "topic_dlq": f"{settings.kafka.topic_dlq}.corpus{tag}", "partitions": 1})
    init(s, cassandra=False, progress=lambda m: None)
    corpus = entries("kafka")
    producer = kafka.producer(s, component="producer", message_max_bytes=2 * 1024 * 1024)
    sent = kafka.send_all(producer, s.kafka.topic_ticks, ((e["id"].encode(), input_bytes(e)) for e in corpus))
    assert sent == len(corpus)  # one partition, one idempotent producer: offset order = corpus order

    raw = (spark.read.format("kafka").option("kafka.bootstrap.servers", s.kafka_bootstrap)
           .option("subscribe", s.kafka.topic_ticks).option("startingOffsets", "earliest").load())
    parsed = raw.transform(parse_kafka_ticks).cache()
    rows = parsed.select("invalid_reason").collect()  # one partition: offset order = corpus order
    assert len(rows) == len(corpus)
    mismatches = []
    for e, row in zip(corpus, rows):
        accepted = row["invalid_reason"] is None
        if accepted != (e["expect"]["outcome"] == "accepted"):
            mismatches.append((e["id"], row["invalid_reason"]))
    assert not mismatches, f"Spark parser disagrees with the manifest: {mismatches}"

    rejected = rejected_ticks(parsed)
    n_rejected = rejected.count()
    assert n_rejected == sum(e["expect"]["outcome"] == "rejected" for e in corpus)
    write_dlq(rejected, s)
    parsed.unpersist()
    dlq = [json.loads(m.value) for m in kafka.records(s, s.kafka.topic_dlq, component="admin", group=f"corpus-{tag}",
                                                       idle_s=10)]
    assert len(dlq) == n_rejected
    assert all(d["reason"] and d["v"] == 1 and len(d["raw"]) <= 10000 for d in dlq)
    kafka.delete_topics(s, [s.kafka.topic_ticks, s.kafka.topic_dlq])
