"""TrueFX Web API: the pure reply parser (csv and html) and the polling client (sessions, expiry, backoff).

Protocol: connect.html?u=&p=&q=&c=&f=csv&s=n -> a session id or `not authorized`;
?id=<session>&f=csv -> rows of the pairs that changed since the last poll; ?di=<session> disconnects. An expired
id silently answers with the unauthenticated 10-pair snapshot. A row: symbol, ms timestamp, bid big figure,
bid points, offer big figure, offer points, high, low, open (high and low come swapped in csv).
"""

from __future__ import annotations

import html
import logging
import random
import re
import time
from collections import deque
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Callable, Iterable, Iterator, Sequence

from fxtrue.errors import FxtrueError, redact, redact_logs, register_secret
from fxtrue.history import DECIMAL_RE, MAX_PRICE_CHARS
from fxtrue.settings import TRUEFX_PAIRS, TrueFXSettings
from fxtrue.ticks import Rejection, Tick, now_epoch_ms, price_decimals, validate

log = logging.getLogger(__name__)

# What an unauthenticated request (or an expired session) gets.
SNAPSHOT_PAIRS = ("EUR/USD", "USD/JPY", "GBP/USD", "EUR/GBP", "USD/CHF", "EUR/JPY", "EUR/CHF", "USD/CAD",
                  "AUD/USD", "GBP/JPY")
NOT_AUTHORIZED = "not authorized"
# A session id: colon-separated tokens of plain characters (TrueFX: user:user:...:<ms>); anything else (a JSON or
# HTML error, a sentence) is an error reply, never a session.
_SESSION_ID = re.compile(r"[A-Za-z0-9_.@+-]{1,64}(?::[A-Za-z0-9_.@+-]{1,64}){1,7}", re.ASCII)
_ERROR_DETAIL_CHARS = 200
ROW_FIELDS = (9, 6)  # a rate row: symbol, ms, bid big figure, points, offer big figure, points[, high, low, open]
_DEDUP_WINDOW = 256  # (pair, ts) remembered per pair to drop repeated quotes


class NotAuthorized(FxtrueError):
    """TrueFX refused the credentials."""


class TransientError(Exception):
    """An HTTP error, timeout or unusable reply: retry with backoff."""


@dataclass(frozen=True)
class Reply:
    """A parsed reply. kind: rates | empty (nothing changed) | not_authorized | error (e.g. an HTML error page)."""

    kind: str
    items: tuple[Tick | Rejection, ...] = ()
    detail: str = ""

    @property
    def ticks(self) -> list[Tick]:
        return [i for i in self.items if isinstance(i, Tick)]

    @property
    def pairs(self) -> set[str]:
        return {i.pair for i in self.items if isinstance(i, Tick)}


def _price(text: str, decimals: int) -> float:
    """Exact decimal text -> float rounded to the pair's precision (handles artefacts like 107.089996)."""
    t = text.strip()
    if len(t) > MAX_PRICE_CHARS:  # hostile input: a megabyte of digits would otherwise round to a price
        raise ValueError(f"price text too long ({len(t):,} chars)")
    if not DECIMAL_RE.fullmatch(t):
        raise ValueError(f"not a decimal: {t[:20]!r}")
    q = Decimal(t).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)
    return float(q)


def join_price(big_figure: str, points: str, decimals: int) -> float:
    """'1.06' + '970' -> 1.0697 exactly (string join, never float addition)."""
    big, pts = big_figure.strip(), points.strip()
    if "." not in big or not pts.isdigit():
        raise ValueError(f"bad big figure/points {big[:12]!r}+{pts[:12]!r}")
    return _price(big + pts, decimals)


