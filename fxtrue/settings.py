"""The one typed settings object of FXTrue, parsed once from defaults, a TOML file and FXTRUE_* variables.

Precedence (last wins): built-in defaults (the local stack on 127.0.0.1) -> the TOML file named by
FXTRUE_CONFIG (sections = the dataclass sections below) -> environment variables
FXTRUE_<SECTION>_<FIELD> (for example FXTRUE_KAFKA_BOOTSTRAP, FXTRUE_CASSANDRA_HOSTS) and FXTRUE_STATE_DIR.
Nothing else in the project reads os.environ for configuration.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import re
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from fxtrue.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[1]

TRUEFX_PAIRS: tuple[str, ...] = (
    "AUD/JPY", "AUD/NZD", "AUD/USD", "CAD/JPY", "CHF/JPY", "EUR/CHF", "EUR/GBP", "EUR/JPY",
    "EUR/USD", "GBP/JPY", "GBP/USD", "NZD/USD", "USD/CAD", "USD/CHF", "USD/JPY",
)


@dataclass(frozen=True)
class StackSettings:
    """The single-machine stack under infra/local (ports, heaps, JVM)."""

    java_home: str = ""  # empty: JAVA_HOME, else the JDK 17 under /usr/lib/jvm
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    kafka_heap_mb: int = 768
    cassandra_port: int = 9042
    cassandra_storage_port: int = 7000
    cassandra_jmx_port: int = 7199
    cassandra_heap_mb: int = 1024
    ready_timeout_s: float = 180.0
    kafka_sasl: bool = False  # SASL/SCRAM + ACLs on the local Kafka (component users made by `fxtrue init`)


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap: str = ""  # empty: 127.0.0.1:<stack.kafka_port>
    topic_ticks: str = "fx.ticks"
    topic_dlq: str = "fx.ticks.dlq"
    topic_alerts: str = "fx.alerts"
    partitions: int = 3
    replication_factor: int = 1
    security_protocol: str = "PLAINTEXT"  # SASL_SSL (SCRAM) or SSL on MSK
    ssl_cafile: str = ""
    sasl_mechanism: str = ""  # e.g. SCRAM-SHA-512 on MSK
    sasl_username: str = ""
    sasl_password: str = ""
    request_timeout_ms: int = 30000
    # How far a tick's event time may be from its arrival: the producer rejects live ticks further than this
    # from its clock either way and any tick further ahead (a replay behind its own replay clock too); the
    # streaming job rejects ticks further ahead of their Kafka timestamp. Rejected ticks go to topic_dlq.
    max_event_skew_s: float = 60.0


@dataclass(frozen=True)
class CassandraSettings:
    hosts: tuple[str, ...] = ("127.0.0.1",)
    port: int = 0  # 0: stack.cassandra_port
    username: str = ""  # empty: the credential the local stack generated (state dir)
    password: str = ""
    keyspace: str = "fxtrue"
    # "SimpleStrategy:1" locally; "NetworkTopologyStrategy:dc1=3" (comma-separated dc=rf) for a cluster
    replication: str = "SimpleStrategy:1"
    local_dc: str = "datacenter1"
    ssl: bool = False
    ssl_cafile: str = ""
    connect_timeout_s: float = 15.0
    ticks_ttl_s: int = 7 * 24 * 3600
    # raw ticks go to ticks_by_pair_day as UNLOGGED batches that each stay inside one (pair, day) partition:
    # at most this many rows per batch (~100 bytes a row: 50 rows stay near Cassandra's 5 KiB batch warning)
    tick_batch_rows: int = 50


@dataclass(frozen=True)
class SparkSettings:
    master: str = "local[2]"
    driver_memory: str = "2g"
    shuffle_partitions: int = 2  # state stores per stateful query: a few for 15 pairs, not hundreds
    jars_dir: str = ""  # empty: <state>/lib/spark
    lake_path: str = ""  # empty: <state>/lake (s3a://bucket/lake on AWS)
    checkpoint_dir: str = ""  # empty: <state>/checkpoints
    # the pace of `fxtrue bench`'s stream levels (each level offers R x trigger ticks per micro-batch); the
    # streaming job's queries have their own triggers below
    trigger_seconds: float = 5.0
    # the lake's file sink: one Parquet file per pair per micro-batch, so a slower cadence than the others
    lake_trigger_seconds: float = 60.0
    # the fast query (the detectors' windows: early alerts of open ones, the judgement of closed ones,
    # arrivals for stale_feed): 0 = a new micro-batch as soon as the previous one ends
    fast_trigger_seconds: float = 0.0
    # the tick query (per-tick judgement of spread and crossed quotes, alerts straight to fx.alerts):
    # "realtime" = Spark's real-time mode (each tick judged as it arrives; holds one task slot per fx.ticks
    # partition for the whole job), "microbatch" = back-to-back micro-batches, "off" = no tick query
    tick_mode: str = "realtime"
    # real-time mode: how long one real-time batch of the tick query lasts (it commits its offsets at the end;
    # Spark's minimum is 5 s). Ticks that arrive while one batch hands over to the next wait for it (about a
    # second, several after the first batch), so rare hand-overs keep the tail latency low.
    tick_batch_seconds: float = 300.0
    # how late a tick may be behind the newest event time and still count in its closed window: 5x the
    # worst lateness measured on a live source (`fxtrue bench --only lateness`: TrueFX polled, ~1 s)
    watermark_seconds: int = 5
    max_offsets_per_trigger: int = 200000


@dataclass(frozen=True)
class DetectorSettings:
    window_seconds: int = 10
    trend_window_seconds: int = 30
    trend_slide_seconds: int = 5
    stale_after_seconds: int = 60
    k_tick_rate: float = 6.0
    k_price_jump: float = 8.0
    k_spread: float = 8.0
    k_stale_feed: float = 6.0
    k_cross_rate: float = 8.0
    min_samples: int = 30
    # Baseline rules (fxtrue/baselines.py): tick_rate's drought bound and each detector's threshold floor
    # (stale_feed's floor is stale_after_seconds).
    k_tick_rate_low: float = 4.0
    floor_tick_rate: float = 5.0  # ticks per window
    floor_price_jump_bps: float = 3.0
    floor_spread_bps: float = 3.0
    floor_cross_rate_bps: float = 3.0
    # stale_feed also stays above p99.9 of the bucket's gaps times this factor: quote gaps are roughly
    # exponential, so mean + k*std alone is exceeded a few times a day by a quiet pair (see baselines.py).
    stale_tail_factor: float = 1.5
    reload_utc: str = "00:30"
    version_check_seconds: int = 60


@dataclass(frozen=True)
class TrueFXSettings:
    url: str = "https://webrates.truefx.com/rates/connect.html"
    username: str = ""
    password: str = ""
    pairs: tuple[str, ...] = TRUEFX_PAIRS
    poll_interval_s: float = 1.0
    reconnect_after_idle_s: float = 50.0
    max_reply_bytes: int = 1024**2  # a TrueFX reply is a few KB; a bigger one is refused (error, backoff)


@dataclass(frozen=True)
class DashboardSettings:
    host: str = "127.0.0.1"
    port: int = 8050
    # Basic auth (both or neither), from the environment or a secret store (never a file in the repository).
    username: str = ""
    password: str = ""
    refresh_ms: int = 1000
    # Without credentials the app refuses to serve unless local_only is chosen: no auth, loopback clients only.
    local_only: bool = False
    allowed_hosts: tuple[str, ...] = ()  # Host header allow-list; empty: localhost, 127.0.0.1, [::1] on `port`
    trusted_proxies: int = 0  # proxies in front (the ALB: 1) whose X-Forwarded-For names the client
    login_failures_max: int = 5  # failed logins from one client address within the window, then 429
    login_failures_window_s: float = 300.0


@dataclass(frozen=True)
class AirflowSettings:
    port: int = 8080
    home: str = ""  # empty: <state>/airflow
    # The fx_supervisor DAG: what it launches (fxtrue subcommands) and when it acts.
    supervisor_producer_command: str = "produce truefx"
    supervisor_streaming_command: str = "stream"
    supervisor_stale_after_s: float = 90.0  # heartbeat older than this: the job is hung or dead
    supervisor_start_grace_s: float = 180.0  # a just-launched job gets this long to write its first heartbeat
    supervisor_restart_budget: int = 5  # at most this many (re)starts per job ...
    supervisor_budget_window_s: float = 3600.0  # ... within this window, then give up until it slides
    supervisor_backoff_s: float = 30.0  # wait after a (re)start before the next; doubles each time
    supervisor_backoff_max_s: float = 600.0
    stats_lookback_days: int = 7  # fx_thresholds_daily learns from this many days of the lake
    # fx_backfill reads history files only inside these local folders (absolute; comma-separated in the env
    # variable). Empty: fx_backfill refuses every path. S3 is not read: sync files into a root first.
    backfill_input_roots: tuple[str, ...] = ()


@dataclass(frozen=True)
class DQSettings:
    docs_dir: str = ""  # empty: <state>/dq/docs (s3://bucket/prefix on AWS)
    max_change_factor: float = 5.0
    context_dir: str = ""  # empty: <state>/dq/gx (the Great Expectations project: suites, results)
    # The ticks suite (fxtrue/dq/suites.py):
    min_ask_ge_bid_share: float = 0.99  # crossed quotes are valid, but a feed of them is broken
    max_duplicate_share: float = 0.01  # rows sharing (pair, ts) with another row
    price_band_factor: float = 5.0  # mid within [ref / f, ref * f] of the pair's reference level
    min_day_completeness: float = 0.5  # a pair-day's ticks / the ticks its intraday profile expects
    max_day_completeness: float = 1.6
    profile_days: int = 7  # `dq run --suite ticks --date D`: the intraday profile of the 7 days up to D
    max_cross_rate_median_bps: float = 50.0  # the thresholds suite: triangles must agree


@dataclass(frozen=True)
class Settings:
    state_dir: Path = PROJECT_ROOT / "var"
    stack: StackSettings = field(default_factory=StackSettings)
    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    cassandra: CassandraSettings = field(default_factory=CassandraSettings)
    spark: SparkSettings = field(default_factory=SparkSettings)
    detectors: DetectorSettings = field(default_factory=DetectorSettings)
    truefx: TrueFXSettings = field(default_factory=TrueFXSettings)
    dashboard: DashboardSettings = field(default_factory=DashboardSettings)
    airflow: AirflowSettings = field(default_factory=AirflowSettings)
    dq: DQSettings = field(default_factory=DQSettings)

    # Derived values: defaults that depend on the state dir or the stack ports.
    @property
    def kafka_bootstrap(self) -> str:
        return self.kafka.bootstrap or f"127.0.0.1:{self.stack.kafka_port}"

    @property
    def cassandra_port(self) -> int:
        return self.cassandra.port or self.stack.cassandra_port

    @property
    def cassandra_credentials_file(self) -> Path:
        return self.state_dir / "cassandra" / "credentials.toml"

    def cassandra_credentials(self) -> tuple[str, str]:
        """Username and password: from settings, else the credential the local stack generated."""
        if self.cassandra.username:
            if not self.cassandra.password:
                raise ConfigError("FXTRUE_CASSANDRA_USERNAME is set but FXTRUE_CASSANDRA_PASSWORD is not",
                                  hint="set both, or neither to use the local stack's generated credential")
            return self.cassandra.username, self.cassandra.password
        path = self.cassandra_credentials_file
        if not path.exists():
            raise ConfigError(f"no Cassandra credential: {path} does not exist",
                              hint="run `fxtrue stack up` (it generates one), or set "
                                   "FXTRUE_CASSANDRA_USERNAME and FXTRUE_CASSANDRA_PASSWORD")
        data = tomllib.loads(path.read_text())
        return data["username"], data["password"]

    @property
    def lib_dir(self) -> Path:
        return self.state_dir / "lib"

    @property
    def spark_jars_dir(self) -> Path:
        return Path(self.spark.jars_dir) if self.spark.jars_dir else self.lib_dir / "spark"

    @property
    def lake_path(self) -> str:
        return self.spark.lake_path or str(self.state_dir / "lake")

    @property
    def checkpoint_dir(self) -> str:
        return self.spark.checkpoint_dir or str(self.state_dir / "checkpoints")

    @property
    def dq_docs_dir(self) -> str:
        return self.dq.docs_dir or str(self.state_dir / "dq" / "docs")

    @property
    def dq_context_dir(self) -> str:
        return self.dq.context_dir or str(self.state_dir / "dq" / "gx")

    @property
    def airflow_home(self) -> Path:
        return Path(self.airflow.home) if self.airflow.home else self.state_dir / "airflow"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    def replace(self, **sections: Any) -> "Settings":
        """A validated copy with some sections' fields replaced: s.replace(kafka={"topic_ticks": "t"}).
        Raises ConfigError like load_settings when a new value breaks its rule."""
        changes: dict[str, Any] = {}
        for name, value in sections.items():
            current = getattr(self, name)
            if dataclasses.is_dataclass(current) and isinstance(value, Mapping):
                changes[name] = dataclasses.replace(current, **value)
            else:
                changes[name] = Path(value) if name == "state_dir" else value
        copy = dataclasses.replace(self, **changes)
        _validate(copy)
        return copy


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _coerce(raw: Any, typ: Any, where: str) -> Any:
    """Convert a TOML value or an environment string to the field's declared type."""
    origin = typing.get_origin(typ)
    try:
        if typ is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError(f"expected true/false, got {raw!r}")
        if typ is int:
            if isinstance(raw, bool):
                raise ValueError("expected an integer")
            return int(raw)
        if typ is float:
            return float(raw)
        if typ is str:
            return str(raw)
        if typ is Path:
            return Path(raw).expanduser()
        if origin is tuple:
            items = raw if isinstance(raw, (list, tuple)) else [p for p in str(raw).split(",")]
            return tuple(str(i).strip() for i in items if str(i).strip())
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"bad value for {where}: {raw!r} ({exc})",
                          hint=f"give {where} a valid {getattr(typ, '__name__', typ)}") from None
    raise ConfigError(f"unsupported setting type for {where}: {typ}")


