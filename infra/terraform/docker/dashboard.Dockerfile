# The dashboard image run by ECS Fargate (modules/dashboard). Build from the repository root:
#   docker build -f infra/terraform/docker/dashboard.Dockerfile -t fxtrue-dashboard:<tag> .
# The same locked dependencies as everywhere else (requirements.lock), the project installed without deps, a
# non-root user, and nothing written outside /tmp (the task runs with a read-only root file system). Served by
# gunicorn (a production WSGI server, pinned here: the image is its only user) from the WSGI entry
# dashboard.app:server; the app refuses to start without credentials (FXTRUE_DASHBOARD_USERNAME/_PASSWORD from
# the environment / Secrets Manager) and answers only FXTRUE_DASHBOARD_ALLOWED_HOSTS.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements.lock ./
ARG GUNICORN_VERSION=23.0.0
RUN pip install -r requirements.lock "gunicorn==${GUNICORN_VERSION}"

COPY pyproject.toml README.md ./
COPY fxtrue ./fxtrue
COPY dashboard ./dashboard
COPY producers ./producers
COPY jobs ./jobs
RUN pip install --no-deps . \
 && useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin fxtrue

USER 10001
EXPOSE 8050
CMD ["gunicorn", "-c", "python:dashboard.gunicorn_conf", "dashboard.app:server"]
