"""The market model: seeded currency values from which every TrueFX pair is derived, quote arrivals that follow
an intraday activity profile, and per-pair spreads, generated in vectorised chunks of time.

One set of USD values (EUR, GBP, AUD, NZD, CAD, CHF, JPY; USD = 1) follows correlated GBM with a weak
mean reversion, on a fixed 100 ms grid aligned to the epoch. A pair A/B is priced v_A / v_B at the grid point of
each quote, so triangles (EUR/JPY vs EUR/USD x USD/JPY) agree up to rounding and spread. Quotes arrive per pair as
a Poisson process whose rate follows the Asia / London / New York sessions; nothing arrives (and prices do not
move) from Friday 22:00 to Sunday 22:00 UTC when `weekend_closure` is on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fxtrue.market_calendar import DAY_MS, HOUR_MS, is_market_open
from fxtrue.settings import TRUEFX_PAIRS
from fxtrue.ticks import price_decimals

GRID_MS = 100

CURRENCIES = ("EUR", "GBP", "AUD", "NZD", "CAD", "CHF", "JPY")
# Starting USD value of one unit of each currency (USD = 1).
START_VALUES = {"EUR": 1.0850, "GBP": 1.2700, "AUD": 0.6600, "NZD": 0.6050, "CAD": 1 / 1.3600,
                "CHF": 1 / 0.8800, "JPY": 1 / 150.00}
# Annualised volatility against USD.
ANNUAL_VOL = {"EUR": 0.075, "GBP": 0.085, "AUD": 0.105, "NZD": 0.11, "CAD": 0.065, "CHF": 0.08, "JPY": 0.095}
# Factor loadings (USD factor, Europe bloc, commodity bloc, safe haven); rows are normalised, so only the
# proportions matter: they set the correlations (EUR~CHF, AUD~NZD high; JPY and CHF share the haven factor).
_LOADINGS = {
    "EUR": (0.70, 0.60, 0.00, 0.10, 0.30),
    "GBP": (0.60, 0.50, 0.10, 0.00, 0.50),
    "AUD": (0.55, 0.00, 0.75, 0.00, 0.30),
    "NZD": (0.55, 0.00, 0.70, 0.00, 0.40),
    "CAD": (0.45, 0.00, 0.45, 0.00, 0.60),
    "CHF": (0.60, 0.55, 0.00, 0.40, 0.30),
    "JPY": (0.50, 0.00, 0.00, 0.65, 0.55),
}  # the last column is each currency's own idiosyncratic share
_SECONDS_PER_YEAR = 252 * 86400.0
MEAN_REVERSION_PER_DAY = 0.02  # keeps month-long simulations within a plausible band

# Spread in basis points of mid in normal (London) conditions; TrueFX aggregates ECNs, so spreads are tight.
BASE_SPREAD_BPS = {
    "EUR/USD": 0.6, "USD/JPY": 0.8, "GBP/USD": 1.0, "AUD/USD": 1.2, "USD/CHF": 1.3, "USD/CAD": 1.2,
    "NZD/USD": 1.8, "EUR/GBP": 1.3, "EUR/JPY": 1.3, "EUR/CHF": 1.6, "GBP/JPY": 2.0, "AUD/JPY": 1.8,
    "CAD/JPY": 2.4, "CHF/JPY": 2.6, "AUD/NZD": 3.0,
}
# Peak quote rate (ticks/s at rate_scale 1) in the pair's most active session.
PEAK_RATE = {
    "EUR/USD": 4.5, "USD/JPY": 3.9, "GBP/USD": 3.6, "AUD/USD": 2.7, "USD/CHF": 2.1, "USD/CAD": 2.2,
    "NZD/USD": 1.6, "EUR/GBP": 1.9, "EUR/JPY": 2.7, "EUR/CHF": 1.5, "GBP/JPY": 2.2, "AUD/JPY": 1.8,
    "CAD/JPY": 1.0, "CHF/JPY": 0.9, "AUD/NZD": 0.9,
}

# Trading sessions (UTC hours, start, end); activity rises and falls smoothly inside each.
SESSIONS = {"asia": (23.0, 8.0), "london": (7.0, 16.0), "new_york": (12.0, 21.0)}
_SESSION_WEIGHT = {"EUR": (0.35, 1.0, 0.7), "GBP": (0.3, 1.0, 0.7), "CHF": (0.3, 1.0, 0.5),
                   "JPY": (1.0, 0.6, 0.55), "AUD": (1.0, 0.55, 0.5), "NZD": (1.0, 0.45, 0.45),
                   "CAD": (0.25, 0.6, 1.0), "USD": (0.5, 0.8, 1.0)}
ACTIVITY_FLOOR = 0.06  # the quiet hour before Asia opens still has some quotes


def pair_currencies(pair: str) -> tuple[str, str]:
    base, quote = pair.split("/")
    return base, quote


def _session_bump(hour: np.ndarray, start: float, end: float) -> np.ndarray:
    """A raised-cosine bump over the session [start, end) (wrapping midnight), 0 outside."""
    length = (end - start) % 24.0
    pos = (hour - start) % 24.0
    inside = pos < length
    return np.where(inside, np.sin(np.pi * np.clip(pos / length, 0, 1)) ** 2 * 0.85 + 0.15 * inside, 0.0)


def activity(pair: str, hour_utc: np.ndarray | float) -> np.ndarray:
    """Relative quote activity of a pair at fractional UTC hours (peak about 1, floor ACTIVITY_FLOOR)."""
    hour = np.asarray(hour_utc, dtype=float)
    base, quote = pair_currencies(pair)
    total = np.zeros_like(hour)
    for i, (start, end) in enumerate(SESSIONS.values()):
        w = max(_SESSION_WEIGHT[base][i], _SESSION_WEIGHT[quote][i])
        total = total + w * _session_bump(hour, start, end)
    return ACTIVITY_FLOOR + (1 - ACTIVITY_FLOOR) * np.clip(total / 1.25, 0, 1.2)


def is_open(ts_ms: np.ndarray) -> np.ndarray:
    """False during the weekend closure (the rule lives in fxtrue.market_calendar)."""
    return is_market_open(np.asarray(ts_ms, dtype=np.int64))


def _hour_of(ts_ms: np.ndarray) -> np.ndarray:
    return (np.asarray(ts_ms) % DAY_MS) / HOUR_MS


@dataclass
class Chunk:
    """Ticks of all pairs over [start_ms, end_ms), columnar, ordered by (ts, pair index)."""

    pair_index: np.ndarray  # int16, into MarketModel.pairs
    ts: np.ndarray  # int64 epoch ms
    bid: np.ndarray  # float64, rounded to the pair's precision
    ask: np.ndarray

    def __len__(self) -> int:
        return len(self.ts)

    @staticmethod
    def empty() -> "Chunk":
        return Chunk(np.zeros(0, np.int16), np.zeros(0, np.int64), np.zeros(0), np.zeros(0))


class MarketModel:
    """Seeded market state that generates consecutive chunks of time; the same seed gives the same ticks."""

    def __init__(self, pairs: tuple[str, ...] = TRUEFX_PAIRS, seed: int = 1, rate_scale: float = 1.0,
                 weekend_closure: bool = True, start_values: dict[str, float] | None = None) -> None:
        unknown = [p for p in pairs if p not in TRUEFX_PAIRS]
        if unknown:
            raise ValueError(f"unknown pair(s): {', '.join(unknown)}")
        self.pairs = tuple(pairs)
        self.rate_scale = float(rate_scale)
        self.weekend_closure = weekend_closure
        self.rng = np.random.default_rng(seed)
        self.anchor = np.log([(start_values or START_VALUES)[c] for c in CURRENCIES])
        self.log_values = self.anchor.copy()
        load = np.array([_LOADINGS[c] for c in CURRENCIES], dtype=float)
        factors = load[:, :4]
        idio = np.diag(load[:, 4])
        full = np.hstack([factors, idio])
        full /= np.linalg.norm(full, axis=1, keepdims=True)
        vol_per_s = np.array([ANNUAL_VOL[c] for c in CURRENCIES]) / np.sqrt(_SECONDS_PER_YEAR)
        self._loadings = full * vol_per_s[:, None]  # (currencies, factors)
        self._cur_index = {c: i for i, c in enumerate(CURRENCIES)}
        # Per pair: +1 / -1 weights on log currency values (USD has none).
        self._pair_weights = np.zeros((len(self.pairs), len(CURRENCIES)))
        for k, pair in enumerate(self.pairs):
            base, quote = pair_currencies(pair)
            if base != "USD":
                self._pair_weights[k, self._cur_index[base]] += 1
            if quote != "USD":
                self._pair_weights[k, self._cur_index[quote]] -= 1
        self.decimals = np.array([price_decimals(p) for p in self.pairs])
        self.base_spread = np.array([BASE_SPREAD_BPS[p] for p in self.pairs]) / 1e4
        self.peak_rate = np.array([PEAK_RATE[p] for p in self.pairs])
        self.now_ms: int | None = None

    def correlation(self) -> np.ndarray:
        cov = self._loadings @ self._loadings.T
        d = np.sqrt(np.diag(cov))
        return cov / np.outer(d, d)

    # -- the price path
    def _path(self, start_ms: int, end_ms: int) -> np.ndarray:
        """Log currency values at each grid point in [start_ms, end_ms); advances the state to end_ms."""
        n = (end_ms - start_ms) // GRID_MS
        grid_ts = start_ms + np.arange(n, dtype=np.int64) * GRID_MS
        if self.weekend_closure and n and not is_open(grid_ts[::600]).any() and not is_open(grid_ts[-1:]).any():
            return np.broadcast_to(self.log_values, (n, len(self.log_values)))  # closed: prices do not move
        dt = GRID_MS / 1000.0
        # Volatility follows activity (the pair-independent USD activity): busy hours move more.
        per_s = 1000 // GRID_MS
        act = np.repeat(activity("EUR/USD", _hour_of(grid_ts[::per_s])), per_s)[:n]
        scale = np.sqrt(act / 0.55) * np.sqrt(dt)
        if self.weekend_closure:
            scale = scale * is_open(grid_ts)
        shocks = self.rng.standard_normal((n, self._loadings.shape[1])) @ self._loadings.T
        drift = -MEAN_REVERSION_PER_DAY * (self.log_values - self.anchor) * (n * dt / 86400.0)
        increments = shocks * scale[:, None]
        path = self.log_values + np.cumsum(increments, axis=0) + np.outer(np.arange(1, n + 1) / max(n, 1), drift)
        if n:
            self.log_values = path[-1].copy()
        return path

    # -- quote arrivals
    def arrival_rates(self, ts_ms: np.ndarray) -> np.ndarray:
        """Quote rate (ticks/s) per pair (columns) at each time (rows)."""
        hours = _hour_of(ts_ms)
        rates = np.stack([activity(p, hours) for p in self.pairs], axis=1) * self.peak_rate * self.rate_scale
        if self.weekend_closure:
            rates = rates * is_open(ts_ms)[:, None]
        return rates

    def _arrivals(self, start_ms: int, end_ms: int) -> tuple[np.ndarray, np.ndarray]:
        """(pair index, ts) of quote arrivals in [start_ms, end_ms), one per pair per ms at most."""
        seconds = np.arange(start_ms, end_ms, 1000, dtype=np.int64)
        width = np.minimum(seconds + 1000, end_ms) - seconds
        rates = self.arrival_rates(seconds + width // 2)
        counts = self.rng.poisson(rates * (width / 1000.0)[:, None])  # (seconds, pairs)
        total = int(counts.sum())
        if total == 0:
            return np.zeros(0, np.int16), np.zeros(0, np.int64)
        sec_idx, pair_idx = np.nonzero(counts)
        reps = counts[sec_idx, pair_idx]
        sec_start = np.repeat(seconds[sec_idx], reps)
        sec_width = np.repeat(width[sec_idx], reps)
        pair_rep = np.repeat(pair_idx, reps).astype(np.int16)
        ts = sec_start + (self.rng.random(total) * sec_width).astype(np.int64)
        return _unique_sorted(pair_rep, ts)

    # -- putting it together
    def generate(self, start_ms: int, end_ms: int, scenarios=()) -> Chunk:
        """All pairs' ticks in [start_ms, end_ms) (grid-aligned), with the scenarios that overlap applied.

        Consecutive calls must be contiguous; the model keeps its price state between them.
        """
        from fxtrue.simulator import scenarios as sc

        if start_ms % GRID_MS or end_ms % GRID_MS:
            raise ValueError("chunk bounds must be multiples of the 100 ms grid")
        if self.now_ms is not None and start_ms != self.now_ms:
            raise ValueError(f"chunks must be contiguous: expected start {self.now_ms}, got {start_ms}")
        self.now_ms = end_ms
        if end_ms <= start_ms:
            return Chunk.empty()
        active = [s for s in scenarios if s.overlaps(start_ms, end_ms) and s.pair in self.pairs]
        pair_idx, ts = self._arrivals(start_ms, end_ms)
        pair_idx, ts = sc.apply_to_arrivals(self, active, pair_idx, ts, start_ms, end_ms)
        path = self._path(start_ms, end_ms)
        grid_i = (ts - start_ms) // GRID_MS
        log_mid = np.einsum("ij,ij->i", path[grid_i], self._pair_weights[pair_idx])
        mid = np.exp(log_mid)
        half = self._spreads(pair_idx, ts) * mid / 2.0
        bid, ask = mid - half, mid + half
        bid, ask = sc.apply_to_prices(self, active, pair_idx, ts, mid, bid, ask)
        scale = 10.0 ** self.decimals[pair_idx]
        lo, hi = np.minimum(bid, ask), np.maximum(bid, ask)
        lo_r, hi_r = np.floor(lo * scale + 1e-9) / scale, np.ceil(hi * scale - 1e-9) / scale
        crossed = bid > ask
        bid_r = np.where(crossed, hi_r, lo_r)
        ask_r = np.where(crossed, lo_r, hi_r)
        return Chunk(pair_idx, ts, np.round(bid_r, 5), np.round(ask_r, 5))

    def _spreads(self, pair_idx: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """Relative spread per tick: wider in quiet hours, with lognormal noise."""
        hours = _hour_of(ts)
        act = np.ones(len(ts))
        for k, pair in enumerate(self.pairs):
            sel = pair_idx == k
            if sel.any():
                act[sel] = activity(pair, hours[sel])
        quiet = 1.0 + 0.8 * (1.0 - np.clip(act, 0, 1))
        noise = np.exp(self.rng.normal(0.0, 0.25, len(ts)))
        return self.base_spread[pair_idx] * quiet * noise

    def mids(self) -> dict[str, float]:
        """The current mid of every pair (from the latest state)."""
        return {p: float(np.exp(self._pair_weights[k] @ self.log_values)) for k, p in enumerate(self.pairs)}


def _unique_sorted(pair_idx: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort by (ts, pair) and keep one quote per pair per millisecond: (pair, ts) is a tick's identity."""
    order = np.lexsort((pair_idx, ts))
    pair_idx, ts = pair_idx[order], ts[order]
    if len(ts) > 1:
        keep = np.ones(len(ts), bool)
        keep[1:] = (ts[1:] != ts[:-1]) | (pair_idx[1:] != pair_idx[:-1])
        pair_idx, ts = pair_idx[keep], ts[keep]
    return pair_idx, ts
