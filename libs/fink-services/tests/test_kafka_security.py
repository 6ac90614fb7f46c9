"""The broker's security config (no JVM started): the SASL/SCRAM USERS listener beside the PLAINTEXT ones,
the StandardAuthorizer, the super user, in the local mode and in the container mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from fink_services import container, kafka
from fink_services.errors import ServiceError
from fink_services.layout import ContainerLayout, Layout
from fink_services.settings import Settings
from fink_services.supervisor import Supervisor

SECURITY = {
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "allow.everyone.if.no.acl.found": "false",
    "super.users": "User:ANONYMOUS",
    "sasl.enabled.mechanisms": "SCRAM-SHA-512",
    "listener.name.users.sasl.enabled.mechanisms": "SCRAM-SHA-512",
    "listener.name.users.scram-sha-512.sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule required;",
}


@pytest.fixture()
def layout(tmp_path: Path) -> Layout:
    return Layout(state=tmp_path / "state", jars=tmp_path / "jars")


def test_local_broker_has_a_scram_listener_and_an_authorizer(layout: Layout) -> None:
    props = kafka.server_properties(Settings(), layout)
    assert props["listener.security.protocol.map"] == "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,USERS:SASL_PLAINTEXT"
    # the stages' listener is unchanged and stays the inter-broker one; the controller is never advertised
    assert props["inter.broker.listener.name"] == "PLAINTEXT"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9092,USERS://127.0.0.1:9094"
    assert {k: props[k] for k in SECURITY} == SECURITY
    # transactions and consumer groups keep their settings
    assert props["transaction.state.log.replication.factor"] == props["offsets.topic.replication.factor"] == "1"


def test_sasl_port_setting(layout: Layout) -> None:
    settings = Settings.from_env({"FINK_KAFKA_SASL_PORT": "39094"})
    assert settings.kafka_sasl_bootstrap == "127.0.0.1:39094"
    assert "USERS://127.0.0.1:39094" in kafka.server_properties(settings, layout)["listeners"]
    with pytest.raises(ServiceError, match="FINK_KAFKA_SASL_PORT and FINK_KAFKA_PORT are both 9092"):
        Settings.from_env({"FINK_KAFKA_SASL_PORT": "9092"})
    with pytest.raises(ServiceError, match="FINK_KAFKA_SASL_PORT=0 is not a TCP port"):
        Settings.from_env({"FINK_KAFKA_SASL_PORT": "0"})


def test_supervisor_checks_and_records_the_sasl_port(layout: Layout) -> None:
    ports = Supervisor(layout, Settings(), out=lambda _: None).ports("kafka")
    assert ports == {9092: "FINK_KAFKA_PORT", 9093: "FINK_KAFKA_CONTROLLER_PORT", 9094: "FINK_KAFKA_SASL_PORT"}


def test_the_users_listener_cannot_carry_broker_traffic(layout: Layout) -> None:
    topology = kafka.Topology(
        node_id=1,
        voters="1@h:9093",
        listeners={"USERS": "h:9094", "CONTROLLER": "h:9093"},
        advertised={"USERS": "h:9094"},
        inter_broker_listener="USERS",
    )
    with pytest.raises(ServiceError, match="must not be USERS"):
        kafka.server_properties(Settings(), layout, topology)


def test_container_node_has_the_users_listener(tmp_path: Path) -> None:
    node = container.KafkaNode.from_env(
        {
            "FINK_KAFKA_NODE_ID": "3",
            "FINK_KAFKA_CONTROLLER_VOTERS": "1@kafka:9093,2@kafka2:9093,3@kafka3:9093",
            "FINK_KAFKA_REPLICATION": "3",
            "FINK_KAFKA_ADVERTISED_INTERNAL": "kafka3:29092",
            "FINK_KAFKA_ADVERTISED_EXTERNAL": "127.0.0.1:19094",
            "FINK_KAFKA_ADVERTISED_USERS": "127.0.0.1:19098",
        }
    )
    layout = ContainerLayout(state=tmp_path / "conf", jars=tmp_path / "jars", data=tmp_path / "data")
    props = kafka.server_properties(Settings(), layout, node.topology())
    assert props["advertised.listeners"] == "INTERNAL://kafka3:29092,EXTERNAL://127.0.0.1:19094,USERS://127.0.0.1:19098"
    assert props["listener.security.protocol.map"].endswith(",USERS:SASL_PLAINTEXT")
    assert "INTERNAL:PLAINTEXT" in props["listener.security.protocol.map"]
    assert props["inter.broker.listener.name"] == "INTERNAL"
    assert {k: props[k] for k in SECURITY} == SECURITY
    assert node.probe_address == ("127.0.0.1", 9092)  # the healthcheck stays on the PLAINTEXT listener


def test_container_users_listener_defaults_and_is_optional(tmp_path: Path) -> None:
    node = container.KafkaNode.from_env({})
    assert node.listeners["USERS"] == "0.0.0.0:9094" and node.advertised_users == "127.0.0.1:9094"
    without = container.KafkaNode.from_env(
        {"FINK_KAFKA_LISTENERS": "INTERNAL://0.0.0.0:29092,EXTERNAL://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093"}
    )
    assert without.advertised_users is None
    layout = ContainerLayout(state=tmp_path / "conf", jars=tmp_path / "jars", data=tmp_path / "data")
    props = kafka.server_properties(Settings(), layout, without.topology())
    assert "USERS" not in props["listeners"] and "listener.name.users.sasl.enabled.mechanisms" not in props
    assert props["authorizer.class.name"] == SECURITY["authorizer.class.name"]  # ACLs still apply
    with pytest.raises(ServiceError, match="FINK_KAFKA_ADVERTISED_USERS"):
        container.KafkaNode.from_env({"FINK_KAFKA_ADVERTISED_USERS": "no-port"})
