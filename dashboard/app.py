"""The Dash app factory: `create_app(settings, data=None)` builds the app (and its Flask `server`) with basic auth,
the Data Docs route and the callbacks. Nothing connects at import time: `app` and `server` attributes of this
module are built on first access from get_settings() (for WSGI servers: `dashboard.app:server`), and Cassandra
is reached on the first request.
"""

from __future__ import annotations

import hmac
import ipaddress
import threading
from pathlib import Path
from typing import Callable

from fxtrue.errors import ConfigError
from fxtrue.settings import Settings

from dashboard.data import DashboardData
from dashboard.layout import DQ_DOCS_ROUTE

REALM = "FXTrue dashboard"


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything, so treat it as exposed


def check_auth_settings(settings: Settings) -> bool:
    """Whether basic auth is on; raises ConfigError when the app would be exposed without credentials."""
    d = settings.dashboard
    if bool(d.username) != bool(d.password):
        raise ConfigError("only one of the dashboard username and password is set",
                          hint="set both FXTRUE_DASHBOARD_USERNAME and FXTRUE_DASHBOARD_PASSWORD, or neither")
    if d.username:
        return True
    if not is_loopback(d.host):
        raise ConfigError(f"the dashboard would listen on {d.host}, which is not a loopback address, "
                          "without credentials",
                          hint="set FXTRUE_DASHBOARD_USERNAME and FXTRUE_DASHBOARD_PASSWORD (basic auth), "
                               "or bind to 127.0.0.1")
    return False


class LazyData:
    """Connects to Cassandra on first use (and again after a failed attempt); thread-safe."""

    def __init__(self, settings: Settings, wait_s: float = 5.0) -> None:
        self.settings = settings
        self.wait_s = wait_s
        self._data: DashboardData | None = None
        self._lock = threading.Lock()

    def __call__(self) -> DashboardData:
        if self._data is None:
            with self._lock:
                if self._data is None:
                    from fxtrue import cassandra
                    session = cassandra.connect(self.settings, component="dashboard", keyspace=self.settings.cassandra.keyspace,
                                                wait_s=self.wait_s)
                    self._data = DashboardData(session, self.settings)
        return self._data


def _install_basic_auth(server, settings: Settings) -> None:
    from flask import Response, request

    user = settings.dashboard.username.encode()
    password = settings.dashboard.password.encode()

    @server.before_request
    def _require_basic_auth():
        auth = request.authorization
        if auth is not None and auth.type == "basic" and \
                hmac.compare_digest((auth.username or "").encode(), user) and \
                hmac.compare_digest((auth.password or "").encode(), password):
            return None
        return Response("authentication required\n", 401, {"WWW-Authenticate": f'Basic realm="{REALM}"'})


def _install_dq_docs(server, settings: Settings) -> None:
    """Serve the Great Expectations Data Docs site (settings.dq_docs_dir) under /dq-docs/."""
    from flask import abort, send_from_directory

    docs_dir = settings.dq_docs_dir

    def serve(path: str = "index.html"):
        if "://" in docs_dir:  # e.g. s3://bucket/prefix on AWS: the site is served from there, not by this app
            abort(404, description=f"Data Docs are published to {docs_dir}")
        root = Path(docs_dir)
        if not (root / "index.html").is_file() and path == "index.html":
            abort(404, description=f"no Data Docs site yet in {root}: run `fxtrue dq`")
        return send_from_directory(root, path)  # safe_join: refuses paths outside the folder

    server.add_url_rule(DQ_DOCS_ROUTE, "dq_docs_index", serve)
    server.add_url_rule(DQ_DOCS_ROUTE + "<path:path>", "dq_docs", serve)


def create_app(settings: Settings, data: DashboardData | Callable[[], DashboardData] | None = None):
    """The dashboard app for `settings`; `data` is a DashboardData (tests, bench) or a provider of one
    (default: connect lazily from settings). Raises ConfigError if it would be exposed without credentials."""
    import dash

    from dashboard import callbacks
    from dashboard.layout import build_layout

    auth = check_auth_settings(settings)
    if data is None:
        get_data: Callable[[], DashboardData] = LazyData(settings)
    elif isinstance(data, DashboardData):
        get_data = lambda: data  # noqa: E731
    else:
        get_data = data
    app = dash.Dash(__name__, title="FXTrue", update_title=None,
                    assets_folder=str(Path(__file__).with_name("assets")))
    if auth:
        _install_basic_auth(app.server, settings)
    _install_dq_docs(app.server, settings)
    app.server.add_url_rule("/healthz", "healthz", lambda: {"status": "ok"})
    app.layout = build_layout(settings)
    callbacks.register(app, get_data, settings)
    return app


_default: dict[str, object] = {}


def __getattr__(name: str):
    # `app` / `server` for WSGI servers, built on first access (not at import time).
    if name in ("app", "server"):
        if "app" not in _default:
            from fxtrue.settings import get_settings
            _default["app"] = create_app(get_settings())
        a = _default["app"]
        return a if name == "app" else a.server  # type: ignore[attr-defined]
    raise AttributeError(name)
