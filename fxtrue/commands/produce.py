"""`fxtrue produce truefx|replay|sim`: publish ticks to Kafka (one per message, key = pair; bad ones to the DLQ)."""

from __future__ import annotations

import argparse
import sys
import time
import threading

from fxtrue.errors import FxtrueError
from fxtrue.settings import TRUEFX_PAIRS, Settings

HELP = """Publish ticks to the Kafka tick topic (settings kafka.topic_ticks), one per message with the pair as
key; invalid ticks go to the dead-letter topic with the reason (crossed quotes are valid), and so do ticks
whose event time is too far from their arrival (settings kafka.max_event_skew_s, 60 s: live ticks either way;
a replayed tick ahead of the wall clock, or behind the newest event time the replay has sent). Writes a heartbeat
(job "producer") to Cassandra every few seconds. SIGTERM/SIGINT stop it cleanly (flush; TrueFX disconnect).

  truefx   poll the TrueFX Web API (credentials: FXTRUE_TRUEFX_USERNAME/PASSWORD or --conn-id; none = public
           snapshot)
  replay   TrueFX history files (CSV/zip, many pairs) merged in time order
  sim      the market simulator, live"""


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-heartbeat", action="store_true", help="do not write heartbeats to Cassandra")
    p.add_argument("--heartbeat-every", type=float, default=5.0, help="heartbeat period in s (default 5)")
    p.add_argument("--dry-run", action="store_true", help="do not send: count what would be sent")


