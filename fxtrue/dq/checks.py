"""The data-quality gates the batch layer applies: ticks (rows + daily completeness) and thresholds."""

from __future__ import annotations

from datetime import date
from typing import Callable, Sequence

from fxtrue.dq import suites
from fxtrue.dq.runner import Runner, SuiteResult
from fxtrue.settings import Settings
from fxtrue.thresholds import Thresholds


def check_ticks(runner: Runner, ticks, settings: Settings, date_from: date, date_to: date, *,
                reference=None, target: str = "",
                progress: Callable[[str], None] = lambda msg: None) -> list[SuiteResult]:
    """The ticks suites over the ticks of [date_from, date_to] (a Spark DataFrame, all rows).

    `reference`: ticks of a longer period (including the checked days) to learn the intraday profile from;
    by default the checked ticks themselves.
    """
    target = target or f"ticks {date_from}..{date_to}"
    frame = suites.ticks_frame(ticks).cache()
    try:
        rows = runner.validate(suites.ticks_suite(settings, date_from, date_to), frame, target=target,
                               kind="spark")
    finally:
        frame.unpersist()
    progress(rows.summary())
    daily = suites.daily_completeness(reference if reference is not None else ticks, settings.truefx.pairs,
                                      date_from, date_to)
    days = runner.validate(suites.ticks_daily_suite(settings), daily, target=target, kind="pandas",
                           index_columns=["pair", "day"])
    progress(days.summary())
    return [rows, days]


def check_thresholds(runner: Runner, t: Thresholds, settings: Settings, previous: Thresholds | None = None, *,
                     triangle_subjects: Sequence[str] | None = None,
                     progress: Callable[[str], None] = lambda msg: None) -> SuiteResult:
    from fxtrue.detectors.triangles import triangles

    pairs = settings.truefx.pairs
    subjects = triangle_subjects if triangle_subjects is not None else [x.subject for x in triangles(pairs)]
    frame = suites.thresholds_frame(t, pairs, subjects, previous)
    target = f"thresholds {t.version} ({t.source_kind} {t.source_from}..{t.source_to})"
    if previous is not None:
        target += f" vs {previous.version}"
    result = runner.validate(suites.thresholds_suite(settings), frame, target=target, kind="pandas",
                             index_columns=["detector", "subject", "hour"])
    progress(result.summary())
    return result