def _build_section(cls: type, values: Mapping[str, Any], where: str) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ConfigError(f"unknown setting(s) in {where}: {', '.join(sorted(unknown))}",
                          hint=f"known settings of {where}: {', '.join(sorted(known))}")
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}") for k, v in values.items()}
    return cls(**kwargs)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Parse settings from a TOML file (FXTRUE_CONFIG) and FXTRUE_* variables; pure given `environ`."""
    env = dict(os.environ if environ is None else environ)
    hints = typing.get_type_hints(Settings)
    sections = {f.name: hints[f.name] for f in dataclasses.fields(Settings) if f.name != "state_dir"}
    values: dict[str, dict[str, Any]] = {name: {} for name in sections}
    state_dir: Any = None

    config_path = env.get("FXTRUE_CONFIG", "").strip()
    if config_path:
        path = Path(config_path).expanduser()
        if not path.is_file():
            raise ConfigError(f"FXTRUE_CONFIG points to {path}, which is not a file",
                              hint="fix the path or unset FXTRUE_CONFIG")
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from None
        for key, val in data.items():
            if key == "state_dir":
                state_dir = val
            elif key in sections and isinstance(val, dict):
                values[key].update(val)
            else:
                raise ConfigError(f"unknown section {key!r} in {path}",
                                  hint=f"sections: state_dir, {', '.join(sections)}")

    if "java_home" not in values["stack"] and "FXTRUE_STACK_JAVA_HOME" not in env and env.get("JAVA_HOME"):
        values["stack"]["java_home"] = env["JAVA_HOME"]
    if env.get("FXTRUE_STATE_DIR"):
        state_dir = env["FXTRUE_STATE_DIR"]
    for name, cls in sections.items():
        for f in dataclasses.fields(cls):
            var = f"FXTRUE_{name}_{f.name}".upper()
            if var in env:
                values[name][f.name] = env[var]

    kwargs: dict[str, Any] = {name: _build_section(cls, values[name], name) for name, cls in sections.items()}
    if state_dir is not None:
        kwargs["state_dir"] = Path(state_dir).expanduser().resolve()
    settings = Settings(**kwargs)
    _validate(settings)
    return settings


def _validate(s: Settings) -> None:
    problems = validation_errors(s)
    if problems:
        raise ConfigError("bad setting(s):\n  " + "\n  ".join(problems),
                          hint="fix these in the FXTRUE_CONFIG file or the FXTRUE_<SECTION>_<KEY> variables")
    unknown = [p for p in s.truefx.pairs if p not in TRUEFX_PAIRS]
    if unknown:
        raise ConfigError(f"unknown pair(s) in truefx.pairs: {', '.join(unknown)}",
                          hint=f"choose among {', '.join(TRUEFX_PAIRS)}")
    if s.detectors.trend_slide_seconds > s.detectors.trend_window_seconds:
        raise ConfigError("detectors.trend_slide_seconds must not exceed detectors.trend_window_seconds")
    parse_replication(s.cassandra.replication)


# -- Validation rules: one per key that needs more than the default, checked at load. -------------------------
# Every number must be finite (NaN and infinities are refused) and, unless its rule says otherwise, >= 0.

# An unquoted CQL name (keyspaces, tables, roles): CQL folds unquoted names to lower case and the driver quotes
# any other spelling, so only lower case is accepted; 48 characters is Cassandra's limit.
CQL_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,47}")
KAFKA_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")
HH_MM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
JVM_MEMORY = re.compile(r"[1-9][0-9]*[kKmMgGtT]?")


@dataclass(frozen=True)
class Rule:
    """A check on one setting's value and the words that say what is allowed."""

    check: Callable[[Any], bool]
    allowed: str


