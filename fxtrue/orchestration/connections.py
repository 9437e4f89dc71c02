"""Airflow Connections -> Settings: endpoints and secrets an operator sets in the Airflow UI/CLI/environment
override the fxtrue settings; without a connection the settings (defaults, TOML, FXTRUE_*) stay as they are.

Connection ids and the fields they use:
  fxtrue_kafka      host[:port] (several brokers: comma-separated host); extra: security_protocol, ssl_cafile
  fxtrue_cassandra  host (comma-separated), port, login, password, schema (= keyspace);
                    extra: local_dc, ssl, ssl_cafile, replication
  fxtrue_spark      host = master (local[2], yarn, spark://h:7077 ...); extra: driver_memory, lake_path,
                    checkpoint_dir
  fxtrue_truefx     host = connect URL (https://webrates.truefx.com/rates/connect.html), login, password
Read inside tasks only (BaseHook.get_connection talks to the metadata DB / API / secrets backend).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from fxtrue.settings import Settings, load_settings

KAFKA = "fxtrue_kafka"
CASSANDRA = "fxtrue_cassandra"
SPARK = "fxtrue_spark"
TRUEFX = "fxtrue_truefx"
CONN_IDS = (KAFKA, CASSANDRA, SPARK, TRUEFX)


def _extra(conn: Any) -> dict[str, Any]:
    extra = getattr(conn, "extra_dejson", None)
    return dict(extra) if isinstance(extra, dict) else {}


def apply_connections(settings: Settings, conns: dict[str, Any]) -> Settings:
    """A copy of settings with the given connections (id -> object with host/port/login/password/schema/extra)
    applied. Pure: missing connection ids leave their section unchanged."""
    changes: dict[str, dict[str, Any]] = {}
    if (c := conns.get(KAFKA)) is not None:
        e = _extra(c)
        kafka: dict[str, Any] = {}
        if c.host:
            hosts = [h.strip() for h in str(c.host).split(",") if h.strip()]
            kafka["bootstrap"] = ",".join(h if ":" in h or not c.port else f"{h}:{c.port}" for h in hosts)
        for key in ("security_protocol", "ssl_cafile"):
            if e.get(key):
                kafka[key] = str(e[key])
        changes["kafka"] = kafka
    if (c := conns.get(CASSANDRA)) is not None:
        e = _extra(c)
        cass: dict[str, Any] = {}
        if c.host:
            cass["hosts"] = tuple(h.strip() for h in str(c.host).split(",") if h.strip())
        if c.port:
            cass["port"] = int(c.port)
        if c.login:
            cass["username"] = c.login
            cass["password"] = c.password or ""
        if c.schema:
            cass["keyspace"] = c.schema
        for key in ("local_dc", "ssl_cafile", "replication"):
            if e.get(key):
                cass[key] = str(e[key])
        if "ssl" in e:
            cass["ssl"] = str(e["ssl"]).strip().lower() in {"1", "true", "yes", "on"}
        changes["cassandra"] = cass
    if (c := conns.get(SPARK)) is not None:
        e = _extra(c)
        spark: dict[str, Any] = {}
        if c.host:
            spark["master"] = f"{c.host}:{c.port}" if c.port and "://" in str(c.host) else str(c.host)
        for key in ("driver_memory", "lake_path", "checkpoint_dir"):
            if e.get(key):
                spark[key] = str(e[key])
        changes["spark"] = spark
    if (c := conns.get(TRUEFX)) is not None:
        truefx: dict[str, Any] = {}
        if c.host:
            truefx["url"] = str(c.host)
        if c.login:
            truefx["username"] = c.login
            truefx["password"] = c.password or ""
        changes["truefx"] = truefx
    return settings.replace(**{k: v for k, v in changes.items() if v})


def airflow_connection(conn_id: str) -> Any | None:
    """The Airflow connection, or None when it is not defined (any other failure propagates)."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None


def resolve_settings(base: Settings | None = None,
                     lookup: Callable[[str], Any | None] = airflow_connection) -> Settings:
    """Settings for a task: fxtrue settings (fresh from the environment) with the Airflow connections applied."""
    base = base or load_settings()
    conns = {cid: conn for cid in CONN_IDS if (conn := lookup(cid)) is not None}
    return apply_connections(base, conns)


def settings_env(settings: Settings, defaults: Settings | None = None) -> dict[str, str]:
    """FXTRUE_* variables that make a child process (a launched job) see `settings`: every field that differs
    from `defaults` (the settings the child would otherwise parse from its environment)."""
    defaults = defaults or load_settings()
    env: dict[str, str] = {}
    if settings.state_dir != defaults.state_dir:
        env["FXTRUE_STATE_DIR"] = str(settings.state_dir)
    for f in dataclasses.fields(settings):
        if f.name == "state_dir":
            continue
        mine, theirs = getattr(settings, f.name), getattr(defaults, f.name)
        for sf in dataclasses.fields(mine):
            value = getattr(mine, sf.name)
            if value == getattr(theirs, sf.name):
                continue
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, tuple):
                text = ",".join(str(v) for v in value)
            else:
                text = str(value)
            env[f"FXTRUE_{f.name}_{sf.name}".upper()] = text
    return env
