"""A Spark standalone cluster on this host's loopback, from the pyspark installation's `bin/spark-class`.

One master and N workers as local processes (each in its own process group, so that stopping a worker also
stops the executors and Python workers it launched), logging into a work folder. It is how the tests run
the stages on `spark://` without containers. The daemons get this environment minus every PYTHONPATH (and
PEX_EXTRA_SYS_PATH) entry holding a first-party `fink_*` package, so that, as in a container of the
`fink/spark-runtime` image, executors have the interpreter and the third-party packages but see our own
code only through the zip the driver ships (`fink_common.pyfiles`).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any

import pyspark

from fink_common.errors import ServiceError, ServiceUnavailableError
from fink_common.pyfiles import FIRST_PARTY_PREFIX

__all__ = ["StandaloneCluster", "free_port", "spark_class"]

_MASTER = "org.apache.spark.deploy.master.Master"
_WORKER = "org.apache.spark.deploy.worker.Worker"
_POLL_S = 0.25


def spark_class() -> Path:
    """The `spark-class` launcher of the installed pyspark."""
    return Path(pyspark.__file__).parent / "bin" / "spark-class"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on `host` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _without_first_party(path_list: str) -> str:
    """`path_list` (os.pathsep-separated) without the folders that hold a top-level `fink_*` package."""
    kept = [
        entry
        for entry in path_list.split(os.pathsep)
        if entry and not any(p.is_dir() for p in Path(entry).glob(f"{FIRST_PARTY_PREFIX}*"))
    ]
    return os.pathsep.join(kept)


class StandaloneCluster:
    """A master and workers on `host` (loopback by default); use as a context manager, or call `stop()`."""

    def __init__(
        self, work_dir: Path, *, host: str = "127.0.0.1", daemon_memory: str = "256m", start_timeout_s: float = 180.0
    ) -> None:
        self.work_dir = Path(work_dir)
        self.host = host
        self.daemon_memory = daemon_memory
        self.start_timeout_s = start_timeout_s
        self.port = 0
        self.web_port = 0
        self._procs: list[tuple[str, subprocess.Popen[bytes], IO[bytes]]] = []

    @property
    def master_url(self) -> str:
        return f"spark://{self.host}:{self.port}"

    @property
    def web_url(self) -> str:
        return f"http://{self.host}:{self.web_port}"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ, SPARK_LOCAL_IP=self.host, SPARK_DAEMON_MEMORY=self.daemon_memory)
        for name in ("PYTHONPATH", "PEX_EXTRA_SYS_PATH"):
            if name in env:
                env[name] = _without_first_party(env[name])
        return env

    def _launch(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        launcher = spark_class()
        if not launcher.is_file():
            raise ServiceUnavailableError(f"no Spark launcher at {launcher}")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        log = (self.work_dir / f"{name}.log").open("wb")
        try:
            proc = subprocess.Popen(
                [str(launcher), *args], stdout=log, stderr=subprocess.STDOUT, env=self._env(), start_new_session=True
            )
        except OSError as exc:
            log.close()
            raise ServiceUnavailableError(f"cannot run {launcher}: {exc}") from exc
        self._procs.append((name, proc, log))
        return proc

    def status(self) -> dict[str, Any]:
        """The master's JSON status (workers, cores, active and completed applications)."""
        with urllib.request.urlopen(f"{self.web_url}/json/", timeout=5) as response:
            return dict(json.load(response))

    def _status_or_none(self) -> dict[str, Any] | None:
        try:
            return self.status()
        except (OSError, urllib.error.URLError, ValueError):
            return None

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.work_dir / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.is_file() else ""

    def _wait(self, proc: subprocess.Popen[bytes], name: str, ready: Any, error: type[ServiceError]) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while not ready():
            if proc.poll() is not None:
                raise error(f"Spark {name} exited with code {proc.returncode}:\n{self.log_tail(name)}")
            if time.monotonic() > deadline:
                raise error(f"Spark {name} not ready after {self.start_timeout_s:.0f} s:\n{self.log_tail(name)}")
            time.sleep(_POLL_S)

    def start_master(self) -> str:
        """Start the master on free ports; its URL. ServiceUnavailableError when it cannot start."""
        self.port, self.web_port = free_port(self.host), free_port(self.host)
        args = [_MASTER, "--host", self.host, "--port", str(self.port), "--webui-port", str(self.web_port)]
        proc = self._launch("master", args)

        def alive() -> bool:
            status = self._status_or_none() if _answers(self.host, self.port) else None
            return status is not None and status.get("status") == "ALIVE"

        self._wait(proc, "master", alive, ServiceUnavailableError)
        return self.master_url

    def add_worker(self, *, cores: int = 1, memory: str = "1g") -> None:
        """Start one more worker and wait until the master counts it alive. ServiceError when it does not."""
        index = sum(1 for name, _, _ in self._procs if name.startswith("worker"))
        name = f"worker-{index}"
        args = [_WORKER, self.master_url, "--host", self.host, "--cores", str(cores), "--memory", memory]
        args += ["--webui-port", "0", "--work-dir", str(self.work_dir / name)]
        proc = self._launch(name, args)

        def registered() -> bool:
            status = self._status_or_none()
            return status is not None and int(status.get("aliveworkers", 0)) > index

        self._wait(proc, name, registered, ServiceError)

    def stop(self) -> None:
        """Stop the workers (with their executors), then the master; close the logs."""
        for _, proc, log in reversed(self._procs):
            # the process group: the daemon and what it launched; SIGKILL catches what outlives SIGTERM
            for sig, wait_s in ((signal.SIGTERM, 30.0), (signal.SIGKILL, 10.0)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=wait_s)
                except subprocess.TimeoutExpired:
                    pass
            log.close()
        self._procs.clear()

    def __enter__(self) -> StandaloneCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
