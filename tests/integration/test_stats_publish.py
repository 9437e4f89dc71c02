"""Batch layer against the real stack: 7 simulated days -> lake -> `stats --publish` gives a complete, published
version; corrupted history fails the gate, is stored as rejected, the pointer stays and the Data Docs show why.

Small data for CI: all 15 pairs at rate scale 0.05 (about 0.05 ticks/s per pair, 340k ticks in 7 days).
"""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from fxtrue.thresholds import Thresholds, current_version, load_version

D0, D1 = date(2026, 11, 2), date(2026, 11, 8)  # Monday .. Sunday


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    from fxtrue.simulator import simulate_files

    out = tmp_path_factory.mktemp("history")
    simulate_files(out, D0, 7, rate_scale=0.05, seed=11)
    return out


@pytest.fixture(scope="module")
def stats_settings(settings, tmp_path_factory):
    """Own keyspace: other tests of the session publish (or seed) threshold versions of their own."""
    from isolation import isolated

    with isolated(settings, "s") as s:
        yield s.replace(dq={"context_dir": str(tmp_path_factory.mktemp("gx"))})


@pytest.fixture(scope="module")
def first_version(spark, stats_settings, history, tmp_path_factory):
    """Backfill the history into the test lake, then `fxtrue stats --publish --out` over it."""
    from fxtrue.commands.stats import compute_and_publish
    from fxtrue.history import read_history
    from fxtrue.lake import write_history

    ticks, _ = read_history(spark, [history])
    write_history(ticks, stats_settings)
    out = tmp_path_factory.mktemp("out") / "thresholds.json"
    t = compute_and_publish(stats_settings, D0, D1, ["lake"], out=str(out), publish=True)
    return t, out


def test_publish_covers_every_pair_hour_and_detector(first_version, stats_settings, cql, history):
    from fxtrue.dq.runner import recent_runs
    from jobs.batch.stats import expected

    t, out = first_version
    assert t.status == "published"
    assert current_version(cql, stats_settings) == t.version
    stored = load_version(cql, stats_settings, t.version)
    keys = set(stored.lookup())
    assert keys == expected(stats_settings) and len(keys) == (5 * 15 + 10) * 24
    assert stored.status == "published" and stored.source_kind == "history"
    assert (stored.source_from, stored.source_to) == (D0, D1)
    # A tick is identified by (pair, ts): the rare same-millisecond quote collapses in the lake.
    distinct = len({tuple(ln.split(",")[:2]) for f in history.glob("*-2026-11.csv") for ln in f.open()})
    assert stored.tick_count == distinct
    assert stored.code_version.startswith("0.")
    meta = cql.execute(f"SELECT dq_success, row_count FROM {stats_settings.cassandra.keyspace}."
                       "threshold_versions_by_id WHERE version = %s", (t.version,)).one()
    assert meta.dq_success is True and meta.row_count == len(keys)
    # Zero-tick windows count: every tick_rate bucket holds all 360 windows of each of its open days.
    tick_rate = [r for r in stored.rows if r.detector == "tick_rate"]
    assert {r.n for r in tick_rate if r.hour not in (22, 23)} == {5 * 360}  # Mon-Fri
    assert {r.n for r in tick_rate if r.hour in (22, 23)} == {5 * 360}  # Mon-Thu + Sunday
    assert Thresholds.from_file(out).version == t.version
    for suite in ("ticks", "ticks_daily", "thresholds"):
        runs = recent_runs(cql, stats_settings, suite)
        assert runs and runs[0].success, suite


def test_spark_and_duckdb_agree_on_tick_rate_statistics(first_version, stats_settings):
    from jobs.batch.duckdb_reference import parquet_glob, tick_rate_stats

    t, _ = first_version
    spark_rows = t.lookup()
    df = tick_rate_stats(parquet_glob(stats_settings.lake_path), D0, D1, stats_settings.truefx.pairs,
                         stats_settings.detectors.window_seconds)
    assert len(df) == 15 * 24
    for r in df.itertuples():
        s = spark_rows[("tick_rate", r.subject, r.hour)]
        assert (s.n, s.median, s.max) == (r.n, r.median, r.max)
        for f in ("mean", "std", "mad", "p99", "p999"):
            assert getattr(s, f) == pytest.approx(getattr(r, f), rel=1e-9, abs=1e-12), (r.subject, r.hour, f)


