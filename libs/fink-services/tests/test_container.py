"""Unit tests of the container mode: its settings, the Kafka topology it builds, the foreground supervision
of child processes, and the Kafka metadata probe against a fake broker."""

from __future__ import annotations

import signal
import socket
import socketserver
import struct
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from fink_services import cli, container, hbase, kafka, kafka_wire
from fink_services.errors import ServiceError
from fink_services.foreground import Foreground, exit_status
from fink_services.java import Java
from fink_services.layout import ContainerLayout
from fink_services.settings import Settings

JAVA = Java(java=Path("/usr/bin/java"), version=17, javac=None)
SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_kafka_node_defaults() -> None:
    node = container.KafkaNode.from_env({})
    assert (node.node_id, node.voters, node.replication) == (1, "1@localhost:9093", 1)
    assert node.cluster_id == container.DEFAULT_CLUSTER_ID and len(node.cluster_id) == 22
    assert node.advertised_external == "127.0.0.1:9092"
    assert node.advertised_internal == f"{socket.gethostname()}:29092"
    assert node.probe_address == ("127.0.0.1", 9092)


def test_three_node_cluster_properties(tmp_path: Path) -> None:
    env = {
        "FINK_KAFKA_NODE_ID": "2",
        "FINK_KAFKA_CONTROLLER_VOTERS": "1@kafka1:9093,2@kafka2:9093,3@kafka3:9093",
        "FINK_KAFKA_REPLICATION": "3",
        "FINK_KAFKA_ADVERTISED_INTERNAL": "kafka2:29092",
        "FINK_KAFKA_ADVERTISED_EXTERNAL": "127.0.0.1:19094",
    }
    node = container.KafkaNode.from_env(env)
    layout = ContainerLayout(state=tmp_path / "conf", jars=tmp_path / "jars", data=tmp_path / "data")
    props = kafka.server_properties(Settings(), layout, node.topology())
    assert props["node.id"] == "2"
    assert props["controller.quorum.voters"] == env["FINK_KAFKA_CONTROLLER_VOTERS"]
    assert props["listeners"] == (
        "INTERNAL://0.0.0.0:29092,EXTERNAL://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093,USERS://0.0.0.0:9094"
    )
    assert props["advertised.listeners"] == (
        "INTERNAL://kafka2:29092,EXTERNAL://127.0.0.1:19094,USERS://127.0.0.1:9094"
    )
    assert props["inter.broker.listener.name"] == "INTERNAL"
    assert props["listener.security.protocol.map"] == (
        "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT,USERS:SASL_PLAINTEXT"
    )
    for key in ("default.replication.factor", "offsets.topic.replication.factor", "transaction.state.log.replication.factor"):
        assert props[key] == "3"
    assert props["min.insync.replicas"] == props["transaction.state.log.min.isr"] == "2"
    assert props["log.dirs"] == str(tmp_path / "data" / "kafka")


def test_kafka_node_reports_every_problem() -> None:
    with pytest.raises(ServiceError) as err:
        container.KafkaNode.from_env(
            {
                "FINK_KAFKA_NODE_ID": "4",
                "FINK_KAFKA_CONTROLLER_VOTERS": "1@a:9093,2@b",
                "FINK_KAFKA_REPLICATION": "x",
                "FINK_KAFKA_CLUSTER_ID": "not-a-cluster-id",
                "FINK_KAFKA_LISTENERS": "INTERNAL://0.0.0.0:29092,EXTERNAL://0.0.0.0:9092",
                "FINK_KAFKA_ADVERTISED_EXTERNAL": "localhost",
            }
        )
    text = str(err.value)
    for needle in ("'2@b' is not id@host:port", "does not list this node (id 4)", "FINK_KAFKA_REPLICATION='x'",
                   "FINK_KAFKA_CLUSTER_ID", "must name exactly", "FINK_KAFKA_ADVERTISED_EXTERNAL"):  # fmt: skip
        assert needle in text
    with pytest.raises(ServiceError, match="more than the 1 node"):
        container.KafkaNode.from_env({"FINK_KAFKA_REPLICATION": "3"})


