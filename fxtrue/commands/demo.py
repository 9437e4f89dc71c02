"""`fxtrue demo`: the whole pipeline on the built-in simulator, with the dashboard and the Airflow UI up."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from fxtrue.errors import FxtrueError
from fxtrue.settings import Settings

HELP = """Run FXTrue end to end on the market simulator, on this machine:

  1 stack up          Kafka + Cassandra (fxtrue stack up; left running at the end)
  2 init              topics and Cassandra schema
  3 simulate          DAYS days of TrueFX-format history (reduced rate) with labelled manipulations
  4 backfill          history files -> Parquet tick lake
  5 stats             per-pair/hour statistics -> quality gate -> thresholds version published
  6 truefx-mock       the TrueFX Web API served by the live simulator, with a rolling schedule of
                      injected manipulations (labels in <state>/demo/live-labels.csv); no quote
                      stuffing: a polled snapshot API shows one quote per pair per poll, so stuffing
                      never reaches the feed this way (it is caught on replayed or simulated feeds)
  7 airflow up        its fx_supervisor DAG starts the producer (polling the mock) and the streaming job
  8 dashboard         http://127.0.0.1:8050 (local-only mode: no login, this machine only)
  9 watch             heartbeats, alerts in Cassandra, delay from each injected manipulation to its alert

