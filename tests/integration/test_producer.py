"""The producer against real Kafka: exactly what was sent arrives (ticks and DLQ), heartbeats land in Cassandra,
and a broker stopped and restarted mid-stream still ends with every tick in Kafka exactly once."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import date

import pytest
from ports import free_port

from fxtrue import kafka
from fxtrue.heartbeats import read_all
from fxtrue.simulator import simulate_files
from fxtrue.ticks import Rejection, Tick, now_epoch_ms
from producers import main
from producers.sinks import HeartbeatReporter, KafkaSink, MemorySink
from producers.sources import ReplaySource


def own_topics(settings):
    tag = uuid.uuid4().hex[:6]
    s = settings.replace(kafka={"topic_ticks": f"{settings.kafka.topic_ticks}.p{tag}",
                                "topic_dlq": f"{settings.kafka.topic_dlq}.p{tag}",
                                "topic_alerts": f"{settings.kafka.topic_alerts}.p{tag}"})
    kafka.create_topics(s, progress=lambda m: None)
    return s


def consume_all(settings, topic, expected, timeout_s=60.0) -> list[kafka.Record]:
    """Every record of `topic` from its start (no consumer group): read until at least `expected` arrived and a
    poll came back empty, or until `timeout_s`."""
    from confluent_kafka import OFFSET_BEGINNING, KafkaException, TopicPartition

    consumer = kafka.consumer(settings, component="admin")
    out = []
    deadline = time.monotonic() + timeout_s
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in kafka.partitions(consumer, topic)])
        while time.monotonic() < deadline:
            got = consumer.consume(5000, timeout=1.0)
            for m in got:
                if m.error() is not None:
                    raise KafkaException(m.error())
                out.append(kafka.Record.of(m))
            if len(out) >= expected and not got:
                break
    finally:
        consumer.close()
    return out


@pytest.fixture(scope="module")
def history_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("hist")
    simulate_files(out, date(2026, 11, 4), 1, pairs=("EUR/USD", "USD/JPY", "EUR/JPY"), rate_scale=0.01, seed=4)
    with open(out / "EURUSD-2026-11.csv", "a") as fh:
        fh.write("EUR/USD,20261105 00:00:00.001,1.08501,1.08499\n")  # crossed: valid, must pass
        fh.write("EUR/USD,20261105 00:00:00.002,oops,1.1\n")
        fh.write("EUR/USD,20261105 00:00:00.003,1.1\n")
    return out


def expected_ticks(paths):
    from fxtrue import history

    recs = list(history.merge([paths]))
    return [r.item for r in recs if isinstance(r.item, Tick)], [r.item for r in recs if isinstance(r.item, Rejection)]


def test_replay_into_kafka_arrives_exactly(settings, cql, history_dir):
    s = own_topics(settings)
    ticks, bad = expected_ticks(history_dir)
    assert len(ticks) > 1000 and len(bad) == 2
    sink = KafkaSink(s)
    hb = HeartbeatReporter(s, every_s=0.0)
    started = now_epoch_ms()
    try:
        stats = main.run(ReplaySource([history_dir], speed=0), sink, heartbeat=hb)
    finally:
        sink.close()
        hb.close()
    assert stats.ticks == len(ticks) and stats.rejected == 2
    assert sink.counts() == {"sent": len(ticks), "rejected": 2, "failed": 0, "retried": 0, "pending": 0}

    msgs = consume_all(s, s.kafka.topic_ticks, len(ticks))
    assert len(msgs) == len(ticks)
    values = [json.loads(m.value) for m in msgs]
    assert all(m.key.decode() == v["pair"] for m, v in zip(msgs, values))
    assert sorted((v["pair"], v["ts"], v["bid"], v["ask"]) for v in values) == \
        sorted((t.pair, t.ts, t.bid, t.ask) for t in ticks)
    assert all(v["v"] == 1 and v["source"] == "replay" and v["received_at"] >= started for v in values)
    assert any(v["bid"] > v["ask"] for v in values)

    dlq = [json.loads(m.value) for m in consume_all(s, s.kafka.topic_dlq, 2)]
    assert sorted(d["reason"] for d in dlq) == ["bid is not a number", "expected 4 fields, got 3"]
    assert all("EURUSD-2026-11.csv" in d["raw"] and d["source"] == "replay" for d in dlq)

    beat = read_all(cql, s)["producer"]
    assert beat.status == "finished"
    assert beat.metrics["sent"] == len(ticks) and beat.metrics["rejected"] == 2
    assert beat.metrics["last_tick_ts"] == max(t.ts for t in ticks)


class StaleSource:
    """A live source with one tick far from now and one unknown pair."""

    name = "truefx"
    live = True

    def batches(self, stop):
        now = now_epoch_ms()
        yield [Tick("EUR/USD", now, 1.1, 1.1002, "truefx", now),
               Tick("EUR/USD", now - 3_600_000, 1.1, 1.1002, "truefx", now),
               Tick("EUR/XXX", now, 1.1, 1.1002, "truefx", now),
               Rejection("bad price: x", "EUR/USD,...", "truefx")]

    def close(self):
        pass

    def describe(self):
        return {}


def test_live_ticks_far_from_now_go_to_the_dlq():
    sink = MemorySink()
    main.run(StaleSource(), sink, max_skew_ms=300_000)
    assert len(sink.ticks) == 1
    assert [r.reason.split(" (")[0] for r in sink.rejections] == ["ts is 3600 s behind its arrival",
                                                                  "unknown pair 'EUR/XXX'", "bad price: x"]



@pytest.mark.fault
def test_broker_restart_mid_stream_loses_and_duplicates_nothing(settings, tmp_path, history_dir):
    from fxtrue.stack.services import KafkaService

    state = tmp_path / "state"
    (state / "lib").mkdir(parents=True)
    (state / "lib" / "kafka").symlink_to(settings.lib_dir / "kafka")  # reuse the stack's jars
    port = free_port()
    s = settings.replace(state_dir=state, stack={"kafka_port": port, "kafka_controller_port": free_port(),
                                                 "kafka_heap_mb": 384},
                         kafka={"bootstrap": f"127.0.0.1:{port}", "partitions": 2})
    broker = KafkaService(s)
    broker.start(print)
    try:
        kafka.create_topics(s, progress=print)
        ticks, _ = expected_ticks(history_dir)
        # ~24 simulated hours at 4000x: about 20 s of producing, with the broker down in the middle.
        source = ReplaySource([history_dir], speed=4000)
        sink = KafkaSink(s)
        result = {}
        worker = threading.Thread(target=lambda: result.update(stats=main.run(source, sink, flush_timeout_s=240)))
        worker.start()
        deadline = time.monotonic() + 120
        while sink.counts()["sent"] == 0:  # the outage must land mid-stream: after the first acknowledged tick
            assert worker.is_alive() and time.monotonic() < deadline, "the replay acknowledged no tick"
            time.sleep(0.05)
        sent_before = sink.counts()["sent"]
        broker.stop(print)
        time.sleep(4)
        broker.start(print)
        worker.join(timeout=300)
        assert not worker.is_alive()
        sink.close()
        counts = sink.counts()
        assert 0 < sent_before < len(ticks)  # the outage really was mid-stream
        assert result["stats"].ticks == len(ticks) and counts["pending"] == 0
        msgs = consume_all(s, s.kafka.topic_ticks, len(ticks), timeout_s=90)
        keys = [(json.loads(m.value)["pair"], json.loads(m.value)["ts"]) for m in msgs]
        assert len(keys) == len(set(keys)) == len(ticks)  # exactly once
        assert set(keys) == {(t.pair, t.ts) for t in ticks}
    finally:
        broker.stop(print)