def test_container_layout_and_hbase_console_logs(tmp_path: Path) -> None:
    layout = container.container_layout(
        {"FINK_STATE_DIR": str(tmp_path / "conf"), "FINK_DATA_DIR": str(tmp_path / "data")}
    )
    assert layout.kafka_data == tmp_path / "data" / "kafka"
    assert layout.hbase_data.parent == layout.hbase_zookeeper.parent == tmp_path / "data" / "hbase"
    hbase.prepare(Settings(), layout, console=True)
    for name in ("log4j2.properties", "thrift-log4j2.properties"):
        text = (layout.hbase_conf / name).read_text()
        assert "SYSTEM_OUT" in text and "RollingFile" not in text
    site = hbase.hbase_site(Settings(), layout)
    assert site["hbase.rootdir"] == (tmp_path / "data" / "hbase" / "root").as_uri()
    stop = hbase.shutdown_command(JAVA, Settings(), layout)
    assert stop[-3:] == ["org.apache.hadoop.hbase.master.HMaster", "stop", "--shutDownCluster"]
    gateway = hbase.gateway_command(JAVA, Settings(), layout, Path("/opt/g.jar"), bind="0.0.0.0")
    assert gateway[-4:] == ["--bind", "0.0.0.0", "--port", "9090"] and "/opt/g.jar" in gateway[gateway.index("-cp") + 1]


def test_cli_checks_the_service_argument(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["run"], ["up", "kafka"], ["probe"], ["run", "kafka", "--address", "a:1"]):
        with pytest.raises(SystemExit) as exc:
            cli.main(argv)
        assert exc.value.code == 2
    assert cli.main(["probe", "kafka", "--address", "127.0.0.1:1"]) == 1
    assert "kafka: 127.0.0.1:1" in capsys.readouterr().err


# ---- foreground supervision ----
def test_a_child_exiting_stops_the_others_and_fails() -> None:
    fg = Foreground(say=lambda _: None)
    long = fg.start("long", SLEEPER, grace=5)
    fg.start("short", [sys.executable, "-c", "raise SystemExit(0)"], grace=5)
    assert fg.supervise() == 1  # a service that stops unasked is a failure
    assert exit_status(long.proc.returncode) in (0, 128 + signal.SIGTERM)


def test_a_stop_signal_stops_every_child_cleanly() -> None:
    fg = Foreground(say=lambda _: None)
    asked: list[str] = []

    def stop_first() -> None:
        asked.append("first")
        first.proc.terminate()

    first = fg.start("first", SLEEPER, grace=5, stop=stop_first)
    second = fg.start("second", SLEEPER, grace=5)
    fg._on_signal(signal.SIGTERM, None)
    assert fg.supervise() == 0
    assert asked == ["first"]
    assert first.proc.returncode is not None and second.proc.returncode is not None


def test_wait_until_fails_when_a_child_exits() -> None:
    fg = Foreground(say=lambda _: None)
    fg.start("dies", [sys.executable, "-c", "raise SystemExit(3)"], grace=5)
    with pytest.raises(ServiceError, match="dies: exited with status 3 while waiting"):
        fg.wait_until(lambda: False, timeout=30, what="waiting")


# ---- Kafka metadata probe ----
def _kafka_string(text: str) -> bytes:
    return struct.pack("!h", len(text)) + text.encode()


class FakeBroker(socketserver.BaseRequestHandler):
    """Answers ApiVersions v0 and Metadata v4 like a one-node cluster."""

    def handle(self) -> None:
        for _ in range(2):
            size = struct.unpack("!i", self.request.recv(4, socket.MSG_WAITALL))[0]
            data = self.request.recv(size, socket.MSG_WAITALL)
            api_key, _version, correlation = struct.unpack("!hhi", data[:8])
            if api_key == kafka_wire.API_VERSIONS:
                body = struct.pack("!hi", 0, 2) + struct.pack("!hhh", 18, 0, 4) + struct.pack("!hhh", 3, 0, 12)
            else:
                broker = struct.pack("!i", 7) + _kafka_string("kafka7") + struct.pack("!ih", 29092, -1)
                body = struct.pack("!ii", 0, 1) + broker + _kafka_string("cid") + struct.pack("!ii", 7, 0)
            reply = struct.pack("!i", correlation) + body
            self.request.sendall(struct.pack("!i", len(reply)) + reply)


@pytest.fixture()
def fake_broker() -> Iterator[int]:
    server = socketserver.TCPServer(("127.0.0.1", 0), FakeBroker)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_metadata_probe(fake_broker: int) -> None:
    meta = kafka_wire.fetch_metadata("127.0.0.1", fake_broker)
    assert meta == kafka_wire.ClusterMetadata("cid", 7, [kafka_wire.Broker(7, "kafka7", 29092)])


def test_metadata_probe_wants_its_node(fake_broker: int) -> None:
    assert "1 broker(s) [7@kafka7:29092]" in kafka_wire.probe("127.0.0.1", fake_broker, node_id=7)


def test_metadata_probe_fails_without_the_node(fake_broker: int) -> None:
    with pytest.raises(ServiceError, match=r"node 1 is not among the live brokers \[7\]"):
        kafka_wire.probe("127.0.0.1", fake_broker, node_id=1)
