"""The demo's watcher: which alert counts as the detection of an injected manipulation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from fxtrue.commands.demo import first_alert_for

T0 = datetime(2026, 12, 1, 2, 29, 37, tzinfo=timezone.utc)


def alert(detector, pair, start_s, end_s, detected_s, subject=None):
    return {"detector": detector, "pair": pair, "subject": subject or pair,
            "window_start": T0 + timedelta(seconds=start_s), "window_end": T0 + timedelta(seconds=end_s),
            "detected_at": T0 + timedelta(seconds=detected_s)}


def injection(pair="EUR/JPY", duration_s=30):
    ms = int(T0.timestamp() * 1000)
    return SimpleNamespace(pair=pair, start_ms=ms, end_ms=ms + duration_s * 1000)


def test_an_alert_raised_before_the_injection_began_is_not_its_detection():
    # A stale_feed alert from an earlier stall on the pair, its window still open: the demo printed
    # "alerted by stale_feed -119.4 s after its start" for a spread blow-out injected later.
    earlier = alert("stale_feed", "EUR/JPY", -180, 5, -119.4)
    assert first_alert_for(injection(), [earlier]) is None
    spread = alert("spread", "EUR/JPY", 0, 10, 3.2)
    assert first_alert_for(injection(), [earlier, spread]) is spread


def test_the_first_detection_on_the_pair_or_a_cross_rate_naming_it_wins():
    other_pair = alert("spread", "EUR/USD", 0, 10, 1.0)
    cross = alert("cross_rate", "EUR/JPY", 0, 10, 4.0, subject="EUR/JPY~EUR/USD*USD/JPY")
    jump = alert("price_jump", "EUR/JPY", 0, 10, 6.0)
    too_late = alert("price_jump", "EUR/JPY", 60, 70, 61.0)  # window after the injection's end + 20 s
    assert first_alert_for(injection(), [other_pair, jump, too_late, cross]) is cross
    assert first_alert_for(injection(), [other_pair, too_late]) is None


def test_the_delay_of_a_stall_is_also_given_from_its_learnt_threshold():
    from fxtrue.commands.demo import detection_delay

    stall = dict(alert("stale_feed", "EUR/JPY", 0, 10, 92.4), threshold=91.0)
    assert detection_delay(injection(), stall) == ("alerted by stale_feed 92.4 s after its start (1.4 s after its "
                                                   "learnt threshold of 91.0 s of silence)")
    spike = dict(alert("price_jump", "EUR/JPY", 0, 10, 2.5), threshold=12.0)
    assert detection_delay(injection(), spike) == "alerted by price_jump 2.5 s after its start"


def test_a_silence_that_began_before_the_injection_is_not_its_detection():
    since_last_run = alert("stale_feed", "EUR/JPY", -10_800, 10, 15)  # the gap since a previous run, 3 h long
    stall = alert("stale_feed", "EUR/JPY", 0, 10, 62)
    assert first_alert_for(injection(), [since_last_run]) is None
    assert first_alert_for(injection(), [since_last_run, stall]) is stall


CHILD = """
import argparse
import sys
import time

from fxtrue.commands import demo
from fxtrue.settings import load_settings

def run(self):  # stands in for the steps: it keeps talking until Ctrl-C
    while True:
        self.say("watching")
        time.sleep(0.02)

demo.Demo.run = run
args = argparse.Namespace(days=1, rate_scale=0.2, mock_port=0, fresh=False, stop_after=0)
sys.exit(demo.run(args, load_settings()))
"""


def test_ctrl_c_through_a_pipe_whose_reader_is_gone_still_cleans_up(tmp_path):
    """`fxtrue demo | tee demo.log`, Ctrl-C: the terminal's SIGINT ends tee too, so the demo's next write to
    stdout meets a pipe with no reader. The demo must still run its clean-up to the end and exit 0, its output
    kept in <state>/demo/demo.log."""
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {**os.environ, "FXTRUE_STATE_DIR": str(tmp_path)}
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env)
    assert child.stdout.readline().decode().rstrip().endswith("watching")
    child.stdout.close()  # tee is gone
    time.sleep(0.3)       # the demo writes into the broken pipe meanwhile
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 0, err.decode()
    log = (tmp_path / "demo" / "demo.log").read_text()
    assert "interrupted" in log
    assert "stopped; the stack (Kafka, Cassandra) keeps running" in log
