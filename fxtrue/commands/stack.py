"""`fxtrue stack up|down|status|fetch`: the local Kafka + Cassandra stack on 127.0.0.1."""

from __future__ import annotations

import argparse
import json

from fxtrue.settings import Settings

HELP = """Manage the single-machine stack: Kafka (KRaft) and Cassandra 5.0, assembled from Maven Central
jars and run as background JVMs bound to 127.0.0.1. All state (data, logs, jars, the generated
Cassandra credential) lives under the state dir (FXTRUE_STATE_DIR, default <repo>/var).
With FXTRUE_STACK_KAFKA_SASL=true Kafka takes SASL/SCRAM logins only and enforces ACLs (its admin
credential: <state>/kafka/credentials.toml, mode 600; `fxtrue init` creates the component users); the
setting is fixed when Kafka's storage is first formatted.

  up      fetch jars if needed, start both services, wait until each really answers; idempotent
  down    stop both services (also cleans up after a crash)
  status  pid, ports, health, memory and log path of each service (exit 1 if any is unhealthy)
  fetch   only download the jars (Kafka, Cassandra, Spark's Kafka source) into <state>/lib"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stack", help="start, stop or inspect the local Kafka + Cassandra stack",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["up", "down", "status", "fetch"])
    p.add_argument("--json", action="store_true", help="status as JSON")
    p.add_argument("--force", action="store_true", help="fetch: download the jars again")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from fxtrue import stack

    if args.action == "fetch":
        stack.fetch(settings, force=args.force)
        return 0
    if args.action == "up":
        stack.up(settings)
        print_status(stack.status(settings), settings)
        return 0
    if args.action == "down":
        stack.down(settings)
        return 0
    statuses = stack.status(settings)
    if args.json:
        print(json.dumps([{**s.__dict__, "log": str(s.log)} for s in statuses], indent=2))
    else:
        print_status(statuses, settings)
    return 0 if all(s.healthy for s in statuses) else 1


def print_status(statuses, settings: Settings) -> None:
    print(f"state dir: {settings.state_dir}")
    for s in statuses:
        health = "healthy" if s.healthy else ("UNHEALTHY" if s.running else "stopped")
        ports = ", ".join(f"{k} {v}" for k, v in s.ports.items())
        rss = f", rss {s.rss_mb:.0f} MB" if s.rss_mb else ""
        print(f"  {s.name:<10} {health:<10} pid {s.pid or '-'}{rss}; ports {ports}; {s.detail}")
        print(f"  {'':<10} log {s.log}")
