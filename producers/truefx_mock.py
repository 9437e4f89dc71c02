"""A TrueFX Web API look-alike for tests and the demo: sessions with idle expiry, `not authorized`, the
unauthenticated 10-pair snapshot (also what an expired session gets), incremental csv and html replies,
`?di=` disconnect; quotes come from the live simulator (or are published by a test)."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Sequence
from urllib.parse import parse_qs, urlparse

from fxtrue.errors import redact
from fxtrue.settings import TRUEFX_PAIRS
from fxtrue.simulator.live import LiveSimulator
from fxtrue.ticks import Tick, price_decimals
from producers.truefx import NOT_AUTHORIZED, SNAPSHOT_PAIRS

log = logging.getLogger(__name__)
PATH = "/rates/connect.html"


def split_price(value: float, decimals: int) -> tuple[str, str]:
    """1.0697 -> ('1.06', '970'): TrueFX's big figure and points (the last three digits)."""
    text = f"{value:.{decimals}f}"
    return text[:-3], text[-3:]


def format_row(tick: Tick, high: float, low: float, open_: float) -> list[str]:
    dec = price_decimals(tick.pair)
    bb, bp = split_price(tick.bid, dec)
    ob, op = split_price(tick.ask, dec)
    # TrueFX's csv puts the low in the "high" column and vice versa; keep that quirk.
    return [tick.pair, str(tick.ts), bb, bp, ob, op, f"{low:.{dec}f}", f"{high:.{dec}f}", f"{open_:.{dec}f}"]


class _Session:
    def __init__(self, sid: str, pairs: tuple[str, ...], snapshot: bool, now: float) -> None:
        self.sid, self.pairs, self.snapshot = sid, pairs, snapshot
        self.last_seen = now
        self.seq = -1  # global update sequence already served


class TrueFXMockServer:
    """start() serves on 127.0.0.1:<port> (0 = a free port) in a background thread; stop() shuts it down."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1", idle_timeout_s: float = 70.0,
                 users: dict[str, str] | None = None, simulator: LiveSimulator | None = None,
                 pairs: Sequence[str] = TRUEFX_PAIRS, ssl_context=None) -> None:
        self.host, self.port = host, port
        self.ssl_context = ssl_context  # an ssl.SSLContext: serve https (tests of TLS failures)
        self.idle_timeout_s = idle_timeout_s
        self.users = dict(users or {})
        self.simulator = simulator
        self.pairs = tuple(pairs)
        self.lock = threading.Lock()
        self.sessions: dict[str, _Session] = {}
        self.latest: dict[str, Tick] = {}
        self.updated: dict[str, int] = {}  # pair -> sequence number of its latest update
        self.day_stats: dict[str, tuple[float, float, float]] = {}  # pair -> (high, low, open) of bids
        self.seq = 0
        self.requests = 0
        # Test hooks: answer the next N requests (or N connects) with HTTP 500, the error page echoing the request
        # line as some servers do; answer the next requests with these bodies verbatim (status 200); send bodies
        # without Content-Length (read until close), as a streaming server would.
        self.fail_next = 0
        self.fail_next_connects = 0
        self.next_bodies: list[str] = []
        self.send_length = True
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- quotes
    def publish(self, ticks: Sequence[Tick]) -> None:
        """Make these the latest quotes (in order); what tests use instead of, or besides, the simulator."""
        with self.lock:
            for t in ticks:
                if t.pair not in self.pairs:
                    continue
                self.seq += 1
                self.latest[t.pair] = t
                self.updated[t.pair] = self.seq
                hi, lo, op = self.day_stats.get(t.pair, (t.bid, t.bid, t.bid))
                self.day_stats[t.pair] = (max(hi, t.bid), min(lo, t.bid), op)

    def _refresh(self) -> None:
        if self.simulator is not None:
            self.publish(self.simulator.advance())

    def _rows(self, pairs: Sequence[str], since_seq: int) -> list[list[str]]:
        rows = []
        for p in pairs:
            t = self.latest.get(p)
            if t is not None and self.updated[p] > since_seq:
                rows.append(format_row(t, *self.day_stats[p]))
        return rows

    @staticmethod
    def render(rows: list[list[str]], fmt: str) -> str:
        if fmt == "html":
            cells = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
            return f"<table>{cells}</table>"
        return "".join(",".join(r) + "\n" for r in rows)

    # -- protocol
    def handle(self, query: dict[str, str], path: str = "") -> tuple[int, str]:
        now = time.monotonic()
        self._refresh()
        fmt = "html" if query.get("f", "csv").lower() == "html" else "csv"
        with self.lock:
            self.requests += 1
            if self.fail_next > 0 or (self.fail_next_connects > 0 and "u" in query):
                if self.fail_next > 0:
                    self.fail_next -= 1
                else:
                    self.fail_next_connects -= 1
                return 500, f"<html><body><h1>500 Internal Server Error</h1><p>GET {path}</p></body></html>"
            if self.next_bodies:
                return 200, self.next_bodies.pop(0)
            for sid in [s for s, sess in self.sessions.items() if now - sess.last_seen > self.idle_timeout_s]:
                del self.sessions[sid]
            if "di" in query:
                self.sessions.pop(query["di"], None)
                return 200, ""
            if "id" in query:
                sess = self.sessions.get(query["id"])
                if sess is None:  # unknown or expired: the public snapshot, silently
                    return 200, self.render(self._rows(SNAPSHOT_PAIRS, -1), fmt)
                sess.last_seen = now
                rows = self._rows(sess.pairs, -1 if sess.snapshot else sess.seq)
                sess.seq = self.seq
                return 200, self.render(rows, fmt)
            if "u" in query:
                user, password = query.get("u", ""), query.get("p", "")
                if self.users.get(user) != password or not user:
                    return 200, NOT_AUTHORIZED
                asked = tuple(p for p in query.get("c", "").split(",") if p in self.pairs) or self.pairs
                sid = f"{user}:{query.get('q', 'ozrates')}:{secrets.token_hex(6)}:{int(time.time() * 1000)}"
                self.sessions[sid] = _Session(sid, asked, query.get("s", "n").lower() == "y", now)
                return 200, sid
            return 200, self.render(self._rows(SNAPSHOT_PAIRS, -1), fmt)

    # -- server
    @property
    def url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://{self.host}:{self.port}{PATH}"

    def start(self) -> "TrueFXMockServer":
        mock = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                parsed = urlparse(self.path)
                query = {k: v[-1] for k, v in parse_qs(parsed.query, keep_blank_values=True).items()}
                if parsed.path not in (PATH, "/"):
                    status, body = 404, "<html><body>404 Not Found</body></html>"
                else:
                    status, body = mock.handle(query, self.path)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html" if body.startswith("<") else "text/plain")
                if mock.send_length:
                    self.send_header("Content-Length", str(len(data)))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, fmt, *args) -> None:
                log.debug("truefx-mock: %s", redact(fmt % args))  # request lines carry the password

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        if self.ssl_context is not None:
            self._server.socket = self.ssl_context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="truefx-mock", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "TrueFXMockServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
