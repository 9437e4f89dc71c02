"""gunicorn settings for serving the dashboard in a container:

    gunicorn -c python:dashboard.gunicorn_conf dashboard.app:server

It binds settings.dashboard.host:port (FXTRUE_DASHBOARD_HOST / _PORT) and builds the app in the master before
any worker starts (preload), so bad settings (no credentials outside local-only mode, exposed without allowed
hosts, a Data Docs folder holding the state dir) stop the server at start with the app's message. One process
with threads: the failed-login table lives in the process, so one process keeps its limit exact.
"""

from fxtrue.settings import get_settings


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


_dashboard = get_settings().dashboard

bind = [bind_address(_dashboard.host, _dashboard.port)]
workers = 1
worker_class = "gthread"
threads = 8
preload_app = True
timeout = 60
graceful_timeout = 20
accesslog = None  # no access line per callback every second (the ALB keeps access logs)
errorlog = "-"
loglevel = "info"
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
