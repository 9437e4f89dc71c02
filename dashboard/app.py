"""The Dash app factory: `create_app(settings, data=None)` builds the app (and its Flask `server`) with its guards,
the Data Docs route and the callbacks. Nothing connects at import time: `app` and `server` attributes of this
module are built on first access from get_settings() (for WSGI servers: `dashboard.app:server`), and Cassandra
is reached on the first request.

Secure by default, whatever serves it (`fxtrue dashboard`, gunicorn): without credentials
(settings.dashboard.username/password, from the environment or a secret store) the app refuses to be built unless
local-only mode is chosen explicitly (settings.dashboard.local_only: loopback bind, loopback clients only, no
login). Every request passes, in order: the local-only client check (403), the Host allow-list against DNS
rebinding (400), basic auth with a per-address limit on failed logins (401 / 429). Errors reach the browser as a
generic page with a reference; the detail goes to the log, redacted.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import stat
import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Callable

from fxtrue.errors import ConfigError, redact
from fxtrue.settings import Settings

from dashboard.data import DashboardData
from dashboard.layout import DQ_DOCS_ROUTE

log = logging.getLogger("fxtrue.dashboard")

REALM = "FXTrue dashboard"
HEALTH_ROUTE = "/healthz"  # load-balancer health checks: no Host check, no auth; reveals nothing but "ok"
MAX_TRACKED_CLIENTS = 10_000  # the failed-login table forgets the least recently failing address beyond this
LOCAL_HOST_NAMES = ("localhost", "127.0.0.1", "[::1]")


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything, so treat it as exposed


def check_auth_settings(settings: Settings) -> bool:
    """Whether basic auth is on. Raises ConfigError when the app would serve without credentials outside
    local-only mode, in local-only mode off loopback, or off loopback with only the loopback Host names."""
    d = settings.dashboard
    if bool(d.username) != bool(d.password):
        raise ConfigError("only one of the dashboard username and password is set",
                          hint="set both FXTRUE_DASHBOARD_USERNAME and FXTRUE_DASHBOARD_PASSWORD, or neither")
    if d.local_only and not is_loopback(d.host):
        raise ConfigError(f"the dashboard is in local-only mode but would listen on {d.host}, which is not a "
                          "loopback address",
                          hint="bind to 127.0.0.1 (FXTRUE_DASHBOARD_HOST), or leave local-only mode and set "
                               "FXTRUE_DASHBOARD_USERNAME and FXTRUE_DASHBOARD_PASSWORD (basic auth)")
    if not d.username and not d.local_only:
        where = "" if is_loopback(d.host) else f" and would listen on {d.host}, which is not a loopback address,"
        raise ConfigError(f"the dashboard has no credentials{where} and is not in local-only mode",
                          hint="set FXTRUE_DASHBOARD_USERNAME and FXTRUE_DASHBOARD_PASSWORD (basic auth; the "
                               "password from the environment or a secret store), or choose local-only mode "
                               "(`fxtrue dashboard --local-only` or FXTRUE_DASHBOARD_LOCAL_ONLY=true: no login, "
                               "loopback only)")
    if not is_loopback(d.host) and not d.allowed_hosts:
        raise ConfigError(f"the dashboard would listen on {d.host} but answer only the Host names "
                          f"{', '.join(allowed_hosts(settings))}",
                          hint="set FXTRUE_DASHBOARD_ALLOWED_HOSTS to the names clients use, comma-separated "
                               "(e.g. dash.example.org)")
    return bool(d.username)


def allowed_hosts(settings: Settings) -> tuple[str, ...]:
    """The Host allow-list: settings.dashboard.allowed_hosts, else the loopback names on the bound port."""
    d = settings.dashboard
    if d.allowed_hosts:
        return tuple(h.strip().lower() for h in d.allowed_hosts)
    return tuple(f"{name}:{d.port}" for name in LOCAL_HOST_NAMES)


def _has_port(host: str) -> bool:
    return host.rfind(":") > host.rfind("]")


def host_allowed(host: str | None, allowed: tuple[str, ...]) -> bool:
    """Whether a Host header is on the allow-list: an entry with a port (name:port, [v6]:port) matches exactly,
    one without matches that name on any port."""
    if not host:
        return False
    host = host.strip().lower()
    name = host.rsplit(":", 1)[0] if _has_port(host) else host
    return any(host == entry or (name == entry and not _has_port(entry)) for entry in allowed)


class FailedLogins:
    """Failed logins per client address in fixed windows: after `limit` failures within `window_s` of the first,
    the address is refused until that window ends. Bounded memory: at most `max_clients` addresses, the least
    recently failing forgotten first. Thread-safe."""

    def __init__(self, limit: int, window_s: float, max_clients: int = MAX_TRACKED_CLIENTS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_clients = max_clients
        self.clock = clock
        self._table: OrderedDict[str, tuple[float, int]] = OrderedDict()  # address -> (window start, failures)
        self._lock = threading.Lock()

    def retry_after(self, addr: str) -> float:
        """Seconds until `addr` may try again (0: now)."""
        with self._lock:
            entry = self._table.get(addr)
            if entry is None:
                return 0.0
            left = entry[0] + self.window_s - self.clock()
            if left <= 0:
                del self._table[addr]
                return 0.0
            return left if entry[1] >= self.limit else 0.0

    def failure(self, addr: str) -> None:
        with self._lock:
            now = self.clock()
            start, count = self._table.pop(addr, (now, 0))
            if now - start >= self.window_s:
                start, count = now, 0
            self._table[addr] = (start, count + 1)
            while len(self._table) > self.max_clients:
                self._table.popitem(last=False)

    def success(self, addr: str) -> None:
        with self._lock:
            self._table.pop(addr, None)

    def __len__(self) -> int:
        return len(self._table)


def check_docs_dir(settings: Settings) -> None:
    """Refuse a local Data Docs folder that is, or holds, the state dir (its credentials and data would be
    served)."""
    docs_dir = settings.dq_docs_dir
    if "://" in docs_dir:
        return
    docs = Path(docs_dir).expanduser().resolve()
    state = Path(settings.state_dir).expanduser().resolve()
    if docs == state or docs in state.parents:
        raise ConfigError(f"the Data Docs folder {docs} holds the state dir {state}: the dashboard would serve "
                          "its credentials and data",
                          hint="point FXTRUE_DQ_DOCS_DIR at a folder of its own (default: <state>/dq/docs)")


def docs_file(root: Path, path: str) -> Path | None:
    """The regular file `path` names inside `root`, or None: no absolute path, no `.`/`..`/empty part, no
    backslash or NUL, no symbolic link at any level below root, and nothing but a regular file."""
    if not path or path.startswith("/") or "\\" in path or "\x00" in path:
        return None
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return None
    current = root
    st = None
    for part in parts:
        current = current / part
        try:
            st = os.lstat(current)
        except OSError:
            return None
        if stat.S_ISLNK(st.st_mode):
            return None
    if st is None or not stat.S_ISREG(st.st_mode):
        return None
    return current


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


def redactor(settings: Settings) -> Callable[[str], str]:
    """Redacts the secrets the dashboard knows of from a text bound for a log."""
    known = (settings.dashboard.password, settings.cassandra.password)
    return lambda text: redact(text, *known)


def _install_guards(server, settings: Settings, auth: bool) -> None:
    """Local-only client check, Host allow-list, basic auth with failed-login limit, in that order."""
    from flask import Response, request

    d = settings.dashboard
    hosts = allowed_hosts(settings)
    user = d.username.encode()
    password = d.password.encode()
    failures = FailedLogins(d.login_failures_max, d.login_failures_window_s)
    server.extensions["fxtrue_failed_logins"] = failures

    @server.before_request
    def _guard():
        addr = request.remote_addr or ""
        if d.local_only and not is_loopback(addr):
            return Response("local-only dashboard: this machine only\n", 403, mimetype="text/plain")
        if request.path == HEALTH_ROUTE:
            return None
        if not host_allowed(request.headers.get("Host"), hosts):
            log.warning("refused a request for Host %r from %s (allowed: %s)",
                        (request.headers.get("Host") or "")[:100], addr, ", ".join(hosts))
            return Response("Host not allowed (set FXTRUE_DASHBOARD_ALLOWED_HOSTS on the server)\n", 400,
                            mimetype="text/plain")
        if not auth:
            return None
        wait = failures.retry_after(addr)
        if wait > 0:
            return Response("too many failed logins; try again later\n", 429, {"Retry-After": str(int(wait) + 1)},
                            mimetype="text/plain")
        creds = request.authorization
        if creds is not None and creds.type == "basic":
            ok_user = hmac.compare_digest((creds.username or "").encode(), user)
            ok_password = hmac.compare_digest((creds.password or "").encode(), password)
            if ok_user and ok_password:
                failures.success(addr)
                return None
            failures.failure(addr)
            log.warning("failed dashboard login from %s", addr)
        return Response("authentication required\n", 401, {"WWW-Authenticate": f'Basic realm="{REALM}"'},
                        mimetype="text/plain")


def _install_error_pages(server, settings: Settings) -> None:
    """Debug off whatever FLASK_DEBUG says; an unhandled error answers a generic page with a reference and logs
    the detail (redacted) under that reference."""
    from flask import Response
    from werkzeug.exceptions import HTTPException

    server.debug = False
    server.config["PROPAGATE_EXCEPTIONS"] = False
    clean = redactor(settings)

    @server.errorhandler(Exception)
    def _error(exc):
        if isinstance(exc, HTTPException):
            return exc
        ref = uuid.uuid4().hex[:12]
        log.error("dashboard error %s: %s", ref, clean(f"{type(exc).__name__}: {exc}"))
        return Response(f"internal error (reference {ref}; the details are in the dashboard's log)\n", 500,
                        mimetype="text/plain")


def _install_dq_docs(server, settings: Settings) -> None:
    """Serve the Great Expectations Data Docs site (settings.dq_docs_dir) under /dq-docs/: regular files inside
    the folder only (docs_file)."""
    from flask import abort, send_file

    docs_dir = settings.dq_docs_dir

    def serve(path: str = "index.html"):
        if "://" in docs_dir:  # e.g. s3://bucket/prefix on AWS: the site is served from there, not by this app
            abort(404, description=f"Data Docs are published to {docs_dir}")
        root = Path(docs_dir).absolute()  # send_file would take a relative path from the package, not the cwd
        target = docs_file(root, path)
        if target is None:
            if path == "index.html":
                abort(404, description=f"no Data Docs site yet in {root}: run `fxtrue dq`")
            abort(404)
        return send_file(target)

    server.add_url_rule(DQ_DOCS_ROUTE, "dq_docs_index", serve)
    server.add_url_rule(DQ_DOCS_ROUTE + "<path:path>", "dq_docs", serve)


def create_app(settings: Settings, data: DashboardData | Callable[[], DashboardData] | None = None):
    """The dashboard app for `settings`; `data` is a DashboardData (tests, bench) or a provider of one
    (default: connect lazily from settings). Raises ConfigError if it would serve without credentials outside
    local-only mode, or if its Data Docs folder holds the state dir."""
    import dash

    from dashboard import callbacks
    from dashboard.layout import build_layout

    auth = check_auth_settings(settings)
    check_docs_dir(settings)
    if data is None:
        get_data: Callable[[], DashboardData] = LazyData(settings)
    elif isinstance(data, DashboardData):
        get_data = lambda: data  # noqa: E731
    else:
        get_data = data
    app = dash.Dash(__name__, title="FXTrue", update_title=None,
                    assets_folder=str(Path(__file__).with_name("assets")))
    server = app.server
    if settings.dashboard.trusted_proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=settings.dashboard.trusted_proxies)
    _install_error_pages(server, settings)
    _install_guards(server, settings, auth)
    _install_dq_docs(server, settings)
    server.add_url_rule(HEALTH_ROUTE, "healthz", lambda: {"status": "ok"})
    app.layout = build_layout(settings)
    callbacks.register(app, get_data, settings, redactor(settings))
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
