"""Kafka (KRaft) and Cassandra as background processes on 127.0.0.1, with all state under <state>/<service>.

Each service has a pid file, a log, a rendered config and a readiness probe that talks the real protocol
(broker metadata for Kafka, an authenticated CQL session for Cassandra). Start is idempotent: a healthy
running service is left alone, a stale pid file (after a crash or kill -9) is cleaned up and the service
restarted on its existing data.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import signal
import socket
import string
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from fxtrue import credentials
from fxtrue.errors import StackError
from fxtrue.procs import pid_alive, signal_group, stop_group
from fxtrue.settings import Settings
from fxtrue.stack import jvm

Progress = Callable[[str], None]


@dataclass
class Status:
    name: str
    pid: int | None
    running: bool
    healthy: bool
    ports: dict[str, int]
    log: Path
    detail: str = ""
    rss_mb: float | None = None


def rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def port_bindable(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding, never starting with '-' (as
    Kafka's own Uuid.randomUuid ensures: such an id reads as an option on a command line)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def wait_bindable(port: int, timeout_s: float, host: str = "127.0.0.1") -> bool:
    """True once the port can be bound. A JVM killed a moment ago still holds its sockets until its last
    thread has exited, after its main thread already shows as gone; a few seconds cover that."""
    deadline = time.monotonic() + timeout_s
    while not port_bindable(port, host):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
    return True


def render(template: Path, target: Path, **values) -> None:
    target.write_text(string.Template(template.read_text()).substitute(**{k: str(v) for k, v in values.items()}))


class Service:
    """One JVM service of the local stack."""

    name: str = ""
    main_class: str = ""
    required_jars: tuple[str, ...] = ()
    PORT_RELEASE_S = 15.0  # how long a start waits for a just-killed predecessor to let go of its ports

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = settings.state_dir / self.name
        self.pid_file = self.home / f"{self.name}.pid"
        self.log = settings.log_dir / f"{self.name}.out"

    # -- what each service defines
    def ports(self) -> dict[str, int]:
        raise NotImplementedError

    def prepare(self, progress: Progress) -> None:
        """Render config and format storage; must be idempotent."""

    def jvm_args(self) -> list[str]:
        raise NotImplementedError

    def app_args(self) -> list[str]:
        return []

    def probe(self) -> tuple[bool, str]:
        """(healthy, detail) by talking the service's protocol."""
        raise NotImplementedError

    def after_ready(self, progress: Progress) -> None:
        """One-time setup once the service answers (e.g. credentials)."""

    # -- shared mechanics
    def read_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def running_pid(self) -> int | None:
        pid = self.read_pid()
        if pid is not None and pid_alive(pid) and self._is_ours(pid):
            return pid
        return None

    def _is_ours(self, pid: int) -> bool:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return False
        return self.main_class in cmdline and str(self.home) in cmdline

    def status(self) -> Status:
        pid = self.running_pid()
        healthy, detail = (self.probe() if pid else (False, "not running"))
        return Status(self.name, pid, pid is not None, healthy, self.ports(), self.log, detail,
                      rss_mb(pid) if pid else None)

    def start(self, progress: Progress) -> Status:
        pid = self.running_pid()
        if pid is not None:
            progress(f"{self.name}: already running (pid {pid}); checking readiness")
            return self.wait_ready(progress, pid)
        grace = 0.0
        if self.pid_file.exists():
            progress(f"{self.name}: removing stale pid file (previous run crashed or was killed)")
            self.pid_file.unlink()
            grace = self.PORT_RELEASE_S  # the killed process may still be letting go of its ports
        for label, port in self.ports().items():
            if not wait_bindable(port, grace):
                raise StackError(f"{self.name}: port {port} ({label}) on 127.0.0.1 is already in use "
                                 "by another process",
                                 hint=f"stop that process (see `ss -ltnp 'sport = :{port}'`) or choose another "
                                      f"port, e.g. FXTRUE_STACK_{self.name.upper()}_PORT")
        java = jvm.java_home(self.settings)
        jvm.fetch_jars(self.settings, self.name, progress)
        jar_dir = jvm.require_jars(self.settings, self.name, self.required_jars)
        self.home.mkdir(parents=True, exist_ok=True)
        self.settings.log_dir.mkdir(parents=True, exist_ok=True)
        self.prepare(progress)
        cmd = [str(java / "bin" / "java"), *self.jvm_args(), "-cp", f"{jar_dir}/*", self.main_class,
               *self.app_args()]
        progress(f"{self.name}: starting (log {self.log})")
        with open(self.log, "ab") as out:
            out.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {self.name}\n".encode())
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, cwd=self.home,
                                    env={**os.environ, "JAVA_HOME": str(java)})
        self.pid_file.write_text(str(proc.pid))
        return self.wait_ready(progress, proc.pid, proc)

    def wait_ready(self, progress: Progress, pid: int, proc: subprocess.Popen | None = None) -> Status:
        started = time.monotonic()
        deadline = started + self.settings.stack.ready_timeout_s
        detail = ""
        last_note = started
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None or not pid_alive(pid):
                raise StackError(f"{self.name} exited during start-up; last log lines:\n{self.log_tail()}",
                                 hint=f"read {self.log} (and {self.settings.log_dir}) for the cause")
            healthy, detail = self.probe()
            if healthy:
                self.after_ready(progress)
                progress(f"{self.name}: ready in {time.monotonic() - started:.1f} s (pid {pid})")
                return self.status()
            if time.monotonic() - last_note > 15:
                progress(f"{self.name}: waiting for readiness ({time.monotonic() - started:.0f} s; {detail})")
                last_note = time.monotonic()
            time.sleep(1.0)
        raise StackError(f"{self.name} did not become ready within {self.settings.stack.ready_timeout_s:.0f} s "
                         f"({detail}); last log lines:\n{self.log_tail()}",
                         hint=f"read {self.log}; raise FXTRUE_STACK_READY_TIMEOUT_S on a slow machine")

    def stop(self, progress: Progress, timeout_s: float = 60.0) -> None:
        pid = self.running_pid()
        if pid is None:
            if self.pid_file.exists():
                self.pid_file.unlink()
                progress(f"{self.name}: not running (removed stale pid file)")
            else:
                progress(f"{self.name}: not running")
            return
        progress(f"{self.name}: stopping pid {pid}")
        stop_group(pid, timeout_s, on_kill=lambda: progress(f"{self.name}: did not stop in {timeout_s:.0f} s; killing"))
        self.pid_file.unlink(missing_ok=True)
        progress(f"{self.name}: stopped")

    def kill(self) -> None:
        """kill -9, as a crash would (fault tests)."""
        pid = self.running_pid()
        if pid is not None:
            signal_group(pid, signal.SIGKILL)
            while pid_alive(pid):
                time.sleep(0.1)
            for port in self.ports().values():  # gone for good only once its sockets are closed
                wait_bindable(port, self.PORT_RELEASE_S)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class KafkaService(Service):
    name = "kafka"
    main_class = "kafka.Kafka"
    required_jars = ("kafka_2.13-", "kafka-clients-", "log4j-slf4j-impl-")

    def ports(self) -> dict[str, int]:
        return {"broker": self.settings.stack.kafka_port, "controller": self.settings.stack.kafka_controller_port}

    @property
    def properties(self) -> Path:
        return self.home / "server.properties"

    def start(self, progress: Progress) -> Status:
        # before adopting a running broker too: one started with the other stack.kafka_sasl never looks ready
        check_kafka_security(self.settings, self.home / "data")
        return super().start(progress)

    def prepare(self, progress: Progress) -> None:
        from fxtrue import kafka

        data = self.home / "data"
        data.mkdir(parents=True, exist_ok=True)
        credential = kafka.ensure_admin_credential(self.settings) if self.settings.stack.kafka_sasl else None
        text = kafka_properties(self.settings, data, credential)
        if credential is None:
            self.properties.write_text(text)
        else:  # holds the admin and controller passwords
            credentials.write_private(self.properties, text)
        render(jvm.LOCAL_DIR / "kafka" / "log4j2.properties.tmpl", self.home / "log4j2.properties",
               log_dir=self.settings.log_dir)
        if not (data / "meta.properties").exists():
            cluster_file = self.home / "cluster.id"
            if not cluster_file.exists():
                cluster_file.write_text(new_cluster_id())
            progress("kafka: formatting storage (first start)" + (" with SASL/SCRAM and ACLs" if credential else ""))
            java = jvm.java_home(self.settings)
            # The admin SCRAM user is created with the storage (the broker needs it for its own inter-broker
            # login). Its password is on this short-lived command line only, never in a log.
            scram = ([f"--add-scram=SCRAM-SHA-512=[name={credential['username']},"
                      f"password={credential['password']}]"] if credential else [])
            out = subprocess.run(
                [str(java / "bin" / "java"), f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
                 "-cp", f"{jvm.jars_dir(self.settings, 'kafka')}/*", "kafka.tools.StorageTool", "format",
                 f"--cluster-id={cluster_file.read_text().strip()}", "-c", str(self.properties),
                 "--ignore-formatted", *scram],
                capture_output=True, text=True, timeout=120)
            if out.returncode != 0:
                detail = (out.stdout + out.stderr).strip()[-800:]
                if credential:
                    detail = detail.replace(credential["password"], "***")
                raise StackError(f"kafka storage format failed: {detail}",
                                 hint=f"remove {data} to start from empty storage")

    def jvm_args(self) -> list[str]:
        heap = self.settings.stack.kafka_heap_mb
        return [f"-Xms{heap}m", f"-Xmx{heap}m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
                "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
                f"-Dkafka.logs.dir={self.settings.log_dir}"]

    def app_args(self) -> list[str]:
        return [str(self.properties)]

    def probe(self) -> tuple[bool, str]:
        port = self.settings.stack.kafka_port
        if not port_open(port):
            return False, f"port {port} closed"
        try:
            from confluent_kafka.admin import AdminClient
            client = AdminClient({"bootstrap.servers": f"127.0.0.1:{port}", "socket.timeout.ms": 5000,
                                  "client.id": "fxtrue-stack-probe", "logger": logging.getLogger("fxtrue.kafka.client"),
                                  **_probe_login(self.settings)})
            meta = client.describe_cluster(request_timeout=5).result(timeout=10)
            if not meta.nodes:
                return False, "no broker in cluster metadata yet"
            controller = meta.controller.id if meta.controller is not None else None
            return True, f"{len(meta.nodes)} broker(s), controller {controller}"
        except Exception as exc:  # noqa: BLE001 - any client failure means "not ready yet"
            return False, f"metadata request failed: {type(exc).__name__}: {exc}"[:200]


