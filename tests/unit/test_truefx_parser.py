"""The TrueFX live reply parser: every row form (csv, html) and the edge rows."""

from __future__ import annotations

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from fxtrue.ticks import Rejection, Tick
from producers.truefx import (SNAPSHOT_PAIRS, Backoff, join_price, parse_reply, parse_row, session_expired)
from producers.truefx_mock import TrueFXMockServer, format_row, split_price

NOW = 1_800_000_000_000


def row(line: str) -> Tick | Rejection:
    return parse_row(line.split(","), NOW)


def test_csv_row_joins_big_figure_and_points_exactly():
    t = row("EUR/USD,1397745832184,1.06,970,1.06,976,1.07215,1.06831,1.07001")
    assert isinstance(t, Tick)
    assert (t.pair, t.ts, t.bid, t.ask, t.source, t.received_at) == ("EUR/USD", 1397745832184, 1.0697, 1.06976,
                                                                   "truefx", NOW)
    assert t.bid == float("1.06970")  # not 1.06 + 0.0097 (= 1.0697000000000001)


def test_csv_high_low_swapped_is_normalised():
    t = row("EUR/USD,1397745832184,1.38,174,1.38,176,1.38104,1.38199,1.38169")
    assert (t.high, t.low, t.open) == (1.38199, 1.38104, 1.38169)


def test_jpy_precision_and_float_artefacts():
    t = row("USD/JPY,1397745832119,107.,089,107.,093,107.089996,107.199997,107.120003")
    assert isinstance(t, Tick)
    assert (t.bid, t.ask) == (107.089, 107.093)
    assert (t.low, t.high, t.open) == (107.09, 107.2, 107.12)


def test_locked_and_crossed_quotes_are_valid_ticks():
    locked = row("EUR/USD,1397745832184,1.06,970,1.06,970,1.07,1.06,1.065")
    crossed = row("GBP/USD,1397745832184,1.27,015,1.27,009,1.28,1.26,1.27")
    assert isinstance(locked, Tick) and locked.bid == locked.ask
    assert isinstance(crossed, Tick) and crossed.crossed


def test_six_field_rows_have_no_high_low_open():
    t = row("AUD/USD,1397745832184,0.66,123,0.66,131")
    assert isinstance(t, Tick) and t.high is None and t.open is None


@pytest.mark.parametrize("line, reason", [
    ("EUR/USD,1397745832184,1.06,970,1.06", "expected 9 fields"),
    ("XAU/USD,1397745832184,1.06,970,1.06,976,1,1,1", "unknown pair"),
    ("EUR/USD,13977458x2184,1.06,970,1.06,976,1,1,1", "timestamp"),
    ("EUR/USD,1397745832184,106,970,1.06,976,1,1,1", "bad price"),
    ("EUR/USD,1397745832184,1.06,9a0,1.06,976,1,1,1", "bad price"),
    ("EUR/USD,1397745832184,-1.06,970,1.06,976,1,1,1", "bad price"),
    ("EUR/USD,1397745832184,0.,000,1.06,976,1,1,1", "bid is not positive"),
    ("EUR/USD,1397745832184,1.06,970,1.06,976,NaN,1,1", "bad high/low/open"),
])
def test_bad_rows_are_rejected_with_a_reason(line, reason):
    r = row(line)
    assert isinstance(r, Rejection)
    assert reason in r.reason
    assert r.raw == line and r.source == "truefx"


def test_csv_body_with_several_rows_and_a_bad_one():
    body = ("EUR/USD,1397745832184,1.06,970,1.06,976,1.07,1.06,1.065\n"
            "USD/JPY,1397745832119,107.,089,107.,093,107.2,107.0,107.1\n"
            "garbage\n\n")
    reply = parse_reply(body, NOW)
    assert reply.kind == "rates"
    assert [type(i).__name__ for i in reply.items] == ["Tick", "Tick", "Rejection"]
    assert reply.pairs == {"EUR/USD", "USD/JPY"}


def test_html_body():
    body = ("<table><tr><td>EUR/USD</td><td>1397745832184</td><td>1.06</td><td>970</td><td>1.06</td>"
            "<td>976</td><td>1.07215</td><td>1.06831</td><td>1.07001</td></tr>"
            "<TR><TD>USD/JPY</TD><TD>1397745832119</TD><TD>107.</TD><TD>089</TD><TD>107.</TD><TD>093</TD>"
            "<TD>107.2</TD><TD>107.0</TD><TD>107.1</TD></TR></table>")
    reply = parse_reply(body, NOW)
    assert reply.kind == "rates"
    assert [(t.pair, t.bid, t.ask) for t in reply.ticks] == [("EUR/USD", 1.0697, 1.06976),
                                                             ("USD/JPY", 107.089, 107.093)]


