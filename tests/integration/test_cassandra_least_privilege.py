"""Least privilege in Cassandra on the real local stack: each component logs in as its own role with only the
grants of fxtrue.cassandra.ROLE_GRANTS; the dashboard cannot write, writers cannot drop keyspaces or create
roles, and the generated passwords live in 0600 files of the state dir, never in init's output."""

from __future__ import annotations

import uuid

import pytest
from isolation import module_world

from fxtrue import cassandra


# A keyspace of this module's own: the probe rows written here (heartbeats named like real jobs, a threshold
# pointer) must never reach the tests that share the session keyspace.
settings, _ = module_world("roles")


@pytest.fixture(scope="module")
def sessions(settings):
    opened = {c: cassandra.connect(settings, component=c, keyspace=settings.cassandra.keyspace)
              for c in cassandra.COMPONENTS}
    yield opened
    for s in opened.values():
        s.cluster.shutdown()


def refused(session, cql: str, params=()) -> bool:
    from cassandra import Unauthorized

    try:
        session.execute(cql, params)
    except Unauthorized:
        return True
    return False


def test_each_component_logs_in_as_its_own_role(settings, sessions):
    users = {c: cassandra.credentials(settings, c)[0] for c in cassandra.COMPONENTS}
    assert len(set(users.values())) == len(users), "one role per component"
    for component in cassandra.ROLE_GRANTS:
        assert users[component] == cassandra.role_name(component)
        row = sessions[cassandra.ADMIN].execute(
            "SELECT is_superuser, can_login FROM system_auth.roles WHERE role = %s", (users[component],)).one()
        assert row.can_login and not row.is_superuser


def test_the_dashboard_reads_but_cannot_write(settings, sessions):
    dash = sessions["dashboard"]
    dash.execute("SELECT * FROM heartbeats_by_job LIMIT 1")
    dash.execute("SELECT * FROM alerts_by_day LIMIT 1")
    assert refused(dash, "INSERT INTO heartbeats_by_job (job, status) VALUES ('dash', 'x')")
    assert refused(dash, "INSERT INTO threshold_pointer_by_name (name, version) VALUES ('current', 'evil')")
    assert refused(dash, "TRUNCATE alerts_by_day")


def test_writers_write_their_tables_only(settings, sessions):
    prod, stream, batch = sessions["producer"], sessions["streaming"], sessions["batch"]
    prod.execute("INSERT INTO heartbeats_by_job (job, status) VALUES ('producer', 'ok')")
    stream.execute("INSERT INTO heartbeats_by_job (job, status) VALUES ('streaming', 'ok')")
    stream.execute("SELECT version FROM threshold_pointer_by_name WHERE name = 'current'")
    batch.execute("INSERT INTO threshold_pointer_by_name (name, version) VALUES ('probe', 'v')")
    batch.execute("SELECT * FROM heartbeats_by_job LIMIT 1")
    assert refused(prod, "INSERT INTO alerts_by_day (day, window_start, detector, subject) "
                         "VALUES ('2026-11-05', 0, 'spread', 'EUR/USD')")
    assert refused(prod, "SELECT * FROM heartbeats_by_job LIMIT 1")
    assert refused(stream, "INSERT INTO threshold_pointer_by_name (name, version) VALUES ('current', 'evil')")
    assert refused(batch, "INSERT INTO ticks_by_pair_day (pair, day, ts) VALUES ('EUR/USD', '2026-11-05', 0)")


@pytest.mark.parametrize("component", ["producer", "streaming", "batch", "dashboard"])
def test_no_component_can_drop_alter_or_manage_roles(settings, sessions, component):
    s = sessions[component]
    ks = settings.cassandra.keyspace
    assert refused(s, f"DROP KEYSPACE {ks}")
    assert refused(s, "DROP TABLE heartbeats_by_job")
    assert refused(s, "ALTER TABLE heartbeats_by_job ADD extra text")
    assert refused(s, f"CREATE KEYSPACE evil_{uuid.uuid4().hex[:8]} WITH replication = "
                      "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    assert refused(s, f"CREATE ROLE evil_{uuid.uuid4().hex[:8]} WITH LOGIN = true AND PASSWORD = 'x'")
    assert refused(s, f"GRANT MODIFY ON KEYSPACE {ks} TO {cassandra.role_name('dashboard')}")
    assert refused(s, "ALTER ROLE fxtrue WITH PASSWORD = 'taken'")
    # the keyspace is still there
    assert sessions[cassandra.ADMIN].execute(
        "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = %s", (ks,)).one()


def test_passwords_are_private_files_never_printed_and_stable_across_inits(settings):
    from fxtrue.commands.init import init

    roles_dir = cassandra.role_file(settings, "dashboard").parent
    assert roles_dir.stat().st_mode & 0o077 == 0
    before = {}
    for component in cassandra.ROLE_GRANTS:
        path = cassandra.role_file(settings, component)
        assert path.stat().st_mode & 0o777 == 0o600, path
        before[component] = cassandra.credentials(settings, component)
    said: list[str] = []
    init(settings, kafka=False, progress=said.append)
    assert {c: cassandra.credentials(settings, c) for c in cassandra.ROLE_GRANTS} == before
    text = "\n".join(said)
    assert "fxtrue_dashboard" in text
    assert not any(password in text for _, password in before.values())
    # and the roles still log in after the second init
    session = cassandra.connect(settings, component="dashboard", keyspace=settings.cassandra.keyspace)
    session.cluster.shutdown()


def test_init_revokes_grants_beyond_the_table(settings, sessions):
    from fxtrue.commands.init import init

    admin, dash = sessions[cassandra.ADMIN], sessions["dashboard"]
    insert = "INSERT INTO heartbeats_by_job (job, status) VALUES ('dash-extra', 'x')"
    admin.execute(f"GRANT MODIFY ON KEYSPACE {settings.cassandra.keyspace} TO {cassandra.role_name('dashboard')}")
    # Cassandra caches permissions for permissions_validity (2 s by default): allow a few seconds either way
    assert eventually(lambda: not refused(dash, insert)), "the extra grant should take effect"
    init(settings, kafka=False, progress=lambda m: None)
    assert eventually(lambda: refused(dash, insert)), "init should have revoked the extra grant"


def eventually(check, timeout_s: float = 15.0) -> bool:
    import time

    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True
