"""Baseline rules: per-bucket statistics of a detector's window statistic -> thresholds (pure Python).

A bucket is (detector, subject, UTC hour-of-day). Its statistics (`BucketStats`) come from the batch job
(jobs/batch/stats.py) over every window of that hour in the source range, zero-tick windows included; the
statistics of a bucket are defined once, here (`summarize`), and the batch job applies that to each bucket.

Rules (k and floors from settings.detectors; MAD scaled by 1.4826 estimates sigma for normal data, and keeps
the bound honest when a few outliers inflate std):

  upper (all five detectors; a window alerts when value > threshold):
      threshold = max(mean + k*std, median + k*1.4826*MAD, floor)
      stale_feed adds a tail term: max(..., stale_tail_factor * p99.9). Gaps between quotes are roughly
      exponential (std = mean), so mean + 6*std is passed by about e^-7 of all gaps: a pair quoting every
      20 s has ~4,300 gaps a day and would raise ~4 false stale_feed alerts a day. p99.9 of the learnt gaps
      (about 6.9 x mean for exponential gaps) times 1.5 puts that near e^-10: under 0.2 a day. p99.9 rather
      than the max keeps one stall in the learning range from lifting the bound.
  lower ("tick_rate_low" rows, the feed-drought bound of tick_rate; a window alerts when value < threshold):
      threshold = max(0, min(mean - k_low*std, median - k_low*1.4826*MAD))
      0 means "no drought bound": the bucket is too quiet for a 10 s tick count to say anything (stale_feed
      covers silence there).

Sparse buckets: a bucket with fewer than settings.detectors.min_samples windows, or a degenerate one
(std not > 0: e.g. every price_jump window of a quiet hour held a single tick), or none at all (a triangle
whose three pairs never quoted in the same window of that hour) takes the statistics of its subject pooled
over all open hours (BucketStats with hour ALL_HOURS) instead; its rule then starts with
"pooled over all hours (bucket n=K)" and n is the pooled count. The gate still checks n, std and presence,
so a subject with no usable data at all (a missing pair) fails.

The drought bound is a second row kind rather than text in `rule`, so consumers read it with the same
lookup: thresholds.lookup()[("tick_rate_low", pair, hour)]. Its statistics columns repeat the tick_rate
bucket's; `rule` states the formula with its numbers.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Iterable, Mapping, Sequence

import numpy as np

from fxtrue.settings import DetectorSettings
from fxtrue.thresholds import SOURCE_KINDS, ThresholdRow, Thresholds, new_version_id

TICK_RATE, PRICE_JUMP, SPREAD, STALE_FEED, CROSS_RATE = (
    "tick_rate", "price_jump", "spread", "stale_feed", "cross_rate")
DETECTORS = (TICK_RATE, PRICE_JUMP, SPREAD, STALE_FEED, CROSS_RATE)
TICK_RATE_LOW = "tick_rate_low"
# The row kinds a complete thresholds set holds for every subject and hour.
ROW_KINDS = DETECTORS + (TICK_RATE_LOW,)
PAIR_DETECTORS = (TICK_RATE, PRICE_JUMP, SPREAD, STALE_FEED, TICK_RATE_LOW)
MAD_TO_SIGMA = 1.4826
ALL_HOURS = -1  # BucketStats.hour of a subject's statistics pooled over every open hour


@dataclass(frozen=True)
class BucketStats:
    """Statistics of one detector's window statistic over one (subject, hour) bucket."""

    detector: str
    subject: str
    hour: int
    n: int
    mean: float
    std: float
    median: float
    mad: float
    p99: float
    p999: float
    max: float


