"""The canonical tick (ARCHITECTURE.md "Market data"), its versioned JSON form on Kafka, and its validation.

A tick's identity is (pair, ts): that is what idempotent sinks key on.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from fxtrue.settings import TRUEFX_PAIRS

SCHEMA_VERSION = 1
SOURCES = ("truefx", "replay", "sim")
JPY_DECIMALS = 3
DEFAULT_DECIMALS = 5


_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def price_decimals(pair: str) -> int:
    """TrueFX precision: 3 decimals for JPY-quoted pairs, 5 otherwise."""
    return JPY_DECIMALS if pair.endswith("/JPY") else DEFAULT_DECIMALS


@dataclass(frozen=True)
class Tick:
    pair: str
    ts: int  # event time, epoch ms UTC
    bid: float
    ask: float
    source: str
    received_at: int  # producer wall clock, epoch ms UTC
    high: float | None = None
    low: float | None = None
    open: float | None = None

    @property
    def mid(self) -> float:
        return (self.bid + self.ask) / 2.0

    @property
    def crossed(self) -> bool:
        return self.bid > self.ask

    def to_json(self) -> bytes:
        """The Kafka value: compact JSON with the schema version in `v`."""
        # Built field by field (not dataclasses.asdict, which deep-copies): this is the producer's hot path.
        body = {"v": SCHEMA_VERSION, "pair": self.pair, "ts": self.ts, "bid": self.bid, "ask": self.ask,
                "source": self.source, "received_at": self.received_at}
        for name in ("high", "low", "open"):
            value = getattr(self, name)
            if value is not None:
                body[name] = value
        return _ENCODER.encode(body).encode()

    def key(self) -> bytes:
        return self.pair.encode()


@dataclass(frozen=True)
class Rejection:
    """A record that is not a valid tick, with the reason it goes to the dead-letter topic."""

    reason: str
    raw: str
    source: str = ""

    def to_dlq_json(self, now_ms: int | None = None) -> bytes:
        return json.dumps({"v": SCHEMA_VERSION, "reason": self.reason, "source": self.source,
                           "raw": self.raw[:10000], "time": now_ms if now_ms is not None else now_epoch_ms()},
                          separators=(",", ":")).encode()


def now_epoch_ms() -> int:
    return int(datetime.now(timezone.utc).timestamp() * 1000)


def _finite_positive(name: str, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{name} is not a number"
    if not math.isfinite(value):
        return f"{name} is not finite"
    if value <= 0:
        return f"{name} is not positive"
    return None


def validate(tick: Tick, *, now_ms: int | None = None, max_skew_ms: int | None = None,
             pairs: tuple[str, ...] = TRUEFX_PAIRS) -> str | None:
    """The reason this tick is invalid, or None. A crossed quote (bid > ask) is valid: it is an alert case.

    `max_skew_ms` (live data only) rejects event times further than that from `now_ms`.
    """
    if tick.pair not in pairs:
        return f"unknown pair {tick.pair[:20]!r}"
    if tick.source not in SOURCES:
        return f"unknown source {tick.source[:20]!r}"
    for name in ("bid", "ask"):
        if (err := _finite_positive(name, getattr(tick, name))) is not None:
            return err
    for name in ("high", "low", "open"):
        value = getattr(tick, name)
        if value is not None and (err := _finite_positive(name, value)) is not None:
            return err
    if isinstance(tick.ts, bool) or not isinstance(tick.ts, int) or tick.ts <= 0:
        return "ts is not a positive epoch-ms integer"
    if tick.ts > 4102444800000:  # 2100-01-01
        return "ts is beyond year 2100"
    if max_skew_ms is not None:
        ref = now_ms if now_ms is not None else now_epoch_ms()
        if abs(tick.ts - ref) > max_skew_ms:
            return f"ts is {(tick.ts - ref) / 1000:+.0f} s from now (limit {max_skew_ms / 1000:.0f} s)"
    return None


def from_json(value: bytes | str) -> Tick | Rejection:
    """Parse a Kafka value back to a Tick, or a Rejection with the reason. Never raises."""
    raw = value.decode("utf-8", errors="replace") if isinstance(value, (bytes, bytearray)) else str(value)
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return Rejection("not JSON", raw)
    if not isinstance(body, dict):
        return Rejection("not a JSON object", raw)
    if body.get("v") != SCHEMA_VERSION:
        return Rejection(f"unsupported schema version {body.get('v')!r}", raw)
    try:
        tick = Tick(pair=str(body["pair"]), ts=body["ts"], bid=body["bid"], ask=body["ask"],
                    source=str(body.get("source", "")), received_at=body.get("received_at", 0),
                    high=body.get("high"), low=body.get("low"), open=body.get("open"))
    except KeyError as exc:
        return Rejection(f"missing field {exc.args[0]}", raw)
    reason = validate(tick)
    return Rejection(reason, raw, tick.source) if reason else tick
