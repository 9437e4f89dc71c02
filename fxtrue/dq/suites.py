"""The Great Expectations suites, as code, and the frames they validate.

ticks        every row of the ticks (Spark DataFrame): schema, no nulls, positive prices, share of ask >= bid,
             known pairs, timestamps in the range, price level plausible for the pair, (pair, ts) unique.
ticks_daily  one row per (pair, open day) (pandas, aggregated on Spark): every configured pair present, and the
             day's tick count against what the pair's intraday profile expects for that day's open hours.
thresholds   one row per expected (kind, subject, hour) of a thresholds set (pandas): every row present,
             enough samples, std > 0, all numbers finite, cross rates that agree, and (severity warning) no
             threshold changed against the previous version by more than settings.dq.max_change_factor.

Each expectation carries meta.name, the short name the gate reports and the Data Docs show.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Sequence

import great_expectations as gx
import great_expectations.expectations as gxe

from fxtrue.baselines import CROSS_RATE, ROW_KINDS, expected_keys
from fxtrue.market_calendar import open_hours
from fxtrue.settings import Settings
from fxtrue.thresholds import Thresholds

TICKS, TICKS_DAILY, THRESHOLDS = "ticks", "ticks_daily", "thresholds"
SUITES = (TICKS, TICKS_DAILY, THRESHOLDS)
TICK_COLUMNS = ("pair", "ts", "bid", "ask", "high", "low", "open", "source", "received_at")

# Order-of-magnitude mid of each pair (2015-2025 levels). With settings.dq.price_band_factor (5) a real price
# is always inside [ref / 5, ref * 5], while a mis-scaled feed (x100, a JPY pair priced as a USD pair) is not.
REFERENCE_MID = {
    "AUD/JPY": 90.0, "AUD/NZD": 1.08, "AUD/USD": 0.70, "CAD/JPY": 100.0, "CHF/JPY": 130.0, "EUR/CHF": 1.05,
    "EUR/GBP": 0.86, "EUR/JPY": 140.0, "EUR/USD": 1.12, "GBP/JPY": 160.0, "GBP/USD": 1.30, "NZD/USD": 0.65,
    "USD/CAD": 1.32, "USD/CHF": 0.93, "USD/JPY": 125.0,
}


def _named(expectation, name: str, text: str = ""):
    """Give an expectation its short name (meta.name, reported by the gate) and a description the Data Docs
    render in place of GX's generic sentence, so a reader sees the same name the error message gave."""
    expectation.meta = {**(expectation.meta or {}), "name": name}
    expectation.description = f"{name}: {text}" if text else name
    return expectation


def expectation_name(config) -> str:
    """The short name of an expectation configuration (meta.name, else type(column))."""
    meta = getattr(config, "meta", None) or {}
    if meta.get("name"):
        return str(meta["name"])
    col = config.kwargs.get("column") or config.kwargs.get("column_list") or ""
    return f"{config.type}({col})"


# -- ticks ---------------------------------------------------------------------------------------------

def ticks_frame(ticks):
    """The ticks plus the derived column the suite checks: price_level = mid / the pair's reference mid
    (null for an unknown pair, which the known-pairs expectation reports)."""
    from pyspark.sql import functions as F

    ref = F.create_map(*[x for p, m in REFERENCE_MID.items() for x in (F.lit(p), F.lit(m))])
    return ticks.select(*TICK_COLUMNS).withColumn(
        "price_level", ((F.col("bid") + F.col("ask")) / F.lit(2.0)) / ref[F.col("pair")])