def register(sub) -> None:
    p = sub.add_parser("produce", help="publish ticks from TrueFX, history files or the simulator to Kafka",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    kinds = p.add_subparsers(dest="source", metavar="SOURCE")
    kinds.required = True

    t = kinds.add_parser("truefx", help="poll the TrueFX Web API")
    t.add_argument("--url", default="", help="connect.html URL (default: settings truefx.url)")
    t.add_argument("--pairs", nargs="+", default=None, metavar="PAIR", help="pairs (default: settings truefx.pairs)")
    t.add_argument("--interval", type=float, default=None, help="poll interval in s (default: settings)")
    t.add_argument("--format", choices=("csv", "html"), default="csv", help="reply format (default csv)")
    t.add_argument("--conn-id", default="", help="Airflow connection holding login/password (and host as URL)")
    _common(t)

    r = kinds.add_parser("replay", help="replay TrueFX history files (CSV or zip) in time order")
    r.add_argument("files", nargs="+", help="history files or folders")
    r.add_argument("--speed", type=float, default=1.0, help="real time x SPEED; 0 = as fast as possible")
    r.add_argument("--limit", type=int, default=None, help="stop after N ticks")
    r.add_argument("--shift-to-now", action="store_true",
                   help="re-time the ticks so that the first one is now (replayed history looks live)")
    _common(r)

    s = kinds.add_parser("sim", help="publish the market simulator live")
    s.add_argument("--scenarios", default="",
                   help="scenarios file (start ISO UTC or offset_s from now), or 'default' for a rolling schedule")
    s.add_argument("--rate-scale", type=float, default=1.0, help="multiply quote rates (default 1)")
    s.add_argument("--seed", type=int, default=1, help="simulator seed (default 1)")
    s.add_argument("--pairs", nargs="+", default=list(TRUEFX_PAIRS), metavar="PAIR", help="pairs (default all 15)")
    _common(s)
    p.set_defaults(func=run)


def airflow_credentials(conn_id: str) -> tuple[str, str, str]:
    """(login, password, url) from an Airflow connection; imported only when asked for."""
    try:
        from airflow.sdk.bases.hook import BaseHook
    except ImportError:  # pragma: no cover - older Airflow layout
        from airflow.hooks.base import BaseHook
    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:  # noqa: BLE001 - Airflow raises several kinds
        raise FxtrueError(f"Airflow connection {conn_id!r} not found: {exc}",
                          hint="create it (airflow connections add) or drop --conn-id") from None
    url = ""
    if conn.host:
        url = conn.host if "://" in conn.host else f"https://{conn.host}"
    return conn.login or "", conn.password or "", url


def build_source(args: argparse.Namespace, settings: Settings):
    from producers import sources

    if args.source == "truefx":
        from producers.truefx import TrueFXClient

        user, password, url = settings.truefx.username, settings.truefx.password, ""
        if args.conn_id:
            user, password, url = airflow_credentials(args.conn_id)
        pairs = tuple(args.pairs or settings.truefx.pairs)
        bad = [p for p in pairs if p not in TRUEFX_PAIRS]
        if bad:
            raise FxtrueError(f"unknown pair(s): {', '.join(bad)}")
        client = TrueFXClient(args.url or url or settings.truefx.url, user, password, pairs, fmt=args.format,
                              reconnect_after_idle_s=settings.truefx.reconnect_after_idle_s,
                              max_reply_bytes=settings.truefx.max_reply_bytes)
        return sources.TrueFXSource(client, args.interval or settings.truefx.poll_interval_s)
    if args.source == "replay":
        if args.speed < 0:
            raise FxtrueError("--speed must be >= 0 (0 = as fast as possible)")
        return sources.ReplaySource(args.files, speed=args.speed, limit=args.limit,
                                    shift_to_now=args.shift_to_now,
                                    max_ahead_ms=int(settings.kafka.max_event_skew_s * 1000))
    from fxtrue import simulator
    from fxtrue.ticks import now_epoch_ms

    now = now_epoch_ms()
    if args.scenarios == "default":
        scenarios = simulator.live_schedule(now, args.pairs, seed=args.seed)
    elif args.scenarios:
        scenarios = simulator.load(args.scenarios, now_ms=now)
    else:
        scenarios = []
    return sources.SimulatorSource(simulator.LiveSimulator(tuple(args.pairs), seed=args.seed,
                                                           rate_scale=args.rate_scale, scenarios=scenarios))


def progress_printer(source):
    def show(stats) -> None:
        total = getattr(source, "estimated_total", 0) or 0
        limit = getattr(source, "limit", None)
        line = f"{stats.ticks:>11,} ticks  {stats.rejected:>7,} rejected  {stats.rate():>9,.0f} ticks/s"
        goal = limit or total
        if goal:
            frac = min(1.0, (stats.ticks + stats.rejected) / goal)
            bar = "#" * int(frac * 30)
            line = f"[{bar:<30}] {frac:6.1%}{'' if limit else ' (est.)'} " + line
        if getattr(source, "replay_ts", None):
            from fxtrue.simulator.scenarios import iso_ms
            line += f"  at {iso_ms(source.replay_ts)}"
        print(line, file=sys.stderr, flush=True)
    return show


def run(args: argparse.Namespace, settings: Settings) -> int:
    from producers import main, sinks

    source = build_source(args, settings)
    sink = sinks.MemorySink() if args.dry_run else sinks.KafkaSink(settings)
    heartbeat = None if args.no_heartbeat or args.dry_run else sinks.HeartbeatReporter(settings, args.heartbeat_every)
    stop = threading.Event()
    main.install_signal_handlers(stop)
    print(f"producing from {args.source} to "
          f"{'nowhere (dry run)' if args.dry_run else settings.kafka.topic_ticks + ' @ ' + settings.kafka_bootstrap}",
          file=sys.stderr, flush=True)
    try:
        stats = main.run(source, sink, stop=stop, heartbeat=heartbeat,
                         max_skew_ms=int(settings.kafka.max_event_skew_s * 1000),
                         progress=progress_printer(source))
    finally:
        sink.close()
        if heartbeat is not None:
            heartbeat.close()
    counts = sink.counts()
    secs = max(1e-9, time.monotonic() - stats.started)
    print(f"done: {stats.ticks:,} ticks, {stats.rejected:,} rejected in {secs:.1f} s ({stats.ticks / secs:,.0f} ticks/s); "
          f"acknowledged {counts['sent']:,} + {counts['rejected']:,} DLQ, delivery failures {counts['failed']} "
          f"(retried), unacknowledged {counts['pending']}", file=sys.stderr)
    for reason, n in sorted(stats.reasons.items(), key=lambda kv: -kv[1])[:5]:
        print(f"  rejected {n:,}: {reason}", file=sys.stderr)
    return 0 if counts["pending"] == 0 else 1