@pytest.mark.parametrize("body, kind", [
    ("", "empty"), ("   \r\n", "empty"), (None, "empty"), (b"", "empty"),
    ("not authorized", "not_authorized"), ("Not Authorized\n", "not_authorized"),
    ("<html><head><title>503 Service Unavailable</title></head><body>busy</body></html>", "error"),
    ("server busy, try later", "error"),
])
def test_special_bodies(body, kind):
    reply = parse_reply(body, NOW)
    assert reply.kind == kind
    if kind == "error":
        assert reply.detail


def test_session_expiry_detection():
    requested = ("EUR/USD", "AUD/NZD", "USD/JPY")
    snapshot = parse_reply("".join(f"{p},1397745832184,1.06,970,1.06,976,1.07,1.06,1.065\n"
                                   for p in SNAPSHOT_PAIRS if not p.endswith("JPY")), NOW)
    assert session_expired(snapshot, requested)  # pairs we never asked for
    own = parse_reply("EUR/USD,1397745832184,1.06,970,1.06,976,1.07,1.06,1.065\n", NOW)
    assert not session_expired(own, requested)
    assert not session_expired(parse_reply("", NOW), requested)


def test_join_price_rejects_missing_dot():
    with pytest.raises(ValueError):
        join_price("106", "970", 5)


def test_mock_rows_round_trip_through_the_parser():
    tick = Tick("USD/JPY", 1397745832119, 107.089, 107.093, "sim", 0)
    assert split_price(107.089, 3) == ("107.", "089")
    assert split_price(1.0697, 5) == ("1.06", "970")
    parsed = parse_row(format_row(tick, 107.2, 107.0, 107.1), NOW)
    assert (parsed.bid, parsed.ask, parsed.high, parsed.low, parsed.open) == (107.089, 107.093, 107.2, 107.0, 107.1)
    body = TrueFXMockServer.render([format_row(tick, 107.2, 107.0, 107.1)], "html")
    assert parse_reply(body, NOW).ticks[0].bid == 107.089


def test_backoff_is_exponential_jittered_and_capped():
    b = Backoff(base_s=1, cap_s=8)
    delays = [b.next() for _ in range(8)]
    assert all(0.5 * min(8, 2 ** i) <= d <= min(8, 2 ** i) for i, d in enumerate(delays))
    assert max(delays) <= 8
    b.reset()
    assert b.next() <= 1


@hsettings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.binary(),
                 st.lists(st.text(alphabet="0123456789.,/EURSDJPYabc<>td \n-", max_size=12), max_size=12)
                   .map(",".join)))
def test_parser_never_raises(body):
    reply = parse_reply(body, NOW)
    assert reply.kind in ("rates", "empty", "not_authorized", "error")
    for item in reply.items:
        assert isinstance(item, (Tick, Rejection))
        if isinstance(item, Rejection):
            assert item.reason


@hsettings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=15), max_size=11))
def test_row_parser_never_raises(fields):
    item = parse_row(fields, NOW)
    assert isinstance(item, (Tick, Rejection))


def test_an_unreachable_truefx_never_quotes_the_password():
    """The connect URL carries the password; the error text goes to logs and the producer heartbeat."""
    import socket

    from producers.truefx import TransientError, TrueFXClient

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = TrueFXClient(f"http://127.0.0.1:{port}/rates/connect.html", "alice", "pa ss&wörd", timeout_s=2)
    with pytest.raises(TransientError) as err:
        client.connect()
    text = str(err.value)
    assert "Connection" in text and "pa ss" not in text and "p=pa" not in text and "w%C3%B6rd" not in text, text


def test_redact_hides_secrets_and_password_parameters():
    from fxtrue.errors import redact

    assert redact("GET /c?u=a&p=s3cr%21t&q=x failed: s3cr!t", "s3cr!t") == "GET /c?u=a&p=***&q=x failed: ***"
    assert redact("https://h/x?password=abc", "") == "https://h/x?password=***"
    assert redact("https://bob:hunter2@h/rates") == "https://***@h/rates"


# -- bounded parsing (issue 15) ----------------------------------------------------------------------------

