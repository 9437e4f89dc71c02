"""The TrueFX client against the in-process TrueFX mock: sessions, real idle expiry, backoff, auth, formats."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
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


# -- issue 15: hostile replies, lost quotes, repeats, secrets ------------------------------------------------

def row(pair, ts, pts=601):
    return f"{pair},{ts},1.08,{pts},1.08,{pts + 4},1.08700,1.08500,1.08650\n"


def test_a_failed_reconnect_loses_no_quote(mock):
    """Expiry is noticed on a reply carrying fresh quotes; the reconnect then fails (HTTP 500). Those quotes are
    published anyway (before the backoff), once, and the next successful session does not repeat them."""
    client = TrueFXClient(mock.url, "alice", "s3cret", TRUEFX_PAIRS, reconnect_after_idle_s=3600)
    source = TrueFXSource(client, interval_s=0.05, backoff=Backoff(base_s=0.05, cap_s=0.2))
    now = now_epoch_ms()
    mock.publish(quotes(TRUEFX_PAIRS, now))
    stop = threading.Event()
    batches = source.batches(stop)
    assert len(received(next(batches))) == len(TRUEFX_PAIRS)
    time.sleep(1.5)  # the session expires on the server
    during = quotes(("EUR/USD", "USD/JPY"), now + 5000, bump=2)
    mock.publish(during)
    mock.fail_next_connects = 1
    got = []
    for _ in range(3):
        got += next(batches)
        if source.errors and received(got) >= expect(during):
            break
    stop.set()
    assert source.errors == 1 and "HTTP 500" in source.last_error
    assert client.expiries == 1
    keys = [(t.pair, t.ts) for t in got if isinstance(t, Tick)]
    assert sorted(keys) == sorted((t.pair, t.ts) for t in during), keys  # all there, none twice


def test_a_lone_invalid_row_goes_to_the_dlq_and_good_rows_are_kept(mock):
    client = TrueFXClient(mock.url, "alice", "s3cret", TRUEFX_PAIRS, reconnect_after_idle_s=3600)
    client.connect()
    now = now_epoch_ms()
    mock.next_bodies = [row("EUR/USD", 9_999_999_999_999),  # alone: a DLQ row, not a transport error
                        row("EUR/USD", now) + row("GBP/USD", now).replace(",601,", ",6x1,") + row("USD/JPY", now).replace(
                            "1.08", "151.")]
    alone = client.poll()
    assert [type(i).__name__ for i in alone] == ["Rejection"] and "2100" in alone[0].reason
    mixed = client.poll()
    assert [type(i).__name__ for i in mixed] == ["Tick", "Rejection", "Tick"], mixed


def test_an_error_reply_is_never_taken_as_a_session(mock):
    from producers.truefx import TransientError

    client = TrueFXClient(mock.url, "alice", "s3cret", ("EUR/USD",), reconnect_after_idle_s=3600)
    mock.next_bodies = ['{"error":"rate_limit","retry_after":60}']
    with pytest.raises(TransientError, match="not a session id"):
        client.connect()
    assert client.session_id is None
    mock.publish(quotes(("EUR/USD",), now_epoch_ms()))
    assert len(client.poll()) == 1 and client.session_id.startswith("alice:")


@pytest.mark.parametrize("send_length, message", [(True, "bytes declared"), (False, "more than 10,000 bytes")])
def test_a_reply_over_the_size_cap_is_an_error(mock, send_length, message):
    from producers.truefx import TransientError

    client = TrueFXClient(mock.url, "alice", "s3cret", ("EUR/USD",), reconnect_after_idle_s=3600,
                          max_reply_bytes=10_000)
    client.connect()
    mock.send_length = send_length
    mock.next_bodies = [row("EUR/USD", now_epoch_ms()) * 20_000]  # ~1.3 MB
    with pytest.raises(TransientError, match=message):
        client.poll()
    mock.send_length = True
    mock.publish(quotes(("EUR/USD",), now_epoch_ms()))
    assert len(client.poll()) == 1  # the client carries on


def test_repeated_and_out_of_order_timestamps_are_deduplicated(mock):
    client = TrueFXClient(mock.url, "alice", "s3cret", ("EUR/USD",), reconnect_after_idle_s=3600)
    client.connect()
    t0 = now_epoch_ms()
    mock.next_bodies = [row("EUR/USD", t0) + row("EUR/USD", t0) + row("EUR/USD", t0 - 50),
                        row("EUR/USD", t0) + row("EUR/USD", t0 - 50) + row("EUR/USD", t0 + 10)]
    assert [t.ts for t in client.poll()] == [t0, t0 - 50]  # an older but new quote passes
    assert [t.ts for t in client.poll()] == [t0 + 10]  # (pair, ts) already emitted: dropped, even out of order
    assert client.duplicates == 3


def self_signed_tls(tmp_path):
    """An ssl.SSLContext serving a fresh self-signed certificate for 127.0.0.1 (no CA trusts it)."""
    import datetime as dt
    import ipaddress
    import ssl

    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return ctx


def test_a_canary_password_never_leaves_its_place(settings, cql, mock, caplog, tmp_path):
    """A unique password through every failure path of the real producer loop (unreachable host, TLS error,
    HTTP error whose page echoes the URL, error replies quoting the request): it is in no log record, not in
    the producer heartbeat, no table of the keyspace, nor the dashboard's health panel."""
    import json
    import logging
    import socket
    import uuid

    import pandas as pd
    import plotly.utils

    from dashboard.data import DashboardData
    from dashboard.panels import health_panel
    from fxtrue.heartbeats import read_all
    from producers import main
    from producers.sinks import HeartbeatReporter, MemorySink

    canary = f"Canary-{uuid.uuid4().hex}!&="
    mock.users = {"alice": canary}
    caplog.set_level(logging.DEBUG)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/rates/connect.html"
    echo = f"/rates/connect.html?u=alice&p={canary}"

    def arm_http_error():
        mock.fail_next_connects = 10**6

    def arm_bad_reply():
        mock.fail_next_connects = 0
        # a JSON error for a connect; then a (fake) session whose polls get error texts quoting the request
        mock.next_bodies = [f'{{"error":"bad request","request":"{echo}"}}', "alice:ozrates:feed:1",
                            f"unknown request {echo}", f"<html><body>error for {canary}</body></html>"] * 10

    tls = TrueFXMockServer(users={"alice": canary}, ssl_context=self_signed_tls(tmp_path)).start()
    paths = {"unreachable host": (closed, None), "TLS untrusted certificate": (tls.url, None),
             "TLS to a plain port": (mock.url.replace("http://", "https://"), None),
             "HTTP error": (mock.url, arm_http_error), "bad reply": (mock.url, arm_bad_reply)}
    sink = MemorySink()
    panels = []
    for name, (url, arm) in paths.items():
        if arm:
            arm()
        source = TrueFXSource(TrueFXClient(url, "alice", canary, ("EUR/USD",), timeout_s=3),
                              interval_s=0.05, backoff=Backoff(base_s=0.02, cap_s=0.05))
        stop = threading.Event()
        hb = HeartbeatReporter(settings, every_s=0.0)
        runner = threading.Thread(target=main.run, args=(source, sink), kwargs={"stop": stop, "heartbeat": hb})
        runner.start()
        deadline = time.monotonic() + 30
        while source.errors < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        runner.join(30)
        hb.close()
        assert source.errors >= 3, name
        beat = read_all(cql, settings)["producer"]
        assert beat.info["last_error"] and beat.info["errors"] != "0", (name, beat.info)
        assert canary not in repr(beat) and "Canary-" not in repr(beat), (name, beat.info)
        data = DashboardData(cql, settings)
        panel = health_panel(data.heartbeats(), pd.DataFrame(), datetime.now(timezone.utc), ["producer"])
        panels.append(json.dumps(panel.to_plotly_json(), cls=plotly.utils.PlotlyJSONEncoder))
        assert json.dumps(beat.info["last_error"][:20])[1:-1] in panels[-1]  # the panel really shows the error
    mock.next_bodies = []
    tls.stop()
    assert tls.requests == 0  # the client refused the untrusted certificate before sending the URL

    def leaked(text: str) -> bool:
        return any(form in text for form in (canary, "Canary-", canary.replace("!", "%21")))

    logs = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records) + caplog.text
    assert "Max retries exceeded" in logs and "CERTIFICATE_VERIFY_FAILED" in logs
    assert not leaked(logs), [r.getMessage() for r in caplog.records if leaked(r.getMessage())][:3]
    assert not any(leaked(p) for p in panels)
    assert not any(leaked(repr(i)) for i in sink.ticks + sink.rejections)
    ks = settings.cassandra.keyspace
    tables = [r.table_name for r in cql.execute(
        "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s", (ks,))]
    assert "heartbeats_by_job" in tables
    for table in tables:
        rows = repr(list(cql.execute(f"SELECT * FROM {ks}.{table} LIMIT 5000")))
        assert not leaked(rows), table
