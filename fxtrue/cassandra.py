"""Cassandra access shared by every unit: an authenticated session per component, the component roles and their
grants, and the schema migrations.

Every process logs in as its component's role (least privilege): `connect(settings, component="dashboard")`.
The credential is FXTRUE_CASSANDRA_USERNAME/PASSWORD when set (a cluster: each process gets its own role's
credential), else the local stack's: the admin role generated at `fxtrue stack up`
(<state>/cassandra/credentials.toml) or the component's role generated at `fxtrue init`
(<state>/cassandra/roles/<component>.toml, mode 600).
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from importlib import resources
from typing import Callable

from fxtrue import credentials as credentials_file
from fxtrue.errors import ConfigError, ServiceUnavailable
from fxtrue.settings import CQL_IDENTIFIER, RULES, Settings, parse_replication

log = logging.getLogger(__name__)

MIGRATIONS_PACKAGE = "fxtrue.migrations"

# -- Roles: one per component, each with only the grants it needs in the keyspace. ---------------------------
ADMIN = "admin"  # migrations, keyspaces, roles: the local stack's generated superuser (or a cluster's operator)
KEYSPACE = "*"  # in ROLE_GRANTS: every table of the keyspace
# component -> permission -> tables it is granted on (CQL permissions: SELECT reads, MODIFY writes).
ROLE_GRANTS: dict[str, dict[str, tuple[str, ...]]] = {
    # producers: their heartbeat only
    "producer": {"MODIFY": ("heartbeats_by_job",)},
    # the streaming job: ticks, trends, alerts, its heartbeat; reads the published thresholds, and the alerts
    # tables for the conditional (IF NOT EXISTS) insert of the tick query's alerts
    "streaming": {"MODIFY": ("ticks_by_pair_day", "trends_by_pair_day", "alerts_by_pair_day", "alerts_by_day",
                             "heartbeats_by_job"),
                  "SELECT": ("threshold_pointer_by_name", "threshold_versions_by_id", "thresholds_by_version",
                             "alerts_by_pair_day", "alerts_by_day")},
    # batch jobs (stats/publish, dq, detect, the supervisor): thresholds, DQ runs, supervisor actions
    "batch": {"MODIFY": ("thresholds_by_version", "threshold_versions_by_id", "threshold_pointer_by_name",
                         "dq_runs_by_suite", "supervisor_actions_by_day"),
              "SELECT": (KEYSPACE,)},
    # the dashboard reads, never writes
    "dashboard": {"SELECT": (KEYSPACE,)},
}
COMPONENTS = (ADMIN, *ROLE_GRANTS)


def role_name(component: str) -> str:
    return f"fxtrue_{component}"


def role_file(settings: Settings, component: str) -> Path:
    return settings.state_dir / "cassandra" / "roles" / f"{component}.toml"


def _check_component(component: str) -> None:
    if component not in COMPONENTS:
        raise ValueError(f"unknown Cassandra component {component!r}; one of {', '.join(COMPONENTS)}")


def credentials(settings: Settings, component: str) -> tuple[str, str]:
    """(user, password) `component` logs in with: the configured credential when set, else the local stack's
    admin credential (component "admin") or the component role's generated credential."""
    _check_component(component)
    if component == ADMIN or settings.cassandra.username:
        return settings.cassandra_credentials()
    path = role_file(settings, component)
    if not path.exists():
        raise ConfigError(f"no Cassandra credential for the {component} role: {path} does not exist",
                          hint="run `fxtrue init` (it creates the component roles on the local stack), or set "
                               "FXTRUE_CASSANDRA_USERNAME/PASSWORD to this component's role")
    data = credentials_file.read(path)
    return data["username"], data["password"]


def manages_roles(settings: Settings) -> bool:
    """True on the local stack (its generated admin may create roles); on a cluster with a configured
    credential the operator owns the roles (see infra/terraform) and init leaves them alone."""
    return not settings.cassandra.username


def grant_statements(keyspace: str, component: str) -> list[str]:
    """The GRANTs of `component`'s role on `keyspace`, from ROLE_GRANTS (pure)."""
    ks, role = cql_name(keyspace), role_name(component)
    out = []
    for permission, tables in ROLE_GRANTS[component].items():
        for table in tables:
            resource = f"KEYSPACE {ks}" if table == KEYSPACE else f"TABLE {ks}.{cql_name(table)}"
            out.append(f"GRANT {permission} ON {resource} TO {role}")
    return out


