"""Kafka and HBase as Docker containers of our images (`fink/kafka`, `fink/hbase`), driven with the docker CLI:
started on a fixed host port, SIGKILLed (`docker kill`), started again on the same port (`docker start`: the
container keeps its data volume, its port binding and so Kafka's advertised address), removed at the end.

Each container is labelled with its owner (`<hostname>:<pid>`, the label the integration tests' containers use
too), so a run that died without cleaning up is swept by the next one (`remove_orphans`).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fink_common.errors import FinkError

__all__ = [
    "OWNER_LABEL",
    "ContainerError",
    "ServiceContainer",
    "free_port",
    "hbase_service",
    "image_tag",
    "kafka_service",
    "remove_orphans",
]

#: "<hostname>:<pid>" of the process that started the container (same label as integration-tests/tests/containers.py)
OWNER_LABEL = "fink.tests.owner"
KAFKA_PORT = 9092  # the image's EXTERNAL listener
THRIFT_PORT = 9090
_DOCKER_PATHS = ("/usr/local/bin/docker", "/usr/bin/docker")


class ContainerError(FinkError):
    """A docker command failed, or a container did not become healthy."""


def _docker_cli() -> str:
    """The docker client: on PATH, else where the engine script installs it (a test sandbox may have no PATH)."""
    found = shutil.which("docker") or next((p for p in _DOCKER_PATHS if os.access(p, os.X_OK)), None)
    if found is None:
        raise ContainerError("no docker client on PATH (nor in " + ", ".join(_DOCKER_PATHS) + ")")
    return found


def _docker(*args: str, check: bool = True, timeout_s: float = 120.0) -> str:
    try:
        proc = subprocess.run([_docker_cli(), *args], capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ContainerError(f"docker {' '.join(args[:2])}: {exc}") from exc
    if check and proc.returncode != 0:
        raise ContainerError(f"docker {' '.join(args[:2])} failed: {proc.stderr.strip()[-2000:]}")
    return proc.stdout


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def free_port() -> int:
    """A TCP port free on the host right now (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def image_tag(repo: Path, service: str) -> str:
    """`fink/<service>:<version>` (deploy/docker/<service>/VERSION); fails when the image is not built."""
    image = f"fink/{service}:{(repo / 'deploy' / 'docker' / service / 'VERSION').read_text().strip()}"
    if not _docker("images", "-q", image).strip():
        raise ContainerError(f"no local image {image}: build it with `./pants package deploy/docker/{service}:image`")
    return image


def remove_orphans() -> list[str]:
    """Remove the labelled containers whose owner process (on this host) is gone."""
    removed = []
    for line in _docker("ps", "-a", "--filter", f"label={OWNER_LABEL}", "--format", "{{.ID}} {{.Label \"" + OWNER_LABEL + "\"}}").splitlines():
        cid, _, owner = line.partition(" ")
        host, _, pid = owner.rpartition(":")
        if host == socket.gethostname() and pid.isdigit() and not _is_alive(int(pid)):
            _docker("rm", "-f", "-v", cid, check=False)
            removed.append(cid)
    return removed


@dataclass
class ServiceContainer:
    """One service container published on 127.0.0.1:`port`."""

    service: str  # "kafka" or "hbase"
    name: str
    image: str
    port: int
    container_port: int
    env: dict[str, str] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def run(self) -> None:
        """Create and start the container (it must not exist yet)."""
        envs = [arg for key, value in self.env.items() for arg in ("-e", f"{key}={value}")]
        owner = f"{socket.gethostname()}:{os.getpid()}"
        _docker(
            "run", "-d", "--name", self.name, "--label", f"{OWNER_LABEL}={owner}",
            "-p", f"127.0.0.1:{self.port}:{self.container_port}", *envs, self.image,
        )  # fmt: skip

    def state(self) -> dict[str, Any]:
        out = _docker("inspect", "--format", "{{json .State}}", self.name, check=False)
        return json.loads(out) if out.strip() else {}

    def health(self) -> str:
        """"healthy", "starting", "unhealthy", or "down" (not running / missing)."""
        state = self.state()
        if not state.get("Running"):
            return "down"
        return str((state.get("Health") or {}).get("Status", "starting"))

    def wait_healthy(self, timeout_s: float = 300.0) -> float:
        """Block until the image's HEALTHCHECK passes; returns the seconds it took."""
        begin = time.monotonic()
        while (status := self.health()) != "healthy":
            if time.monotonic() - begin > timeout_s or status == "unhealthy":
                raise ContainerError(f"{self.name}: {status} after {time.monotonic() - begin:.0f} s\n{self.logs(30)}")
            time.sleep(1.0)
        return time.monotonic() - begin

    def kill(self) -> None:
        """SIGKILL every process of the container at once (docker kill's default signal)."""
        _docker("kill", "--signal", "KILL", self.name)

    def start(self) -> None:
        """Start the stopped container again: same data volume, same published port."""
        _docker("start", self.name)

    def stop(self, timeout_s: int = 60) -> None:
        _docker("stop", "-t", str(timeout_s), self.name, check=False, timeout_s=timeout_s + 30)

    def remove(self) -> None:
        _docker("rm", "-f", "-v", self.name, check=False)

    def logs(self, tail: int = 40) -> str:
        try:
            proc = subprocess.run([_docker_cli(), "logs", "--tail", str(tail), self.name], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return (proc.stdout + proc.stderr)[-4000:]


def kafka_service(name: str, image: str, port: int | None = None) -> ServiceContainer:
    """A one-node KRaft Kafka whose EXTERNAL listener is published and advertised as 127.0.0.1:`port`."""
    port = port or free_port()
    env = {"FINK_KAFKA_ADVERTISED_EXTERNAL": f"127.0.0.1:{port}", "FINK_KAFKA_HEAP": "512m"}
    return ServiceContainer("kafka", name, image, port, KAFKA_PORT, env)


def hbase_service(name: str, image: str, port: int | None = None) -> ServiceContainer:
    """HBase standalone with the Thrift gateway published on 127.0.0.1:`port`."""
    return ServiceContainer("hbase", name, image, port or free_port(), THRIFT_PORT, {"FINK_HBASE_HEAP": "1g"})
