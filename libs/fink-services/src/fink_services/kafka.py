"""Apache Kafka in KRaft mode (one JVM: broker + controller): config, storage format, launch, probe.

`./fink services up` runs one node on 127.0.0.1 (`Topology.local`); the container mode (container.py) runs
one node of a 1..n node cluster with INTERNAL/EXTERNAL/CONTROLLER/USERS listeners: both use the builders here.

Security (`server_properties`): the KRaft `StandardAuthorizer` is on and denies what no ACL allows. Two
kinds of listeners:
- PLAINTEXT ones (local: PLAINTEXT 9092 and CONTROLLER 9093 on 127.0.0.1; containers: INTERNAL 29092 on the
  Docker network, EXTERNAL published on the host's loopback, CONTROLLER): their principal is `User:ANONYMOUS`,
  the only super user. The stages, datasim, the demo, the tools and the other brokers/controllers connect
  there, so nothing changes for them; these listeners must never be reachable from outside the host or the
  container network.
- the USERS listener (SASL_PLAINTEXT, SCRAM-SHA-512 only; local 127.0.0.1:9094, FINK_KAFKA_SASL_PORT): the
  principal is `User:<name>`, with the credentials and ACLs that `./fink users add` creates (fink_cli.users).
"""

from __future__ import annotations

import base64
import subprocess
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from fink_services.errors import ServiceError
from fink_services.java import Java, classpath, jvm_base_flags, tool_command
from fink_services.layout import Layout
from fink_services.log4j import rolling_file_config, stderr_config
from fink_services.settings import Settings

__all__ = [
    "SERVICE",
    "PROBE_TOPIC",
    "USER_LISTENER",
    "SCRAM_MECHANISM",
    "SUPER_USER",
    "AUTHORIZER",
    "QUIET_LOGGERS",
    "Topology",
    "security_properties",
    "server_properties",
    "render_properties",
    "new_cluster_id",
    "write_configs",
    "format_storage",
    "prepare",
    "broker_command",
    "topic_command",
    "probe",
]

SERVICE = "kafka"
PROBE_TOPIC = "fink-services-probe"
NODE_ID = 1
#: the SASL_PLAINTEXT listener of the users (SCRAM); every other listener is PLAINTEXT
USER_LISTENER = "USERS"
SCRAM_MECHANISM = "SCRAM-SHA-512"
#: the principal of every PLAINTEXT listener (stages, tools, inter-broker and controller traffic)
SUPER_USER = "User:ANONYMOUS"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
QUIET_LOGGERS = {"kafka.request.logger": "WARN", "kafka.authorizer.logger": "WARN", "state.change.logger": "WARN"}


@dataclass(frozen=True)
class Topology:
    """Who this node is in its cluster and how it is reached. Every node is broker + controller."""

    node_id: int
    #: controller.quorum.voters: "1@host1:9093,2@host2:9093,..."
    voters: str
    #: listener name -> host:port it binds; one must be "CONTROLLER"; USER_LISTENER (if any) is
    #: SASL_PLAINTEXT with SCRAM, every other one PLAINTEXT
    listeners: Mapping[str, str]
    #: client listener name -> host:port advertised to clients (the CONTROLLER is never advertised)
    advertised: Mapping[str, str] = field(default_factory=dict)
    inter_broker_listener: str = "PLAINTEXT"
    #: replicas of new topics and of the internal topics (offsets, transactions, share state)
    replication: int = 1

    @classmethod
    def local(cls, settings: Settings) -> Topology:
        """One node on `settings.host`: PLAINTEXT for the stages, USERS (SASL/SCRAM) for users, CONTROLLER
        for the quorum of one."""
        plaintext = f"{settings.host}:{settings.kafka_port}"
        controller = f"{settings.host}:{settings.kafka_controller_port}"
        users = settings.kafka_sasl_bootstrap
        return cls(
            node_id=NODE_ID,
            voters=f"{NODE_ID}@{controller}",
            listeners={"PLAINTEXT": plaintext, "CONTROLLER": controller, USER_LISTENER: users},
            advertised={"PLAINTEXT": plaintext, USER_LISTENER: users},
        )

    def protocol(self, listener: str) -> str:
        return "SASL_PLAINTEXT" if listener == USER_LISTENER else "PLAINTEXT"

    @property
    def min_insync_replicas(self) -> int:
        """2 once there are 3 replicas (one node may be down and acks=all still works), else 1."""
        return 2 if self.replication >= 3 else 1


