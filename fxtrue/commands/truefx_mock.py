"""`fxtrue truefx-mock`: serve the TrueFX Web API protocol from the live simulator (tests, demo, offline use)."""

from __future__ import annotations

import argparse
import signal
import threading

from fxtrue.errors import FxtrueError
from fxtrue.settings import Settings

HELP = """Serve the TrueFX Web API (…/rates/connect.html) on 127.0.0.1 from the live market simulator:
connect with ?u=&p=&q=&c=&f=csv|html&s=n (a session id, or `not authorized`), poll ?id=<session>&f=csv
(incremental: only changed pairs), disconnect ?di=<session>; no credentials (or an expired session) gets the
public 10-pair snapshot. Point the producer at it:
  fxtrue truefx-mock --port 8765 --users demo:demo --scenarios default &
  FXTRUE_TRUEFX_USERNAME=demo FXTRUE_TRUEFX_PASSWORD=demo fxtrue produce truefx --url http://127.0.0.1:8765/rates/connect.html"""


def register(sub) -> None:
    p = sub.add_parser("truefx-mock", help="serve the TrueFX Web API protocol from the simulator",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765; 0 = any free port)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--idle-timeout", type=float, default=70.0, help="session idle expiry in s (default 70)")
    p.add_argument("--users", default="", help="accepted logins, user:password[,user:password...]")
    p.add_argument("--scenarios", default="",
                   help="scenarios file (start ISO UTC or offset_s from now), or 'default' for a rolling schedule")
    p.add_argument("--seed", type=int, default=1, help="simulator seed (default 1)")
    p.add_argument("--rate-scale", type=float, default=1.0, help="multiply quote rates (default 1)")
    p.set_defaults(func=run)


def parse_users(text: str) -> dict[str, str]:
    users = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        user, sep, password = item.partition(":")
        if not sep or not user:
            raise FxtrueError(f"bad --users entry {item!r}", hint="use user:password[,user:password...]")
        users[user] = password
    return users


def run(args: argparse.Namespace, settings: Settings) -> int:
    from fxtrue import simulator
    from fxtrue.ticks import now_epoch_ms
    from producers.truefx_mock import TrueFXMockServer

    now = now_epoch_ms()
    if args.scenarios == "default":
        scenarios = simulator.live_schedule(now, seed=args.seed)
    elif args.scenarios:
        scenarios = simulator.load(args.scenarios, now_ms=now)
    else:
        scenarios = []
    sim = simulator.LiveSimulator(seed=args.seed, rate_scale=args.rate_scale, scenarios=scenarios)
    server = TrueFXMockServer(port=args.port, host=args.host, idle_timeout_s=args.idle_timeout,
                              users=parse_users(args.users), simulator=sim)
    try:
        server.start()
    except OSError as exc:
        raise FxtrueError(f"cannot listen on {args.host}:{args.port}: {exc}", hint="choose another --port") from None
    print(f"truefx-mock: serving {server.url} (idle timeout {args.idle_timeout:.0f} s, "
          f"{len(server.users)} user(s), {len(scenarios)} scenario(s)); Ctrl-C stops", flush=True)
    for s in scenarios:
        print(f"  scenario {s.kind} {s.pair} {s.label()['start']} .. {s.label()['end']} magnitude {s.magnitude:g}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        print(f"truefx-mock: stopped after {server.requests} request(s)")
    return 0
