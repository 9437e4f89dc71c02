"""Injected manipulations and feed faults with ground-truth labels (kind, pair, start, end, magnitude).

A scenarios file is a JSON (or YAML) list of {kind, pair, start, duration_s, magnitude}; `start` is ISO-8601 UTC,
or `offset_s` (seconds after a reference time, e.g. "now" for the live simulator) replaces it.
What `magnitude` means per kind:
  quote_stuffing    quote rate multiple during the window (e.g. 25)
  feed_stall        fraction of the pair's quotes suppressed (1.0 = total silence)
  price_spike       off-market displacement of the quote in bps (signed), reverting at the end
  spread_blowout    spread multiple (e.g. 15)
  crossed_quote     bps by which bid exceeds ask
  cross_rate_break  bps offset of this one leg of its triangles, the other legs unchanged
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from fxtrue.errors import FxtrueError
from fxtrue.settings import TRUEFX_PAIRS

KINDS = ("quote_stuffing", "feed_stall", "price_spike", "spread_blowout", "crossed_quote", "cross_rate_break")
CROSSES = ("EUR/JPY", "GBP/JPY", "EUR/GBP", "AUD/JPY", "EUR/CHF", "CHF/JPY", "CAD/JPY", "AUD/NZD")
# (duration range s, magnitude range) used by the default schedules.
DEFAULTS: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "quote_stuffing": ((30, 60), (20, 40)),
    "feed_stall": ((180, 300), (1.0, 1.0)),
    "price_spike": ((1, 3), (30, 60)),
    "spread_blowout": ((30, 90), (12, 25)),
    "crossed_quote": ((1, 3), (2, 6)),
    "cross_rate_break": ((30, 90), (12, 25)),
}
LABEL_FIELDS = ("kind", "pair", "start", "end", "magnitude")


def iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_iso_ms(text: str) -> int:
    dt = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(round(dt.timestamp() * 1000))


@dataclass(frozen=True)
class Scenario:
    kind: str
    pair: str
    start_ms: int
    duration_s: float
    magnitude: float

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown scenario kind {self.kind!r} (kinds: {', '.join(KINDS)})")
        if self.pair not in TRUEFX_PAIRS:
            raise ValueError(f"unknown pair {self.pair!r}")
        if self.duration_s <= 0:
            raise ValueError("duration_s must be positive")

    @property
    def end_ms(self) -> int:
        return self.start_ms + int(round(self.duration_s * 1000))

    def overlaps(self, start_ms: int, end_ms: int) -> bool:
        # The tick at end_ms (the reversion) belongs to the scenario's chunk logic as well.
        return self.start_ms < end_ms and self.end_ms >= start_ms

    def label(self) -> dict[str, str]:
        return {"kind": self.kind, "pair": self.pair, "start": iso_ms(self.start_ms), "end": iso_ms(self.end_ms),
                "magnitude": f"{self.magnitude:g}"}

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "pair": self.pair, "start": iso_ms(self.start_ms),
                "duration_s": self.duration_s, "magnitude": self.magnitude}


def from_dicts(items: Iterable[dict[str, Any]], now_ms: int | None = None) -> list[Scenario]:
    out = []
    for i, item in enumerate(items):
        try:
            if "offset_s" in item:
                if now_ms is None:
                    raise ValueError("offset_s needs a reference time")
                start = now_ms + int(float(item["offset_s"]) * 1000)
            else:
                start = parse_iso_ms(item["start"])
            out.append(Scenario(str(item["kind"]), str(item["pair"]), start, float(item["duration_s"]),
                                float(item.get("magnitude", DEFAULTS[str(item["kind"])][1][0]))))
        except (KeyError, ValueError, TypeError) as exc:
            raise FxtrueError(f"scenario #{i + 1} is invalid: {exc}",
                              hint="each scenario is {kind, pair, start (ISO UTC) or offset_s, duration_s, "
                                   f"magnitude}}; kinds: {', '.join(KINDS)}") from None
    return sorted(out, key=lambda s: s.start_ms)


def load(path: str | Path, now_ms: int | None = None) -> list[Scenario]:
    """Read a scenarios file (JSON or YAML list)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise FxtrueError(f"cannot read scenarios file {path}: {exc}") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml
            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # noqa: BLE001 - any parse error is the user's file
        raise FxtrueError(f"{path} is not valid {'YAML' if path.suffix.lower() in ('.yaml', '.yml') else 'JSON'}: "
                          f"{exc}") from None
    if not isinstance(data, list):
        raise FxtrueError(f"{path} must hold a list of scenarios")
    return from_dicts(data, now_ms)


def save(scenarios: Sequence[Scenario], path: str | Path) -> None:
    Path(path).write_text(json.dumps([s.to_dict() for s in scenarios], indent=1) + "\n")


def write_labels(scenarios: Sequence[Scenario], path: str | Path) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=LABEL_FIELDS)
        w.writeheader()
        for s in sorted(scenarios, key=lambda s: (s.start_ms, s.pair)):
            w.writerow(s.label())


def read_labels(path: str | Path) -> list[dict[str, Any]]:
    """labels.csv rows with start/end as epoch ms and magnitude as float."""
    with open(path, newline="") as fh:
        return [{"kind": r["kind"], "pair": r["pair"], "start_ms": parse_iso_ms(r["start"]),
                 "end_ms": parse_iso_ms(r["end"]), "magnitude": float(r["magnitude"])} for r in csv.DictReader(fh)]


def _pick_pair(kind: str, pairs: Sequence[str], rng: np.random.Generator) -> str:
    pool = [p for p in pairs if p in CROSSES] if kind == "cross_rate_break" else list(pairs)
    return str(rng.choice(pool or list(pairs)))