HOSTILE = {  # each was quadratic (or worse) for the backtracking regexes the parser and redact() used
    "open rows": "'<tr>' * 250_000",
    "open cells": "'<tr>' + '<td>x' * 200_000 + '</tr>'",
    "open tag": "'<' + 'tr<td' * 200_000",
    "userinfo": "'http://' + 'a:' * 500_000",
}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_megabyte_of_hostile_html_is_parsed_in_linear_time(name):
    """Run in a child process so a quadratic parser is stopped by the (generous) timeout rather than hanging
    the suite: ~1 MB must finish well within 60 s (linear: about a second; quadratic: tens of minutes)."""
    import subprocess
    import sys

    code = (f"from producers.truefx import parse_reply; from fxtrue.errors import redact; body = {HOSTILE[name]}; "
            "r = parse_reply(body, 1); assert r.kind == 'error' and not r.items, r.kind; redact(body, 'pw'); "
            "print(len(body))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout) >= 1_000_000


def test_html_parser_reads_cells_tags_and_entities():
    body = ("<table><thead><tr><th>pair</th></tr></thead><tr class=x><td><b>EUR/USD</b></td><td>1397745832184</td>"
            "<td>1.06</td><td>970</td><td>1.06</td><td>976</td><td>1.07</td><td>1.06</td><td>1.065</td></tr>"
            "<tr><td>GBP&#47;USD</td><td>1397745832184</td><td>1.27</td><td>015</td><td>1.27</td><td>019</td>"
            "</table>")
    reply = parse_reply(body, NOW)
    assert [(t.pair, t.bid) for t in reply.ticks] == [("EUR/USD", 1.0697), ("GBP/USD", 1.27015)]


def test_read_capped_refuses_a_reply_over_the_limit():
    from producers.truefx import TransientError, read_capped

    assert read_capped([b"ab", b"cd"], 4) == b"abcd"
    with pytest.raises(TransientError, match="reply too big: more than 4 bytes"):
        read_capped([b"ab", b"cd", b"e"], 4)
    with pytest.raises(TransientError, match="too slow"):
        read_capped([b"a"], 4, deadline=lambda: True)


@pytest.mark.parametrize("text, ok", [
    ("alice:ozrates:1f2e3d4c5b6a:1397745832184", True),
    ("JSTrader:JSTrader:poll:1324502019135", True),
    ('{"error":"rate limit exceeded","retry_after":60}', False),
    ("<html><body>busy</body></html>", False),
    ("server busy, try later", False),
    ("Internal Server Error", False),
    ("nocolon", False),
    ("a:" + "b" * 300, False),
    ("alice:ozrates:\u0661\u0662:1", False),
])
def test_session_id_shape(text, ok):
    from producers.truefx import valid_session_id

    assert valid_session_id(text) is ok


@pytest.mark.parametrize("body, kind, rejected", [
    ("EUR/USD,9999999999999,1.08,601,1.08,605,1.08700,1.08500,1.08650\n", "rates", 1),  # a lone bad row: DLQ
    ("XAU/USD,1764000000959,1.08,601,1.08,605,1,1,1\n", "rates", 1),
    ("EUR/USD,17640\n", "rates", 1),  # a known pair first: a row cut short
    ('{"error":"rate limit exceeded","retry_after":60}', "error", 0),
    ("{\n \"error\": \"busy\",\n \"retry\": 1\n}", "error", 0),
    ("Service Unavailable\nTry later\n", "error", 0),
])
def test_a_lone_bad_row_is_a_row_an_error_message_is_an_error(body, kind, rejected):
    reply = parse_reply(body, NOW)
    assert (reply.kind, len(reply.items)) == (kind, rejected), reply
    assert all(isinstance(i, Rejection) for i in reply.items)


def test_redact_is_one_step_for_registered_secrets():
    from fxtrue.errors import redact, register_secret

    canary = "canary-Zq9!x"
    register_secret(canary)
    text = f"GET /c?u=a&pw={canary}&x=1 https://u:{canary}@h/ {canary} {canary.replace('!', '%21')}"
    out = redact(text)
    assert canary not in out and "Zq9" not in out, out
    assert redact("short ab word", "") == "short ab word"


def test_an_html_row_with_the_wrong_cell_count_is_rejected_not_dropped():
    good = "".join(f"<td>{c}</td>" for c in "EUR/USD,1397745832184,1.06,970,1.06,976,1.07,1.06,1.065".split(","))
    short = "".join(f"<td>{c}</td>" for c in "GBP/USD,1397745832184,1.27,015,1.27,019,1.28".split(","))
    reply = parse_reply(f"<table><tr>{good}</tr><tr>{short}</tr></table>", NOW)
    assert reply.kind == "rates"
    assert [getattr(i, "reason", "tick") for i in reply.items] == ["tick", "expected 9 fields, got 7"]