def percentiles(sorted_values: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """Linear-interpolation percentiles (each q in [0, 1]) of sorted values: position q*(n-1) between the two
    nearest values, the definition of Spark's exact `percentile`. NaN for no values."""
    if len(sorted_values) == 0:
        return np.full(len(qs), np.nan)
    pos = np.asarray(qs, dtype=float) * (len(sorted_values) - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """One linear-interpolation percentile (q in [0, 1]) of sorted values (see `percentiles`)."""
    return float(percentiles(np.asarray(sorted_values, dtype=float), [q])[0])


def summarize(detector: str, subject: str, hour: int, values: Iterable[float] | np.ndarray) -> BucketStats:
    """The bucket statistics of a detector's window values: n, mean, sample std, median, MAD (median absolute
    deviation from the median), p99, p99.9 and max; NaN where undefined (std of one value, all of none). The
    one definition: the batch job applies it to every bucket (jobs/batch/stats.bucket_statistics)."""
    xs = np.sort(np.asarray(values if isinstance(values, np.ndarray) else list(values), dtype=float))
    n = len(xs)
    if n == 0:
        nan = float("nan")
        return BucketStats(detector, subject, hour, 0, nan, nan, nan, nan, nan, nan, nan)
    mean = float(xs.mean())
    std = float(xs.std(ddof=1)) if n > 1 else float("nan")
    median, p99, p999 = (float(v) for v in percentiles(xs, (0.5, 0.99, 0.999)))
    mad = float(percentiles(np.sort(np.abs(xs - median)), (0.5,))[0])
    return BucketStats(detector, subject, hour, n, mean, std, median, mad, p99, p999, float(xs[-1]))


def summarize_subject(detector: str, subject: str, hours: np.ndarray, values: np.ndarray,
                      fill_to: Mapping[int, int] | None = None) -> list[BucketStats]:
    """Every bucket of one (detector, subject): one per UTC hour, plus all hours pooled (hour ALL_HOURS).
    `values` are the windows' statistics, aligned with `hours`; NaN (a null statistic) is not an observation, as
    Spark's aggregates skip nulls. `fill_to` {hour: windows}: each of these hours counts that many windows, those
    without a value as 0 (tick_rate: an open window without a tick is an observation of 0 ticks)."""
    hours = np.asarray(hours)
    values = np.asarray(values, dtype=float)
    seen = ~np.isnan(values)
    by_hour = {}
    for h in sorted({int(h) for h in np.unique(hours)} | set(fill_to or {})):
        in_hour = hours == h
        xs = values[in_hour & seen]
        if fill_to:
            xs = np.concatenate([xs, np.zeros(max(fill_to.get(h, 0) - int(in_hour.sum()), 0))])
        by_hour[h] = xs
    out = [summarize(detector, subject, h, xs) for h, xs in by_hour.items()]
    return out + [summarize(detector, subject, ALL_HOURS, np.concatenate([np.zeros(0), *by_hour.values()]))]


@dataclass(frozen=True)
class Rule:
    detector: str
    k: float
    floor: float
    tail_factor: float = 0.0  # > 0: the threshold also stays above tail_factor * p99.9


def rule_for(detector: str, cfg: DetectorSettings) -> Rule:
    """k and floor of a detector (or of tick_rate_low) from settings."""
    table = {
        TICK_RATE: Rule(TICK_RATE, cfg.k_tick_rate, cfg.floor_tick_rate),
        PRICE_JUMP: Rule(PRICE_JUMP, cfg.k_price_jump, cfg.floor_price_jump_bps),
        SPREAD: Rule(SPREAD, cfg.k_spread, cfg.floor_spread_bps),
        # A silence shorter than stale_after_seconds never alerts, whatever the history says.
        STALE_FEED: Rule(STALE_FEED, cfg.k_stale_feed, float(cfg.stale_after_seconds), cfg.stale_tail_factor),
        CROSS_RATE: Rule(CROSS_RATE, cfg.k_cross_rate, cfg.floor_cross_rate_bps),
        TICK_RATE_LOW: Rule(TICK_RATE_LOW, cfg.k_tick_rate_low, 0.0),
    }
    try:
        return table[detector]
    except KeyError:
        raise ValueError(f"no baseline rule for detector {detector!r}") from None


def _finite(values: Iterable[float]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def upper_threshold(s: BucketStats, k: float, floor: float, tail_factor: float = 0.0) -> float:
    """max(mean + k*std, median + k*1.4826*MAD, [tail_factor*p999,] floor); undefined terms (NaN std of n=1)
    are skipped."""
    terms = [s.mean + k * s.std, s.median + k * MAD_TO_SIGMA * s.mad]
    if tail_factor > 0:
        terms.append(tail_factor * s.p999)
    return max(_finite(terms) + [floor])


def lower_threshold(s: BucketStats, k: float) -> float:
    """max(0, min(mean - k*std, median - k*1.4826*MAD)); NaN when neither term is defined."""
    terms = _finite([s.mean - k * s.std, s.median - k * MAD_TO_SIGMA * s.mad])
    return max(0.0, min(terms)) if terms else float("nan")


def threshold_row(s: BucketStats, cfg: DetectorSettings, kind: str | None = None) -> ThresholdRow:
    """One thresholds row from a bucket's statistics; kind TICK_RATE_LOW gives the drought bound of a
    tick_rate bucket."""
    kind = kind or s.detector
    rule = rule_for(kind, cfg)
    if kind == TICK_RATE_LOW:
        value = lower_threshold(s, rule.k)
        text = (f"lower: max(0, min(mean - {rule.k:g}*std, median - {rule.k:g}*{MAD_TO_SIGMA}*mad)); "
                "alert when value < threshold")
    else:
        value = upper_threshold(s, rule.k, rule.floor, rule.tail_factor)
        tail = f"{rule.tail_factor:g}*p999, " if rule.tail_factor > 0 else ""
        text = (f"upper: max(mean + {rule.k:g}*std, median + {rule.k:g}*{MAD_TO_SIGMA}*mad, {tail}{rule.floor:g}); "
                "alert when value > threshold")
    return ThresholdRow(kind, s.subject, s.hour, s.n, s.mean, s.std, s.median, s.mad, s.p99, s.p999, s.max,
                        value, text)


def _usable(s: BucketStats | None, cfg: DetectorSettings) -> bool:
    return s is not None and s.n >= cfg.min_samples and s.std is not None and math.isfinite(s.std) and s.std > 0


def threshold_rows(stats: Iterable[BucketStats], cfg: DetectorSettings,
                   expected: Iterable[tuple[str, str, int]] = ()) -> list[ThresholdRow]:
    """Every hourly bucket's upper row, plus a tick_rate_low row for each tick_rate bucket; sorted by key.

    Buckets that are sparse or degenerate, and the `expected` (detector, subject, hour) keys with no bucket,
    use their subject's pooled statistics (hour ALL_HOURS) when those are usable.
    """
    hourly: dict[tuple[str, str, int], BucketStats] = {}
    pooled: dict[tuple[str, str], BucketStats] = {}
    for s in stats:
        if s.hour == ALL_HOURS:
            pooled[(s.detector, s.subject)] = s
        else:
            hourly[(s.detector, s.subject, s.hour)] = s
    keys = set(hourly) | {(d, subj, h) for d, subj, h in expected if d in DETECTORS}
    rows: list[ThresholdRow] = []
    for key in keys:
        s = hourly.get(key)
        pool = pooled.get(key[:2])
        note = ""
        if not _usable(s, cfg) and _usable(pool, cfg):
            note = f"pooled over all hours (bucket n={s.n if s else 0}): "
            s = BucketStats(pool.detector, pool.subject, key[2], pool.n, pool.mean, pool.std, pool.median,
                            pool.mad, pool.p99, pool.p999, pool.max)
        if s is None:
            continue  # nothing to learn from: the gate reports the missing row
        kinds = (key[0], TICK_RATE_LOW) if key[0] == TICK_RATE else (key[0],)
        for kind in kinds:
            row = threshold_row(s, cfg, kind)
            rows.append(dataclasses.replace(row, rule=note + row.rule) if note else row)
    return sorted(rows, key=lambda r: (r.detector, r.subject, r.hour))


def build_thresholds(stats: Iterable[BucketStats], cfg: DetectorSettings, *, source_kind: str,
                     source_from: date | None, source_to: date | None, tick_count: int, code_version: str,
                     version: str | None = None, now: datetime | None = None,
                     expected: Iterable[tuple[str, str, int]] = ()) -> Thresholds:
    """A candidate thresholds set (not yet gated or published); `expected` as in threshold_rows."""
    if source_kind not in SOURCE_KINDS:
        raise ValueError(f"source_kind must be one of {SOURCE_KINDS}, got {source_kind!r}")
    now = now or datetime.now(timezone.utc)
    return Thresholds(version=version or new_version_id(now), created_at=now, source_kind=source_kind,
                      source_from=source_from, source_to=source_to, tick_count=int(tick_count),
                      code_version=code_version, rows=threshold_rows(stats, cfg, expected),
                      status="candidate")


def expected_keys(pairs: Sequence[str], triangle_subjects: Sequence[str]) -> set[tuple[str, str, int]]:
    """(kind, subject, hour) of a complete thresholds set: pair detectors x pairs, cross_rate x triangles,
    x 24 hours."""
    keys = {(d, p, h) for d in PAIR_DETECTORS for p in pairs for h in range(24)}
    keys |= {(CROSS_RATE, t, h) for t in triangle_subjects for h in range(24)}
    return keys
