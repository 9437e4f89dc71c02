"""The benchmark report: figures with their spread, ratios from the same run, "not run" reasons, machine facts,
and the JSON + markdown files `fxtrue bench` writes."""

from __future__ import annotations

import json
import math

import pytest

from fxtrue.bench import harness, report
from fxtrue.bench.harness import BenchResult, Figure


def sample_report() -> dict:
    ok = BenchResult("ingest", "replay into Kafka")
    ok.figures = [Figure("replay producer", "ticks/s", [900.0, 1000.0, 1300.0]),
                  Figure("Kafka ProducerPerformance", "records/s", [4000.0, 5000.0, 5500.0], role="reference")]
    ok.add_ratio("replay producer", "Kafka ProducerPerformance", "share of the Java client")
    ok.params = {"ticks_per_repeat": 40000}
    ok.notes.append("loaded machine")
    skipped = BenchResult("batch", "stats vs DuckDB", status="not run", reason="jobs.batch.stats is missing")
    return {"started_at": "2026-11-24T09:00:00+00:00", "finished_at": "2026-11-24T09:08:00+00:00", "mode": "quick",
            "machine": {"cores": 2, "cpu_model": "AMD EPYC", "ram_gb": 23.5, "os": "Linux", "python": "3.11.7",
                        "load_avg_start": [3.5, 2.0, 1.0], "load_avg_end": [4.0, 2.0, 1.0], "git_commit": "abc123"},
            "results": [ok.to_dict(), skipped.to_dict()]}


def test_figure_spread_and_ratio_come_from_the_samples():
    fig = Figure("x", "ticks/s", [3.0, 1.0, 2.0, 10.0])
    assert (fig.min, fig.median, fig.max, fig.n) == (1.0, 2.5, 10.0, 4)
    assert fig.stdev == pytest.approx(4.0825, rel=1e-3)
    assert Figure("single", "s", [5.0]).stdev == 0.0
    res = sample_report()["results"][0]
    assert res["ratios"][0]["value"] == pytest.approx(1000.0 / 5000.0)


def test_ratio_against_a_zero_reference_is_nan_not_a_crash():
    r = BenchResult("a", "a", figures=[Figure("o", "u", [1.0]), Figure("r", "u", [0.0], role="reference")])
    assert math.isnan(r.add_ratio("o", "r").value)


def test_markdown_holds_machine_spread_ratio_and_not_run_reason():
    md = report.to_markdown(sample_report())
    assert "2 cores (AMD EPYC), 23.5 GB RAM" in md and "load average at start 3.50" in md
    assert "| ingest | replay producer | 1,000 ticks/s | 900–1,300, sd 208, n=3 | 0.20× Kafka ProducerPerformance |" in md
    assert "| batch | — | not run: jobs.batch.stats is missing | | |" in md
    assert "**not run**: jobs.batch.stats is missing" in md
    assert "ticks_per_repeat=40000" in md and "note: loaded machine" in md


def test_write_produces_json_and_markdown_files(tmp_path):
    rep = sample_report()
    rep["results"][0]["figures"][0]["samples"].append(float("nan"))  # a NaN must still give valid JSON
    json_path, md_path = report.write(rep, tmp_path)
    data = json.loads(json_path.read_text(), parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))
    assert data["results"][1]["status"] == "not run"
    assert md_path.read_text().startswith("# FXTrue benchmark run (quick)")
    assert (tmp_path / "latest.json").read_text() == json_path.read_text()


def test_a_missing_prerequisite_is_reported_as_not_run(monkeypatch, tmp_path):
    calls = []

    def missing(ctx):
        calls.append(ctx.quick)
        harness.require("no_such_module_for_fxtrue", what="the thing")

    def boom(ctx):
        raise RuntimeError("broker said no")

    import types
    monkeypatch.setattr(harness, "BENCHMARKS", (("ingest", "fake_missing"), ("archive", "fake_boom")))
    monkeypatch.setitem(__import__("sys").modules, "fake_missing", types.SimpleNamespace(TITLE="t1", run=missing))
    monkeypatch.setitem(__import__("sys").modules, "fake_boom", types.SimpleNamespace(TITLE="t2", run=boom))
    from fxtrue.settings import load_settings

    rep = harness.run(load_settings({}), quick=True, workdir=tmp_path, progress=lambda m: None)
    by = {r["name"]: r for r in rep["results"]}
    assert by["ingest"]["status"] == "not run" and "no_such_module_for_fxtrue is missing" in by["ingest"]["reason"]
    assert by["ingest"]["title"] == "t1"
    assert by["archive"]["status"] == "failed" and "broker said no" in by["archive"]["reason"]
    assert calls == [True]
    assert rep["machine"]["cores"] >= 1 and rep["machine"]["ram_gb"]


