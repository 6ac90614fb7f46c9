"""Tests against the REAL local services. They never skip: when the services are down they fail and say
to run `./fink services up` (state dir: $FINK_STATE_DIR, else <repo>/.fink)."""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys

import pytest

from fink_services import kafka
from fink_services.errors import ServiceError
from fink_services.java import find_java
from fink_services.layout import Layout
from fink_services.process import is_ours
from fink_services.settings import Settings
from fink_services.supervisor import SERVICES, Supervisor
from fink_services.thrift import get_table_names


@pytest.fixture(scope="module")
def supervisor() -> Supervisor:
    try:
        sup = Supervisor(Layout.default(), Settings.from_env(), out=lambda _: None)
    except ServiceError as exc:
        pytest.fail(f"{exc} (the services themselves start with `./fink services up`)", pytrace=False)
    unhealthy = [f"{s.name}: {s.detail}" for s in sup.status() if not s.healthy]
    if unhealthy:
        pytest.fail(
            f"the local services are not up in {sup.layout.state} ({'; '.join(unhealthy)}): "
            "run `./fink services up` first",
            pytrace=False,
        )
    return sup


def test_status_reports_every_service_running_with_its_pid(supervisor: Supervisor) -> None:
    statuses = {s.name: s for s in supervisor.status()}
    assert set(statuses) == set(SERVICES)
    for name, status in statuses.items():
        assert status.running and status.answering, status
        assert status.pid and is_ours(status.pid, name, supervisor.layout.state)


def kafka_api_versions(host: str, port: int) -> tuple[int, int, int]:
    """A hand-encoded Kafka ApiVersions v0 request; returns (correlation id, error code, number of APIs)."""
    client_id = b"fink-services-test"
    body = struct.pack("!hhi", 18, 0, 4242) + struct.pack("!h", len(client_id)) + client_id
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(struct.pack("!i", len(body)) + body)
        size = struct.unpack("!i", sock.recv(4, socket.MSG_WAITALL))[0]
        data = b""
        while len(data) < size:
            chunk = sock.recv(size - len(data))
            assert chunk, "the broker closed the connection"
            data += chunk
    correlation, error, count = struct.unpack("!ihi", data[:10])
    return correlation, error, count


def test_kafka_port_answers_the_kafka_protocol(supervisor: Supervisor) -> None:
    correlation, error, count = kafka_api_versions(supervisor.settings.host, supervisor.settings.kafka_port)
    assert (correlation, error) == (4242, 0)
    assert count > 20  # a real broker lists dozens of APIs


def test_kafka_topics_tool_creates_and_lists_the_probe_topic(supervisor: Supervisor) -> None:
    note = kafka.probe(find_java(), supervisor.settings, supervisor.layout)
    assert kafka.PROBE_TOPIC in note


def test_thrift_lists_tables(supervisor: Supervisor) -> None:
    names = get_table_names(supervisor.settings.host, supervisor.settings.thrift_port, timeout=30)
    assert isinstance(names, list) and all(isinstance(n, bytes) for n in names)


def test_second_up_is_a_no_op(supervisor: Supervisor) -> None:
    before = {s.name: s.pid for s in supervisor.status()}
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), FINK_STATE_DIR=str(supervisor.layout.state)
    )
    proc = subprocess.run(
        [sys.executable, "-m", "fink_services", "up"], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    for name in SERVICES:
        assert f"{name}: already running (pid {before[name]}" in proc.stdout
    assert "nothing to do" in proc.stdout
    assert {s.name: s.pid for s in supervisor.status()} == before
