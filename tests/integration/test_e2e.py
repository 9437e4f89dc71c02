"""End to end with the real stack: simulated ticks with every scenario kind -> `fxtrue produce replay` -> Kafka
-> `fxtrue stream` (a real subprocess) -> lake, Cassandra, fx.alerts; compared with the batch twins of the
same code (`fxtrue detect`, trend_aggregates on the files).

One run covers the acceptance of issue 4 (kept lean for a 2-core CI):
  * thresholds v1 learnt from clean simulated hours (window_statistics -> fxtrue.baselines), published;
  * clean simulated hours through `fxtrue detect`: the false-alert rate (printed, bounded);
  * part 1 replayed, the job killed with SIGKILL mid-stream and restarted from its checkpoints;
  * v2 published while the job runs: the job switches without a restart (same pid);
  * part 2 (+ a few malformed records) replayed, the job killed with SIGKILL again with part 2 in flight and
    restarted (the fault suite adds five kills in one replay: `make fault`); then lake, ticks, trends and
    alerts must equal their batch twins over the same files (no loss, no duplicates), each labelled scenario
    must have an alert of its detector within one window of its start, alerts before the switch carry v1 and
    after it v2, and the DLQ holds the malformed records.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

import pytest
from isolation import module_world
from pyspark.sql import functions as F

from fxtrue.simulator.files import format_lines
from fxtrue.simulator.market import MarketModel
from fxtrue.simulator.scenarios import Scenario, iso_ms, parse_iso_ms, write_labels

pytestmark = [pytest.mark.e2e]

FXTRUE = str(Path(sys.executable).with_name("fxtrue"))
RATE = 0.5  # reduced quote rates keep the data small (lower rates make 60 s gaps ordinary)
HOURS = (9, 12)  # learn / clean-check over these UTC hours; the scenarios run in hour 10
LEARN_DAY, CLEAN_DAY, RUN_DAY = "2026-11-03", "2026-11-04", "2026-11-05"
PART1 = ("10:00:00", "10:10:00")
PART2 = ("10:10:00", "10:20:00")
FLUSH_AT = "10:20:40"  # one tick per pair: moves the watermark past the end of the data
SCENARIOS = [  # kind, pair, start, duration s, magnitude -> expected detector
    ("crossed_quote", "EUR/USD", "10:01:00", 2, 4, "spread"),
    ("quote_stuffing", "GBP/USD", "10:02:00", 40, 30, "tick_rate"),
    ("price_spike", "USD/JPY", "10:04:00", 2, 40, "price_jump"),
    ("spread_blowout", "EUR/USD", "10:11:00", 40, 15, "spread"),
    ("feed_stall", "AUD/USD", "10:12:00", 180, 1.0, "stale_feed"),
    ("cross_rate_break", "EUR/JPY", "10:16:00", 40, 15, "cross_rate"),
]
WAIT_S = 900  # liveness bound for each stage on a loaded machine (not a speed assertion)


def ms(day: str, hms: str) -> int:
    return parse_iso_ms(f"{day}T{hms}Z")


def write_ticks(folder: Path, model: MarketModel, start_ms: int, end_ms: int, scenarios=()) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    chunk = model.generate(start_ms, end_ms, scenarios)
    for k, pair in enumerate(model.pairs):
        sel = chunk.pair_index == k
        if sel.any():
            (folder / f"{pair.replace('/', '')}.csv").write_bytes(
                format_lines(pair, chunk.ts[sel], chunk.bid[sel], chunk.ask[sel]))
    return len(chunk)


def run_cli(*args, env, timeout=WAIT_S):
    out = subprocess.run([FXTRUE, *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"fxtrue {' '.join(args)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout


def read_alert_csv(path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def wait_for(what, predicate, timeout=WAIT_S, every=3.0, proc=None, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"streaming job exited ({proc.returncode}) while waiting for {what}:\n"
                        + (Path(log).read_text()[-5000:] if log else ""))
        time.sleep(every)
    pytest.fail(f"timed out waiting for {what}" + (f":\n{Path(log).read_text()[-5000:]}" if log else ""))


# Own keyspace and topics: other tests of the session write alerts, ticks and thresholds of their own.
settings, cql = module_world("e")


@pytest.fixture(scope="module")
def world(settings, tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    env = {**os.environ,
           "FXTRUE_STATE_DIR": str(settings.state_dir),
           "FXTRUE_CASSANDRA_KEYSPACE": settings.cassandra.keyspace,
           "FXTRUE_KAFKA_TOPIC_TICKS": settings.kafka.topic_ticks,
           "FXTRUE_KAFKA_TOPIC_DLQ": settings.kafka.topic_dlq,
           "FXTRUE_KAFKA_TOPIC_ALERTS": settings.kafka.topic_alerts,
           "FXTRUE_SPARK_LAKE_PATH": settings.lake_path,
           "FXTRUE_SPARK_CHECKPOINT_DIR": settings.checkpoint_dir,
           "FXTRUE_SPARK_TRIGGER_SECONDS": "2",
           "FXTRUE_SPARK_LAKE_TRIGGER_SECONDS": "2",
           "FXTRUE_SPARK_SHUFFLE_PARTITIONS": "2",
           "FXTRUE_DETECTORS_VERSION_CHECK_SECONDS": "3"}
    learn = MarketModel(seed=21, rate_scale=RATE)
    write_ticks(root / "learn", learn, ms(LEARN_DAY, f"{HOURS[0]:02d}:00:00"), ms(LEARN_DAY, f"{HOURS[1]:02d}:00:00"))
    clean = MarketModel(seed=22, rate_scale=RATE)
    write_ticks(root / "clean", clean, ms(CLEAN_DAY, f"{HOURS[0]:02d}:00:00"), ms(CLEAN_DAY, f"{HOURS[1]:02d}:00:00"))
    run = MarketModel(seed=23, rate_scale=RATE)
    scs = [Scenario(k, p, ms(RUN_DAY, t), d, m) for k, p, t, d, m, _ in SCENARIOS]
    write_labels(scs, root / "labels.csv")
    n1 = write_ticks(root / "part1", run, ms(RUN_DAY, PART1[0]), ms(RUN_DAY, PART1[1]), scs)
    n2 = write_ticks(root / "part2", run, ms(RUN_DAY, PART2[0]), ms(RUN_DAY, PART2[1]), scs)
    flush_ms = ms(RUN_DAY, FLUSH_AT)
    mids = run.mids()
    (root / "flush").mkdir()
    for k, pair in enumerate(run.pairs):
        m = mids[pair]
        (root / "flush" / f"{pair.replace('/', '')}.csv").write_bytes(
            format_lines(pair, [flush_ms + k], [m * 0.99999], [m * 1.00001]))
    return {"root": root, "env": env, "n_ticks": n1 + n2 + len(run.pairs), "scenarios": scs}


def learn_thresholds(spark, settings, folder, version):
    from fxtrue.baselines import build_thresholds, summarize
    from fxtrue.detectors import window_statistics
    from fxtrue.history import read_history

    ticks, _ = read_history(spark, [str(folder)])
    values = defaultdict(list)
    for r in window_statistics(ticks, settings.detectors).select("detector", "subject", "hour", "value").collect():
        if r["value"] is not None:
            values[(r["detector"], r["subject"], r["hour"])].append(r["value"])
    buckets = [summarize(d, s, h, v) for (d, s, h), v in sorted(values.items())]
    return build_thresholds(buckets, settings.detectors, source_kind="history", source_from=None, source_to=None,
                            tick_count=0, code_version="e2e", version=version)


def publish(cql, settings, t):
    from fxtrue import thresholds

    published = dataclasses.replace(t, status="published")
    thresholds.write_version(cql, settings, published, dq_success=True, dq_summary="e2e")
    thresholds.move_pointer(cql, settings, t.version)


def heartbeat(cql, settings):
    from fxtrue.heartbeats import read_all

    return read_all(cql, settings).get("streaming")


def watermark_at_least(settings, query, target_ms):
    """True when a committed micro-batch of `query` ran with a watermark >= target (its windows ending before
    it are written). Read from the checkpoint, so it holds whichever process committed the batch."""
    from fxtrue.checkpoints import committed

    c = committed(Path(settings.checkpoint_dir) / "streaming" / query)
    return c is not None and c.watermark_ms >= target_ms


def caught_up(settings, final_watermark_ms, proc, log):
    """Every query has committed the topic's end offsets, the stateful ones with the given watermark."""
    from fxtrue import checkpoints, kafka
    from jobs.streaming.job import STORING_QUERIES

    def alive():
        if proc.poll() is not None:
            pytest.fail(f"streaming job exited ({proc.returncode}) while catching up:\n{Path(log).read_text()[-5000:]}")

    try:
        checkpoints.wait_caught_up(f"{settings.checkpoint_dir}/streaming",
                                   lambda: kafka.end_offsets(settings, settings.kafka.topic_ticks),
                                   final_watermark_ms, WAIT_S, queries=STORING_QUERIES, on_poll=alive)
    except TimeoutError as exc:
        pytest.fail(f"{exc}:\n{Path(log).read_text()[-5000:]}")


