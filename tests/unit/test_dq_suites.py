"""Great Expectations suites: each failure is named, warnings do not block, the Data Docs show the names."""

from __future__ import annotations

import dataclasses
import math
from datetime import date, datetime

import pytest

from fxtrue.baselines import CROSS_RATE, PAIR_DETECTORS, TICK_RATE_LOW, build_thresholds, summarize
from fxtrue.settings import load_settings

PAIRS = ("EUR/USD", "USD/JPY", "EUR/JPY")
TRIANGLE = "EUR/USD*USD/JPY~EUR/JPY"


@pytest.fixture()
def dq_settings(tmp_path):
    return load_settings({}).replace(
        state_dir=tmp_path, truefx={"pairs": PAIRS},
        dq={"context_dir": str(tmp_path / "gx"), "docs_dir": str(tmp_path / "docs")})


@pytest.fixture()
def runner(dq_settings):
    from fxtrue.dq.runner import Runner

    return Runner(dq_settings)


def _complete(settings, scale: float = 1.0):
    stats = [summarize(d, p, h, [scale * (1 + (i * 7 + h) % 11) for i in range(40)])
             for d in PAIR_DETECTORS if d != TICK_RATE_LOW for p in PAIRS for h in range(24)]
    stats += [summarize(CROSS_RATE, TRIANGLE, h, [0.1 * (1 + i % 5) for i in range(40)]) for h in range(24)]
    return build_thresholds(stats, settings.detectors, source_kind="sim", source_from=date(2026, 11, 2),
                            source_to=date(2026, 11, 8), tick_count=1000, code_version="test")


def _check(runner, settings, t, previous=None):
    from fxtrue.dq.checks import check_thresholds

    return check_thresholds(runner, t, settings, previous, triangle_subjects=[TRIANGLE])


def test_a_complete_thresholds_set_passes(runner, dq_settings):
    t = _complete(dq_settings)
    assert len(t.rows) == (5 * 3 + 1) * 24
    result = _check(runner, dq_settings, t)
    assert result.success and result.failing == [] and result.evaluated == 7


def test_each_thresholds_defect_is_named(runner, dq_settings):
    t = _complete(dq_settings)
    rows = [r for r in t.rows if not (r.detector == "spread" and r.subject == "USD/JPY" and r.hour == 5)]
    rows = [dataclasses.replace(r, std=0.0) if (r.detector, r.subject, r.hour) == ("tick_rate", "EUR/USD", 1)
            else dataclasses.replace(r, n=3) if (r.detector, r.subject, r.hour) == ("price_jump", "EUR/JPY", 2)
            else dataclasses.replace(r, threshold=math.nan) if (r.detector, r.hour) == (CROSS_RATE, 3)
            else r for r in rows]
    t.rows = rows
    result = _check(runner, dq_settings, t)
    names = {f.split(":")[0] for f in result.failing}
    assert names == {"every_pair_hour_detector_present", "std_positive", "enough_samples", "no_nan_or_inf"}
    missing = next(f for f in result.failing if f.startswith("every_pair_hour_detector_present"))
    assert "spread USD/JPY 5" in missing  # the failing row is named, not just counted


def test_a_large_change_against_the_previous_version_only_warns(runner, dq_settings):
    previous = _complete(dq_settings)
    t = _complete(dq_settings, scale=10.0)  # every statistic x10: thresholds change by up to x10
    result = _check(runner, dq_settings, t, previous)
    assert result.success
    assert [w.split(":")[0] for w in result.warnings] == ["change_vs_previous"]


def test_data_docs_show_the_failing_expectations(runner, dq_settings):
    from pathlib import Path

    t = _complete(dq_settings)
    t.rows = [r for r in t.rows if r.subject != "USD/JPY"]  # a missing pair
    result = _check(runner, dq_settings, t)
    assert not result.success
    page = Path(result.docs_url.removeprefix("file://"))
    html = page.read_text()
    assert page.is_relative_to(Path(dq_settings.dq_docs_dir)) and "every_pair_hour_detector_present" in html
    assert "Failed" in html
    index = Path(runner.build_docs().removeprefix("file://")).read_text()
    assert "thresholds" in index


def test_the_ticks_suites_catch_scaled_prices_duplicates_and_a_missing_pair(spark, runner, dq_settings):
    from fxtrue.dq.checks import check_ticks
    from fxtrue.frames import TICK_SCHEMA

    day = date(2026, 11, 2)

    def tick(pair, minute, bid, ask, second=0):
        return (pair, datetime(2026, 11, 2, 12, minute, second), bid, ask, None, None, None, "sim", None)

    good = [tick("EUR/USD", m, 1.1, 1.1001) for m in range(50)] + [tick("USD/JPY", m, 150.0, 150.01)
                                                                   for m in range(50)]
    good.append(tick("EUR/USD", 55, 1.1002, 1.1001))  # one crossed quote: valid, within the share
    clean = spark.createDataFrame(good + [tick("EUR/JPY", m, 162.0, 162.02) for m in range(50)], TICK_SCHEMA)
    rows, days = check_ticks(runner, clean, dq_settings, day, day)
    assert rows.success and days.success, (rows.failing, days.failing)

    bad = good + [tick("EUR/USD", m, 1.1, 1.1001) for m in range(20)]  # duplicated rows
    bad = [(p, ts, b * 100, a * 100, *rest) if p == "USD/JPY" else (p, ts, b, a, *rest)
           for p, ts, b, a, *rest in bad]  # USD/JPY x100; EUR/JPY missing
    bad_df = spark.createDataFrame(bad, TICK_SCHEMA)
    rows, days = check_ticks(runner, bad_df, dq_settings, day, day)
    assert {f.split(":")[0] for f in rows.failing} == {"price_level_plausible", "pair_ts_unique"}
    # Judged on verdicts first, then validated again for the details of what failed: counts and samples.
    level = next(f for f in rows.failing if f.startswith("price_level_plausible"))
    assert "50 unexpected" in level and "e.g. 120" in level, level  # USD/JPY x100: 120x its reference
    assert {f.split(":")[0] for f in days.failing} == {"every_pair_has_a_profile", "day_completeness"}
    assert "EUR/JPY" in " ".join(days.failing)

    # The benchmark's one-pass reference counts the same conditions on the same rows.
    from fxtrue.bench.dq import one_pass_counts
    from fxtrue.dq.suites import ticks_frame

    counts = one_pass_counts(ticks_frame(bad_df), dq_settings, day, day)
    assert (counts["rows"], counts["rows"] - counts["distinct_pair_ts"]) == (len(bad), 20)
    assert (counts["implausible_level"], counts["crossed"], counts["ts_out_of_range"]) == (50, 1, 0)
