"""The canonical tick (README "How detection works"), its versioned JSON form on Kafka, and its validation.

A tick's identity is (pair, ts): that is what idempotent sinks key on.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from fxtrue.errors import redact
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
        """The fx.ticks.dlq record; `raw` (cut to 10,000 characters) passes the one redaction step, as a reply
        row could quote the connect URL."""
        return json.dumps({"v": SCHEMA_VERSION, "reason": self.reason, "source": self.source,
                           "raw": redact(self.raw[:10000]), "time": now_ms if now_ms is not None else now_epoch_ms()},
                          separators=(",", ":")).encode()


# -- The validation rule table -------------------------------------------------------------------------------
#
# One table, two readers: `validate` / `from_json` below evaluate each rule's `py` check on Python values, and
# fxtrue.frames builds the Spark parser's `invalid_reason` column from the same rules' `spark` expressions.
# Rules are checked in table order and the first one that fails gives the reason, the same string on both
# sides (tests/unit/test_validation_parity.py feeds every Kafka corpus input to both).
#
# A field's value is seen through a small "view": Python checks get the value itself, Spark checks get a
# FieldCols (the field's typed value as a double, and whether the JSON token is a number / an integer / an
# integer too long to be a number we accept).

MIN_TS_MS = 946_684_800_000  # 2000-01-01: an event time before this is not FX data (e.g. a 1970 clock reset)
MAX_TS_MS = 4_102_444_800_000  # 2100-01-01
MAX_PRICE = 1_000_000.0  # above any TrueFX quote (USD/JPY ~150): bigger means a unit or parsing error
MAX_INT_DIGITS = 32  # longer JSON integers are never converted to int (their value is taken as a float)
MAX_NUMBER_CHARS = 1000  # a longer number token makes the message "not JSON" (Jackson's limit in Spark too)
REQUIRED_FIELDS = ("v", "pair", "ts", "bid", "ask", "source", "received_at")  # in check order
OPTIONAL_FIELDS = ("high", "low", "open")
FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS  # additionalProperties: false (fxtrue/schema/tick-v1.json)
PRICE_FIELDS = ("bid", "ask") + OPTIONAL_FIELDS
ECHO_CHARS = 20  # a reason echoes at most this many characters of a bad value, sanitised (the DLQ keeps raw)
ECHO_SAFE = "A-Za-z0-9/ ._-"  # other characters are echoed as '?'


class LongInt(str):
    """A JSON integer of more than MAX_INT_DIGITS characters: kept as its text (Python's int() of a huge text is
    slow or raises), with `num` its value as a float (Spark reads it as a double too)."""

    @property
    def num(self) -> float:
        return float(self)


def is_number(value: Any) -> bool:
    """A JSON number token (booleans are not numbers, strings are not, even "1.5" or "NaN")."""
    return isinstance(value, (int, float, LongInt)) and not isinstance(value, bool)


def is_integer(value: Any) -> bool:
    return isinstance(value, (int, LongInt)) and not isinstance(value, bool)


def num(value: Any) -> float | int:
    return value.num if isinstance(value, LongInt) else value


def echo(value: Any) -> str:
    """A bad value as a reason shows it: JSON text of non-strings, first ECHO_CHARS characters, unsafe -> '?'."""
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return "'" + re.sub(f"[^{ECHO_SAFE}]", "?", text[:ECHO_CHARS]) + "'"


@dataclass(frozen=True)
class Rule:
    """One check of a present field: `py(value)` (on the Python value) and `spark(cols, F)` (on a
    frames.FieldCols: is_number, is_int, num) are true when the value is BAD; `reason` names the field."""

    name: str
    reason: str
    py: Callable[[Any], bool]
    spark: Callable[[Any, Any], Any]


def _price_rules(field: str) -> tuple[Rule, ...]:
    return (
        Rule("type", f"{field} is not a number", lambda v: not is_number(v), lambda c, F: ~c.is_number),
        Rule("finite", f"{field} is not finite", lambda v: not math.isfinite(num(v)),
             lambda c, F: F.isnan(c.num) | (F.abs(c.num) == float("inf"))),
        Rule("positive", f"{field} is not positive", lambda v: num(v) <= 0, lambda c, F: c.num <= 0),
        Rule("range", f"{field} is above {MAX_PRICE:.0f}", lambda v: num(v) > MAX_PRICE,
             lambda c, F: c.num > MAX_PRICE),
    )


_TS_BAD = "ts is not a positive epoch-ms integer"
FIELD_RULES: dict[str, tuple[Rule, ...]] = {
    **{f: _price_rules(f) for f in PRICE_FIELDS},
    "ts": (
        Rule("type", _TS_BAD, lambda v: not is_integer(v), lambda c, F: ~c.is_int),
        Rule("positive", _TS_BAD, lambda v: num(v) <= 0, lambda c, F: c.num <= 0),
        Rule("min", "ts is before year 2000", lambda v: num(v) < MIN_TS_MS, lambda c, F: c.num < MIN_TS_MS),
        Rule("max", "ts is beyond year 2100", lambda v: num(v) >= MAX_TS_MS, lambda c, F: c.num >= MAX_TS_MS),
    ),
    "received_at": (
        Rule("type", "received_at is not an epoch-ms integer",
             lambda v: not is_integer(v) or not 0 <= num(v) < MAX_TS_MS,
             lambda c, F: ~c.is_int | (c.num < 0) | (c.num >= MAX_TS_MS)),
    ),
}
# The whole-tick rules, in check order (a field's rules run where the field is named). A value outside
# `pairs` / SOURCES is echoed (sanitised) in the reason; high >= low is checked once both are valid numbers.
CHECK_ORDER = ("pair", "source", "bid", "ask", "high", "low", "open", "high>=low", "ts", "received_at")
HIGH_BELOW_LOW = "high is below low"


def now_epoch_ms() -> int:
    return int(datetime.now(timezone.utc).timestamp() * 1000)


def tick_reason(values: dict[str, Any], pairs: tuple[str, ...] = TRUEFX_PAIRS) -> str | None:
    """The reason the first rule of the table (CHECK_ORDER) that `values` (field -> value, None = absent)
    breaks gives, or None. Presence of required fields is checked before (from_json; a Tick has them all)."""
    if values.get("pair") not in pairs:
        return f"unknown pair {echo(values.get('pair'))}"
    if values.get("source") not in SOURCES:
        return f"unknown source {echo(values.get('source'))}"
    get = values.get
    for step, rules in _PY_STEPS:  # the producer's hot path: the table flattened once, below
        if rules is None:
            high, low = get("high"), get("low")
            if high is not None and low is not None and num(high) < num(low):
                return HIGH_BELOW_LOW
        elif (value := get(step)) is not None:
            for bad, reason in rules:
                if bad(value):
                    return reason
    return None


# CHECK_ORDER after "pair" and "source", as (field, ((check, reason), ...)) or ("high>=low", None).
if CHECK_ORDER[:2] != ("pair", "source"):  # tick_reason checks these two first, by name
    raise RuntimeError(f"tick_reason expects CHECK_ORDER to start with pair, source: {CHECK_ORDER}")
_PY_STEPS = tuple((step, None if step == "high>=low" else tuple((r.py, r.reason) for r in FIELD_RULES[step]))
                  for step in CHECK_ORDER[2:])


def skew_reason(delta_ms: int, limit_ms: int, against: str = "its arrival") -> str:
    """The reason for an event time `delta_ms` away from a reference (positive: ahead of it). The Spark
    parser builds the same text (frames.skew_reason)."""
    side = "ahead of" if delta_ms > 0 else "behind"
    return f"ts is {abs(delta_ms) // 1000} s {side} {against} (limit {limit_ms // 1000} s)"


def event_time_reason(ts: int, *, now_ms: int, max_skew_ms: int, live: bool = True,
                      replay_clock_ms: int | None = None) -> str | None:
    """The producer's event-time bound (the streaming job bounds ts against the Kafka timestamp the same way).

    Live data: within `max_skew_ms` of the producer's clock either way. A replay: not ahead of the wall clock
    by more (recorded history is never from the future, and a shifted replay may not run ahead of real time,
    which would move the streaming job's watermark), and not behind its replay clock (the newest event time the
    replay has published) by more: such a tick could not move the watermark and would be dropped as late.
    """
    if live:
        return skew_reason(ts - now_ms, max_skew_ms) if abs(ts - now_ms) > max_skew_ms else None
    if ts - now_ms > max_skew_ms:
        return skew_reason(ts - now_ms, max_skew_ms)
    if replay_clock_ms is not None and replay_clock_ms - ts > max_skew_ms:
        return skew_reason(ts - replay_clock_ms, max_skew_ms, "the replay clock")
    return None


def validate(tick: Tick, *, now_ms: int | None = None, max_skew_ms: int | None = None,
             pairs: tuple[str, ...] = TRUEFX_PAIRS) -> str | None:
    """The reason this tick is invalid, or None. A crossed quote (bid > ask) is valid: it is an alert case.

    `max_skew_ms` also rejects event times further than that from `now_ms` (live data) either way.
    """
    if (reason := tick_reason(vars(tick), pairs)) is not None:  # a Tick's fields are FIELDS but "v"
        return reason
    if max_skew_ms is not None:
        return event_time_reason(tick.ts, now_ms=now_ms if now_ms is not None else now_epoch_ms(),
                                 max_skew_ms=max_skew_ms)
    return None


class _Object(dict):
    duplicate: str | None = None


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        obj.duplicate = min(k for k, _ in pairs if k in seen or seen.add(k))
    return obj


def _parse_int(text: str) -> int | LongInt:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError("number too long")
    return LongInt(text) if len(text) > MAX_INT_DIGITS else int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError("number too long")
    return float(text)


# Leading whitespace is skipped and anything after the first JSON value is ignored (as Spark's from_json does);
# duplicate keys are kept apart (a smuggled second "pair" is rejected, not silently last-wins).
_DECODER = json.JSONDecoder(object_pairs_hook=_object, parse_int=_parse_int, parse_float=_parse_float)
_JSON_WS = " \t\n\r"


def json_reason(body: Any) -> str | None:
    """Message-level rules (before the tick rules): object, no duplicate keys, schema version, no field
    outside the schema, required fields present (null = absent)."""
    if not isinstance(body, dict):
        return "not a JSON object"
    if getattr(body, "duplicate", None) is not None:
        return f"duplicate field {echo(body.duplicate)}"
    v = body.get("v")
    if v is None:
        return "missing field v"
    if not is_integer(v):
        return "schema version is not an integer"
    if v != SCHEMA_VERSION:
        return f"unsupported schema version {str(v)[:ECHO_CHARS]}"
    extra = set(body) - set(FIELDS)
    if extra:
        return f"unexpected field {echo(min(extra))}"
    for name in REQUIRED_FIELDS:
        if body.get(name) is None:
            return f"missing field {name}"
    return None


def from_json(value: bytes | str) -> Tick | Rejection:
    """Parse a Kafka value back to a Tick, or a Rejection with the reason (the rule table). Never raises."""
    raw = value.decode("utf-8", errors="replace") if isinstance(value, (bytes, bytearray)) else str(value)
    try:
        body, _end = _DECODER.raw_decode(raw.lstrip(_JSON_WS))
    except (ValueError, RecursionError):
        return Rejection("not JSON", raw)
    source = body.get("source") if isinstance(body, dict) else None
    source = source if isinstance(source, str) else ""
    reason = json_reason(body) or tick_reason(body)
    if reason is not None:
        return Rejection(reason, raw, source)
    return Tick(pair=body["pair"], ts=body["ts"], bid=body["bid"], ask=body["ask"], source=source,
                received_at=body["received_at"], high=body.get("high"), low=body.get("low"), open=body.get("open"))