def job_alive(cql, settings, pid, version=None):
    hb = heartbeat(cql, settings)
    return hb is not None and hb.pid == pid and (version is None or hb.info.get("thresholds_version") == version)


def start_stream(env, log):
    fh = open(log, "ab")
    return subprocess.Popen([FXTRUE, "stream"], env=env, stdout=fh, stderr=subprocess.STDOUT,
                            start_new_session=True)


def cassandra_alerts(cql, settings, day):
    rows = cql.execute(f"SELECT * FROM {settings.cassandra.keyspace}.alerts_by_day WHERE day = %s", (day,))
    return [r._asdict() for r in rows]


def test_stream_end_to_end(settings, cql, spark, world):
    root, env = world["root"], world["env"]
    log = root / "stream.log"
    end_ms = ms(RUN_DAY, PART2[1])
    v1 = learn_thresholds(spark, settings, root / "learn", "ve2e1")
    v1.to_file(root / "v1.json")

    # -- clean data through `fxtrue detect`: false alerts per pair per 24 simulated hours
    run_cli("detect", "--ticks", str(root / "clean"), "--thresholds", str(root / "v1.json"),
            "--out", str(root / "clean.csv"), env=env)
    false = read_alert_csv(root / "clean.csv")
    hours = HOURS[1] - HOURS[0]
    per_pair = Counter(a["pair"] for a in false)
    rate = len(false) / (15 * hours) * 24
    print(f"clean data: {len(false)} alert(s) over 15 pairs x {hours} simulated hours = {rate:.2f} per pair per "
          f"24 h; by pair {dict(per_pair)}")
    assert rate <= 1.0 and max(per_pair.values(), default=0) <= 1, false

    # -- the streaming run: part 1, kill -9, restart, reload to v2, part 2
    publish(cql, settings, v1)
    job = start_stream(env, log)
    try:
        run_cli("produce", "replay", str(root / "part1"), "--speed", "0", "--no-heartbeat", env=env)
        wait_for("a first alert", lambda: [a for a in cassandra_alerts(cql, settings, datetime(2026, 11, 5).date())
                                           if a["window_start"] >= datetime(2026, 11, 5, 10, 1)],
                 proc=job, log=log)
        os.killpg(job.pid, signal.SIGKILL)  # kill -9 the job (python driver and its JVM) mid-stream
        job.wait(timeout=60)

        job = start_stream(env, log)
        wait_for("the restarted job's heartbeat", lambda: job_alive(cql, settings, job.pid, "ve2e1"),
                 proc=job, log=log)
        wait_for("part 1 judged", lambda: watermark_at_least(settings, "fast", ms(RUN_DAY, PART1[1]) - 35_000),
                 proc=job, log=log)
        v2 = dataclasses.replace(v1, version="ve2e2")
        v2.to_file(root / "v2.json")
        publish(cql, settings, v2)
        wait_for("the same job to switch to v2", lambda: job_alive(cql, settings, job.pid, "ve2e2"),
                 proc=job, log=log)

        from fxtrue import kafka
        bad = kafka.producer(settings, component="producer")
        kafka.send(bad, settings.kafka.topic_ticks, b"{not json", key=b"EUR/USD")
        kafka.send(bad, settings.kafka.topic_ticks, json.dumps(
            {"v": 1, "pair": "EUR/XXX", "ts": end_ms, "bid": 1.0, "ask": 1.1, "source": "sim",
             "received_at": end_ms}).encode(), key=b"EUR/USD")
        run_cli("produce", "replay", str(root / "part2"), str(root / "flush"), "--speed", "0", "--no-heartbeat",
                env=env)
        # a second kill -9 at another point: right after the replay, with part 2 in flight
        os.killpg(job.pid, signal.SIGKILL)
        job.wait(timeout=60)
        job = start_stream(env, log)
        wait_for("the second restart's heartbeat", lambda: job_alive(cql, settings, job.pid, "ve2e2"),
                 proc=job, log=log)
        # done = every query committed the topic's end offsets, and the windowed ones ran with a watermark
        # past the end of the data (the flush ticks move it there)
        caught_up(settings, end_ms, job, log)
    finally:
        if job.poll() is None:
            # SIGTERM to the driver only (as a supervisor does): it stops the queries, then its JVM.
            os.kill(job.pid, signal.SIGTERM)
            try:
                job.wait(timeout=180)
            except subprocess.TimeoutExpired:
                os.killpg(job.pid, signal.SIGKILL)
                job.wait(timeout=30)

    # -- batch twins over the same files
    from fxtrue.history import read_history
    from jobs.streaming.transformations import trend_aggregates

    files = [str(root / "part1"), str(root / "part2"), str(root / "flush")]
    ticks, _ = read_history(spark, files)
    truth = {(r["pair"], r["ts"]) for r in ticks.select("pair", F.unix_millis("ts").alias("ts")).collect()}
    assert len(truth) == world["n_ticks"]

    lake = spark.read.parquet(f"{settings.lake_path}/live").select("pair", F.unix_millis("ts").alias("ts")).collect()
    assert len(lake) == len(truth) and {(r["pair"], r["ts"]) for r in lake} == truth, "lake: no loss, no dups"

    stored = set()
    for p in settings.truefx.pairs:
        for r in cql.execute("SELECT pair, ts FROM ticks_by_pair_day WHERE pair = %s AND day = %s",
                             (p, datetime(2026, 11, 5).date())):
            stored.add((r.pair, int(r.ts.replace(tzinfo=timezone.utc).timestamp() * 1000)))
    assert stored == truth, "Cassandra ticks equal the files"

    closed = F.col("window_end") <= F.lit(datetime(2026, 11, 5, 10, 20))
    want_trends = {(r["pair"], r["ws"]): (r["tick_count"], r["mean_mid"]) for r in
                   trend_aggregates(ticks, settings.detectors).where(closed)
                   .select("pair", F.unix_millis("window_start").alias("ws"), "tick_count", "mean_mid").collect()}
    got_trends = {}
    for p in settings.truefx.pairs:
        for r in cql.execute("SELECT * FROM trends_by_pair_day WHERE pair = %s AND day = %s",
                             (p, datetime(2026, 11, 5).date())):
            ws = int(r.window_start.replace(tzinfo=timezone.utc).timestamp() * 1000)
            if r.window_end <= datetime(2026, 11, 5, 10, 20):
                got_trends[(r.pair, ws)] = (r.tick_count, r.mean_mid)
    assert got_trends.keys() == want_trends.keys()
    assert all(got_trends[k][0] == want_trends[k][0] and got_trends[k][1] == pytest.approx(want_trends[k][1])
               for k in want_trends)

    run_cli("detect", "--ticks", *files, "--thresholds", str(root / "v1.json"), "--out", str(root / "run.csv"),
            env=env)
    detected = {(a["detector"], a["subject"], parse_iso_ms(a["window_start"])) for a in read_alert_csv(root / "run.csv")
                if parse_iso_ms(a["window_end"]) <= end_ms}
    alerts = [a for a in cassandra_alerts(cql, settings, datetime(2026, 11, 5).date())
              if "processing time" not in (a["details"] or "")]
    for a in alerts:
        a["ws"] = int(a["window_start"].replace(tzinfo=timezone.utc).timestamp() * 1000)
        a["we"] = int(a["window_end"].replace(tzinfo=timezone.utc).timestamp() * 1000)
    streamed = {(a["detector"], a["subject"], a["ws"]) for a in alerts if a["we"] <= end_ms}
    assert streamed == detected, f"only stream: {streamed - detected}; only detect: {detected - streamed}"

    switch = ms(RUN_DAY, PART1[1])
    assert {a["thresholds_version"] for a in alerts if a["we"] <= switch - 40_000} == {"ve2e1"}
    assert {a["thresholds_version"] for a in alerts if a["ws"] >= switch} == {"ve2e2"}

    w = settings.detectors.window_seconds * 1000
    for (kind, pair, start, _d, _m, detector), sc in zip(SCENARIOS, world["scenarios"]):
        hits = [a for a in alerts if a["detector"] == detector and pair in
                [p.removeprefix("1/") for p in a["subject"].replace("~", "*").split("*")]
                and sc.start_ms - w <= a["ws"] <= sc.start_ms + w]
        assert hits, f"{kind} on {pair} at {start}: no {detector} alert within one window"

    from fxtrue.kafka import records
    keys = set()
    for m in records(settings, settings.kafka.topic_alerts, component="admin", idle_s=5):
        keys.add(m.key.decode())
        assert json.loads(m.value)["alert_id"] == m.key.decode()
    dlq = [json.loads(m.value) for m in records(settings, settings.kafka.topic_dlq, component="admin", idle_s=5)]
    # Processing-time stale_feed alerts of pairs not seen since the restart are dated by the wall clock.
    days = {datetime(2026, 11, 5).date()} | {datetime.fromisoformat(k.split("|")[2].replace("Z", "+00:00")).date()
                                            for k in keys}
    all_ids = {f"{a['detector']}|{a['subject']}|{iso_ms(a['ws'])}"
               for a in [dict(x, ws=int(x["window_start"].replace(tzinfo=timezone.utc).timestamp() * 1000))
                         for d in days for x in cassandra_alerts(cql, settings, d)]}
    assert keys == all_ids, "fx.alerts carries every alert once per id"
    reasons = {d["reason"] for d in dlq}
    assert "not JSON" in reasons and any(r.startswith("unknown pair") for r in reasons), reasons

    hb = heartbeat(cql, settings)
    assert hb.status in ("running", "stopped")
    assert hb.metrics.get("fast.batch_id", -1) >= 0 and "fast.batch_duration_ms" in hb.metrics