def _range(lo: float, hi: float = math.inf, *, open_low: bool = False) -> Rule:
    low = (lambda v: v > lo) if open_low else (lambda v: v >= lo)
    words = f"> {lo}" if open_low else f">= {lo}"
    return Rule(lambda v: low(v) and v <= hi, words if hi == math.inf else f"{words} and <= {hi}")


def _matching(pattern: re.Pattern, allowed: str) -> Rule:
    return Rule(lambda v: bool(pattern.fullmatch(v)), allowed)


def _one_of(*values: str) -> Rule:
    return Rule(lambda v: v in values, "one of " + ", ".join(repr(v) for v in values))


POSITIVE = _range(0, open_low=True)
COUNT = _range(1)
PORT = _range(1, 65535)
SHARE = _range(0, 1)
TOPIC = _matching(KAFKA_TOPIC, "a Kafka topic name: 1-249 of A-Z a-z 0-9 . _ -")

RULES: dict[str, Rule] = {
    "stack.kafka_port": PORT, "stack.kafka_controller_port": PORT, "stack.cassandra_port": PORT,
    "stack.cassandra_storage_port": PORT, "stack.cassandra_jmx_port": PORT,
    "stack.kafka_heap_mb": _range(128), "stack.cassandra_heap_mb": _range(256), "stack.ready_timeout_s": POSITIVE,
    "kafka.topic_ticks": TOPIC, "kafka.topic_dlq": TOPIC, "kafka.topic_alerts": TOPIC,
    "kafka.max_event_skew_s": POSITIVE, "kafka.partitions": COUNT, "kafka.replication_factor": COUNT,
    "kafka.request_timeout_ms": COUNT,
    "kafka.security_protocol": _one_of("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"),
    "kafka.sasl_mechanism": _one_of("", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"),
    "cassandra.hosts": Rule(lambda v: len(v) > 0, "at least one host"),
    "cassandra.port": _range(0, 65535),  # 0: stack.cassandra_port
    "cassandra.keyspace": _matching(CQL_IDENTIFIER, "a CQL name: a lower-case letter, then up to 47 of a-z 0-9 _"),
    "cassandra.connect_timeout_s": POSITIVE,
    "cassandra.ticks_ttl_s": _range(0, 630720000),  # 0: no TTL; Cassandra's maximum is 20 years
    "cassandra.tick_batch_rows": COUNT,
    "spark.driver_memory": _matching(JVM_MEMORY, "a JVM memory size such as 2g, 1536m"),
    "spark.shuffle_partitions": COUNT, "spark.trigger_seconds": POSITIVE, "spark.lake_trigger_seconds": POSITIVE,
    "spark.max_offsets_per_trigger": COUNT,
    "spark.tick_mode": _one_of("realtime", "microbatch", "off"), "spark.tick_batch_seconds": _range(5),
    "detectors.window_seconds": COUNT, "detectors.trend_window_seconds": COUNT,
    "detectors.trend_slide_seconds": COUNT, "detectors.stale_after_seconds": COUNT,
    "detectors.k_tick_rate": POSITIVE, "detectors.k_price_jump": POSITIVE, "detectors.k_spread": POSITIVE,
    "detectors.k_stale_feed": POSITIVE, "detectors.k_cross_rate": POSITIVE, "detectors.k_tick_rate_low": POSITIVE,
    "detectors.min_samples": COUNT, "detectors.stale_tail_factor": POSITIVE,
    "detectors.reload_utc": _matching(HH_MM, "a UTC time of day HH:MM (00:00-23:59)"),
    "detectors.version_check_seconds": POSITIVE,
    "truefx.pairs": Rule(lambda v: len(v) > 0, "at least one pair"),
    "truefx.poll_interval_s": POSITIVE, "truefx.reconnect_after_idle_s": POSITIVE,
    "truefx.max_reply_bytes": COUNT,
    "dashboard.port": PORT, "dashboard.refresh_ms": COUNT, "dashboard.login_failures_max": COUNT,
    "dashboard.login_failures_window_s": POSITIVE,
    "airflow.port": PORT, "airflow.supervisor_stale_after_s": POSITIVE, "airflow.supervisor_start_grace_s": POSITIVE,
    "airflow.supervisor_restart_budget": COUNT, "airflow.supervisor_budget_window_s": POSITIVE,
    "airflow.supervisor_backoff_max_s": POSITIVE,  # supervisor_backoff_s may be 0: restart at once
    "airflow.stats_lookback_days": COUNT,
    "dq.max_change_factor": POSITIVE, "dq.min_ask_ge_bid_share": SHARE, "dq.max_duplicate_share": SHARE,
    "dq.price_band_factor": POSITIVE, "dq.profile_days": COUNT, "dq.max_cross_rate_median_bps": POSITIVE,
}


def _env_name(key: str) -> str:
    return "FXTRUE_" + key.replace(".", "_").upper()


def validation_errors(s: Settings) -> list[str]:
    """Every setting that breaks its rule (RULES, or finite and >= 0 for numbers), one line each naming the
    key, its variable, the value and what is allowed; empty when all is well. Pure."""
    problems = []
    for section in dataclasses.fields(Settings):
        value = getattr(s, section.name)
        if not dataclasses.is_dataclass(value):
            continue
        for f in dataclasses.fields(value):
            key = f"{section.name}.{f.name}"
            v = getattr(value, f.name)
            rule = RULES.get(key)
            numeric = isinstance(v, (int, float)) and not isinstance(v, bool)
            if numeric and not math.isfinite(v):
                ok, allowed = False, "a finite number" + (f" {rule.allowed}" if rule else " >= 0")
            elif rule is not None:
                ok, allowed = rule.check(v), ("a number " if numeric else "") + rule.allowed
            elif numeric:
                ok, allowed = v >= 0, "a number >= 0"
            else:
                continue
            if not ok:
                problems.append(f"{key} ({_env_name(key)}) = {v!r}: must be {allowed}")
    return problems


def parse_replication(spec: str) -> dict[str, str]:
    """'SimpleStrategy:1' or 'NetworkTopologyStrategy:dc1=3,dc2=3' -> a CQL replication map."""
    strategy, _, rest = spec.partition(":")
    strategy = strategy.strip()
    if strategy == "SimpleStrategy" and rest.strip().isdigit():
        return {"class": "SimpleStrategy", "replication_factor": rest.strip()}
    if strategy == "NetworkTopologyStrategy" and rest.strip():
        out = {"class": "NetworkTopologyStrategy"}
        for part in rest.split(","):
            dc, _, rf = part.partition("=")
            if not dc.strip() or not rf.strip().isdigit():
                break
            out[dc.strip()] = rf.strip()
        else:
            return out
    raise ConfigError(f"bad cassandra.replication {spec!r}",
                      hint="use 'SimpleStrategy:1' or 'NetworkTopologyStrategy:dc1=3[,dc2=3]'")


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, parsed once."""
    return load_settings()

