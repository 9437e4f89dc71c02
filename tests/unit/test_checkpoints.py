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
    write_batch(root / "detectors", 5, {0: 100, 1: 100}, 50_000)
    (root / "detectors" / "state").mkdir()
    (root / "detectors-carry").mkdir(parents=True)  # not a query
    progress = checkpoints.committed_all(root)
    assert set(progress) == {"raw", "detectors"}
    end = {TOPIC: {0: 100, 1: 100}}
    behind = checkpoints.lag(progress, end, final_watermark_ms=60_000, queries=("raw", "detectors", "lake"))
    assert behind == ["query lake: no checkpoint yet",
                      "query detectors: watermark 10.0 s short of the input's final watermark (batch 5)",
                      "query raw: 10 record(s) behind the end of the topic (batch 3)"]
    # the watermark is not a stateless query's business; an input that is all read and judged is done
    write_batch(root / "raw", 4, {0: 100, 1: 100}, 0)
    write_batch(root / "detectors", 6, {0: 100, 1: 100}, 60_000)
    write_batch(root / "lake", 0, {0: 100, 1: 100}, 0)
    assert checkpoints.lag(checkpoints.committed_all(root), end, 60_000, ("raw", "detectors", "lake")) == []
    # a query that is not asked about (the tick query commits once per real-time batch) is not judged
    write_batch(root / "tick", 0, {0: 10, 1: 10}, 0)
    assert checkpoints.lag(checkpoints.committed_all(root), end, 60_000, ("raw", "detectors", "lake")) == []
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
