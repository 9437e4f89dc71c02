"""Driver-side state of the streaming job: the thresholds in force (reloaded without restarting queries), the
detectors' windows with their event-time watermark and stale_feed carry (saved per micro-batch beside the
checkpoints, so a re-run batch starts from what its first run started from), and each pair's last arrival for
the processing-time stale_feed check."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from fxtrue.thresholds import Thresholds

log = logging.getLogger("fxtrue.streaming")

# The tick `source` -> the thresholds source_kind that fits it (a polled feed's tick rate
# is not a history file's).
FEED_KIND = {"truefx": "polled", "replay": "history", "sim": "sim"}


@dataclass(frozen=True)
class Snapshot:
    """The thresholds one micro-batch is judged by (version None: warm-up)."""

    version: str | None
    thresholds: Thresholds | None
    loaded_at: datetime


def next_reload(now: datetime, reload_utc: str) -> datetime:
    """The next daily reload instant strictly after `now` (reload_utc "HH:MM", UTC)."""
    hh, mm = (int(x) for x in reload_utc.split(":"))
    at = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
    return at if at > now else at + timedelta(days=1)


class ThresholdsHolder:
    """Holds the current thresholds; `check()` reloads when the published pointer moved or the daily reload
    time passed. Readers take a `snapshot()` (atomic swap, no locks held while judging)."""

    def __init__(self, loader: Callable[[], str | None], load_version: Callable[[str], Thresholds],
                 reload_utc: str, clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self._current_version = loader
        self._load_version = load_version
        self._reload_utc = reload_utc
        self._clock = clock
        self._lock = threading.Lock()
        self._snap = Snapshot(None, None, clock())
        self._next_reload = next_reload(clock(), reload_utc)
        self.feed_kinds: set[str] = set()
        self._warned: set[tuple[str, str]] = set()

    def snapshot(self) -> Snapshot:
        return self._snap

    def set(self, thresholds: Thresholds | None) -> Snapshot:
        with self._lock:
            self._snap = Snapshot(thresholds.version if thresholds else None, thresholds, self._clock())
        if thresholds is None:
            log.warning("no published thresholds version: warm-up mode (only crossed quotes alert)")
        else:
            log.info("thresholds version %s in force (%d rows, source_kind %s)", thresholds.version,
                     len(thresholds.rows), thresholds.source_kind)
        self.warn_on_kind_mismatch()
        return self._snap

    def load(self) -> Snapshot:
        version = self._current_version()
        return self.set(self._load_version(version) if version else None)

    def check(self) -> bool:
        """Reload if a newer version is published or the daily reload is due; True when something changed."""
        now = self._clock()
        daily = now >= self._next_reload
        if daily:
            self._next_reload = next_reload(now, self._reload_utc)
        version = self._current_version()
        if version == self._snap.version and not daily:
            return False
        if daily:
            log.info("daily thresholds reload (%s UTC)", self._reload_utc)
        before = self._snap.version
        self.set(self._load_version(version) if version else None)
        return self._snap.version != before

    def note_feed_kinds(self, sources: set[str]) -> None:
        kinds = {FEED_KIND.get(s, s) for s in sources}
        if not kinds <= self.feed_kinds:
            self.feed_kinds |= kinds
            self.warn_on_kind_mismatch()

    def warn_on_kind_mismatch(self) -> None:
        t = self._snap.thresholds
        if t is None:
            return
        for kind in sorted(self.feed_kinds):
            if kind != t.source_kind and (t.version, kind) not in self._warned:
                self._warned.add((t.version, kind))
                log.warning("thresholds version %s was learnt from a %r source but the feed is %r: tick-rate "
                            "baselines may not fit (baselines must come from data captured the "
                            "same way)", t.version, t.source_kind, kind)


class BatchStateStore:
    """Driver state saved per micro-batch, as <dir>/<batch_id>.json, after the batch's writes.

    A batch reads the newest file with a smaller id, so a batch Spark re-runs after a crash (same offsets)
    starts from exactly the state its first run started from, whatever that run saved before it died.
    """

    KEEP = 20

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def _ids(self) -> list[int]:
        return sorted(int(p.stem) for p in self.folder.glob("*.json") if p.stem.isdigit())

    def latest(self) -> tuple[int, dict] | None:
        """(batch id, state) of the newest saved batch, or None."""
        ids = self._ids()
        return (ids[-1], self._read(ids[-1])) if ids else None

    def before(self, batch_id: int) -> dict:
        ids = [i for i in self._ids() if i < batch_id]
        return self._read(ids[-1]) if ids else {}

    def _read(self, batch_id: int) -> dict:
        return json.loads((self.folder / f"{batch_id}.json").read_text())

    def save(self, batch_id: int, state: dict) -> None:
        tmp = self.folder / f".{batch_id}.tmp"
        tmp.write_text(json.dumps(state, sort_keys=True, separators=(",", ":")))
        tmp.replace(self.folder / f"{batch_id}.json")
        for old in self._ids()[:-self.KEEP]:
            (self.folder / f"{old}.json").unlink(missing_ok=True)


class LastSeen:
    """Each pair's latest tick: event time and arrival (processing) time, epoch ms (thread-safe)."""

    def __init__(self, started_ms: int | None = None) -> None:
        self._lock = threading.Lock()
        self.started_ms = started_ms if started_ms is not None else int(time.time() * 1000)
        self.event_ms: dict[str, int] = {}
        self.arrival_ms: dict[str, int] = {}

    def update(self, pair: str, event_ms: int, arrival_ms: int) -> None:
        with self._lock:
            if event_ms > self.event_ms.get(pair, -1):
                self.event_ms[pair] = event_ms
            if arrival_ms > self.arrival_ms.get(pair, -1):
                self.arrival_ms[pair] = arrival_ms

    def get(self, pair: str) -> tuple[int | None, int]:
        """(last event ms or None, last arrival ms, or the job's start when nothing arrived yet)."""
        with self._lock:
            return self.event_ms.get(pair), self.arrival_ms.get(pair, self.started_ms)