def _random_scenario(kind: str, pair: str, start_ms: int, rng: np.random.Generator) -> Scenario:
    (d_lo, d_hi), (m_lo, m_hi) = DEFAULTS[kind]
    duration = float(round(rng.uniform(d_lo, d_hi), 1))
    magnitude = float(round(rng.uniform(m_lo, m_hi), 1))
    if kind == "price_spike" and rng.random() < 0.5:
        magnitude = -magnitude
    return Scenario(kind, pair, start_ms, duration, magnitude)


def default_schedule(start: date, days: int, pairs: Sequence[str] = TRUEFX_PAIRS, seed: int = 1,
                     per_kind_per_day: int = 1, weekend_closure: bool = True) -> list[Scenario]:
    """A random schedule with every kind on every trading day, inside busy hours (07:00-20:00 UTC), at most one
    scenario per pair at a time."""
    from fxtrue.simulator.market import is_open

    rng = np.random.default_rng(seed + 7919)
    out: list[Scenario] = []
    for d in range(days):
        day = start + timedelta(days=d)
        day_ms = int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() * 1000)
        busy: dict[str, list[tuple[int, int]]] = {}
        for kind in KINDS:
            for _ in range(per_kind_per_day):
                for _attempt in range(50):
                    start_ms = day_ms + int(rng.uniform(7 * 3600, 20 * 3600 - 600)) * 1000
                    if weekend_closure and not bool(is_open(np.array([start_ms, start_ms + 600_000])).all()):
                        break
                    pair = _pick_pair(kind, pairs, rng)
                    sc = _random_scenario(kind, pair, start_ms, rng)
                    clash = any(a < sc.end_ms + 120_000 and sc.start_ms < b + 120_000 for a, b in busy.get(pair, []))
                    if not clash:
                        busy.setdefault(pair, []).append((sc.start_ms, sc.end_ms))
                        out.append(sc)
                        break
    return sorted(out, key=lambda s: s.start_ms)


def live_schedule(now_ms: int, pairs: Sequence[str] = TRUEFX_PAIRS, seed: int = 1, first_after_s: float = 60,
                  every_s: float = 90, count: int = 12, kinds: Sequence[str] = KINDS) -> list[Scenario]:
    """A rolling schedule relative to now for the live simulator: each of `kinds` in turn, one every `every_s`."""
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise FxtrueError(f"unknown scenario kind(s) {unknown}" if unknown else "no scenario kinds given",
                          hint=f"choose from {', '.join(KINDS)}")
    rng = np.random.default_rng(seed + 104729)
    out = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        out.append(_random_scenario(kind, _pick_pair(kind, pairs, rng),
                                    now_ms + int((first_after_s + i * every_s) * 1000), rng))
    return out


# -- application inside MarketModel.generate (vectorised over one chunk)

def _window(s: Scenario, pair_idx: np.ndarray, ts: np.ndarray, model) -> np.ndarray:
    k = model.pairs.index(s.pair)
    return (pair_idx == k) & (ts >= s.start_ms) & (ts < s.end_ms)


def apply_to_arrivals(model, active: Sequence[Scenario], pair_idx: np.ndarray, ts: np.ndarray,
                      start_ms: int, end_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """Add stuffed quotes, remove stalled ones, and make sure point-like scenarios have a quote to act on."""
    from fxtrue.simulator.market import _unique_sorted

    if not active:
        return pair_idx, ts
    add_p, add_t = [pair_idx], [ts]
    keep = np.ones(len(ts), bool)
    for s in active:
        k = model.pairs.index(s.pair)
        lo, hi = max(s.start_ms, start_ms), min(s.end_ms, end_ms)
        if s.kind == "quote_stuffing" and hi > lo:
            mid_t = np.array([(lo + hi) // 2])
            base = max(float(model.arrival_rates(mid_t)[0, k]), 0.2 * model.peak_rate[k] * model.rate_scale)
            n = model.rng.poisson(base * max(s.magnitude - 1, 0) * (hi - lo) / 1000.0)
            add_t.append(model.rng.integers(lo, hi, n, dtype=np.int64))
            add_p.append(np.full(n, k, np.int16))
        elif s.kind == "feed_stall":
            sel = _window(s, pair_idx, ts, model)
            keep &= ~(sel & (model.rng.random(len(ts)) < s.magnitude))
        elif s.kind in ("price_spike", "crossed_quote", "spread_blowout", "cross_rate_break"):
            for t in (s.start_ms, s.end_ms):  # the off-market quote and the quote that reverts it
                if start_ms <= t < end_ms:
                    add_t.append(np.array([t], np.int64))
                    add_p.append(np.array([k], np.int16))
    add_p[0], add_t[0] = pair_idx[keep], ts[keep]
    return _unique_sorted(np.concatenate(add_p), np.concatenate(add_t))


def apply_to_prices(model, active: Sequence[Scenario], pair_idx: np.ndarray, ts: np.ndarray, mid: np.ndarray,
                    bid: np.ndarray, ask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    bid, ask = bid.copy(), ask.copy()
    for s in active:
        sel = _window(s, pair_idx, ts, model)
        if not sel.any():
            continue
        m = mid[sel]
        if s.kind in ("price_spike", "cross_rate_break"):
            factor = 1.0 + s.magnitude / 1e4
            bid[sel] *= factor
            ask[sel] *= factor
        elif s.kind == "spread_blowout":
            bid[sel] = m - (m - bid[sel]) * s.magnitude
            ask[sel] = m + (ask[sel] - m) * s.magnitude
        elif s.kind == "crossed_quote":
            bid[sel] = m * (1 + s.magnitude / 2e4)
            ask[sel] = m * (1 - s.magnitude / 2e4)
    return bid, ask
