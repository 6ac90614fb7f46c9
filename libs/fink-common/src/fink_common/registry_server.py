"""A real schema registry for the tests: Apicurio Registry 2.6.13 (Quarkus, Java 17), its Confluent-compatible
API at `<base>/apis/ccompat/v7`, from the pinned tarball that deploy/jars/fetch.sh puts in the `registry` group.

`ApicurioRegistry(state_dir).start()` unpacks the tarball once (into the jars cache), starts the server on a free
loopback port with its schemas in an H2 file under `state_dir` (so a stop and a start on the same folder keep
them: an outage, not a new registry), and waits until it is ready. `register()` posts a schema as the Confluent
clients do and returns the id the registry gives it. Nothing here downloads.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from fink_common.errors import DataNotFoundError, ServiceError
from fink_common.jars import jars_root

__all__ = ["APICURIO_VERSION", "ApicurioRegistry"]

APICURIO_VERSION = "2.6.13.Final"
_TARBALL = f"apicurio-registry-app-{APICURIO_VERSION}-all.tar.gz"
_RUNNER = f"apicurio-registry-app-{APICURIO_VERSION}-runner.jar"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unpacked() -> Path:
    """The server folder (runner jar + lib/), unpacked from the pinned tarball on first use."""
    tarball = jars_root() / "registry" / _TARBALL
    target = jars_root() / "registry" / f"apicurio-{APICURIO_VERSION}"
    if (target / _RUNNER).is_file():
        return target
    if not tarball.is_file():
        raise DataNotFoundError(f"{tarball} is missing: run deploy/jars/fetch.sh")
    staging = target.with_name(f".{target.name}.{os.getpid()}")
    with tarfile.open(tarball) as archive:
        archive.extractall(staging, filter="data")
    staging.rename(target)
    return target


class ApicurioRegistry:
    """One Apicurio Registry process on 127.0.0.1 (see the module doc)."""

    def __init__(self, state_dir: Path, *, port: int | None = None, heap: str = "384m") -> None:
        self.state_dir = Path(state_dir)
        self.port = port or _free_port()
        self.heap = heap
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """What FINK_SCHEMA_REGISTRY_URL is set to: the Confluent-compatible API."""
        return f"{self.base}/apis/ccompat/v7"

    def start(self, timeout_s: float = 120.0) -> ApicurioRegistry:
        home = _unpacked()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.state_dir / "apicurio.log", "ab")  # noqa: SIM115  (the process keeps it)
        command = [
            "java",
            f"-Xmx{self.heap}",
            "-XX:+ExitOnOutOfMemoryError",
            "-Dquarkus.http.host=127.0.0.1",
            f"-Dquarkus.http.port={self.port}",
            f"-Dquarkus.datasource.jdbc.url=jdbc:h2:file:{self.state_dir / 'registry'};DB_CLOSE_ON_EXIT=FALSE",
            "-Dregistry.sql.init=true",
            "-Dquarkus.log.level=WARN",
            "-jar",
            str(home / _RUNNER),
        ]
        self._process = subprocess.Popen(command, cwd=home, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ServiceError(f"Apicurio Registry exited with {self._process.returncode}: see {log.name}")
            if self.ready():
                return self
            time.sleep(0.5)
        self.stop()
        raise ServiceError(f"Apicurio Registry not ready after {timeout_s:.0f} s: see {log.name}")

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base}/health/ready", timeout=2) as response:  # noqa: S310
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)
        self._process = None

    def register(self, subject: str, schema: dict[str, Any]) -> int:
        """POST the schema under `subject` (Confluent API); the id the registry assigned."""
        body = json.dumps({"schema": json.dumps(schema), "schemaType": "AVRO"}).encode()
        request = urllib.request.Request(
            f"{self.url}/subjects/{subject}/versions",
            data=body,
            headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(json.loads(response.read())["id"])

    def __enter__(self) -> ApicurioRegistry:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