def parse_row(fields: Sequence[str], received_at: int, source: str = "truefx") -> Tick | Rejection:
    """One live row (9 fields, or 6 without high/low/open) -> Tick or Rejection. Never raises."""
    raw = ",".join(str(f) for f in fields)
    try:
        if len(fields) not in ROW_FIELDS:
            return Rejection(f"expected 9 fields, got {len(fields)}", raw, source)
        pair = fields[0].strip()
        if pair not in TRUEFX_PAIRS:
            return Rejection(f"unknown pair {pair[:20]!r}", raw, source)
        dec = price_decimals(pair)
        ts_text = fields[1].strip()
        if not ts_text.isdigit() or len(ts_text) > 15:
            return Rejection("timestamp is not epoch milliseconds", raw, source)
        try:
            bid = join_price(fields[2], fields[3], dec)
            ask = join_price(fields[4], fields[5], dec)
        except (ValueError, InvalidOperation) as exc:
            return Rejection(f"bad price: {exc}", raw, source)
        high = low = open_ = None
        if len(fields) == 9:
            try:
                a, b, open_ = (_price(f, dec) for f in fields[6:9])
            except (ValueError, InvalidOperation) as exc:
                return Rejection(f"bad high/low/open: {exc}", raw, source)
            high, low = max(a, b), min(a, b)  # TrueFX's csv swaps them
        tick = Tick(pair, int(ts_text), bid, ask, source, received_at, high, low, open_)
        reason = validate(tick)
        return Rejection(reason, raw, source) if reason else tick
    except Exception as exc:  # noqa: BLE001 - the contract is "never raises"
        return Rejection(f"unparseable row ({type(exc).__name__})", raw[:1000], source)


def _tags(body: str) -> Iterator[tuple[str, str]]:
    """(text before the tag, lower-case tag name with a leading '/' when closing) in order, and last (the text
    after the final tag, "").
    Linear time: each character is scanned once (str.find), so hostile HTML (a megabyte of `<tr` with no `>`)
    cannot make it quadratic as backtracking regexes did. An unterminated `<` ends the scan."""
    i, n = 0, len(body)
    while i < n:
        lt = body.find("<", i)
        if lt < 0:
            break
        gt = body.find(">", lt + 1)
        if gt < 0:
            yield body[i:lt], ""
            return
        name = body[lt + 1:gt].split(None, 1)
        yield body[i:lt], name[0].lower() if name else ""
        i = gt + 1
    yield body[i:], ""


def _html_rows(body: str) -> list[list[str]]:
    """Cells of each <tr> (text of <td>/<th>, inner tags dropped, entities decoded)."""
    rows: list[list[str]] = []
    row: list[str] | None = None
    cell: list[str] | None = None
    for text, tag in _tags(body):
        if cell is not None:
            cell.append(text)
        if tag in ("td", "th", "/td", "/th", "tr", "/tr", "/table") and cell is not None:
            if row is not None:
                row.append(html.unescape("".join(cell)).strip())
            cell = None
        if tag == "tr":
            row = []
        elif tag in ("/tr", "/table") and row is not None:
            if row:
                rows.append(row)
            row = None
        elif tag in ("td", "th") and row is not None:
            cell = []
    if row:
        rows.append(row)
    return rows


def _html_text(body: str) -> str:
    """The visible text of an HTML page, whitespace collapsed (linear time)."""
    return " ".join(" ".join(text for text, _ in _tags(body)).split())


def _row_like(fields: Sequence[str]) -> bool:
    """Fields meant as a rate row (6 or 9 of them, or a known pair first). A reply with such a row is rates (each
    row then a Tick or a Rejection for the DLQ); a reply without any (`{"error": ...}`, `server busy`) is an error."""
    return len(fields) in ROW_FIELDS or (bool(fields) and fields[0].strip() in TRUEFX_PAIRS)


def parse_reply(body: str | bytes | None, received_at: int | None = None, source: str = "truefx") -> Reply:
    """A whole reply body (csv or html) -> Reply. Never raises."""
    try:
        received = now_epoch_ms() if received_at is None else received_at
        text = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else (body or "")
        stripped = text.strip()
        if not stripped:
            return Reply("empty")
        if stripped.lower() == NOT_AUTHORIZED:
            return Reply("not_authorized", detail=stripped)
        if stripped.startswith("<"):
            rows = _html_rows(stripped)
            if not any(_row_like(r) for r in rows):
                detail = _html_text(stripped[:64 * 1024])[:_ERROR_DETAIL_CHARS]
                return Reply("error", detail=detail or "html without rates")
            return Reply("rates", tuple(parse_row(r, received, source) for r in rows))
        lines = [line for line in stripped.splitlines() if line.strip()]
        if not any(_row_like(line.split(",", 9)) for line in lines):
            # No line is meant as a rate: an error message (e.g. "server busy", a JSON error), not rows.
            return Reply("error", detail=stripped[:_ERROR_DETAIL_CHARS])
        # Rows, each a Tick or a Rejection on its own: one bad row goes to the DLQ, the good ones are kept.
        return Reply("rates", tuple(parse_row(line.split(","), received, source) for line in lines))
    except Exception as exc:  # noqa: BLE001
        return Reply("error", detail=f"unparseable reply ({type(exc).__name__})")