def processing_time_stale(now_ms: int, last_seen: LastSeen, snap: Snapshot, pairs, cfg) -> list[dict]:
    """stale_feed on processing time: pairs that should be active (market open, and the thresholds hold a
    stale_feed baseline for this pair and UTC hour with enough samples) whose last tick ARRIVED longer ago
    than max(threshold, stale_after_seconds). Fires with no data at all (a pair never seen counts from the
    job's start). Keyed like the event-time statistic (window_start = the first window after the last tick),
    so when the pair resumes, the event-time alert upserts the same row. Warm-up: nothing (only crossed
    quotes alert)."""
    from fxtrue.detectors.judge import alert_id_of
    from fxtrue.market_calendar import is_market_open

    if snap.thresholds is None or not is_market_open(now_ms):
        return []
    w_ms = cfg.window_seconds * 1000
    hour = (now_ms // 3_600_000) % 24
    table = snap.thresholds.lookup()
    out = []
    for pair in pairs:
        row = table.get(("stale_feed", pair, hour))
        if row is None or (row.n or 0) < cfg.min_samples:
            continue
        threshold = max(float(row.threshold), float(cfg.stale_after_seconds))
        event_ms, arrival_ms = last_seen.get(pair)
        age_s = (now_ms - arrival_ms) / 1000.0
        if age_s <= threshold:
            continue
        anchor = event_ms if event_ms is not None else arrival_ms
        start = anchor - anchor % w_ms + w_ms
        end = now_ms - now_ms % w_ms + w_ms
        std = row.std if row.std == row.std else None
        z = abs(age_s - row.mean) / std if std else None
        critical = age_s - row.mean >= 2 * (threshold - row.mean)
        out.append({
            "alert_id": alert_id_of("stale_feed", pair, start), "detector": "stale_feed", "subject": pair, "pair": pair, "window_start": start, "window_end": end,
            "hour": int((start // 3_600_000) % 24), "observed": age_s, "baseline_mean": row.mean,
            "baseline_std": std, "threshold": threshold,
            "score": z if z is not None else age_s / threshold,
            "severity": "critical" if critical else "warning", "thresholds_version": snap.version,
            "detected_at": now_ms, "details": f"no tick for {age_s:.0f} s (processing time)",
            "last_received_at": arrival_ms, "tick_count": 0,
        })
    return out


# Running (still open) detector windows, merged micro-batch by micro-batch: the fast path's state.
MERGE_SUM = ("tick_count", "crossed_count")
MERGE_MIN = ("mid_min", "first_ts")
MERGE_MAX = ("mid_max", "spread_max_bps", "last_ts", "last_received_at")


def merge_aggregates(a: dict, b: dict) -> dict:
    """Two partial aggregates of one (pair, window) (fxtrue.detectors.statistics.AGG_COLUMNS, times in epoch
    ms) -> their aggregate. Counts add, extremes take the extreme (nulls ignored); the mean is the
    count-weighted mean (every valid tick has prices, so the count is the mean's count)."""
    out = dict(a)
    for k in MERGE_SUM:
        out[k] = (a.get(k) or 0) + (b.get(k) or 0)
    for k in MERGE_MIN:
        vals = [v for v in (a.get(k), b.get(k)) if v is not None]
        out[k] = min(vals) if vals else None
    for k in MERGE_MAX:
        vals = [v for v in (a.get(k), b.get(k)) if v is not None]
        out[k] = max(vals) if vals else None
    na, nb = a.get("tick_count") or 0, b.get("tick_count") or 0
    ma, mb = a.get("mid_mean"), b.get("mid_mean")
    out["mid_mean"] = ma if mb is None else mb if ma is None else (ma * na + mb * nb) / max(na + nb, 1)
    return out


class RunningWindows:
    """Each open (pair, window)'s aggregate so far, on the driver (15 pairs x a few open windows)."""

    def __init__(self, windows: list[dict] | None = None) -> None:
        self.windows: dict[tuple[str, int], dict] = {(w["pair"], w["window_start"]): w for w in windows or []}

    def merge(self, parts: list[dict]) -> list[dict]:
        """Add one micro-batch's partial aggregates; returns the merged aggregates of the windows it touched."""
        touched = {}
        for part in parts:
            key = (part["pair"], part["window_start"])
            have = self.windows.get(key)
            self.windows[key] = touched[key] = part if have is None else merge_aggregates(have, part)
        return list(touched.values())

    def pop_closed(self, watermark_ms: int) -> list[dict]:
        """Remove and return the windows that end at or before the watermark (closed), oldest first."""
        keys = sorted((k for k, w in self.windows.items() if w["window_end"] <= watermark_ms), key=lambda k: k[::-1])
        return [self.windows.pop(k) for k in keys]


TREND_SUMS = ("trend_n", "bid_sum", "ask_sum", "mid_sum", "spread_sum")


class TrendBuckets:
    """The trends' state: per (pair, bucket) sums of the ticks (transformations.batch_trend_parts); a sliding
    trend window [ws, ws + window) aligned on the slide is the sum of the buckets it covers (the bucket is the
    gcd of window and slide, so they tile it). A bucket is forgotten once every window holding it has closed."""

    def __init__(self, window_ms: int, slide_ms: int, bucket_ms: int, buckets: list[dict] | None = None) -> None:
        self.window_ms, self.slide_ms, self.bucket_ms = window_ms, slide_ms, bucket_ms
        self.buckets: dict[tuple[str, int], dict] = {(b["pair"], b["trend_bucket"]): b for b in buckets or []}

    def windows_of(self, bucket: int) -> range:
        """Starts of the sliding windows that hold the whole bucket [bucket, bucket + bucket_ms)."""
        last = bucket - bucket % self.slide_ms
        first = bucket + self.bucket_ms - self.window_ms
        first += -first % self.slide_ms  # the first slide-aligned start at or after it
        return range(first, last + 1, self.slide_ms)

    def advance(self, parts: list[dict], watermark_before: int | None, watermark_after: int | None
                ) -> tuple[list[dict], int]:
        """Merge one micro-batch's bucket sums; returns (the trend rows of every window the batch added ticks to
        that was open when the batch began, ticks whose every window had closed). Then forgets the buckets the
        new watermark has closed every window of."""
        touched: set[tuple[str, int]] = set()
        late = 0
        for part in parts:
            starts = [ws for ws in self.windows_of(part["trend_bucket"])
                      if watermark_before is None or ws + self.window_ms > watermark_before]
            if not starts:
                late += part["trend_n"]
                continue
            key = (part["pair"], part["trend_bucket"])
            have = self.buckets.get(key)
            self.buckets[key] = dict(part) if have is None else {
                **have, **{k: (have[k] or 0) + (part[k] or 0) for k in TREND_SUMS}}
            touched.update((part["pair"], ws) for ws in starts)
        rows = [self.row(pair, ws) for pair, ws in sorted(touched)]
        if watermark_after is not None:
            for key in [k for k in self.buckets
                        if k[1] - k[1] % self.slide_ms + self.window_ms <= watermark_after]:
                del self.buckets[key]
        return rows, late

    def row(self, pair: str, ws: int) -> dict:
        """One trend window (transformations.TREND_COLUMNS, times in epoch ms) from its buckets."""
        sums = dict.fromkeys(TREND_SUMS, 0.0)
        for b in range(ws, ws + self.window_ms, self.bucket_ms):
            have = self.buckets.get((pair, b))
            if have is not None:
                for k in TREND_SUMS:
                    sums[k] += have[k] or 0
        n = int(sums["trend_n"])
        mean = (lambda k: sums[k] / n) if n else (lambda k: None)
        return {"pair": pair, "window_start": ws, "window_end": ws + self.window_ms, "mean_bid": mean("bid_sum"),
                "mean_ask": mean("ask_sum"), "mean_mid": mean("mid_sum"), "tick_count": n,
                "mean_spread_bps": mean("spread_sum")}


@dataclass
class Advance:
    """What one micro-batch did to the windows: the open windows it touched (merged so far), the windows it
    closed, how many of its ticks came too late (their window had closed before the batch), and the trend
    windows it updated (with how many ticks came too late for every trend window holding them)."""

    touched: list[dict]
    closed: list[dict]
    late_ticks: int
    trends: list[dict] = field(default_factory=list)
    late_trend_ticks: int = 0


class WindowState:
    """The event-time state, kept on the driver and saved per micro-batch (BatchStateStore): the detectors'
    running windows, each pair's last tick before them (the stale_feed carry), the trends' buckets, and the
    newest event time seen.

    Watermark semantics as Structured Streaming's windowed aggregation in append mode: the watermark is the
    newest event time seen in earlier batches minus the allowed lateness; a batch's ticks in windows that end
    at or before it are dropped (too late); after the batch, the windows that end at or before the new
    watermark are closed and judged once."""

    def __init__(self, lateness_ms: int, trends: TrendBuckets | None = None, running: RunningWindows | None = None,
                 carry: dict[str, int] | None = None, max_event_ms: int | None = None) -> None:
        self.lateness_ms = lateness_ms
        self.trends = trends
        self.running = running or RunningWindows()
        self.carry: dict[str, int] = dict(carry or {})
        self.max_event_ms = max_event_ms

    @property
    def watermark_ms(self) -> int | None:
        return None if self.max_event_ms is None else self.max_event_ms - self.lateness_ms

    def advance(self, parts: list[dict], trend_parts: list[dict] = ()) -> Advance:
        """Merge one micro-batch's partial aggregates (AGG_COLUMNS, epoch ms) and trend bucket sums, then close
        what the new watermark passed. The carry is not updated here: the closed windows are judged with the
        carry from before them, then `closed_judged` moves it on."""
        before = self.watermark_ms
        kept = [p for p in parts if before is None or p["window_end"] > before]
        touched = self.running.merge(kept)
        if parts:
            newest = max(p["last_ts"] for p in parts)
            self.max_event_ms = newest if self.max_event_ms is None else max(self.max_event_ms, newest)
        closed = self.running.pop_closed(self.watermark_ms) if self.max_event_ms is not None else []
        done = {(w["pair"], w["window_start"]) for w in closed}
        late = sum(p["tick_count"] or 0 for p in parts) - sum(p["tick_count"] or 0 for p in kept)
        trends, late_trends = (self.trends.advance(list(trend_parts), before, self.watermark_ms)
                               if self.trends is not None else ([], 0))
        return Advance([w for w in touched if (w["pair"], w["window_start"]) not in done], closed, late, trends,
                       late_trends)

    def closed_judged(self, closed: list[dict]) -> None:
        for w in closed:
            self.carry[w["pair"]] = max(w["last_ts"], self.carry.get(w["pair"], w["last_ts"]))

    def to_json(self) -> dict:
        return {"windows": list(self.running.windows.values()), "carry": self.carry,
                "trend_buckets": list(self.trends.buckets.values()) if self.trends is not None else [],
                "max_event_ms": self.max_event_ms, "watermark_ms": self.watermark_ms}  # (fxtrue.checkpoints)

    @classmethod
    def from_json(cls, state: dict, lateness_ms: int, trends: TrendBuckets | None = None) -> "WindowState":
        """The saved state; `trends`: an empty TrendBuckets of the settings in force, filled from the state."""
        if trends is not None:
            trends = TrendBuckets(trends.window_ms, trends.slide_ms, trends.bucket_ms, state.get("trend_buckets"))
        return cls(lateness_ms, trends, RunningWindows(state.get("windows")),
                   {k: int(v) for k, v in (state.get("carry") or {}).items()}, state.get("max_event_ms"))
