"""The component roles' grant table (fxtrue.cassandra.ROLE_GRANTS) against the schema, and credential lookup."""

import re

import pytest

from fxtrue import cassandra
from fxtrue.errors import ConfigError
from fxtrue.settings import load_settings


def migration_tables() -> set[str]:
    text = "\n".join(cql for _, _, cql in cassandra.migrations())
    return set(re.findall(r"CREATE TABLE IF NOT EXISTS \{ks\}\.(\w+)", text))


def test_grants_name_real_tables_and_every_table_has_a_writer():
    tables = migration_tables()
    granted = {t for g in cassandra.ROLE_GRANTS.values() for ts in g.values() for t in ts} - {cassandra.KEYSPACE}
    assert granted <= tables, granted - tables
    written = {t for g in cassandra.ROLE_GRANTS.values() for t in g.get("MODIFY", ())}
    assert written == tables, f"tables no component may write: {tables - written}"


def test_dashboard_is_read_only_and_nobody_gets_more_than_select_and_modify():
    assert set(cassandra.ROLE_GRANTS["dashboard"]) == {"SELECT"}
    for component, grants in cassandra.ROLE_GRANTS.items():
        assert set(grants) <= {"SELECT", "MODIFY"}, component
        for stmt in cassandra.grant_statements("fxtrue", component):
            assert re.fullmatch(r"GRANT (SELECT|MODIFY) ON (KEYSPACE fxtrue|TABLE fxtrue\.\w+) TO fxtrue_\w+", stmt)


def test_credentials_per_component(tmp_path):
    s = load_settings({"FXTRUE_STATE_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match="fxtrue init"):
        cassandra.credentials(s, "dashboard")
    path = cassandra.role_file(s, "dashboard")
    path.parent.mkdir(parents=True)
    path.write_text('username = "fxtrue_dashboard"\npassword = "d"\n')
    s.cassandra_credentials_file.write_text('username = "fxtrue"\npassword = "a"\n')
    assert cassandra.credentials(s, "dashboard") == ("fxtrue_dashboard", "d")
    assert cassandra.credentials(s, cassandra.ADMIN) == ("fxtrue", "a")
    with pytest.raises(ValueError, match="unknown Cassandra component"):
        cassandra.credentials(s, "root")
    # a configured credential (a cluster: each process gets its own role's) wins for every component
    c = s.replace(cassandra={"username": "ops_dash", "password": "x"})
    assert cassandra.credentials(c, "dashboard") == ("ops_dash", "x") and not cassandra.manages_roles(c)
    assert cassandra.manages_roles(s)


def test_connect_needs_a_component():
    with pytest.raises(TypeError):
        cassandra.connect(load_settings({}))  # type: ignore[call-arg]


def test_stale_grants_revoke_what_the_table_does_not_give_but_spare_other_keyspaces():
    listed = [("<table fx.heartbeats_by_job>", "MODIFY"),  # wanted
              ("<table fx.alerts_by_day>", "MODIFY"),  # not the producer's
              ("<keyspace fx>", "DROP"), ("<all keyspaces>", "CREATE"), ("<all roles>", "CREATE"),
              ("<table other.alerts_by_day>", "MODIFY"), ("<keyspace other>", "SELECT")]  # another world's
    assert cassandra.stale_grants("fx", "producer", listed) == [
        "REVOKE MODIFY ON TABLE fx.alerts_by_day FROM fxtrue_producer",
        "REVOKE DROP ON KEYSPACE fx FROM fxtrue_producer",
        "REVOKE CREATE ON ALL KEYSPACES FROM fxtrue_producer",
        "REVOKE CREATE ON ALL ROLES FROM fxtrue_producer"]
    assert cassandra.stale_grants("fx", "dashboard", [("<keyspace fx>", "SELECT")]) == []


def test_driver_errors_are_read_whether_the_driver_keeps_a_dict_or_a_list():
    # NoHostAvailable carries host -> error, but the driver also raises it with a list (a missing keyspace);
    # reading it must not raise AttributeError in place of the real message.
    from cassandra.cluster import NoHostAvailable

    assert cassandra._first_error(NoHostAvailable("x", {"h": ValueError("by host")})) == "by host"
    assert cassandra._first_error(NoHostAvailable("x", [ValueError("in a list")])) == "in a list"
    assert cassandra._first_error(NoHostAvailable("only text", {})) == "('only text', {})"