def kafka_properties(settings: Settings, data_dir: Path, credential: dict[str, str] | None) -> str:
    """The broker's server.properties (pure): PLAINTEXT listeners, or with `credential` (stack.kafka_sasl: the
    admin and controller passwords) SASL listeners, SCRAM users and ACLs enforced (sasl.properties.tmpl)."""
    kafka_dir = jvm.LOCAL_DIR / "kafka"
    ports = {"port": settings.stack.kafka_port, "controller_port": settings.stack.kafka_controller_port,
             "data_dir": data_dir}
    if credential is None:
        return string.Template((kafka_dir / "server.properties.tmpl").read_text()).substitute(
            listener="PLAINTEXT", controller_protocol="PLAINTEXT", broker_protocol="PLAINTEXT", **ports)
    from fxtrue.kafka import CONTROLLER_USER
    base = string.Template((kafka_dir / "server.properties.tmpl").read_text()).substitute(
        listener="BROKER", controller_protocol="SASL_PLAINTEXT", broker_protocol="SASL_PLAINTEXT", **ports)
    sasl = string.Template((kafka_dir / "sasl.properties.tmpl").read_text()).substitute(
        admin_user=credential["username"], admin_password=credential["password"],
        controller_user=CONTROLLER_USER, controller_password=credential["controller_password"])
    return base.rstrip("\n") + "\n" + sasl


