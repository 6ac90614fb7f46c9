"""`up`, `status` and `down` of the local services: kafka, hbase (standalone) and thrift (its gateway)."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from subprocess import Popen

from fink_services import hbase, kafka
from fink_services.errors import ServiceError
from fink_services.java import Java, find_java
from fink_services.layout import Layout
from fink_services.process import PidRecord, is_alive, is_ours, port_open, read_pid, spawn, stop, tail, write_pid
from fink_services.settings import Settings
from fink_services.thrift import ThriftError

__all__ = ["SERVICES", "ServiceStatus", "Supervisor"]

SERVICES = ("kafka", "hbase", "thrift")
STOP_GRACE = {"thrift": 10.0, "hbase": 60.0, "kafka": 30.0}


class ThriftProbe:
    """A readiness check: true once getTableNames answers through the gateway; `note` says what it saw."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.note = ""

    def __call__(self) -> bool:
        try:
            self.note = hbase.probe(self.settings, timeout=20.0)
            return True
        except (OSError, ThriftError) as exc:
            self.note = str(exc)
            return False


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    running: bool
    answering: bool
    pid: int | None
    port: int
    detail: str

    @property
    def healthy(self) -> bool:
        return self.running and self.answering


class Supervisor:
    def __init__(self, layout: Layout, settings: Settings, out: Callable[[str], None] = print) -> None:
        self.layout = layout
        self.settings = settings
        self._out = out
        self._lock = threading.Lock()

    def say(self, text: str) -> None:
        with self._lock:
            self._out(text)

    # ---- ports and pids ----
    def ports(self, service: str) -> dict[int, str]:
        """Every port the service listens on -> the variable that sets it."""
        s, env = self.settings, Settings.ENV
        if service == "kafka":
            return {
                s.kafka_port: env["kafka_port"],
                s.kafka_controller_port: env["kafka_controller_port"],
                s.kafka_sasl_port: env["kafka_sasl_port"],
            }
        if service == "hbase":
            return {
                s.zookeeper_port: env["zookeeper_port"],
                s.hbase_master_port: env["hbase_master_port"],
                s.hbase_regionserver_port: env["hbase_regionserver_port"],
            }
        return {s.thrift_port: env["thrift_port"]}

    def main_port(self, service: str) -> int:
        return next(iter(self.ports(service)))

    def running_pid(self, service: str) -> int | None:
        record = read_pid(self.layout.pid_file(service))
        if record and is_ours(record.pid, service, self.layout.state):
            return record.pid
        return None

    # ---- status ----
    def status(self) -> list[ServiceStatus]:
        result = []
        for service in SERVICES:
            pid = self.running_pid(service)
            port = self.main_port(service)
            answering = port_open(self.settings.host, port)
            record = read_pid(self.layout.pid_file(service))
            if pid:
                detail = "answering" if answering else "started, not answering yet"
            elif record:
                detail = f"not running (stale pid file: pid {record.pid} is gone or not ours)"
            elif answering:
                detail = f"not running, but port {port} is used by another process"
            else:
                detail = "not running"
            result.append(ServiceStatus(service, pid is not None, answering, pid, port, detail))
        return result

    # ---- up ----
    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        self.layout.run.mkdir(parents=True, exist_ok=True)
        with open(self.layout.run / "up.lock", "w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                # Another `up` (e.g. a parallel test process) is starting the services: wait for it, then
                # this `up` finds them running and does nothing.
                print(f"another `up` is running on {self.layout.state}: waiting for it", flush=True)
                fcntl.flock(fh, fcntl.LOCK_EX)
            yield

    def _check_jars(self) -> None:
        for group in ("kafka", "hbase"):
            folder = self.layout.jar_group(group)
            if not any(folder.glob("*.jar")):
                raise ServiceError(f"no {group} jars in {folder}: run deploy/jars/fetch.sh (./fink does it for you)")

    def _check_ports_free(self, services: list[str]) -> None:
        busy = []
        for service in services:
            for port, var in self.ports(service).items():
                if port_open(self.settings.host, port):
                    busy.append(
                        f"port {self.settings.host}:{port} ({service}, {var}) is already in use by another process"
                    )
        if busy:
            raise ServiceError(
                "\n".join(busy)
                + "\nThat process was not started by `fink services up` for this state dir. Stop it, or choose "
                "other ports with the variables above."
            )

    def _launch(self, service: str, command: list[str]) -> Popen[bytes]:
        proc = spawn(command, self.layout.out_file(service), cwd=self.layout.state, env=os.environ)
        write_pid(
            self.layout.pid_file(service),
            PidRecord(service, proc.pid, time.time(), sorted(self.ports(service)), command),
        )
        return proc

    def _failure(self, service: str, why: str) -> ServiceError:
        logs = [self.layout.log_file(service), self.layout.out_file(service)]
        shown = "\n".join(f"  --- tail of {p}:\n{tail(p, 25)}" for p in logs if p.exists())
        return ServiceError(f"{service}: {why}\n{shown}")

    def _wait(
        self, service: str, proc: Popen[bytes] | None, ready: Callable[[], bool], deadline: float, what: str
    ) -> None:
        """Polls `ready` until it is true; fails when the process dies or the deadline passes."""
        while True:
            if proc is not None and proc.poll() is not None:
                raise self._failure(service, f"the JVM exited with code {proc.returncode} while {what}")
            if ready():
                return
            if time.monotonic() > deadline:
                raise self._failure(
                    service,
                    f"timed out after {self.settings.startup_timeout:.0f} s while {what} (FINK_SERVICES_TIMEOUT)",
                )
            time.sleep(0.5)

    def _up_kafka(self, java: Java, deadline: float) -> str:
        note = kafka.prepare(java, self.settings, self.layout)
        if note:
            self.say(f"kafka: {note}")
        start = time.monotonic()
        proc = self._launch("kafka", kafka.broker_command(java, self.settings, self.layout))
        self.say(f"kafka: started pid {proc.pid}, waiting for {self.settings.kafka_bootstrap}")
        self._wait(
            "kafka",
            proc,
            lambda: all(port_open(self.settings.host, p) for p in (self.settings.kafka_port, self.settings.kafka_sasl_port)),
            deadline,
            "waiting for the broker ports (PLAINTEXT and SASL)",
        )
        last_error = ""

        def probed() -> bool:
            nonlocal last_error
            try:
                last_error = kafka.probe(
                    java, self.settings, self.layout, timeout=max(5.0, deadline - time.monotonic())
                )
                return True
            except ServiceError as exc:
                last_error = str(exc)
                return False

        self._wait("kafka", proc, probed, deadline, "probing with kafka-topics")
        return (
            f"kafka: ready in {time.monotonic() - start:.1f} s (pid {proc.pid}, {self.settings.kafka_bootstrap}; "
            f"users: SASL/SCRAM-SHA-512 on {self.settings.kafka_sasl_bootstrap}; {last_error})"
        )

    def _up_hbase(self, java: Java, deadline: float, start_master: bool, start_gateway: bool) -> list[str]:
        lines = []
        hbase.prepare(self.settings, self.layout)
        start = time.monotonic()
        master: Popen[bytes] | None = None
        if start_master:
            master = self._launch("hbase", hbase.master_command(java, self.settings, self.layout))
            self.say(
                f"hbase: started pid {master.pid} (standalone: master + regionserver + ZooKeeper "
                f"{self.settings.host}:{self.settings.zookeeper_port})"
            )
        classes = hbase.build_gateway(java, self.layout) if start_gateway else None
        self._wait(
            "hbase",
            master,
            lambda: port_open(self.settings.host, self.settings.zookeeper_port),
            deadline,
            "waiting for its ZooKeeper port",
        )
        thrift_start = time.monotonic()
        gateway: Popen[bytes] | None = None
        if classes is not None:
            gateway = self._launch("thrift", hbase.gateway_command(java, self.settings, self.layout, classes))
            self.say(
                f"thrift: started pid {gateway.pid}, waiting for getTableNames on "
                f"{self.settings.host}:{self.settings.thrift_port}"
            )
        ready = ThriftProbe(self.settings)

        def both() -> bool:
            if gateway is not None and gateway.poll() is not None:
                raise self._failure("thrift", f"the gateway JVM exited with code {gateway.returncode}")
            return ready()

        self._wait("hbase", master, both, deadline, "waiting for a Thrift getTableNames answer")
        now = time.monotonic()
        if master is not None:
            lines.append(
                f"hbase: ready in {now - start:.1f} s (pid {master.pid}, ZooKeeper "
                f"{self.settings.host}:{self.settings.zookeeper_port})"
            )
        if gateway is not None:
            lines.append(
                f"thrift: ready in {now - thrift_start:.1f} s (pid {gateway.pid}, "
                f"{self.settings.host}:{self.settings.thrift_port}; {ready.note})"
            )
        return lines

    def up(self) -> None:
        java = find_java()
        self._check_jars()
        self.layout.state.mkdir(parents=True, exist_ok=True)
        with self._exclusive():
            begin = time.monotonic()
            todo = []
            for service in SERVICES:
                pid = self.running_pid(service)
                if pid:
                    self.say(f"{service}: already running (pid {pid}, port {self.main_port(service)})")
                else:
                    self.layout.pid_file(service).unlink(missing_ok=True)
                    todo.append(service)
            if not todo:
                self.say("all services already running: nothing to do")
                return
            self._check_ports_free(todo)
            deadline = time.monotonic() + self.settings.startup_timeout
            errors: list[ServiceError] = []
            jobs: list[Callable[[], list[str]]] = []
            if "kafka" in todo:
                jobs.append(lambda: [self._up_kafka(java, deadline)])
            if "hbase" in todo or "thrift" in todo:
                jobs.append(lambda: self._up_hbase(java, deadline, "hbase" in todo, "thrift" in todo))

            def run(job: Callable[[], list[str]]) -> None:
                try:
                    for line in job():
                        self.say(line)
                except ServiceError as exc:
                    errors.append(exc)

            threads = [threading.Thread(target=run, args=(job,), daemon=True) for job in jobs]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if errors:
                raise ServiceError(
                    "\n".join(str(e) for e in errors)
                    + "\n(what did start keeps running: see `./fink services status`, stop it with `./fink services down`)"
                )
            self.say(f"services up in {time.monotonic() - begin:.1f} s (state dir {self.layout.state})")

    # ---- down ----
    def down(self) -> None:
        threads = []
        for service in reversed(SERVICES):
            path = self.layout.pid_file(service)
            record = read_pid(path)
            if record is None:
                self.say(f"{service}: not running")
                path.unlink(missing_ok=True)
                continue
            if not is_alive(record.pid):
                self.say(f"{service}: was not running (removed stale pid file)")
                path.unlink(missing_ok=True)
                continue
            if not is_ours(record.pid, service, self.layout.state):
                self.say(
                    f"{service}: pid {record.pid} is not the java process `up` started (pid reused?): "
                    "left alone, pid file removed"
                )
                path.unlink(missing_ok=True)
                continue

            def stop_one(service: str = service, pid: int = record.pid) -> None:
                start = time.monotonic()
                how = stop(pid, STOP_GRACE[service])
                self.layout.pid_file(service).unlink(missing_ok=True)
                self.say(f"{service}: {how} (pid {pid}, {time.monotonic() - start:.1f} s)")

            threads.append(threading.Thread(target=stop_one, daemon=True))
            threads[-1].start()
            if service == "thrift":
                threads[-1].join()  # the gateway first, then HBase and Kafka together
        for t in threads:
            t.join()

    def status_dicts(self) -> list[dict[str, object]]:
        return [asdict(s) | {"healthy": s.healthy} for s in self.status()]