def session_expired(reply: Reply, requested: Sequence[str]) -> bool:
    """An expired session silently answers the unauthenticated snapshot: pairs we did not ask for, or exactly
    the snapshot set when we asked for pairs outside it."""
    pairs = reply.pairs
    if not pairs:
        return False
    asked = set(requested)
    if pairs - asked:
        return True
    return pairs == set(SNAPSHOT_PAIRS) and bool(asked - set(SNAPSHOT_PAIRS))


class Backoff:
    """Exponential backoff with full jitter, capped."""

    def __init__(self, base_s: float = 0.5, cap_s: float = 30.0, rng: random.Random | None = None) -> None:
        self.base_s, self.cap_s = base_s, cap_s
        self.rng = rng or random.Random()
        self.failures = 0

    def next(self) -> float:
        delay = min(self.cap_s, self.base_s * 2 ** self.failures)
        self.failures += 1
        return delay * (0.5 + 0.5 * self.rng.random())

    def reset(self) -> None:
        self.failures = 0


def read_capped(chunks: Iterable[bytes], max_bytes: int, deadline: Callable[[], bool] = lambda: False) -> bytes:
    """Join a streamed body; TransientError once it passes `max_bytes` (or `deadline()` says time is up), so a
    hostile or broken server can neither fill memory nor hold the poll forever."""
    out = bytearray()
    for chunk in chunks:
        out += chunk
        if len(out) > max_bytes:
            raise TransientError(f"reply too big: more than {max_bytes:,} bytes (limit truefx.max_reply_bytes); "
                                 "is the URL a TrueFX rates endpoint?")
        if deadline():
            raise TransientError("reply too slow: still arriving after the poll deadline")
    return bytes(out)


def valid_session_id(text: str) -> bool:
    """The shape of a TrueFX session id (colon-separated plain tokens), so an error reply is never taken as one."""
    return len(text) <= 200 and _SESSION_ID.fullmatch(text) is not None