Running it again resumes: steps 3-5 are skipped when already done (--fresh redoes them). Ctrl-C stops
Airflow, the dashboard, the mock, the producer and the streaming job; the stack keeps running (it holds
the data; stop it with `fxtrue stack down`). The output is also written to <state>/demo/demo.log, so a
clean stop completes even when the reader of a pipe (`fxtrue demo | tee demo.log`) is gone."""

MOCK_USER = "demo:demo"
# What the TrueFX Web API path can show: it serves the latest quote of each pair per poll, so a flood of quotes
# between two polls (quote_stuffing) is invisible to the producer, as it would be on the real API.
POLLED_KINDS = ("feed_stall", "price_spike", "spread_blowout", "crossed_quote", "cross_rate_break")
# The watcher reports each injected manipulation as soon as an alert covers it (with its delay from the
# manipulation's start), and calls it missed only when nothing came MISSED_AFTER_S after the manipulation
# ended (the judgement at close lands within window + watermark + a few triggers of the end).
MISSED_AFTER_S = 60


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="the whole pipeline on the built-in simulator, dashboard and Airflow UI up",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--days", type=int, default=7, help="days of simulated history (default 7)")
    p.add_argument("--rate-scale", type=float, default=0.2,
                   help="simulator quote rate, history and live alike (default 0.2: modest data on 2 cores)")
    p.add_argument("--mock-port", type=int, default=8765, help="port of the TrueFX mock (default 8765)")
    p.add_argument("--fresh", action="store_true", help="redo simulate, backfill and stats")
    p.add_argument("--stop-after", type=float, default=0,
                   help="stop everything after this many seconds of watching (default: run until Ctrl-C)")
    p.set_defaults(func=run)


class Demo:
    def __init__(self, args: argparse.Namespace, settings: Settings) -> None:
        self.args = args
        self.settings = settings
        self.dir = settings.state_dir / "demo"
        self.history = self.dir / "history"
        self.t0 = time.monotonic()
        self.step_no = 0
        self.started: list[str] = []
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log = (self.dir / "demo.log").open("a", encoding="utf-8", buffering=1)

    # -- output
    def say(self, msg: str) -> None:
        self.emit(f"[demo {time.monotonic() - self.t0:6.0f}s] {msg}")

    def emit(self, line: str) -> None:
        """One line to the demo log and to stdout. Ctrl-C on `fxtrue demo | tee` ends the reader of the pipe
        too, and a write to a pipe with no reader fails: stdout is then pointed at /dev/null and the demo goes
        on (its clean-up above all) with the log alone."""
        self.log.write(line + "\n")
        try:
            print(line, flush=True)
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # also spares the interpreter's final flush
            os.close(devnull)

    def step(self, title: str) -> None:
        self.step_no += 1
        self.say(f"== step {self.step_no}/9: {title}")

    def fxtrue(self, *args: str) -> None:
        """Run an fxtrue command as a child process (its own JVM if any), its output indented."""
        cmd = [sys.executable, "-m", "fxtrue.cli", *args]
        self.say(f"$ fxtrue {' '.join(args)}")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, "FXTRUE_STATE_DIR": str(self.settings.state_dir)})
        assert proc.stdout is not None
        for line in proc.stdout:
            self.emit(f"    {line.rstrip()}")
        if proc.wait() != 0:
            raise FxtrueError(f"`fxtrue {' '.join(args)}` failed (exit {proc.returncode})",
                              hint="read its output above; fix it and run `fxtrue demo` again (it resumes)")

    # -- steps
    def history_range(self) -> tuple[date, date]:
        today = datetime.now(timezone.utc).date()
        return today - timedelta(days=self.args.days), today - timedelta(days=1)

    def marker(self, name: str) -> Path:
        return self.dir / f"{name}.done"

    def done(self, name: str, spec: dict) -> bool:
        m = self.marker(name)
        return not self.args.fresh and m.exists() and json.loads(m.read_text()) == spec

    def mark(self, name: str, spec: dict) -> None:
        self.marker(name).write_text(json.dumps(spec))

    def run(self) -> int:
        from fxtrue import airflow_local, stack
        from fxtrue.commands.init import init

        s = self.settings
        first, last = self.history_range()
        spec = {"from": str(first), "to": str(last), "rate_scale": self.args.rate_scale}

        self.step("local stack (Kafka + Cassandra)")
        stack.up(s, progress=self.say)

        self.step("topics and schema")
        init(s, progress=self.say)

        self.step(f"simulate {self.args.days} days of history ({first} .. {last}, rate x{self.args.rate_scale})")
        if self.done("simulate", spec):
            self.say(f"already done ({self.history}); skipping")
        else:
            self.fxtrue("simulate", "--start", str(first), "--days", str(self.args.days), "--out",
                        str(self.history), "--scenarios", "default", "--rate-scale", str(self.args.rate_scale))
            self.mark("simulate", spec)
            self.marker("backfill").unlink(missing_ok=True)

        self.step("backfill the history into the tick lake")
        if self.done("backfill", spec):
            self.say(f"already done (lake {s.lake_path}); skipping")
        else:
            self.fxtrue("backfill", str(self.history))
            self.mark("backfill", spec)
            self.marker("stats").unlink(missing_ok=True)

        self.step("statistics -> quality gate -> publish thresholds")
        version = self.current_version()
        if version and self.done("stats", spec):
            self.say(f"thresholds version {version} already published; skipping")
        else:
            self.fxtrue("stats", "--from", str(first), "--to", str(last), "--source", "lake", "--publish")
            self.mark("stats", spec)
            self.say(f"published thresholds version {self.current_version()}")

        self.step("TrueFX mock with a rolling schedule of injected manipulations")
        self.start_mock()

        self.step("Airflow (its fx_supervisor DAG starts the producer and the streaming job)")
        os.environ.update(self.supervisor_env())
        if airflow_local.running_pid(s) is not None:
            self.say("airflow is running: restarting it with the demo's configuration")
            airflow_local.down(s, progress=self.say)
        self.started.append("airflow")
        status = airflow_local.up(s, progress=self.say)
        self.airflow_ready_at = datetime.now(timezone.utc)
        user, _ = airflow_local.ensure_credentials(s)

        self.step("dashboard")
        self.start_dashboard()

        dash = f"http://{s.dashboard.host}:{s.dashboard.port}"
        self.say("")
        self.say("FXTrue demo is up:")
        self.say(f"  dashboard   {dash}   (local-only: no login, this machine only)")
        # the password stays in its mode-600 file: this output is also written to demo.log
        self.say(f"  Airflow UI  {status.url}   login {user}, password in {airflow_local.passwords_file(s)}")
        self.say(f"  logs        {s.log_dir}  (producer.log, streaming.log, airflow.log, dashboard.log)")
        self.say(f"  injected manipulations: {self.dir / 'live-labels.csv'}")
        self.say("  Ctrl-C stops everything but the stack")
        self.say("")
        self.step("watch: heartbeats, alerts, detection delays")
        return self.watch()

    def current_version(self) -> str | None:
        from fxtrue import cassandra, thresholds

        session = cassandra.connect(self.settings, component="dashboard", wait_s=30)
        try:
            return thresholds.current_version(session, self.settings)
        finally:
            session.cluster.shutdown()

    def supervisor_env(self) -> dict[str, str]:
        user, password = MOCK_USER.split(":")
        return {
            "FXTRUE_AIRFLOW_SUPERVISOR_PRODUCER_COMMAND":
                f"produce truefx --url http://127.0.0.1:{self.args.mock_port}/rates/connect.html",
            "FXTRUE_TRUEFX_USERNAME": user,
            "FXTRUE_TRUEFX_PASSWORD": password,
        }

    def start_mock(self) -> None:
        from fxtrue.orchestration import processes
        from fxtrue.simulator import scenarios
        from fxtrue.stack.services import port_bindable, port_open

        s = self.settings
        spec = processes.JobSpec("truefx-mock", ())
        processes.stop(s, spec.name)
        if not port_bindable(self.args.mock_port):
            raise FxtrueError(f"port {self.args.mock_port} (TrueFX mock) is in use",
                              hint="stop that process or pass --mock-port")
        # Manipulations from 75 s on (Airflow and the streaming job come up in about 40-60 s), one every 90 s,
        # for two hours, each kind the polled feed can show in turn (POLLED_KINDS).
        now_ms = int(time.time() * 1000)
        schedule = scenarios.live_schedule(now_ms, first_after_s=75, every_s=90, count=80, kinds=POLLED_KINDS)
        scenarios.save(schedule, self.dir / "live-scenarios.json")
        scenarios.write_labels(schedule, self.dir / "live-labels.csv")
        self.schedule = schedule
        spec = processes.JobSpec("truefx-mock", (
            "truefx-mock", "--port", str(self.args.mock_port), "--users", MOCK_USER,
            "--scenarios", str(self.dir / "live-scenarios.json"), "--rate-scale", str(self.args.rate_scale)))
        launched = processes.launch(s, spec, processes.child_env(s))
        self.started.append(spec.name)
        deadline = time.monotonic() + 60
        while not port_open(self.args.mock_port):
            if not processes.pid_alive(launched.pid) or time.monotonic() > deadline:
                raise FxtrueError(f"the TrueFX mock did not start; see {launched.log}")
            time.sleep(0.5)
        self.say(f"truefx-mock on http://127.0.0.1:{self.args.mock_port} (pid {launched.pid}, log {launched.log}); "
                 f"first manipulation at {schedule[0].label()['start']} ({schedule[0].kind} on {schedule[0].pair})")

    def start_dashboard(self) -> None:
        from fxtrue.orchestration import processes
        from fxtrue.stack.services import port_bindable, port_open

        s = self.settings
        processes.stop(s, "dashboard")
        if not port_bindable(s.dashboard.port, s.dashboard.host):
            raise FxtrueError(f"port {s.dashboard.port} (dashboard) is in use",
                              hint="stop that process or set FXTRUE_DASHBOARD_PORT")
        # Local-only mode, chosen explicitly: the demo runs on this machine, so no login; the dashboard binds
        # loopback and answers this machine's clients (and only the loopback Host names) only.
        launched = processes.launch(s, processes.JobSpec("dashboard", ("dashboard", "--local-only")),
                                    processes.child_env(s))
        self.started.append("dashboard")
        deadline = time.monotonic() + 120
        while not port_open(s.dashboard.port, s.dashboard.host):
            if not processes.pid_alive(launched.pid) or time.monotonic() > deadline:
                raise FxtrueError(f"the dashboard did not start; see {launched.log}")
            time.sleep(0.5)
        self.say(f"dashboard on http://{s.dashboard.host}:{s.dashboard.port} (pid {launched.pid})")

    # -- watching
    def watch(self) -> int:
        from fxtrue import cassandra, heartbeats
        from fxtrue.orchestration import processes

        s = self.settings
        session = cassandra.connect(s, component="dashboard", wait_s=30)
        stop_at = time.monotonic() + self.args.stop_after if self.args.stop_after else None
        reported_first = False
        reported: set[int] = set()
        next_status = 0.0
        try:
            while stop_at is None or time.monotonic() < stop_at:
                now = datetime.now(timezone.utc)
                beats = heartbeats.read_all(session, s)
                parts = []
                for job in ("producer", "streaming"):
                    hb = beats.get(job)
                    parts.append(f"{job} " + (f"{hb.status} ({hb.age_s(now):.0f} s ago)" if hb else "-"))
                launch = processes.read_launch(s, "streaming")
                alerts = self.alerts_since(session, launch.started_at if launch else now)
                parts.append(f"alerts since stream start {len(alerts)}")
                if time.monotonic() >= next_status:  # a status line every 10 s; injected events as they land
                    next_status = time.monotonic() + 10
                    self.say("; ".join(parts))
                if alerts and launch and not reported_first:
                    first = min(a["detected_at"] for a in alerts)
                    self.say(f"first alert in Cassandra {(first - launch.started_at).total_seconds():.0f} s after "
                             f"the streaming job was launched (at {launch.started_at:%H:%M:%S} UTC, "
                             f"{(launch.started_at - self.airflow_ready_at).total_seconds():.0f} s after Airflow "
                             "was ready)")
                    reported_first = True
                for i, sc in enumerate(self.schedule):
                    if i in reported or sc.start_ms / 1000 > now.timestamp():
                        continue
                    start = datetime.fromtimestamp(sc.start_ms / 1000, timezone.utc)
                    first = first_alert_for(sc, alerts)
                    if first is not None:
                        self.say(f"injected {sc.kind} on {sc.pair} at {start:%H:%M:%S}: "
                                 + detection_delay(sc, first))
                        reported.add(i)
                    elif sc.end_ms / 1000 + MISSED_AFTER_S <= now.timestamp():
                        if not launch or start >= launch.started_at:
                            self.say(f"injected {sc.kind} on {sc.pair} at {start:%H:%M:%S}: no alert within "
                                     f"{MISSED_AFTER_S} s of its end (missed)")
                        reported.add(i)
                time.sleep(2)
        finally:
            session.cluster.shutdown()
        return 0

    def alerts_since(self, session, since: datetime) -> list[dict]:
        out = []
        for day in sorted({since.date(), datetime.now(timezone.utc).date()}):
            rows = session.execute(
                f"SELECT pair, subject, detector, window_start, window_end, detected_at, threshold "
                f"FROM {self.settings.cassandra.keyspace}.alerts_by_day WHERE day = %s LIMIT 20000", (day,))
            for r in rows:
                if r.detected_at is None:
                    continue
                a = {"pair": r.pair or "", "subject": r.subject or "", "detector": r.detector,
                     "window_start": r.window_start.replace(tzinfo=timezone.utc),
                     "window_end": r.window_end.replace(tzinfo=timezone.utc) if r.window_end else
                     r.window_start.replace(tzinfo=timezone.utc),
                     "detected_at": r.detected_at.replace(tzinfo=timezone.utc), "threshold": r.threshold}
                if a["detected_at"] >= since:
                    out.append(a)
        return out

    def stop_all(self) -> None:
        from fxtrue import airflow_local
        from fxtrue.orchestration import processes

        s = self.settings
        self.say("stopping: Airflow first (so its supervisor restarts nothing), then the jobs")
        jobs = [j for j in ("dashboard", "truefx-mock") if j in self.started]
        if "airflow" in self.started:
            airflow_local.down(s, progress=self.say)
            jobs = ["producer", "streaming", *jobs]  # launched by its supervisor
        for job in jobs:
            if processes.stop(s, job, timeout_s=60):
                self.say(f"{job}: stopped")
        self.say("stopped; the stack (Kafka, Cassandra) keeps running: `fxtrue stack down` stops it")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def first_alert_for(sc, alerts: list[dict]) -> dict | None:
    """The first alert that can be the detection of injected manipulation `sc` (pair, start_ms, end_ms): on its
    pair (or a cross rate naming it), with a window near the injection, and detected after it began (an earlier
    alert on the pair, e.g. a stale feed still open, is not its detection; nor is a stale_feed row whose silence
    began long before, such as the gap since the demo's previous run). Pure."""
    start = datetime.fromtimestamp(sc.start_ms / 1000, timezone.utc)
    until = datetime.fromtimestamp(sc.end_ms / 1000 + 20, timezone.utc)
    hits = [a for a in alerts
            if (sc.pair in (a["pair"], a["subject"]) or sc.pair in a["subject"])
            and a["window_end"] >= start - timedelta(seconds=10) and a["window_start"] <= until
            and a["window_start"] >= start - timedelta(seconds=20) and a["detected_at"] >= start]
    return min(hits, key=lambda a: a["detected_at"]) if hits else None


def detection_delay(sc, alert: dict) -> str:
    """How long after injected manipulation `sc` began `alert` detected it; for a stall, also how long after
    the learnt silence threshold was crossed (a stall cannot be called before its threshold). Pure."""
    start = datetime.fromtimestamp(sc.start_ms / 1000, timezone.utc)
    delay = (alert["detected_at"] - start).total_seconds()
    text = f"alerted by {alert['detector']} {delay:.1f} s after its start"
    if alert["detector"] == "stale_feed" and alert.get("threshold") is not None:
        text += (f" ({delay - alert['threshold']:.1f} s after its learnt threshold of {alert['threshold']:.1f} s "
                 "of silence)")
    return text


def run(args: argparse.Namespace, settings: Settings) -> int:
    demo = Demo(args, settings)
    signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM behaves like Ctrl-C: clean stop
    try:
        return demo.run()
    except KeyboardInterrupt:
        demo.say("interrupted")
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        demo.stop_all()
