"""Cassandra access shared by every unit: an authenticated session from settings, and the schema migrations."""

from __future__ import annotations

import logging
import re
import time
from importlib import resources
from typing import Callable

from fxtrue.errors import ConfigError, ServiceUnavailable
from fxtrue.settings import CQL_IDENTIFIER, RULES, Settings, parse_replication

log = logging.getLogger(__name__)

MIGRATIONS_PACKAGE = "fxtrue.migrations"


def cluster(settings: Settings, *, connect_timeout: float | None = None):
    """A cassandra-driver Cluster for the configured hosts, authenticated as the configured (or generated) user."""
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
    from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy, ExponentialReconnectionPolicy

    user, password = settings.cassandra_credentials()
    ssl_context = None
    if settings.cassandra.ssl:
        import ssl
        ssl_context = ssl.create_default_context(cafile=settings.cassandra.ssl_cafile or None)
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=settings.cassandra.local_dc)),
        request_timeout=30.0,
    )
    return Cluster(
        contact_points=list(settings.cassandra.hosts),
        port=settings.cassandra_port,
        auth_provider=PlainTextAuthProvider(username=user, password=password),
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        protocol_version=5,
        connect_timeout=connect_timeout or settings.cassandra.connect_timeout_s,
        reconnection_policy=ExponentialReconnectionPolicy(0.5, 30.0),
        ssl_context=ssl_context,
    )


def connect(settings: Settings, *, keyspace: str | None = None, wait_s: float = 0.0):
    """An authenticated session; retries with backoff for up to `wait_s` seconds.

    Raises ServiceUnavailable naming the endpoint and what to check when it cannot connect, and
    ConfigError (via settings) when no credential is configured.
    """
    from cassandra import AuthenticationFailed
    from cassandra.cluster import NoHostAvailable

    deadline = time.monotonic() + wait_s
    delay = 0.5
    while True:
        c = cluster(settings)
        try:
            return c.connect(keyspace)
        except NoHostAvailable as exc:
            c.shutdown()
            auth = [e for e in exc.errors.values() if isinstance(e, AuthenticationFailed)]
            if auth:
                raise ServiceUnavailable(
                    f"Cassandra at {_where(settings)} refused the credential: {auth[0]}",
                    hint="check FXTRUE_CASSANDRA_USERNAME/PASSWORD, or unset them to use the local stack's "
                         f"generated credential in {settings.cassandra_credentials_file}") from None
            if time.monotonic() + delay > deadline:
                raise ServiceUnavailable(
                    f"Cassandra at {_where(settings)} is not reachable: {_first_error(exc)}",
                    hint="start the local stack with `fxtrue stack up` (see `fxtrue stack status`), "
                         "or point FXTRUE_CASSANDRA_HOSTS/PORT at your cluster") from None
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def drop_keyspace(settings: Settings, keyspace: str) -> None:
    """Drop a throw-away keyspace (tests, benchmarks) over a short-lived connection; no error if it is gone."""
    keyspace = cql_name(keyspace)
    session = connect(settings)
    try:
        session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=120)
    finally:
        session.cluster.shutdown()


def cql_name(name: str) -> str:
    """`name` when it is a plain CQL name (settings.CQL_IDENTIFIER), else ConfigError: names are spliced into
    CQL text, so nothing else may reach a statement."""
    if not CQL_IDENTIFIER.fullmatch(name):
        raise ConfigError(f"bad CQL name {name!r}", hint=f"use {RULES['cassandra.keyspace'].allowed}")
    return name


def _where(settings: Settings) -> str:
    return f"{','.join(settings.cassandra.hosts)}:{settings.cassandra_port}"


def _first_error(exc) -> str:
    errors = getattr(exc, "errors", None) or {}
    return str(next(iter(errors.values()))) if errors else str(exc)


def migrations() -> list[tuple[int, str, str]]:
    """(number, name, CQL text) of every migration shipped in fxtrue/migrations, in order."""
    out = []
    for entry in resources.files(MIGRATIONS_PACKAGE).iterdir():
        m = re.fullmatch(r"(\d{4})_([a-z0-9_]+)\.cql", entry.name)
        if m:
            out.append((int(m.group(1)), m.group(2), entry.read_text()))
    return sorted(out)


def split_statements(cql: str) -> list[str]:
    """CQL text -> statements, dropping `--` comments (our migrations hold no ';' inside strings)."""
    lines = [line.split("--", 1)[0] for line in cql.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def keyspace_cql(settings: Settings) -> str:
    repl = parse_replication(settings.cassandra.replication)
    body = ", ".join(f"'{k}': '{v}'" for k, v in repl.items())
    return f"CREATE KEYSPACE IF NOT EXISTS {settings.cassandra.keyspace} WITH replication = {{{body}}}"


def apply_migrations(session, settings: Settings, progress: Callable[[str], None] = log.info) -> list[int]:
    """Create the keyspace and apply every migration not yet recorded; returns the numbers applied.

    Idempotent: each statement is IF NOT EXISTS and applied migrations are recorded in
    <keyspace>.schema_migrations, so running it twice applies nothing the second time.
    """
    ks = cql_name(settings.cassandra.keyspace)
    session.execute(keyspace_cql(settings))
    session.execute(f"CREATE TABLE IF NOT EXISTS {ks}.schema_migrations "
                    "(version int PRIMARY KEY, name text, applied_at timestamp)")
    done = {row.version for row in session.execute(f"SELECT version FROM {ks}.schema_migrations")}
    applied = []
    for number, name, text in migrations():
        if number in done:
            continue
        for stmt in split_statements(text.replace("{ks}", ks)):
            session.execute(stmt, timeout=60)
        session.execute(f"INSERT INTO {ks}.schema_migrations (version, name, applied_at) "
                        "VALUES (%s, %s, toTimestamp(now()))", (number, name))
        progress(f"applied migration {number:04d}_{name}")
        applied.append(number)
    return applied