def day_span(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """[start, end) of the UTC days date_from .. date_to: the range the ticks' ts must fall in."""
    return (datetime(date_from.year, date_from.month, date_from.day),
            datetime(date_to.year, date_to.month, date_to.day) + timedelta(days=1))


def ticks_suite(settings: Settings, date_from: date, date_to: date) -> gx.ExpectationSuite:
    dq = settings.dq
    lo, hi = day_span(date_from, date_to)
    suite = gx.ExpectationSuite(name=TICKS)
    for e in [
        _named(gxe.ExpectTableColumnsToMatchSet(column_set=[*TICK_COLUMNS, "price_level"], exact_match=True),
               "schema", "the columns are the tick schema plus price_level"),
        *[_named(gxe.ExpectColumnValuesToNotBeNull(column=c), f"{c}_not_null", f"{c} is never null")
          for c in ("pair", "ts", "bid", "ask", "source")],
        _named(gxe.ExpectColumnValuesToBeBetween(column="bid", min_value=0, strict_min=True),
               "bid_positive", "bid > 0 on every row"),
        _named(gxe.ExpectColumnValuesToBeBetween(column="ask", min_value=0, strict_min=True),
               "ask_positive", "ask > 0 on every row"),
        _named(gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="ask", column_B="bid", or_equal=True,
                                                           mostly=dq.min_ask_ge_bid_share), "ask_ge_bid_share",
               f"ask >= bid on at least {dq.min_ask_ge_bid_share:.1%} of rows (crossed quotes are valid but rare)"),
        _named(gxe.ExpectColumnValuesToBeInSet(column="pair", value_set=list(REFERENCE_MID)),
               "known_pairs", "pair is one of the TrueFX pairs"),
        _named(gxe.ExpectColumnValuesToBeBetween(column="ts", min_value=lo, max_value=hi, strict_max=True),
               "ts_in_range", f"ts within {date_from} .. {date_to} (UTC)"),
        _named(gxe.ExpectColumnValuesToBeBetween(column="price_level", min_value=1 / dq.price_band_factor,
                                                 max_value=dq.price_band_factor), "price_level_plausible",
               f"mid within a factor {dq.price_band_factor:g} of the pair's reference level"),
        _named(gxe.ExpectCompoundColumnsToBeUnique(column_list=["pair", "ts"],
                                                   mostly=1 - dq.max_duplicate_share), "pair_ts_unique",
               f"(pair, ts) unique on at least {1 - dq.max_duplicate_share:.1%} of rows (no duplicated days)"),
    ]:
        suite.add_expectation(e)
    return suite


def daily_completeness(ticks, pairs: Sequence[str], check_from: date, check_to: date):
    """Per (pair, open day in [check_from, check_to]): ticks, expected, completeness (pandas).

    The intraday profile of a pair is, per UTC hour, the median of its hourly tick counts over the open
    hours of every day `ticks` holds (so give it the days to check plus a reference period, or just the
    range itself); a day's expected count is the profile summed over the day's open hours. A pair with no
    ticks at all has profile 0 and completeness 0.
    """
    import pandas as pd
    from pyspark.sql import functions as F

    counts = (ticks.groupBy("pair", F.to_date("ts").alias("day"),
                            (F.floor(F.unix_seconds("ts") / 3600) % 24).cast("int").alias("hour"))
                   .count().toPandas())
    days_seen = sorted(set(counts["day"])) if len(counts) else []
    all_days = sorted(set(days_seen) | {check_from + timedelta(days=i)
                                        for i in range((check_to - check_from).days + 1)})
    index = {(p, d, int(h)): int(c) for p, d, h, c in zip(counts["pair"], counts["day"], counts["hour"],
                                                          counts["count"])}
    rows = []
    for pair in pairs:
        profile = {}
        for h in range(24):
            vals = sorted(index.get((pair, d, h), 0) for d in all_days if h in open_hours(d))
            profile[h] = _median(vals)
        for i in range((check_to - check_from).days + 1):
            d = check_from + timedelta(days=i)
            hours = open_hours(d)
            if not hours:
                continue
            actual = sum(index.get((pair, d, h), 0) for h in range(24))
            expected = sum(profile[h] for h in hours)
            rows.append({"pair": pair, "day": d.isoformat(), "ticks": actual, "expected": expected,
                         "completeness": actual / expected if expected > 0 else 0.0})
    return pd.DataFrame(rows, columns=["pair", "day", "ticks", "expected", "completeness"])


def _median(vals: list[int]) -> float:
    if not vals:
        return 0.0
    mid = len(vals) // 2
    return float(vals[mid]) if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2


