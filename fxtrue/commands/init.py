"""`fxtrue init`: create the Kafka topics, apply the Cassandra migrations and (on the local stack) create the
component roles with their grants (all idempotent)."""

from __future__ import annotations

import argparse

from fxtrue.settings import Settings

HELP = """Create the Kafka topics (fx.ticks, fx.ticks.dlq, fx.alerts; partitions from
FXTRUE_KAFKA_PARTITIONS) and apply the versioned Cassandra migrations (keyspace from
FXTRUE_CASSANDRA_KEYSPACE with replication FXTRUE_CASSANDRA_REPLICATION, e.g. 'SimpleStrategy:1'
locally or 'NetworkTopologyStrategy:dc1=3' on a cluster). On the local stack it also creates one
Cassandra login role per component (fxtrue_producer, fxtrue_streaming, fxtrue_batch, fxtrue_dashboard)
with only the grants it needs on the keyspace; their generated passwords are kept in
<state>/cassandra/roles/ (mode 600). With FXTRUE_CASSANDRA_USERNAME set (a cluster) the roles are
the operator's and are left alone. With FXTRUE_STACK_KAFKA_SASL=true (local Kafka with SASL/SCRAM) it
also creates one Kafka user per component with only its ACLs on the topics (passwords in
<state>/kafka/users/, mode 600). Safe to run any number of times."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="create Kafka topics, apply Cassandra migrations, create component roles",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--skip-kafka", action="store_true", help="only apply the Cassandra migrations")
    p.add_argument("--skip-cassandra", action="store_true", help="only create the Kafka topics")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    init(settings, kafka=not args.skip_kafka, cassandra=not args.skip_cassandra)
    return 0


def init(settings: Settings, *, kafka: bool = True, cassandra: bool = True, progress=print) -> None:
    from fxtrue import cassandra as cass
    from fxtrue import kafka as kaf

    if kafka:
        created = kaf.create_topics(settings, progress)
        progress(f"kafka: topics ready ({len(created)} created, {len(kaf.topics(settings)) - len(created)} existed)")
    if cassandra:
        session = cass.connect(settings, component=cass.ADMIN, wait_s=30)
        try:
            applied = cass.apply_migrations(session, settings, progress)
            if cass.manages_roles(settings):
                cass.ensure_roles(session, settings, progress)
            else:
                progress("cassandra: FXTRUE_CASSANDRA_USERNAME is set: component roles are the cluster operator's")
        finally:
            session.cluster.shutdown()
        progress(f"cassandra: keyspace {settings.cassandra.keyspace} ready "
                 f"({len(applied)} migration(s) applied)")