def test_unknown_benchmark_name_is_a_clear_error(tmp_path):
    from fxtrue.errors import FxtrueError
    from fxtrue.settings import load_settings

    with pytest.raises(FxtrueError, match="unknown benchmark"):
        harness.run(load_settings({}), quick=True, only=["nope"], workdir=tmp_path)


def test_isolated_settings_never_touch_the_shared_names(tmp_path):
    from fxtrue.settings import load_settings

    base = load_settings({})
    ctx = harness.BenchContext(base, True, tmp_path, progress=lambda m: None)
    s = ctx.isolated("ing", init=False)
    assert s.cassandra.keyspace.startswith("fxbench_") and s.cassandra.keyspace != base.cassandra.keyspace
    assert s.kafka.topic_ticks.startswith("bench.") and s.kafka.topic_ticks != base.kafka.topic_ticks
    assert str(tmp_path) in s.lake_path and str(tmp_path) in s.checkpoint_dir


def test_a_failure_reason_is_one_line_naming_the_innermost_python_error():
    wrapped = RuntimeError(
        "query raw stopped: An exception was raised by the Python Proxy. Return Message: Traceback (most recent "
        "call last):\n  File \"/x/py4j/clientserver.py\", line 644, in _call_proxy\n    return_value = f()\n"
        "pyspark.errors.exceptions.captured.PythonException: An exception was thrown from the Python worker:\n"
        "Traceback (most recent call last):\n  File \"sinks.py\", line 3, in <module>\n"
        "ModuleNotFoundError: No module named 'cassandra'\n")
    reason = harness.failure_reason(wrapped)
    assert reason == "RuntimeError caused by ModuleNotFoundError: No module named 'cassandra'"
    assert harness.failure_reason(ValueError("bad rate\nmore detail")) == "ValueError: bad rate"
    assert harness.failure_reason(KeyError()) == "KeyError"
    long = harness.failure_reason(OSError("x" * 1000), limit=50)
    assert len(long) == 50 and long.endswith("…") and "\n" not in long


def test_latency_is_measured_from_the_offending_tick_to_the_first_record_of_each_alert_per_path():
    from fxtrue.bench.latency import latencies_by_path

    def alert(aid, ws, path):
        return {"alert_id": aid, "pair": "EUR/USD", "window_start": ws, "path": path}

    w0, w1 = "2026-11-30T10:00:00.000Z", "2026-11-30T10:00:10.000Z"
    ms0 = 1_796_032_800_000  # 2026-11-30T10:00:00Z
    offending = {("EUR/USD", ms0): ms0 + 3_000, ("EUR/USD", ms0 + 10_000): ms0 + 12_000}
    records = [(alert("a", w0, "fast"), ms0 + 3_400), (alert("a", w0, "close"), ms0 + 16_000),
               (alert("a", w0, "close"), ms0 + 17_000),  # a re-run batch re-sends: not a second alert
               (alert("b", w1, "close"), ms0 + 26_500),  # no fast record: its first record is the close one
               ({"alert_id": "c", "pair": "USD/JPY", "window_start": w0, "path": "fast"}, ms0 + 9_000)]  # no tick
    lat = latencies_by_path(records, offending)
    assert lat["first"] == [pytest.approx(0.4), pytest.approx(14.5)]
    assert lat["fast"] == [pytest.approx(0.4)]
    assert lat["close"] == [pytest.approx(13.0), pytest.approx(14.5)]


def test_lateness_is_behind_the_newest_event_time_in_broker_order():
    from fxtrue.bench.lateness import lateness_ms

    # (kafka ts, partition, offset, event ts): broker order is by kafka ts, not by event time
    records = [(1000, 0, 0, 500), (1003, 1, 0, 900), (1001, 2, 0, 700), (1004, 0, 1, 400), (1005, 1, 1, 950)]
    assert lateness_ms(records) == [0, 0, 0, 500, 0]
    assert lateness_ms([]) == []
