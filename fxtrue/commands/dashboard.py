"""`fxtrue dashboard`: serve the Dash dashboard (live rates, trends, alerts, thresholds, pipeline health, DQ)."""

from __future__ import annotations

import argparse
from pathlib import Path

from fxtrue.settings import Settings

DESCRIPTION = """Serve the FXTrue dashboard: live bid/ask with the running mean and alert windows per pair, the
alerts table across pairs (filters, sorting), the current thresholds version, the producer's and streaming
job's heartbeats, and data-quality runs with the Data Docs site under /dq-docs/.

It reads Cassandra (settings.cassandra) with bounded queries only. It always asks for a login unless it runs
in local-only mode:
  - FXTRUE_DASHBOARD_USERNAME and FXTRUE_DASHBOARD_PASSWORD set (environment or secret store): basic auth;
  - --local-only (or FXTRUE_DASHBOARD_LOCAL_ONLY=true): no login, bound to loopback, answers this machine only;
  - neither: basic auth with a login generated on first use in <state>/dashboard/credentials.toml (mode 600;
    the password is never printed).
Only requests whose Host header is allowed are answered (FXTRUE_DASHBOARD_ALLOWED_HOSTS; default localhost,
127.0.0.1 and [::1] on the port); after FXTRUE_DASHBOARD_LOGIN_FAILURES_MAX failed logins from one address it
answers 429 for the rest of the window. Bound to a non-loopback address it needs credentials and allowed hosts.
Served by waitress. Defaults: FXTRUE_DASHBOARD_HOST / FXTRUE_DASHBOARD_PORT (127.0.0.1:8050). The WSGI entry
`dashboard.app:server` applies the same rules under any WSGI server (the container runs it with gunicorn)."""

GENERATED_USER = "fxtrue"


def register(sub) -> None:
    p = sub.add_parser("dashboard", help="serve the Dash dashboard", description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", help="address to bind (default: settings.dashboard.host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: settings.dashboard.port, 8050)")
    p.add_argument("--local-only", action="store_true",
                   help="no login; bind loopback and answer this machine's clients only (for a local demo)")
    p.set_defaults(func=run)


def credentials_file(settings: Settings) -> Path:
    return settings.state_dir / "dashboard" / "credentials.toml"


def ensure_generated_credentials(settings: Settings) -> tuple[str, str, Path]:
    """The local login kept in the state dir (generated on first use, mode 600): user, password, file."""
    from fxtrue import credentials

    path = credentials_file(settings)
    data = credentials.generated_login(path, GENERATED_USER)
    return data["username"], data["password"], path


def resolve_settings(args, settings: Settings) -> tuple[Settings, str]:
    """Settings with the command line applied and, when neither credentials nor local-only mode are set, the
    generated local login; plus a description of the mode (never the password)."""
    changes: dict = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if getattr(args, "local_only", False):
        changes["local_only"] = True
    if changes:
        settings = settings.replace(dashboard=changes)
    d = settings.dashboard
    if d.username or d.password:
        return settings, f"basic auth on, user {d.username}"
    if d.local_only:
        return settings, "local-only: no login, this machine only"
    from dashboard.app import is_loopback

    if not is_loopback(d.host):
        return settings, ""  # no generated login off loopback: check_auth_settings refuses with the fix
    user, password, path = ensure_generated_credentials(settings)
    settings = settings.replace(dashboard={"username": user, "password": password})
    return settings, f"basic auth on, user {user}, password in {path}"


def make_server(wsgi_app, settings: Settings):
    """waitress (a production WSGI server, pure Python) on settings.dashboard.host:port, never showing a
    traceback; the app itself enforces the login, the Host allow-list and the generic error pages."""
    from waitress.server import create_server

    d = settings.dashboard
    return create_server(wsgi_app, host=d.host, port=d.port, threads=8, ident="fxtrue-dashboard",
                         expose_tracebacks=False)


def run(args, settings) -> int:
    from dashboard.app import check_auth_settings, check_docs_dir, create_app
    from fxtrue import cassandra

    settings, mode = resolve_settings(args, settings)
    check_auth_settings(settings)  # before any I/O: refuse to serve without credentials or local-only mode
    check_docs_dir(settings)
    # Fail fast with a clear message when Cassandra is not there (the app itself reconnects lazily).
    cassandra.connect(settings, component="dashboard", keyspace=settings.cassandra.keyspace, wait_s=10).cluster.shutdown()
    app = create_app(settings)
    server = make_server(app.server, settings)
    print(f"FXTrue dashboard on http://{settings.dashboard.host}:{server.effective_port}/ ({mode}); "
          "Ctrl-C stops it", flush=True)
    try:
        server.run()
    finally:
        server.close()
    return 0
