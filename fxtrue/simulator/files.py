"""Write simulated ticks as TrueFX history files: one headerless CSV per pair per month (EURUSD-2026-11.csv,
optionally zipped like TrueFX ships them) holding `EUR/USD,20261102 00:00:00.959,1.08601,1.08605`, plus labels.csv."""

from __future__ import annotations

import time
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from fxtrue.settings import TRUEFX_PAIRS
from fxtrue.simulator.market import DAY_MS, HOUR_MS, Chunk, MarketModel
from fxtrue.simulator.scenarios import Scenario, write_labels
from fxtrue.ticks import price_decimals

LABELS_FILE = "labels.csv"


def file_name(pair: str, year: int, month: int, ext: str = "csv") -> str:
    return f"{pair.replace('/', '')}-{year:04d}-{month:02d}.{ext}"


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits (ASCII) of non-negative ints, shape (n, width)."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // powers) % 10 + 48).astype(np.uint8)


def _price_bytes(values: np.ndarray, dec: int) -> np.ndarray:
    """ASCII of prices with `dec` decimals, left-padded with NUL bytes to a fixed width (removed later)."""
    q = np.round(values * 10.0 ** dec).astype(np.int64)
    ip, frac = np.divmod(q, 10 ** dec)
    int_w = max(1, len(str(int(ip.max()))))
    int_digits = _digits(ip, int_w)
    n_digits = np.maximum(1, np.floor(np.log10(np.maximum(ip, 1))).astype(int) + 1)
    pad = np.arange(int_w)[None, :] < (int_w - n_digits)[:, None]
    int_digits[pad] = 0
    dot = np.full((len(q), 1), ord("."), np.uint8)
    return np.hstack([int_digits, dot, _digits(frac, dec)])


def format_lines(pair: str, ts: np.ndarray, bid: np.ndarray, ask: np.ndarray) -> bytes:
    """TrueFX history lines for one pair (ts epoch ms UTC), built as one byte matrix (no per-line Python)."""
    n = len(ts)
    if n == 0:
        return b""
    dec = price_decimals(pair)
    ts = np.asarray(ts, dtype=np.int64)
    day = ts // DAY_MS
    in_day = ts - day * DAY_MS
    h, rem = np.divmod(in_day, HOUR_MS)
    m, rem = np.divmod(rem, 60_000)
    s, ms = np.divmod(rem, 1000)
    days, inverse = np.unique(day, return_inverse=True)
    day_bytes = np.array([list(datetime.fromtimestamp(int(d) * 86400, tz=timezone.utc).strftime("%Y%m%d ").encode())
                          for d in days.tolist()], np.uint8)[inverse.reshape(-1)]

    def const(text: str) -> np.ndarray:
        return np.tile(np.frombuffer(text.encode(), np.uint8), (n, 1))

    parts = [const(pair + ","), day_bytes, _digits(h, 2), const(":"), _digits(m, 2), const(":"), _digits(s, 2),
             const("."), _digits(ms, 3), const(","), _price_bytes(np.asarray(bid), dec), const(","),
             _price_bytes(np.asarray(ask), dec), const("\n")]
    flat = np.hstack(parts).reshape(-1)
    return flat[flat != 0].tobytes()


@dataclass
class SimulationSummary:
    ticks: int = 0
    files: list[Path] = field(default_factory=list)
    labels: Path | None = None
    seconds: float = 0.0
    per_pair: dict[str, int] = field(default_factory=dict)


def simulate_files(out_dir: str | Path, start: date, days: int, *, pairs: Sequence[str] = TRUEFX_PAIRS,
                   scenarios: Sequence[Scenario] = (), seed: int = 1, rate_scale: float = 1.0,
                   zip_files: bool = False, chunk_ms: int = HOUR_MS,
                   progress: Callable[[str], None] | None = None) -> SimulationSummary:
    """Simulate [start, start + days) and write TrueFX monthly files + labels.csv into out_dir."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = MarketModel(tuple(pairs), seed=seed, rate_scale=rate_scale)
    t0 = int(datetime(start.year, start.month, start.day, tzinfo=timezone.utc).timestamp() * 1000)
    t_end = t0 + days * DAY_MS
    summary = SimulationSummary(per_pair={p: 0 for p in model.pairs})
    handles: dict[Path, object] = {}
    began = time.monotonic()
    last_note = began
    try:
        for c0 in range(t0, t_end, chunk_ms):
            chunk = model.generate(c0, min(c0 + chunk_ms, t_end), scenarios)
            _write_chunk(out, model, chunk, handles, summary)
            now = time.monotonic()
            if progress and (now - last_note > 2 or c0 + chunk_ms >= t_end):
                last_note = now
                done = (min(c0 + chunk_ms, t_end) - t0) / (t_end - t0)
                rate = summary.ticks / max(now - began, 1e-9)
                progress(f"  {done:6.1%}  {datetime.fromtimestamp(min(c0 + chunk_ms, t_end) / 1000, timezone.utc):%Y-%m-%d %H:%M}"
                         f"  {summary.ticks:>10,} ticks  ({rate:,.0f} ticks/s)")
    finally:
        for fh in handles.values():
            fh.close()
    csvs = sorted(handles)
    if zip_files:
        zipped = []
        for path in csvs:
            target = path.with_suffix(".zip")
            with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
                zf.write(path, arcname=path.name)
            path.unlink()
            zipped.append(target)
        csvs = zipped
    summary.files = csvs
    labels = [s for s in scenarios if s.pair in model.pairs and s.start_ms < t_end and s.end_ms > t0]
    summary.labels = out / LABELS_FILE
    write_labels(labels, summary.labels)
    summary.seconds = time.monotonic() - began
    return summary


def _write_chunk(out: Path, model: MarketModel, chunk: Chunk, handles: dict, summary: SimulationSummary) -> None:
    if not len(chunk):
        return
    order = np.argsort(chunk.pair_index, kind="stable")  # stays time-ordered within a pair
    pidx = chunk.pair_index[order]
    bounds = np.searchsorted(pidx, np.arange(len(model.pairs) + 1))
    for k, pair in enumerate(model.pairs):
        lo, hi = bounds[k], bounds[k + 1]
        if lo == hi:
            continue
        sel = order[lo:hi]
        ts = chunk.ts[sel]
        # A chunk never spans months in practice (hour chunks), but split anyway.
        months = (ts // DAY_MS).astype("datetime64[D]").astype("datetime64[M]")
        for mth in np.unique(months):
            part = months == mth
            y, mo = int(str(mth)[:4]), int(str(mth)[5:7])
            path = out / file_name(pair, y, mo)
            if path not in handles:
                handles[path] = open(path, "wb", buffering=1 << 20)
            handles[path].write(format_lines(pair, ts[part], chunk.bid[sel][part], chunk.ask[sel][part]))
        summary.ticks += hi - lo
        summary.per_pair[pair] += int(hi - lo)


def day_range(start: date, days: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(days)]
