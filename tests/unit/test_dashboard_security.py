"""The dashboard's guards against hostile requests and unsafe configuration, through the WSGI server object itself
(Flask test client): secure-by-default modes, Host allow-list (DNS rebinding), failed-login limit, no error detail
in the browser, Data Docs served only from regular files inside their folder."""

from __future__ import annotations

import base64
import logging
import os
import stat

import pytest

import dashboard.app as app_module
from dashboard.app import FailedLogins, create_app, docs_file, host_allowed
from dashboard.data import DashboardData
from fxtrue.errors import ConfigError
from fxtrue.settings import Settings

from dashboard_fakes import FakeSession

LOCAL = "http://127.0.0.1:8050"
CREDS = {"username": "ops", "password": "s3cret-canary"}


def _auth(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def data():
    return DashboardData(FakeSession(), Settings())


@pytest.fixture
def fresh_module(monkeypatch):
    """dashboard.app's lazily built `server`, rebuilt from the settings the test gives get_settings()."""
    import fxtrue.settings as settings_module

    monkeypatch.setattr(app_module, "_default", {})

    def use(settings: Settings) -> None:
        monkeypatch.setattr(settings_module, "get_settings", lambda: settings)
    return use


# -- secure by default -------------------------------------------------------------------------------------------

def test_wsgi_server_refuses_to_serve_without_credentials_or_local_only(fresh_module):
    fresh_module(Settings())  # the defaults: no credentials, no local-only mode
    with pytest.raises(ConfigError, match="no credentials") as err:
        app_module.server  # noqa: B018 -- what gunicorn loads as dashboard.app:server
    assert "FXTRUE_DASHBOARD_PASSWORD" in str(err.value) and "local-only" in str(err.value)


def test_wsgi_server_with_credentials_demands_them(fresh_module):
    fresh_module(Settings().replace(dashboard=CREDS))
    client = app_module.server.test_client()
    assert client.get("/", base_url=LOCAL).status_code == 401
    assert client.get("/", base_url=LOCAL, headers=_auth("ops", "s3cret-canary")).status_code == 200


def test_local_only_answers_loopback_clients_only(fresh_module):
    fresh_module(Settings().replace(dashboard={"local_only": True}))
    client = app_module.server.test_client()
    assert client.get("/", base_url=LOCAL).status_code == 200  # the test client's address is 127.0.0.1
    r = client.get("/", base_url=LOCAL, environ_base={"REMOTE_ADDR": "192.168.1.20"})
    assert r.status_code == 403
    assert client.get("/healthz", base_url=LOCAL, environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 403
    with pytest.raises(ConfigError, match="local-only mode but would listen on 0.0.0.0"):
        create_app(Settings().replace(dashboard={"local_only": True, "host": "0.0.0.0"}), data=lambda: None)


def test_command_generates_a_login_when_none_is_configured(tmp_path, capsys):
    from argparse import Namespace

    from fxtrue.commands.dashboard import resolve_settings

    args = Namespace(host=None, port=None, local_only=False)
    s, mode = resolve_settings(args, Settings(state_dir=tmp_path))
    path = tmp_path / "dashboard" / "credentials.toml"
    assert s.dashboard.username == "fxtrue" and len(s.dashboard.password) >= 20
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert str(path) in mode and s.dashboard.password not in mode  # where to find it, never the password
    again, _ = resolve_settings(args, Settings(state_dir=tmp_path))
    assert again.dashboard.password == s.dashboard.password  # kept across restarts
    local, mode = resolve_settings(Namespace(host=None, port=None, local_only=True), Settings(state_dir=tmp_path))
    assert local.dashboard.local_only and not local.dashboard.password and "local-only" in mode


def test_limits_must_be_sane():
    # Checked where every setting is (fxtrue.settings.RULES), before the app can be built.
    for key, bad in (("login_failures_max", 0), ("login_failures_window_s", float("nan")),
                     ("login_failures_window_s", 0), ("trusted_proxies", -1)):
        with pytest.raises(ConfigError, match=f"dashboard.{key} "):
            Settings().replace(dashboard={**CREDS, key: bad})


# -- Host allow-list (DNS rebinding) -----------------------------------------------------------------------------

def test_host_allow_list():
    allowed = ("localhost:8050", "127.0.0.1:8050", "[::1]:8050", "dash.example.org")
    for host in ("127.0.0.1:8050", "LOCALHOST:8050", "[::1]:8050", "dash.example.org", "dash.example.org:443"):
        assert host_allowed(host, allowed), host
    for host in (None, "", "evil.example:8050", "127.0.0.1:9999", "localhost", "[::1]", "127.0.0.1",
                 "dash.example.org.evil.example", "evil.example:8050@127.0.0.1:8050"):
        assert not host_allowed(host, allowed), host


def test_request_with_foreign_host_is_rejected(data):
    client = create_app(Settings().replace(dashboard=CREDS), data=data).server.test_client()
    ok = _auth("ops", "s3cret-canary")
    assert client.get("/", base_url=LOCAL, headers=ok).status_code == 200
    # a page on attacker.example re-pointed its name at 127.0.0.1 (DNS rebinding): the browser sends its Host
    for base in ("http://attacker.example:8050", "http://localhost", "http://127.0.0.1:8051"):
        r = client.get("/_dash-layout", base_url=base, headers=ok)
        assert r.status_code == 400, base
        assert b"price-chart" not in r.data
    configured = create_app(Settings().replace(dashboard={**CREDS, "allowed_hosts": ("dash.example.org",)}),
                            data=data).server.test_client()
    assert configured.get("/", base_url="https://dash.example.org", headers=ok).status_code == 200
    assert configured.get("/", base_url=LOCAL, headers=ok).status_code == 400


# -- failed logins -----------------------------------------------------------------------------------------------

def test_failed_logins_are_rate_limited_per_client_address(data):
    s = Settings().replace(dashboard={**CREDS, "login_failures_max": 3, "login_failures_window_s": 60})
    client = create_app(s, data=data).server.test_client()
    attacker = {"REMOTE_ADDR": "127.0.0.7"}
    for _ in range(3):
        assert client.get("/", base_url=LOCAL, headers=_auth("ops", "guess"),
                          environ_base=attacker).status_code == 401
    r = client.get("/", base_url=LOCAL, headers=_auth("ops", "s3cret-canary"), environ_base=attacker)
    assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 61
    # another address is not locked out; a request without credentials (the browser's first) is no failure
    assert client.get("/", base_url=LOCAL, headers=_auth("ops", "s3cret-canary")).status_code == 200
    for _ in range(5):
        assert client.get("/", base_url=LOCAL).status_code == 401
    assert client.get("/", base_url=LOCAL, headers=_auth("ops", "s3cret-canary")).status_code == 200


def test_failed_logins_behind_a_proxy_count_the_forwarded_client(data):
    s = Settings().replace(dashboard={**CREDS, "login_failures_max": 2, "trusted_proxies": 1})
    client = create_app(s, data=data).server.test_client()
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for _ in range(2):
        client.get("/", base_url=LOCAL, headers={**_auth("ops", "x"), "X-Forwarded-For": "203.0.113.9"},
                   environ_base=proxy)
    assert client.get("/", base_url=LOCAL, headers={**_auth("ops", "s3cret-canary"),
                                                    "X-Forwarded-For": "203.0.113.9"},
                      environ_base=proxy).status_code == 429
    assert client.get("/", base_url=LOCAL, headers={**_auth("ops", "s3cret-canary"),
                                                    "X-Forwarded-For": "198.51.100.4"},
                      environ_base=proxy).status_code == 200


def test_failed_login_table_is_bounded_and_windows_expire():
    now = [0.0]
    table = FailedLogins(limit=2, window_s=10, max_clients=3, clock=lambda: now[0])
    for i in range(100):
        table.failure(f"10.0.0.{i}")
    assert len(table) == 3  # the 97 least recent are forgotten
    table.failure("10.0.0.99")
    assert table.retry_after("10.0.0.99") == 10
    now[0] = 10.0
    assert table.retry_after("10.0.0.99") == 0 and len(table) == 2


# -- no error detail in the browser ------------------------------------------------------------------------------

HEALTH_CALLBACK = {"output": "health-panel.children", "outputs": {"id": "health-panel", "property": "children"},
                   "inputs": [{"id": "tick", "property": "n_intervals", "value": 1}],
                   "changedPropIds": ["tick.n_intervals"], "state": []}


def test_no_traceback_or_error_detail_reaches_the_browser(monkeypatch, caplog):
    monkeypatch.setenv("FLASK_DEBUG", "1")  # debug must stay off whatever the environment says
    secret = "cassandra-canary-pw"

    def unreachable():
        raise RuntimeError(f"cannot log in to 10.1.2.3:9042 as fxtrue/{secret}")

    s = Settings().replace(dashboard={"local_only": True}, cassandra={"username": "fxtrue", "password": secret})
    client = create_app(s, data=unreachable).server.test_client()
    with caplog.at_level(logging.WARNING):
        r = client.post("/_dash-update-component", base_url=LOCAL, json={"not": "a callback"})  # the app fails
        assert r.status_code == 500
        assert b"Traceback" not in r.data and b"KeyError" not in r.data and b"dash.py" not in r.data
        assert b"internal error (reference " in r.data
        r = client.post("/_dash-update-component", base_url=LOCAL, json=HEALTH_CALLBACK)  # a read fails
        assert r.status_code == 200
        assert b"10.1.2.3" not in r.data and secret.encode() not in r.data and b"RuntimeError" not in r.data
        assert b"health unavailable" in r.data
    logged = caplog.text
    assert "KeyError" in logged and "10.1.2.3" in logged  # the detail is in the server's log ...
    assert secret not in logged  # ... redacted


# -- Data Docs ---------------------------------------------------------------------------------------------------

@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    (root / "validations").mkdir(parents=True)
    (root / "index.html").write_text("<h1>Data Docs</h1>")
    (root / "validations" / "r1.html").write_text("run r1")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "credentials.toml").write_text('password = "leaked"')
    (root / "leak.html").symlink_to(outside / "credentials.toml")
    (root / "linked").symlink_to(outside, target_is_directory=True)
    (root / "validations" / "inner-link.html").symlink_to(root / "index.html")
    os.mkfifo(root / "pipe")
    return root


def test_data_docs_serve_only_regular_files_inside_the_folder(data, site):
    client = create_app(Settings().replace(dashboard={"local_only": True}, dq={"docs_dir": str(site)}),
                        data=data).server.test_client()
    assert client.get("/dq-docs/validations/r1.html", base_url=LOCAL).data == b"run r1"
    for path in ("leak.html", "linked/credentials.toml", "validations/inner-link.html", "pipe", "validations",
                 "%2e%2e/outside/credentials.toml", "validations/..%2f..%2foutside%2fcredentials.toml",
                 "..%5coutside%5ccredentials.toml"):
        r = client.get("/dq-docs/" + path, base_url=LOCAL)
        assert r.status_code == 404, path
        assert b"leaked" not in r.data
    r = client.get("/dq-docs/%2Fetc%2Fpasswd", base_url=LOCAL)  # not a Data Docs path: Dash's page shell answers
    assert b"root:" not in r.data and b"<!DOCTYPE html>" in r.data


def test_data_docs_from_a_relative_folder(data, site, monkeypatch):
    monkeypatch.chdir(site.parent)
    client = create_app(Settings().replace(dashboard={"local_only": True}, dq={"docs_dir": "site"}),
                        data=data).server.test_client()
    assert client.get("/dq-docs/validations/r1.html", base_url=LOCAL).data == b"run r1"


def test_docs_file_refuses_hostile_paths(site):
    assert docs_file(site, "validations/r1.html") == site / "validations" / "r1.html"
    for path in ("", "/etc/passwd", "../outside/credentials.toml", "validations/../index.html", "./index.html",
                 "validations//r1.html", "a\\..\\b", "index.html\x00.png", "leak.html", "linked/credentials.toml",
                 "pipe", "validations", "missing.html"):
        assert docs_file(site, path) is None, path


def test_docs_folder_holding_the_state_dir_is_refused(data, tmp_path):
    state = tmp_path / "var"
    for docs in (tmp_path, state, tmp_path / "var" / ".."):
        s = Settings(state_dir=state).replace(dashboard={"local_only": True}, dq={"docs_dir": str(docs)})
        with pytest.raises(ConfigError, match="holds the state dir"):
            create_app(s, data=data)
    ok = Settings(state_dir=state).replace(dashboard={"local_only": True})  # default: <state>/dq/docs
    assert create_app(ok, data=data) is not None


def test_command_serves_with_waitress(data):
    import threading
    import urllib.error
    import urllib.request

    from ports import free_port

    from fxtrue.commands.dashboard import make_server

    s = Settings().replace(dashboard={"local_only": True, "port": free_port()})
    server = make_server(create_app(s, data=data).server, s)
    port = server.effective_port
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
            assert r.status == 200 and r.headers["Server"] == "fxtrue-dashboard"
        req = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": "attacker.example"})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=10)
        assert err.value.code == 400
    finally:
        server.close()
        thread.join(10)


# -- served by a production WSGI server in the container ---------------------------------------------------------

def test_container_serves_the_wsgi_entry_with_gunicorn(monkeypatch):
    import importlib
    import re

    import fxtrue.settings as settings_module
    from fxtrue.settings import PROJECT_ROOT

    monkeypatch.setattr(settings_module, "get_settings",
                        lambda: Settings().replace(dashboard={"host": "0.0.0.0", "port": 8051}))
    conf = importlib.import_module("dashboard.gunicorn_conf")
    conf = importlib.reload(conf)
    assert conf.bind == ["0.0.0.0:8051"] and conf.preload_app and conf.workers == 1
    assert conf.bind_address("::", 8050) == "[::]:8050"

    serve = '"gunicorn", "-c", "python:dashboard.gunicorn_conf", "dashboard.app:server"'
    docker = (PROJECT_ROOT / "infra" / "terraform" / "docker" / "dashboard.Dockerfile").read_text()
    assert re.search(r'"gunicorn==\$\{GUNICORN_VERSION\}"', docker) and re.search(r"GUNICORN_VERSION=\d+\.\d+\.\d+", docker)
    assert f"CMD [{serve}]" in docker and "USER 10001" in docker
    module = (PROJECT_ROOT / "infra" / "terraform" / "modules" / "dashboard" / "main.tf").read_text()
    assert f"command                = [{serve}]" in module
    assert "FXTRUE_DASHBOARD_ALLOWED_HOSTS" in module and 'FXTRUE_DASHBOARD_TRUSTED_PROXIES = "1"' in module
    assert 'path                = "/healthz"' in module