class TrueFXClient:
    """Polls the TrueFX Web API. Authenticated (incremental session) when a username is given, else the public
    snapshot. `poll()` returns new ticks (each (pair, ts) once) and rejections; it raises TransientError on HTTP
    failures (the caller backs off; quotes received before the failure wait in `take_pending()`) and
    NotAuthorized on refused credentials. Every error text is redacted (fxtrue.errors.redact)."""

    def __init__(self, url: str, username: str = "", password: str = "", pairs: Sequence[str] = TRUEFX_PAIRS,
                 fmt: str = "csv", timeout_s: float = 10.0, reconnect_after_idle_s: float = 50.0,
                 http=None, clock: Callable[[], float] = time.monotonic,
                 now_ms: Callable[[], int] = now_epoch_ms,
                 max_reply_bytes: int = TrueFXSettings.max_reply_bytes) -> None:
        import requests

        register_secret(password)  # every later log line, error text and heartbeat hides it
        redact_logs()  # urllib3 logs request URLs (the connect URL carries the password) at debug level
        self.url = url
        self.username, self.password = username, password
        self.pairs = tuple(pairs)
        self.fmt = fmt
        self.timeout_s = timeout_s
        self.reconnect_after_idle_s = reconnect_after_idle_s
        self.max_reply_bytes = max_reply_bytes
        self.http = http or requests.Session()
        self.clock, self.now_ms = clock, now_ms
        self.session_id: str | None = None
        self.last_request = 0.0
        self.seen: dict[str, tuple[deque[int], set[int]]] = {}  # pair -> recent ts emitted (order, lookup)
        self.duplicates = 0
        self.pending: list[Tick | Rejection] = []  # received, not yet returned (a poll failed after receiving)
        self.reconnects = 0
        self.expiries = 0

    @property
    def authenticated(self) -> bool:
        return bool(self.username)

    def _get(self, params: dict[str, str]) -> str:
        import requests

        started = self.clock()
        try:
            with self.http.get(self.url, params=params, timeout=self.timeout_s, stream=True) as resp:
                self.last_request = self.clock()
                declared = resp.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > self.max_reply_bytes:
                    raise TransientError(f"reply too big: {int(declared):,} bytes declared (limit "
                                         f"truefx.max_reply_bytes = {self.max_reply_bytes:,})")
                body = read_capped(resp.iter_content(64 * 1024), self.max_reply_bytes,
                                   lambda: self.clock() - started > 3 * self.timeout_s)
                status = resp.status_code
        except requests.RequestException as exc:  # its text quotes the URL, with the credentials of a connect
            raise TransientError(redact(f"{type(exc).__name__}: {exc}", self.password)) from None
        text = body.decode("utf-8", "replace")
        if status >= 400:  # an error page may echo the request URL: redacted like everything else
            raise TransientError(redact(f"HTTP {status}: {_html_text(text[:4096])[:120]}", self.password))
        return text

    def connect(self) -> str:
        body = self._get({"u": self.username, "p": self.password, "q": "ozrates", "c": ",".join(self.pairs),
                          "f": self.fmt, "s": "n"})
        text = body.strip()
        if text.lower() == NOT_AUTHORIZED:
            raise NotAuthorized(f"TrueFX refused user {self.username!r}: not authorized",
                                hint="check FXTRUE_TRUEFX_USERNAME / FXTRUE_TRUEFX_PASSWORD (or the Airflow "
                                     "connection); leave them empty for the public snapshot")
        if not valid_session_id(text):
            raise TransientError(redact(f"unexpected connect reply (not a session id): {text[:120]!r}",
                                        self.password))
        self.session_id = text
        self.reconnects += 1
        log.info("truefx: connected (session %s...)", redact(text[:12], self.password))
        return text

    def disconnect(self) -> None:
        if self.session_id:
            sid, self.session_id = self.session_id, None
            try:
                self._get({"di": sid})
            except TransientError as exc:
                log.warning("truefx: disconnect failed: %s", exc)

    def _fresh(self, reply: Reply) -> list[Tick | Rejection]:
        """Drop pairs we did not ask for and repeated (pair, ts): a snapshot repeats unchanged quotes, and a
        quote may come back out of order; a new ts, even an older one, passes."""
        out: list[Tick | Rejection] = []
        for item in reply.items:
            if isinstance(item, Tick):
                if item.pair not in self.pairs:
                    continue
                order, recent = self.seen.setdefault(item.pair, (deque(), set()))
                if item.ts in recent:
                    self.duplicates += 1
                    continue
                order.append(item.ts)
                recent.add(item.ts)
                if len(order) > _DEDUP_WINDOW:
                    recent.discard(order.popleft())
            out.append(item)
        return out

    def take_pending(self) -> list[Tick | Rejection]:
        """Quotes received by a poll that then failed (e.g. the reconnect after an expiry): publish them."""
        out, self.pending = self.pending, []
        return out

    def poll(self) -> list[Tick | Rejection]:
        if not self.authenticated:
            reply = parse_reply(self._get({"f": self.fmt}), self.now_ms())
            return self._check(reply)
        if self.session_id is None or self.clock() - self.last_request > self.reconnect_after_idle_s:
            self.connect()  # proactive: before the ~70 s idle limit
        reply = parse_reply(self._get({"id": self.session_id, "f": self.fmt}), self.now_ms())
        if reply.kind == "rates" and session_expired(reply, self.pairs):
            self.expiries += 1
            log.info("truefx: session expired (got the public snapshot); reconnecting")
            self.pending += self._fresh(reply)  # kept if the reconnect fails: never lost
            self.session_id = None
            self.connect()
            reply = parse_reply(self._get({"id": self.session_id, "f": self.fmt}), self.now_ms())
        items = self._check(reply)  # may raise: the pending quotes stay for take_pending()
        return self.take_pending() + items

    def _check(self, reply: Reply) -> list[Tick | Rejection]:
        if reply.kind == "not_authorized":
            self.session_id = None
            raise TransientError("reply: not authorized (session lost)")
        if reply.kind == "error":
            raise TransientError(redact(f"error reply: {reply.detail[:120]}", self.password))
        return self._fresh(reply)