def check_kafka_security(settings: Settings, data_dir: Path) -> None:
    """Refuse to start a broker whose storage was formatted with the other stack.kafka_sasl: SASL on storage
    without its admin SCRAM user never gets ready, and PLAINTEXT on SASL storage would drop its ACLs."""
    from fxtrue import kafka

    marker = kafka.admin_file(settings)  # written before a SASL format: its presence marks SASL storage
    if not (data_dir / "meta.properties").exists():
        if not settings.stack.kafka_sasl and marker.exists():
            marker.unlink()  # left by a SASL format that never happened: the storage is about to be PLAINTEXT
        return
    if settings.stack.kafka_sasl and not marker.exists():
        raise StackError(f"stack.kafka_sasl is on but the Kafka storage in {data_dir} was formatted without it "
                         "(it has no SCRAM admin user, so the broker could never log in to itself)",
                         hint="switch FXTRUE_STACK_KAFKA_SASL off, or `fxtrue stack down`, remove "
                              f"{data_dir} (its topics and messages are lost), then `fxtrue stack up` and "
                              "`fxtrue init`")
    if not settings.stack.kafka_sasl and marker.exists():
        raise StackError(f"stack.kafka_sasl is off but the Kafka storage in {data_dir} was formatted with it "
                         f"(SASL/SCRAM users and ACLs; credential {marker})",
                         hint="set FXTRUE_STACK_KAFKA_SASL=true, or `fxtrue stack down`, remove "
                              f"{data_dir} and {marker} (topics, messages, users and ACLs are lost), then "
                              "`fxtrue stack up` and `fxtrue init`")