_RESOURCES = ((re.compile(r"<all keyspaces>"), "ALL KEYSPACES"), (re.compile(r"<keyspace (\w+)>"), "KEYSPACE {0}"),
              (re.compile(r"<table (\w+)\.(\w+)>"), "TABLE {0}.{1}"), (re.compile(r"<all roles>"), "ALL ROLES"),
              (re.compile(r"<role (\w+)>"), "ROLE {0}"), (re.compile(r"<all functions>"), "ALL FUNCTIONS"),
              (re.compile(r"<all mbeans>"), "ALL MBEANS"))


def stale_grants(keyspace: str, component: str, listed: list[tuple[str, str]]) -> list[str]:
    """REVOKEs for what `component`'s role holds beyond ROLE_GRANTS: `listed` is (resource, permission) as
    `LIST ALL PERMISSIONS` prints them. Grants on other keyspaces (other worlds on the same cluster, e.g. test
    sessions) are left alone; anything on this keyspace or cluster-wide that ROLE_GRANTS does not give is
    revoked. Pure."""
    wanted = {stmt.removeprefix("GRANT ") for stmt in grant_statements(keyspace, component)}
    role, out = role_name(component), []
    for resource, permission in listed:
        for pattern, cql in _RESOURCES:
            m = pattern.fullmatch(resource)
            if m:
                target = cql.format(*m.groups())
                other_keyspace = target.startswith(("KEYSPACE ", "TABLE ")) and m.group(1) != keyspace
                if not other_keyspace and f"{permission} ON {target} TO {role}" not in wanted:
                    out.append(f"REVOKE {permission} ON {target} FROM {role}")
                break
    return out


def ensure_roles(session, settings: Settings, progress: Callable[[str], None] = log.info) -> list[str]:
    """Create (or re-key) each component's login role from its credential file, generating the password on
    first use, grant it ROLE_GRANTS on the configured keyspace and revoke anything more (stale_grants). `session` is the admin's. Idempotent;
    returns the role names. Passwords go to files (mode 600) and to Cassandra only, never to a log."""
    ks = cql_name(settings.cassandra.keyspace)
    roles_dir = role_file(settings, ADMIN).parent
    names = []
    with credentials_file.locked(roles_dir):
        for component in ROLE_GRANTS:
            role = role_name(component)
            password = credentials_file.generated_login(role_file(settings, component), role)["password"]
            session.execute(f"CREATE ROLE IF NOT EXISTS {role} WITH LOGIN = true AND PASSWORD = %s", (password,))
            session.execute(f"ALTER ROLE {role} WITH LOGIN = true AND PASSWORD = %s", (password,))
            listed = [(r.resource, r.permission)
                      for r in session.execute(f"LIST ALL PERMISSIONS OF {role} NORECURSIVE")]
            for stmt in grant_statements(ks, component) + stale_grants(ks, component, listed):
                session.execute(stmt)
            names.append(role)
    progress(f"cassandra: roles {', '.join(names)} granted on {ks} (credentials in {roles_dir}, mode 600)")
    return names


def cluster(settings: Settings, component: str, *, connect_timeout: float | None = None):
    """A cassandra-driver Cluster for the configured hosts, authenticated as `component`'s role."""
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
    from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy, ExponentialReconnectionPolicy

    user, password = credentials(settings, component)
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


def connect(settings: Settings, *, component: str, keyspace: str | None = None, wait_s: float = 0.0):
    """A session authenticated as `component`'s role (one of COMPONENTS); retries with backoff for up to
    `wait_s` seconds.

    Raises ServiceUnavailable naming the endpoint and what to check when it cannot connect, and
    ConfigError (via settings) when no credential is configured.
    """
    from cassandra import AuthenticationFailed
    from cassandra.cluster import NoHostAvailable

    deadline = time.monotonic() + wait_s
    delay = 0.5
    while True:
        c = cluster(settings, component)
        try:
            return c.connect(keyspace)
        except NoHostAvailable as exc:
            c.shutdown()
            auth = [e for e in _errors(exc) if isinstance(e, AuthenticationFailed)]
            if auth:
                raise ServiceUnavailable(
                    f"Cassandra at {_where(settings)} refused the {component} credential: {auth[0]}",
                    hint="check FXTRUE_CASSANDRA_USERNAME/PASSWORD, or unset them to use the local stack's "
                         f"generated credentials in {settings.cassandra_credentials_file.parent} "
                         "(`fxtrue init` creates the component roles)") from None
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
    session = connect(settings, component=ADMIN)
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


def _errors(exc) -> list:
    """The per-host errors of a driver exception: NoHostAvailable keeps a dict (host -> error), but the driver
    also raises it with a list (e.g. when the keyspace is missing)."""
    errors = getattr(exc, "errors", None) or {}
    return list(errors.values()) if isinstance(errors, dict) else list(errors)


def _first_error(exc) -> str:
    errors = _errors(exc)
    return str(errors[0]) if errors else str(exc)


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