def security_properties(topology: Topology) -> dict[str, str]:
    """Authorizer, super user and the SCRAM listener (module docstring). ACLs decide everything on the USERS
    listener; `User:ANONYMOUS`, the principal of the PLAINTEXT listeners, is the super user."""
    props = {
        "authorizer.class.name": AUTHORIZER,
        "allow.everyone.if.no.acl.found": "false",
        "super.users": SUPER_USER,
        "sasl.enabled.mechanisms": SCRAM_MECHANISM,
    }
    if USER_LISTENER in topology.listeners:
        prefix = f"listener.name.{USER_LISTENER.lower()}"
        props[f"{prefix}.sasl.enabled.mechanisms"] = SCRAM_MECHANISM
        # the broker side of SCRAM needs a login module but no user of its own (not used between brokers)
        props[f"{prefix}.{SCRAM_MECHANISM.lower()}.sasl.jaas.config"] = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        )
    return props


def server_properties(settings: Settings, layout: Layout, topology: Topology | None = None) -> dict[str, str]:
    """The broker's server.properties. The ONE place to change the broker's config."""
    t = topology or Topology.local(settings)
    if t.protocol(t.inter_broker_listener) != "PLAINTEXT" or t.protocol("CONTROLLER") != "PLAINTEXT":
        raise ServiceError(f"the inter-broker and controller listeners must not be {USER_LISTENER}")
    protocols = {name: t.protocol(name) for name in t.listeners}
    max_bytes = str(settings.kafka_max_message_bytes)
    replicas, min_isr = str(t.replication), str(t.min_insync_replicas)
    return {
        # KRaft: every node is broker and controller
        "process.roles": "broker,controller",
        "node.id": str(t.node_id),
        "controller.quorum.voters": t.voters,
        "controller.listener.names": "CONTROLLER",
        "listeners": ",".join(f"{name}://{addr}" for name, addr in t.listeners.items()),
        "advertised.listeners": ",".join(f"{name}://{addr}" for name, addr in t.advertised.items()),
        "inter.broker.listener.name": t.inter_broker_listener,
        "listener.security.protocol.map": ",".join(f"{k}:{v}" for k, v in protocols.items()),
        "log.dirs": str(layout.kafka_data),
        # topics: explicit creation only, one partition unless asked otherwise
        "auto.create.topics.enable": "false",
        "num.partitions": "1",
        "default.replication.factor": replicas,
        "min.insync.replicas": min_isr,
        # alert payloads (ZTF/LSST alerts with cutouts) up to ~20 MB
        "message.max.bytes": max_bytes,
        "replica.fetch.max.bytes": max_bytes,
        # internal topics (transactional producers and consumer groups are used)
        "offsets.topic.replication.factor": replicas,
        "offsets.topic.num.partitions": "1",
        "transaction.state.log.replication.factor": replicas,
        "transaction.state.log.min.isr": min_isr,
        "transaction.state.log.num.partitions": "1",
        "share.coordinator.state.topic.replication.factor": replicas,
        "share.coordinator.state.topic.min.isr": min_isr,
        "group.initial.rebalance.delay.ms": "0",
        # a dev broker: keep a week, small segments so that retention can act
        "log.retention.hours": "168",
        "log.segment.bytes": str(256 * 1024 * 1024),
        "num.network.threads": "2",
        "num.io.threads": "4",
        **security_properties(t),
    }


def render_properties(props: Mapping[str, str], header: str = "") -> str:
    lines = [f"# {line}" for line in header.splitlines()]
    for key, value in props.items():
        escaped = value.replace("\\", "\\\\").replace("\n", "\\n")
        lines.append(f"{key}={escaped}")
    return "\n".join(lines) + "\n"


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, url-safe base64 without padding (as `kafka-storage random-uuid`)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):  # would read as an option on a command line
            return cid


def _tool_flags(java: Java, layout: Layout) -> list[str]:
    return [
        *tool_command(java),
        f"-Dlog4j2.configurationFile={layout.kafka / 'tools-log4j2.properties'}",
        "-cp",
        classpath(layout.jar_group("kafka") / "*"),
    ]


