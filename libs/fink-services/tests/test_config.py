"""Unit tests of the generated configs and commands (no JVM started)."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fink_services import hbase, kafka
from fink_services.errors import ServiceError
from fink_services.java import Java
from fink_services.layout import Layout
from fink_services.log4j import rolling_file_config, stderr_config
from fink_services.settings import Settings

JAVA = Java(java=Path("/usr/bin/java"), version=17, javac=Path("/usr/bin/javac"))


@pytest.fixture()
def layout(tmp_path: Path) -> Layout:
    return Layout(state=tmp_path / "state", jars=tmp_path / "jars")


def parse_properties(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.split("=", 1)
            out[key] = value
    return out


def test_kafka_defaults(layout: Layout) -> None:
    props = kafka.server_properties(Settings(), layout)
    assert props["process.roles"] == "broker,controller"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093,USERS://127.0.0.1:9094"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9092,USERS://127.0.0.1:9094"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert props["log.dirs"] == str(layout.state / "kafka" / "data")
    assert props["auto.create.topics.enable"] == "false"
    assert props["num.partitions"] == "1"
    assert int(props["message.max.bytes"]) == 20 * 1024 * 1024
    assert props["replica.fetch.max.bytes"] == props["message.max.bytes"]
    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
    ):
        assert props[key] == "1"
    assert props["group.initial.rebalance.delay.ms"] == "0"


def test_kafka_ports_from_env(layout: Layout) -> None:
    settings = Settings.from_env(
        {"FINK_KAFKA_PORT": "19092", "FINK_KAFKA_CONTROLLER_PORT": "19093", "FINK_KAFKA_SASL_PORT": "19094"}
    )
    props = kafka.server_properties(settings, layout)
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093,USERS://127.0.0.1:19094"
    assert settings.kafka_bootstrap == "127.0.0.1:19092"
    assert settings.kafka_sasl_bootstrap == "127.0.0.1:19094"


def test_rendered_properties_round_trip(layout: Layout) -> None:
    props = kafka.server_properties(Settings(), layout)
    text = kafka.render_properties(props, "a header\nsecond line")
    assert text.startswith("# a header\n# second line\n")
    assert parse_properties(text) == props


def test_settings_problems_are_all_reported() -> None:
    with pytest.raises(ServiceError) as err:
        Settings.from_env({"FINK_KAFKA_PORT": "abc", "FINK_HBASE_THRIFT_PORT": "70000"})
    assert "FINK_KAFKA_PORT='abc'" in str(err.value)
    assert "70000 is not a TCP port" in str(err.value)
    with pytest.raises(ServiceError, match="are both 9092"):
        Settings.from_env({"FINK_HBASE_THRIFT_PORT": "9092"})


def test_cluster_id_is_kraft_shaped() -> None:
    for _ in range(50):
        cid = kafka.new_cluster_id()
        assert len(cid) == 22 and not cid.startswith("-")
        assert len(base64.urlsafe_b64decode(cid + "==")) == 16


def test_broker_command(layout: Layout) -> None:
    cmd = kafka.broker_command(JAVA, Settings(), layout)
    assert cmd[0] == "/usr/bin/java"
    assert "-Xmx512m" in cmd and "-Xms512m" in cmd
    assert "-Dfink.service=kafka" in cmd and f"-Dfink.state={layout.state}" in cmd
    assert cmd[-2:] == ["kafka.Kafka", str(layout.kafka_config)]
    assert cmd[cmd.index("-cp") + 1] == str(layout.jars / "kafka" / "*")


def test_topic_command_uses_kafkas_tool(layout: Layout) -> None:
    cmd = kafka.topic_command(JAVA, Settings(), layout, "--list")
    assert "org.apache.kafka.tools.TopicCommand" in cmd
    assert cmd[-1] == "--list" and "127.0.0.1:9092" in cmd


def test_hbase_site(layout: Layout) -> None:
    props = hbase.hbase_site(Settings.from_env({"FINK_ZOOKEEPER_PORT": "12181"}), layout)
    assert props["hbase.cluster.distributed"] == "false"
    assert props["hbase.rootdir"] == f"file://{layout.state}/hbase/data"
    assert props["hbase.zookeeper.property.clientPort"] == "12181"
    assert props["hbase.zookeeper.property.dataDir"] == str(layout.state / "hbase" / "zookeeper")
    assert props["hbase.unsafe.stream.capability.enforce"] == "false"
    assert props["hbase.master.info.port"] == props["hbase.regionserver.info.port"] == "-1"


def test_hbase_site_xml_is_valid_and_escaped() -> None:
    xml = hbase.render_hbase_site({"a.b": "x<y&z", "c": "1"})
    root = ET.fromstring(xml)
    found = {p.findtext("name"): p.findtext("value") for p in root.iter("property")}
    assert found == {"a.b": "x<y&z", "c": "1"}


def test_hbase_and_gateway_commands(layout: Layout) -> None:
    settings = Settings()
    master = hbase.master_command(JAVA, settings, layout)
    assert "-Xmx1g" in master and "-Dfink.service=hbase" in master
    assert master[-2:] == ["org.apache.hadoop.hbase.master.HMaster", "start"]
    assert any(flag.startswith("--add-opens=java.base/java.nio") for flag in master)
    gateway = hbase.gateway_command(JAVA, settings, layout, layout.gateway / "classes-x")
    assert "-Dfink.service=thrift" in gateway and "-Xmx320m" in gateway
    assert gateway[gateway.index("--port") + 1] == "9090"
    assert str(layout.gateway / "classes-x") in gateway[gateway.index("-cp") + 1]


def test_gateway_sources_are_packaged() -> None:
    sources = {name: text.decode() for name, text in hbase._gateway_sources().items()}
    assert "public final class FinkThriftGateway" in sources["FinkThriftGateway.java"]
    for method in ("getTableNames", "createTable", "mutateRows", "scannerOpenWithScan", "scannerGetList"):
        assert f'"{method}"' in sources["HBaseCalls.java"]


def test_prepare_writes_configs(layout: Layout) -> None:
    hbase.prepare(Settings(), layout)
    assert ET.parse(layout.hbase_conf / "hbase-site.xml").getroot().tag == "configuration"
    assert str(layout.logs / "hbase.log") in (layout.hbase_conf / "log4j2.properties").read_text()


def test_log4j_configs() -> None:
    text = rolling_file_config(Path("/x/kafka.log"), {"a.b": "WARN"})
    assert "appender.file.fileName = /x/kafka.log" in text
    assert "logger.l0.name = a.b" in text and "logger.l0.level = WARN" in text
    assert "SYSTEM_ERR" in stderr_config()
