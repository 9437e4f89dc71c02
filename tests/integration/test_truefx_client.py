"""The TrueFX client against the in-process TrueFX mock: sessions, real idle expiry, backoff, auth, formats."""

from __future__ import annotations

import threading
import time

import pytest

from fxtrue.settings import TRUEFX_PAIRS
from fxtrue.simulator import LiveSimulator
from fxtrue.ticks import Tick, now_epoch_ms
from producers.sources import TrueFXSource
from producers.truefx import SNAPSHOT_PAIRS, Backoff, NotAuthorized, TrueFXClient
from producers.truefx_mock import TrueFXMockServer

USERS = {"alice": "s3cret"}


def quotes(pairs, ts, bump=0):
    out = []
    for i, p in enumerate(pairs):
        price = 150.0 + i + bump / 1000 if p.endswith("JPY") else 1.0 + i / 10 + bump / 100000
        dec = 3 if p.endswith("JPY") else 5
        out.append(Tick(p, ts + i, round(price, dec), round(price + 10 ** -dec * 3, dec), "sim", 0))
    return out


@pytest.fixture()
def mock():
    server = TrueFXMockServer(idle_timeout_s=1.0, users=USERS).start()
    yield server
    server.stop()


def received(items):
    return {(t.pair, t.ts, t.bid, t.ask) for t in items if isinstance(t, Tick)}


def expect(ticks):
    return {(t.pair, t.ts, t.bid, t.ask) for t in ticks}


def test_session_expiry_is_detected_and_no_update_is_lost(mock):
    client = TrueFXClient(mock.url, "alice", "s3cret", TRUEFX_PAIRS, reconnect_after_idle_s=3600)
    now = now_epoch_ms()
    first = quotes(TRUEFX_PAIRS, now)
    mock.publish(first)
    assert received(client.poll()) == expect(first)
    update = quotes(("EUR/USD", "AUD/NZD", "CAD/JPY"), now + 1000, bump=1)
    mock.publish(update)
    got = client.poll()
    assert received(got) == expect(update)  # incremental: only what changed
    assert client.poll() == []
    time.sleep(1.5)  # past the (shortened) idle limit: the session is gone on the server
    during = quotes(("EUR/USD", "AUD/NZD", "USD/JPY", "CHF/JPY"), now + 5000, bump=2)
    mock.publish(during)
    after = client.poll()
    assert client.expiries == 1 and client.reconnects == 2
    assert received(after) == expect(during)  # nothing lost, nothing repeated
    assert all(t.source == "truefx" and t.received_at > 0 for t in after)
    client.disconnect()
    assert mock.sessions == {}


def test_expiry_detected_by_unrequested_pairs(mock):
    asked = ("AUD/NZD", "EUR/USD")
    client = TrueFXClient(mock.url, "alice", "s3cret", asked, reconnect_after_idle_s=3600)
    now = now_epoch_ms()
    mock.publish(quotes(TRUEFX_PAIRS, now))
    assert {t.pair for t in client.poll()} == set(asked)
    time.sleep(1.5)
    mock.publish(quotes(asked, now + 3000, bump=5))
    after = client.poll()
    assert client.expiries == 1
    assert {t.pair for t in after} == set(asked)  # the snapshot's other pairs are not passed on


def test_proactive_reconnect_before_the_idle_limit(mock):
    client = TrueFXClient(mock.url, "alice", "s3cret", ("EUR/USD",), reconnect_after_idle_s=0.5)
    mock.publish(quotes(("EUR/USD",), now_epoch_ms()))
    client.poll()
    time.sleep(0.7)
    client.poll()
    assert client.reconnects == 2 and client.expiries == 0


def test_http_errors_back_off_and_recover(mock):
    mock.publish(quotes(TRUEFX_PAIRS, now_epoch_ms()))
    client = TrueFXClient(mock.url, "alice", "s3cret", TRUEFX_PAIRS)
    source = TrueFXSource(client, interval_s=0.05, backoff=Backoff(base_s=0.05, cap_s=0.2))
    mock.fail_next = 3
    stop = threading.Event()
    batch = next(source.batches(stop))
    assert source.errors == 3 and "HTTP 500" in source.last_error
    assert len(received(batch)) == len(TRUEFX_PAIRS)


def test_not_authorized_is_fatal_on_first_connect(mock):
    source = TrueFXSource(TrueFXClient(mock.url, "alice", "wrong"), interval_s=0.05)
    with pytest.raises(NotAuthorized):
        next(source.batches(threading.Event()))


def test_unauthenticated_snapshot_and_html(mock):
    now = now_epoch_ms()
    published = quotes(TRUEFX_PAIRS, now)
    mock.publish(published)
    for fmt in ("csv", "html"):
        client = TrueFXClient(mock.url, pairs=SNAPSHOT_PAIRS, fmt=fmt)
        first = client.poll()
        assert {t.pair for t in first} == set(SNAPSHOT_PAIRS)
        assert client.poll() == []  # the snapshot repeats itself: unchanged quotes are not re-emitted
    client = TrueFXClient(mock.url, "alice", "s3cret", ("USD/JPY", "EUR/USD"), fmt="html")
    assert received(client.poll()) == expect(t for t in published if t.pair in ("USD/JPY", "EUR/USD"))


def test_mock_driven_by_the_live_simulator():
    with TrueFXMockServer(users=USERS, simulator=LiveSimulator(rate_scale=5)) as server:
        client = TrueFXClient(server.url, "alice", "s3cret")
        got = []
        for _ in range(8):
            got += client.poll()
            time.sleep(0.25)
        ticks = [t for t in got if isinstance(t, Tick)]
        assert len({t.pair for t in ticks}) >= 5
        assert all(abs(t.ts - now_epoch_ms()) < 10_000 and t.high >= t.low for t in ticks)
        assert len(ticks) == len({(t.pair, t.ts) for t in ticks})