def write_configs(
    settings: Settings, layout: Layout, topology: Topology | None = None, log_config: str | None = None
) -> None:
    """Writes server.properties, the broker's log4j2 config (default: a rolled file in the logs dir) and
    the configs of Kafka's command-line tools."""
    for d in (layout.kafka, layout.kafka_data, layout.logs):
        d.mkdir(parents=True, exist_ok=True)
    layout.kafka_config.write_text(
        render_properties(
            server_properties(settings, layout, topology), "generated by fink_services at each start: edit kafka.py"
        )
    )
    if log_config is None:
        log_config = rolling_file_config(layout.log_file(SERVICE), QUIET_LOGGERS)
    (layout.kafka / "log4j2.properties").write_text(log_config)
    (layout.kafka / "tools-log4j2.properties").write_text(stderr_config())
    (layout.kafka / "tools-client.properties").write_text(
        render_properties({"request.timeout.ms": "15000", "default.api.timeout.ms": "30000"})
    )


def format_storage(java: Java, layout: Layout, cluster_id: str) -> str | None:
    """Formats the storage dir (`kafka-storage format`) unless it already is; returns a note when it did.
    Needs the configs from `write_configs`."""
    if (layout.kafka_data / "meta.properties").is_file():
        return None
    cmd = [
        *_tool_flags(java, layout),
        "kafka.tools.StorageTool",
        "format",
        "--ignore-formatted",
        "-t",
        cluster_id,
        "-c",
        str(layout.kafka_config),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        raise ServiceError(f"kafka: formatting {layout.kafka_data} took more than 120 s") from None
    if proc.returncode != 0:
        raise ServiceError(f"kafka: formatting {layout.kafka_data} failed:\n{(proc.stderr or proc.stdout)[-3000:]}")
    return f"formatted {layout.kafka_data} (cluster id {cluster_id})"


def prepare(java: Java, settings: Settings, layout: Layout) -> str | None:
    """The local node: writes the configs; formats the storage dir the first time, with a cluster id made
    once and kept in the state dir. Returns a note when it formatted."""
    write_configs(settings, layout)
    if (layout.kafka_data / "meta.properties").is_file():
        return None
    if layout.kafka_cluster_id.is_file():
        cluster_id = layout.kafka_cluster_id.read_text().strip()
    else:
        cluster_id = new_cluster_id()
        layout.kafka_cluster_id.write_text(cluster_id + "\n")
    return format_storage(java, layout, cluster_id)


def broker_command(java: Java, settings: Settings, layout: Layout) -> list[str]:
    return [
        str(java.java),
        *jvm_base_flags(SERVICE, layout.state, settings.kafka_heap),
        f"-Dlog4j2.configurationFile={layout.kafka / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={layout.logs}",
        "-cp",
        classpath(layout.jar_group("kafka") / "*"),
        "kafka.Kafka",
        str(layout.kafka_config),
    ]


def topic_command(java: Java, settings: Settings, layout: Layout, *args: str) -> list[str]:
    """Kafka's own kafka-topics tool (org.apache.kafka.tools.TopicCommand from kafka-tools)."""
    return [
        *_tool_flags(java, layout),
        "org.apache.kafka.tools.TopicCommand",
        "--bootstrap-server",
        settings.kafka_bootstrap,
        "--command-config",
        str(layout.kafka / "tools-client.properties"),
        *args,
    ]


def probe(java: Java, settings: Settings, layout: Layout, timeout: float = 60.0) -> str:
    """Creates the probe topic (if needed) and lists the topics with Kafka's own tool; raises on failure."""
    create = topic_command(
        java,
        settings,
        layout,
        "--create",
        "--if-not-exists",
        "--topic",
        PROBE_TOPIC,
        "--partitions",
        "1",
        "--replication-factor",
        "1",
    )
    listing = topic_command(java, settings, layout, "--list")
    for cmd in (create, listing):
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ServiceError(f"kafka-topics did not answer within {timeout:.0f} s") from None
        if proc.returncode != 0:
            raise ServiceError(f"kafka-topics failed: {(proc.stderr or proc.stdout).strip()[-800:]}")
    topics = proc.stdout.split()
    if PROBE_TOPIC not in topics:
        raise ServiceError(f"kafka-topics --list does not show {PROBE_TOPIC}: {topics}")
    return f"topic {PROBE_TOPIC} created and listed"
