"""`fxtrue dashboard`: serve the Dash dashboard (live rates, trends, alerts, thresholds, pipeline health, DQ)."""

from __future__ import annotations

import argparse

DESCRIPTION = """Serve the FXTrue dashboard: live bid/ask with the running mean and alert windows per pair, the
alerts table across pairs (filters, sorting), the current thresholds version, the producer's and streaming
job's heartbeats, and data-quality runs with the Data Docs site under /dq-docs/.

It reads Cassandra (settings.cassandra) with bounded queries only. Bound to a non-loopback address it
requires basic auth: set FXTRUE_DASHBOARD_USERNAME and FXTRUE_DASHBOARD_PASSWORD (it refuses to start
otherwise). Defaults: FXTRUE_DASHBOARD_HOST / FXTRUE_DASHBOARD_PORT (127.0.0.1:8050)."""


def register(sub) -> None:
    p = sub.add_parser("dashboard", help="serve the Dash dashboard", description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", help="address to bind (default: settings.dashboard.host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: settings.dashboard.port, 8050)")
    p.set_defaults(func=run)


def run(args, settings) -> int:
    import logging

    from werkzeug.serving import make_server

    from dashboard.app import check_auth_settings, create_app
    from fxtrue import cassandra

    changes = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if changes:
        settings = settings.replace(dashboard=changes)
    check_auth_settings(settings)  # before any I/O: refuse to expose the app without credentials
    # Fail fast with a clear message when Cassandra is not there (the app itself reconnects lazily).
    cassandra.connect(settings, component="dashboard", keyspace=settings.cassandra.keyspace, wait_s=10).cluster.shutdown()
    app = create_app(settings)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access-log line per callback every second
    server = make_server(settings.dashboard.host, settings.dashboard.port, app.server, threaded=True)
    auth = "basic auth on" if settings.dashboard.username else "no auth (loopback only)"
    print(f"FXTrue dashboard on http://{settings.dashboard.host}:{server.server_port}/ ({auth}); Ctrl-C stops it",
          flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