def ticks_daily_suite(settings: Settings) -> gx.ExpectationSuite:
    dq = settings.dq
    suite = gx.ExpectationSuite(name=TICKS_DAILY)
    for e in [
        _named(gxe.ExpectTableRowCountToBeBetween(min_value=1),
               "has_open_days", "at least one pair-day of open market"),
        _named(gxe.ExpectColumnValuesToBeBetween(column="expected", min_value=0, strict_min=True),
               "every_pair_has_a_profile", "every configured pair has ticks (no missing pair)"),
        _named(gxe.ExpectColumnValuesToBeBetween(column="completeness", min_value=dq.min_day_completeness,
                                                 max_value=dq.max_day_completeness), "day_completeness",
               f"each pair-day has {dq.min_day_completeness:g}x to {dq.max_day_completeness:g}x the ticks its "
               "intraday profile expects"),
    ]:
        suite.add_expectation(e)
    return suite


# -- thresholds ----------------------------------------------------------------------------------------

NUMERIC = ("n", "mean", "std", "median", "mad", "p99", "p999", "max", "threshold")


def thresholds_frame(t: Thresholds, pairs: Sequence[str], triangle_subjects: Sequence[str],
                     previous: Thresholds | None = None):
    """One row per expected key and per extra row of `t` (pandas): the row's numbers (null when missing),
    present, finite (all numbers finite), change_factor against `previous` (null when not comparable)."""
    import pandas as pd

    have = t.lookup()
    prev = previous.lookup() if previous else {}
    keys = sorted(expected_keys(pairs, triangle_subjects) | set(have))
    rows = []
    for key in keys:
        r = have.get(key)
        row = {"detector": key[0], "subject": key[1], "hour": key[2], "present": r is not None}
        for f in NUMERIC:
            row[f] = getattr(r, f) if r is not None else None
        row["finite"] = None if r is None else all(
            v is not None and math.isfinite(float(v)) for v in (getattr(r, f) for f in NUMERIC))
        p = prev.get(key)
        row["change_factor"] = _change(r.threshold, p.threshold) if (r is not None and p is not None) else None
        rows.append(row)
    return pd.DataFrame(rows, columns=["detector", "subject", "hour", "present", *NUMERIC, "finite",
                                       "change_factor"])


def _change(new: float, old: float) -> float | None:
    """max(new/old, old/new); None when either is 0 or not finite (not comparable)."""
    if not (math.isfinite(new) and math.isfinite(old)) or new <= 0 or old <= 0:
        return None
    return max(new / old, old / new)


def thresholds_suite(settings: Settings) -> gx.ExpectationSuite:
    dq, det = settings.dq, settings.detectors
    suite = gx.ExpectationSuite(name=THRESHOLDS)
    for e in [
        _named(gxe.ExpectColumnValuesToBeInSet(column="present", value_set=[True]),
               "every_pair_hour_detector_present",
               "a row for every pair (triangle) x 24 hours x detector"),
        _named(gxe.ExpectColumnValuesToBeInSet(column="detector", value_set=list(ROW_KINDS)),
               "known_detectors", "no rows of unknown detectors"),
        _named(gxe.ExpectColumnValuesToBeBetween(column="n", min_value=det.min_samples),
               "enough_samples", f"at least {det.min_samples} windows per bucket"),
        _named(gxe.ExpectColumnValuesToBeBetween(column="std", min_value=0, strict_min=True),
               "std_positive", "std > 0 in every bucket"),
        _named(gxe.ExpectColumnValuesToBeInSet(column="finite", value_set=[True]),
               "no_nan_or_inf", "every statistic and threshold is a finite number"),
        _named(gxe.ExpectColumnValuesToBeBetween(column="median", max_value=dq.max_cross_rate_median_bps,
                                                 row_condition=f'detector=="{CROSS_RATE}"',
                                                 condition_parser="pandas"), "cross_rates_agree",
               f"median cross-rate deviation at most {dq.max_cross_rate_median_bps:g} bps"),
        _named(gxe.ExpectColumnValuesToBeBetween(column="change_factor", max_value=dq.max_change_factor,
                                                 severity="warning"), "change_vs_previous",
               f"no threshold changed by more than x{dq.max_change_factor:g} against the previous version (warning)"),
    ]:
        suite.add_expectation(e)
    return suite