def _probe_login(settings: Settings) -> dict[str, str]:
    """Login settings (librdkafka's names) of the readiness probe: the local admin's with stack.kafka_sasl."""
    if not settings.stack.kafka_sasl:
        return {}
    from fxtrue import kafka

    user, password = kafka.credentials(settings, kafka.ADMIN)
    return {"security.protocol": kafka.LOCAL_PROTOCOL, "sasl.mechanism": kafka.LOCAL_MECHANISM,
            "sasl.username": user, "sasl.password": password}


class CassandraService(Service):
    name = "cassandra"
    main_class = "org.apache.cassandra.service.CassandraDaemon"
    required_jars = ("cassandra-all-", "jamm-", "logback-classic-")

    def ports(self) -> dict[str, int]:
        s = self.settings.stack
        return {"cql": s.cassandra_port, "storage": s.cassandra_storage_port, "jmx": s.cassandra_jmx_port}

    def prepare(self, progress: Progress) -> None:
        data = self.home / "data"
        for sub in ("data", "commitlog", "saved_caches", "hints", "cdc_raw"):
            (data / sub).mkdir(parents=True, exist_ok=True)
        render(jvm.LOCAL_DIR / "cassandra" / "cassandra.yaml.tmpl", self.home / "cassandra.yaml",
               port=self.settings.stack.cassandra_port, storage_port=self.settings.stack.cassandra_storage_port,
               data_dir=data)

    def jvm_args(self) -> list[str]:
        heap = self.settings.stack.cassandra_heap_mb
        options = [line.strip() for line in
                   (jvm.LOCAL_DIR / "cassandra" / "jvm17-server.options").read_text().splitlines()
                   if line.strip() and not line.startswith("#")]
        jamm = next(jvm.jars_dir(self.settings, "cassandra").glob("jamm-*.jar"))
        tmp = self.home / "tmp"
        tmp.mkdir(exist_ok=True)
        return [f"-Xms{heap}m", f"-Xmx{heap}m", "-Xss512k", *options, f"-javaagent:{jamm}",
                f"-Dcassandra.config=file://{self.home / 'cassandra.yaml'}",
                f"-Dcassandra.storagedir={self.home / 'data'}",
                f"-Dcassandra.logdir={self.settings.log_dir / 'cassandra'}",
                f"-Dlogback.configurationFile={jvm.LOCAL_DIR / 'cassandra' / 'logback.xml'}",
                f"-Dcassandra.jmx.local.port={self.settings.stack.cassandra_jmx_port}",
                f"-Djna.tmpdir={tmp}", f"-Djava.io.tmpdir={tmp}"]

    # The stack's own login: generated once, kept in the state dir, read by settings.
    def _credentials(self) -> tuple[str, str] | None:
        path = self.settings.cassandra_credentials_file
        if path.exists():
            import tomllib
            data = tomllib.loads(path.read_text())
            return data["username"], data["password"]
        return None

    def probe(self) -> tuple[bool, str]:
        port = self.settings.stack.cassandra_port
        if not port_open(port):
            return False, f"CQL port {port} closed"
        creds = self._credentials() or ("cassandra", "cassandra")
        ok, detail = _cql_login(port, *creds)
        if not ok and self._credentials() is None:
            return False, detail
        if not ok:
            return False, f"login as {creds[0]} failed: {detail}"
        return True, f"CQL session as {creds[0]}"

    def after_ready(self, progress: Progress) -> None:
        if self._credentials() is not None:
            return
        # First start: replace the well-known cassandra/cassandra superuser by a generated one.
        password = secrets.token_urlsafe(24)
        cluster, session = _cql_session(self.settings.stack.cassandra_port, "cassandra", "cassandra")
        try:
            session.execute("CREATE ROLE IF NOT EXISTS fxtrue WITH PASSWORD = %s AND SUPERUSER = true "
                            "AND LOGIN = true", (password,))
            session.execute("ALTER ROLE fxtrue WITH PASSWORD = %s", (password,))
        finally:
            cluster.shutdown()
        credentials.write_private(self.settings.cassandra_credentials_file,
                                  f'username = "fxtrue"\npassword = "{password}"\n')
        # Retire the default superuser only once the new one is known to work.
        cluster, session = _cql_session(self.settings.stack.cassandra_port, "fxtrue", password)
        try:
            session.execute("ALTER ROLE cassandra WITH PASSWORD = %s AND SUPERUSER = false AND LOGIN = false",
                            (secrets.token_urlsafe(24),))
        finally:
            cluster.shutdown()
        progress(f"cassandra: generated the login 'fxtrue' (credential in {self.settings.cassandra_credentials_file}, mode 600)")


def _cql_session(port: int, user: str, password: str):
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import RoundRobinPolicy

    cluster = Cluster(["127.0.0.1"], port=port, auth_provider=PlainTextAuthProvider(user, password),
                      protocol_version=5, connect_timeout=5,
                      execution_profiles={EXEC_PROFILE_DEFAULT: ExecutionProfile(
                          load_balancing_policy=RoundRobinPolicy())})
    try:
        return cluster, cluster.connect()
    except Exception:
        cluster.shutdown()
        raise


def _cql_login(port: int, user: str, password: str) -> tuple[bool, str]:
    try:
        cluster, session = _cql_session(port, user, password)
    except Exception as exc:  # noqa: BLE001 - any driver failure means "not ready"
        return False, f"{type(exc).__name__}: {exc}"[:200]
    try:
        session.execute("SELECT release_version FROM system.local")
        return True, "ok"
    except Exception as exc:  # noqa: BLE001
        return False, f"{type(exc).__name__}: {exc}"[:200]
    finally:
        cluster.shutdown()


def services(settings: Settings) -> list[Service]:
    return [KafkaService(settings), CassandraService(settings)]
