"""fxtrue.checkpoints: reading Spark's offset/commit logs and judging whether a query is done with its input."""

from __future__ import annotations

import json

import pytest

from fxtrue import checkpoints

TOPIC = "fx.ticks"


def write_batch(query_dir, batch: int, offsets: dict, watermark_ms: int, commit: bool = True) -> None:
    (query_dir / "offsets").mkdir(parents=True, exist_ok=True)
    (query_dir / "commits").mkdir(parents=True, exist_ok=True)
    meta = {"batchWatermarkMs": watermark_ms, "batchTimestampMs": 1, "conf": {}}
    (query_dir / "offsets" / str(batch)).write_text(
        "v1\n" + json.dumps(meta) + "\n" + json.dumps({TOPIC: {str(p): o for p, o in offsets.items()}}))
    if commit:
        (query_dir / "commits" / str(batch)).write_text('v1\n{"nextBatchWatermarkMs":0}')


def test_parse_offset_log_reads_watermark_and_kafka_offsets():
    text = 'v1\n{"batchWatermarkMs":1234,"batchTimestampMs":9}\n{"fx.ticks":{"1":7,"0":5}}\n'
    assert checkpoints.parse_offset_log(text) == (1234, {TOPIC: {0: 5, 1: 7}})


def test_parse_offset_log_refuses_other_files():
    with pytest.raises(ValueError, match="offset log"):
        checkpoints.parse_offset_log("hello")


def test_committed_is_the_last_committed_batch_not_the_last_planned(tmp_path):
    q = tmp_path / "raw"
    write_batch(q, 0, {0: 10, 1: 10}, 0)
    write_batch(q, 1, {0: 20, 1: 25}, 0)
    write_batch(q, 2, {0: 30, 1: 30}, 0, commit=False)  # planned, then the job died
    c = checkpoints.committed(q)
    assert (c.batch_id, c.offsets, c.stateful) == (1, {TOPIC: {0: 20, 1: 25}}, False)
    assert checkpoints.committed(tmp_path / "nothing") is None


def test_lag_names_each_query_behind_and_by_how_much(tmp_path):
    root = tmp_path / "streaming"
    write_batch(root / "raw", 3, {0: 100, 1: 90}, 0)
    write_batch(root / "trends", 5, {0: 100, 1: 100}, 50_000)
    (root / "trends" / "state").mkdir()
    (root / "scratch").mkdir(parents=True)  # not a query
    progress = checkpoints.committed_all(root)
    assert set(progress) == {"raw", "trends"}
    end = {TOPIC: {0: 100, 1: 100}}
    behind = checkpoints.lag(progress, end, final_watermark_ms=60_000, queries=("raw", "trends", "lake"))
    assert behind == ["query lake: no checkpoint yet",
                      "query raw: 10 record(s) behind the end of the topic (batch 3)",
                      "query trends: watermark 10.0 s short of the input's final watermark (batch 5)"]
    # the watermark is not a stateless query's business; an input that is all read and judged is done
    write_batch(root / "raw", 4, {0: 100, 1: 100}, 0)
    write_batch(root / "trends", 6, {0: 100, 1: 100}, 60_000)
    write_batch(root / "lake", 0, {0: 100, 1: 100}, 0)
    assert checkpoints.lag(checkpoints.committed_all(root), end, 60_000, ("raw", "trends", "lake")) == []
    # a query that is not asked about (the tick query commits once per real-time batch) is not judged
    write_batch(root / "tick", 0, {0: 10, 1: 10}, 0)
    assert checkpoints.lag(checkpoints.committed_all(root), end, 60_000, ("raw", "trends", "lake")) == []
    assert checkpoints.lag(checkpoints.committed_all(root), end, 60_000) == [
        "query tick: 180 record(s) behind the end of the topic (batch 0)"]


def test_wait_caught_up_times_out_with_what_is_behind(tmp_path):
    root = tmp_path / "streaming"
    write_batch(root / "raw", 0, {0: 1}, 0)
    polls = []
    with pytest.raises(TimeoutError, match="raw: 4 record"):
        checkpoints.wait_caught_up(root, lambda: {TOPIC: {0: 5}}, None, timeout_s=0, every_s=0,
                                   on_poll=lambda: polls.append(1))
    assert polls == [1]
    checkpoints.wait_caught_up(root, lambda: {TOPIC: {0: 1}}, None, timeout_s=0)  # done: returns at once


def test_a_query_with_driver_state_is_judged_by_the_watermark_of_its_last_committed_batch(tmp_path):
    """The fast query keeps the detectors' windows on the driver, saved per batch before the batch commits:
    its watermark is the one saved for the newest batch at or before its last commit (a batch that was
    saved but not committed, as when the job died between the two, does not count)."""
    q = tmp_path / "streaming" / "fast"
    write_batch(q, 3, {0: 50}, 0)
    write_batch(q, 4, {0: 100}, 0)
    write_batch(q, 5, {0: 100}, 0, commit=False)
    (q / "driver").mkdir()
    assert checkpoints.committed(q).watermark_ms == 0 and checkpoints.committed(q).stateful  # nothing saved yet
    (q / "driver" / "3.json").write_text(json.dumps({"watermark_ms": 40_000, "max_event_ms": 45_000}))
    (q / "driver" / "5.json").write_text(json.dumps({"watermark_ms": 90_000, "max_event_ms": 95_000}))
    c = checkpoints.committed(q)
    assert (c.batch_id, c.watermark_ms, c.stateful) == (4, 40_000, True)
    assert checkpoints.lag({"fast": c}, {TOPIC: {0: 100}}, 60_000) == [
        "query fast: watermark 20.0 s short of the input's final watermark (batch 4)"]
    (q / "driver" / "4.json").write_text(json.dumps({"watermark_ms": 60_000, "max_event_ms": 65_000}))
    assert checkpoints.lag(checkpoints.committed_all(tmp_path / "streaming"), {TOPIC: {0: 100}}, 60_000) == []
