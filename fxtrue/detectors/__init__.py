"""The detector definitions shared by the streaming job, the batch stats job and `fxtrue detect`.

statistics.py: ticks -> per-window statistics per (detector, subject, window); judge.py: statistics +
thresholds -> alerts; triangles.py: the currency triangles of the cross_rate detector.
"""

from fxtrue.detectors.statistics import (CROSS_RATE, DETECTORS, PRICE_JUMP, SPREAD, STALE_FEED, STATS_COLUMNS,
                                         TICK_RATE, pair_window_aggregates, statistics_from_aggregates,
                                         window_statistics)
from fxtrue.detectors.judge import ALERT_COLUMNS, WARMUP, judge, thresholds_frame
from fxtrue.detectors.triangles import Triangle, triangles

__all__ = ["ALERT_COLUMNS", "CROSS_RATE", "DETECTORS", "PRICE_JUMP", "SPREAD", "STALE_FEED", "STATS_COLUMNS",
           "TICK_RATE", "WARMUP", "Triangle", "judge", "pair_window_aggregates", "statistics_from_aggregates",
           "thresholds_frame", "triangles", "window_statistics"]