def test_a_clean_simulated_day_stays_under_one_false_alert_per_pair(first_version, spark, stats_settings,
                                                                     tmp_path):
    """The published thresholds on a clean simulated day they were not learnt from (other seed, the Tuesday
    after): at most 1 false alert per pair per 24 simulated hours, on average over the 15 pairs."""
    from fxtrue.commands.detect import detect
    from fxtrue.detectors.judge import collect_alerts
    from fxtrue.simulator import simulate_files

    t, _ = first_version
    simulate_files(tmp_path, date(2026, 11, 10), 1, rate_scale=0.05, seed=12)
    alerts, rejects = detect(spark, stats_settings, [str(tmp_path)], t)
    found = collect_alerts(alerts)
    by_detector = Counter(a["detector"] for a in found)
    rate = len(found) / 15
    print(f"clean simulated day: {len(found)} alert(s) over 15 pairs x 24 h = {rate:.2f} per pair per 24 h; "
          f"by detector {dict(by_detector)}")
    assert rejects.count() == 0
    assert rate <= 1.0, found


def _corrupt(src: Path, dst: Path) -> None:
    """A duplicated day (2026-11-03 appended again to every file), EUR/USD prices x100, AUD/NZD missing."""
    dst.mkdir()
    for f in sorted(src.glob("*-2026-11.csv")):  # not labels.csv
        if f.name.startswith("AUDNZD"):
            continue
        lines = f.read_text().splitlines()
        if f.name.startswith("EURUSD"):
            lines = [f"{p},{t},{float(b) * 100:.5f},{float(a) * 100:.5f}"
                     for p, t, b, a in (ln.split(",") for ln in lines)]
        lines += [ln for ln in lines if ln.split(",")[1].startswith("20261103")]
        (dst / f.name).write_text("\n".join(lines) + "\n")


def test_corrupted_history_fails_the_gate_and_the_pointer_stays(first_version, stats_settings, cql, history,
                                                                tmp_path):
    from fxtrue.commands.stats import compute_and_publish
    from fxtrue.dq.runner import GateFailed

    good, _ = first_version
    bad_dir = tmp_path / "corrupted"
    _corrupt(history, bad_dir)
    with pytest.raises(GateFailed) as info:
        compute_and_publish(stats_settings, D0, D1, [str(bad_dir)], publish=True)
    failing = set(info.value.failing)
    assert {"ticks.pair_ts_unique", "ticks_daily.day_completeness",  # the duplicated day
            "ticks.price_level_plausible", "thresholds.cross_rates_agree",  # EUR/USD x100
            "ticks_daily.every_pair_has_a_profile", "thresholds.every_pair_hour_detector_present",  # AUD/NZD
            } <= failing, failing
    # The missing pair also leaves its tick_rate buckets all zero (std 0); prices stay positive.
    assert "thresholds.std_positive" in failing and "ticks.bid_positive" not in failing
    assert "AUD/NZD" in str(info.value) or "AUD/NZD" in " ".join(
        r.dq_summary for r in cql.execute(f"SELECT dq_summary FROM {stats_settings.cassandra.keyspace}."
                                          "threshold_versions_by_id") if r.dq_summary)
    assert current_version(cql, stats_settings) == good.version

    ks = stats_settings.cassandra.keyspace
    rejected = [r for r in cql.execute(f"SELECT version, status, dq_success, dq_summary FROM {ks}."
                                       "threshold_versions_by_id") if r.version != good.version]
    assert len(rejected) == 1 and rejected[0].status == "rejected" and rejected[0].dq_success is False
    assert "FAILED ticks.price_level_plausible" in rejected[0].dq_summary

    # The Data Docs: the failing run's page names the failing expectations, the index lists the runs.
    docs = Path(stats_settings.dq_docs_dir)
    pages = {p.read_text() for p in docs.glob("validations/**/*.html")}
    failed_pages = [html for html in pages if "Failed" in html]
    for name in ("pair_ts_unique", "price_level_plausible", "day_completeness", "every_pair_has_a_profile",
                 "every_pair_hour_detector_present", "cross_rates_agree"):
        assert any(name in html for html in failed_pages), name
    assert (docs / "index.html").is_file() and "ticks_daily" in (docs / "index.html").read_text()
    shutil.rmtree(bad_dir)
