"""testcontainers fixtures for our service images, `fink/kafka` and `fink/hbase` (deploy/docker/kafka,
deploy/docker/hbase), built locally by Pants and never pulled.

A test module uses them by importing them: `from containers import hbase_container, kafka_container`.
- `kafka_container` yields the bootstrap address `127.0.0.1:<port>`: the container's EXTERNAL listener
  (9092) is published on a free host port and advertised as exactly that address, so every client works
  from the host.
- `hbase_container` yields the Thrift gateway's `(host, port)` for happybase.
- Both join the session's Docker network (`docker_network`) under the aliases `kafka` and `hbase`, so
  that stage containers reach them as `kafka:29092` (Kafka's INTERNAL listener) and `hbase:9090`.
Both wait until the image's own HEALTHCHECK (`python -m fink_services probe kafka|hbase`) says healthy.

Without Ryuk, a test process killed mid-session (e.g. Pants cancelling a run) leaves its containers
running: each container is labelled with its owner (host and pid), and the fixtures first remove those
whose owner is gone (`remove_orphans`).

Environment: TESTCONTAINERS_RYUK_DISABLED=true (Ryuk's image cannot be pulled here), and
TESTCONTAINERS_CONNECTION_MODE=docker_host + TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1 (this VM looks like a
container to testcontainers, which would otherwise use the bridge gateway); integration-tests/tests/BUILD
passes them.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from testcontainers.core.container import DockerContainer
from testcontainers.core.docker_client import DockerClient
from testcontainers.core.network import Network

from fink_services.process import is_alive

__all__ = [
    "KAFKA_PORT",
    "KAFKA_INTERNAL",
    "HBASE_INTERNAL",
    "THRIFT_PORT",
    "docker_network",
    "start_labelled",
    "read_version",
    "image_name",
    "hbase_image",
    "free_port",
    "wait_healthy",
    "remove_orphans",
    "kafka_container",
    "hbase_container",
]

KAFKA_PORT = 9092  # EXTERNAL listener
THRIFT_PORT = 9090
#: the addresses other containers of the session network use
KAFKA_INTERNAL = "kafka:29092"
HBASE_INTERNAL = f"hbase:{THRIFT_PORT}"
STARTUP_TIMEOUT = 240.0
#: "<hostname>:<pid>" of the test process that started the container
OWNER_LABEL = "fink.tests.owner"


def read_version(relative: str | Path) -> str:
    """A VERSION file of the repo (what an image tag is made of, as the BUILD files read it), from the current
    folder (the Pants sandbox, the repo root) or else from $FINK_REPO_ROOT."""
    relative = Path(relative)
    candidates = [relative, Path(os.environ.get("FINK_REPO_ROOT") or ".") / relative]
    version_file = next((c for c in candidates if c.is_file()), None)
    if version_file is None:
        pytest.fail(f"cannot find {relative}: run from the repo root or set FINK_REPO_ROOT", pytrace=False)
    return version_file.read_text().strip()


def image_name(service: str) -> str:
    """`fink/<service>:<version>`, the version read from `deploy/docker/<service>/VERSION`. Fails when the
    image is not on the local daemon: it is never pulled."""
    image = f"fink/{service}:{read_version(Path('deploy') / 'docker' / service / 'VERSION')}"
    if not DockerClient().client.images.list(name=image):
        pytest.fail(f"no local image {image}: build it with `./pants package deploy/docker/{service}:image`", pytrace=False)
    return image


def hbase_image(port: int) -> DockerContainer:
    """A (not yet started) fink/hbase container with its Thrift gateway published on 127.0.0.1:`port`."""
    return DockerContainer(image_name("hbase")).with_bind_ports(THRIFT_PORT, port).with_env("FINK_HBASE_HEAP", "1g")


def free_port() -> int:
    """A TCP port free on the host right now (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(container: DockerContainer, timeout: float = STARTUP_TIMEOUT) -> float:
    """Polls the container's HEALTHCHECK until healthy; returns the seconds it took. Fails fast (with the
    container's last log lines) when the container exits or turns unhealthy."""
    begin = time.monotonic()
    wrapped = container.get_wrapped_container()
    while True:
        wrapped.reload()
        state = wrapped.attrs["State"]
        health = (state.get("Health") or {}).get("Status")
        if health == "healthy":
            return time.monotonic() - begin
        problem = None
        if not state.get("Running"):
            problem = f"exited with status {state.get('ExitCode')}"
        elif health == "unhealthy":
            problem = f"unhealthy: {(state['Health'].get('Log') or [{}])[-1].get('Output', '').strip()}"
        elif time.monotonic() - begin > timeout:
            problem = f"not healthy after {timeout:.0f} s (health: {health})"
        if problem:
            logs = wrapped.logs(tail=40).decode("utf-8", "replace")
            pytest.fail(f"{container.image}: {problem}\n--- last log lines:\n{logs}", pytrace=False)
        time.sleep(0.5)


def remove_orphans() -> list[str]:
    """Removes the containers that test processes of this host started and left behind when they died."""
    removed = []
    for leftover in DockerClient().client.containers.list(all=True, filters={"label": OWNER_LABEL}):
        host, _, pid = leftover.labels.get(OWNER_LABEL, "").rpartition(":")
        if host == socket.gethostname() and pid.isdigit() and not is_alive(int(pid)):
            leftover.remove(force=True, v=True)
            removed.append(leftover.name)
    return removed


def start_labelled(container: DockerContainer, **kwargs: object) -> DockerContainer:
    """Start `container` labelled with this test process as its owner (see `remove_orphans`); `kwargs`
    go to docker's `containers.run` (e.g. `user=`)."""
    orphans = remove_orphans()
    if orphans:
        print(f"removed containers left by dead test processes: {', '.join(orphans)}")
    container.with_kwargs(labels={OWNER_LABEL: f"{socket.gethostname()}:{os.getpid()}"}, **kwargs)
    container.start()
    return container


def _started(container: DockerContainer) -> DockerContainer:
    start_labelled(container)
    took = wait_healthy(container)
    print(f"{container.image}: healthy {took:.1f} s after start")
    return container


@pytest.fixture(scope="session")
def docker_network() -> Iterator[Network]:
    """A user-defined bridge network for the session's containers (service names resolve on it)."""
    with Network() as network:
        yield network


@pytest.fixture(scope="session")
def kafka_container(docker_network: Network) -> Iterator[str]:
    """A one-node Kafka (KRaft) from fink/kafka; yields its bootstrap address `127.0.0.1:<port>`."""
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    container = (
        DockerContainer(image_name("kafka"))
        .with_bind_ports(KAFKA_PORT, port)
        .with_env("FINK_KAFKA_ADVERTISED_EXTERNAL", bootstrap)
        .with_env("FINK_KAFKA_ADVERTISED_INTERNAL", KAFKA_INTERNAL)
        .with_env("FINK_KAFKA_HEAP", "512m")
        .with_network(docker_network)
        .with_network_aliases("kafka")
    )
    try:
        _started(container)
        yield bootstrap
    finally:
        container.stop()


@pytest.fixture(scope="session")
def hbase_container(docker_network: Network) -> Iterator[tuple[str, int]]:
    """HBase standalone + the Thrift gateway from fink/hbase; yields the gateway's (host, port)."""
    port = free_port()
    container = hbase_image(port).with_network(docker_network).with_network_aliases("hbase")
    try:
        _started(container)
        yield "127.0.0.1", port
    finally:
        container.stop()
