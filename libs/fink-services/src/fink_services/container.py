"""Container mode: `python -m fink_services run kafka|hbase` runs one service in the foreground (the images'
entry point), and `python -m fink_services probe kafka|hbase` checks it with a real call (their HEALTHCHECK).

`run` writes the configs, formats the storage when needed, then runs the JVM(s) in the foreground: logs on
stdout/stderr (no log files), SIGTERM forwarded, and it exits as soon as a JVM exits (see foreground.py).
The configs come from the same builders as `./fink services up` (kafka.py, hbase.py).

Environment, both services:
    FINK_JARS_DIR           the jar groups `kafka/` and `hbase/` (images: /opt/fink/jars)
    FINK_DATA_DIR           data root (default /data): Kafka in <root>/kafka, HBase in <root>/hbase
    FINK_STATE_DIR          where the generated configs go (default: <tmp>/fink-services)
    FINK_SERVICES_TIMEOUT   seconds to wait for HBase's ZooKeeper before starting the gateway (default 180)

Kafka (KRaft; every node is broker + controller):
    FINK_KAFKA_NODE_ID              node.id (default 1)
    FINK_KAFKA_CONTROLLER_VOTERS    controller.quorum.voters (default `1@localhost:9093`; a 3-node cluster:
                                    `1@kafka1:9093,2@kafka2:9093,3@kafka3:9093`); must list this node
    FINK_KAFKA_CLUSTER_ID           the cluster id every node formats its storage with: the same on all
                                    nodes of a cluster (22 url-safe base64 characters, 16 bytes; default
                                    DEFAULT_CLUSTER_ID)
    FINK_KAFKA_LISTENERS            what the node binds (default `INTERNAL://0.0.0.0:29092,
                                    EXTERNAL://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093,USERS://0.0.0.0:9094`):
                                    INTERNAL for other containers and between brokers, EXTERNAL for the
                                    host (publish it on the host's loopback only), CONTROLLER for the KRaft
                                    quorum: PLAINTEXT, principal User:ANONYMOUS, the super user; USERS
                                    (optional) for users: SASL_PLAINTEXT with SCRAM-SHA-512, ACLs apply
                                    (kafka.py's docstring; `./fink users add` makes users)
    FINK_KAFKA_ADVERTISED_INTERNAL  INTERNAL as advertised (default `<hostname>:<INTERNAL port>`)
    FINK_KAFKA_ADVERTISED_EXTERNAL  EXTERNAL as advertised: the address the host reaches, i.e. the published
                                    port (default `127.0.0.1:9092`)
    FINK_KAFKA_ADVERTISED_USERS     USERS as advertised: its published address (default `127.0.0.1:9094`)
    FINK_KAFKA_REPLICATION          replication of new topics and of the internal topics (default 1; 3 in a
                                    3-node cluster, which also makes min.insync.replicas 2); at most the
                                    number of voters
    FINK_KAFKA_HEAP                 broker heap (default 512m); FINK_KAFKA_MAX_MESSAGE_BYTES (default 20 MiB)

HBase (standalone: HMaster + RegionServer + ZooKeeper in one JVM, plus our Thrift 1 gateway JVM):
    FINK_HBASE_HEAP             HBase heap (default 1g); FINK_HBASE_THRIFT_HEAP gateway heap (default 320m)
    FINK_HBASE_THRIFT_PORT      the gateway's port (default 9090), bound on FINK_HBASE_THRIFT_BIND (default
                                0.0.0.0); FINK_ZOOKEEPER_PORT (2181) and the master/regionserver ports as for `up`
    FINK_THRIFT_GATEWAY_JAR     the precompiled gateway (default /opt/fink/gateway/fink-thrift-gateway.jar);
                                when it is missing the gateway is compiled at start, which needs a JDK
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import socket
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from fink_services import hbase, kafka, kafka_wire
from fink_services.errors import ServiceError
from fink_services.foreground import Foreground, Stopped
from fink_services.java import Java, find_java
from fink_services.layout import ContainerLayout, default_jars_dir
from fink_services.log4j import console_config
from fink_services.process import port_open
from fink_services.settings import Settings
from fink_services.thrift import ThriftError

__all__ = [
    "CONTAINER_SERVICES",
    "DEFAULT_CLUSTER_ID",
    "DEFAULT_LISTENERS",
    "DEFAULT_GATEWAY_JAR",
    "KafkaNode",
    "container_layout",
    "parse_address",
    "run",
    "probe",
]

CONTAINER_SERVICES = ("kafka", "hbase")
#: url-safe base64 of b"fink-lite-kafka!" (16 bytes): a fixed id, so every node of a cluster agrees
DEFAULT_CLUSTER_ID = "Zmluay1saXRlLWthZmthIQ"
DEFAULT_LISTENERS = (
    "INTERNAL://0.0.0.0:29092,EXTERNAL://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093,USERS://0.0.0.0:9094"
)
#: the listeners every node has; USERS (kafka.USER_LISTENER, SASL/SCRAM) may be left out
LISTENER_NAMES = ("INTERNAL", "EXTERNAL", "CONTROLLER")
DEFAULT_GATEWAY_JAR = "/opt/fink/gateway/fink-thrift-gateway.jar"
STOP_GRACE = {"kafka": 30.0, "hbase": 60.0, "thrift": 10.0}


def parse_address(text: str) -> tuple[str, int]:
    """`host:port` -> (host, port); raises ValueError."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{text!r} is not host:port")
    return host, int(port)


def _valid_cluster_id(cid: str) -> bool:
    try:
        return len(cid) == 22 and not cid.startswith("-") and len(base64.urlsafe_b64decode(cid + "==")) == 16
    except (binascii.Error, ValueError):
        return False


@dataclass(frozen=True)
class KafkaNode:
    """One Kafka node of the container mode, from the FINK_KAFKA_* variables (module docstring)."""

    node_id: int
    voters: str
    cluster_id: str
    listeners: dict[str, str]
    advertised_internal: str
    advertised_external: str
    replication: int
    #: USERS as advertised; None when the node has no USERS listener
    advertised_users: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KafkaNode:
        """Reads and checks every variable; one ServiceError lists every problem."""
        env = os.environ if environ is None else environ
        problems: list[str] = []

        def get(var: str, default: str) -> str:
            return env.get(var) or default

        def integer(var: str, default: str, least: int) -> int:
            raw = get(var, default)
            if raw.strip().isdigit() and int(raw) >= least:
                return int(raw)
            problems.append(f"{var}={raw!r} is not an integer >= {least}")
            return least

        node_id = integer("FINK_KAFKA_NODE_ID", "1", 0)
        replication = integer("FINK_KAFKA_REPLICATION", "1", 1)
        voters = get("FINK_KAFKA_CONTROLLER_VOTERS", "1@localhost:9093")
        voter_ids = []
        for voter in voters.split(","):
            vid, at, address = voter.partition("@")
            try:
                parse_address(address)
                if not at or not vid.isdigit():
                    raise ValueError
                voter_ids.append(int(vid))
            except ValueError:
                problems.append(f"FINK_KAFKA_CONTROLLER_VOTERS: {voter!r} is not id@host:port")
        if voter_ids and node_id not in voter_ids:
            problems.append(f"FINK_KAFKA_CONTROLLER_VOTERS={voters!r} does not list this node (id {node_id})")
        if voter_ids and replication > len(voter_ids):
            problems.append(f"FINK_KAFKA_REPLICATION={replication} is more than the {len(voter_ids)} node(s) voting")
        cluster_id = get("FINK_KAFKA_CLUSTER_ID", DEFAULT_CLUSTER_ID)
        if not _valid_cluster_id(cluster_id):
            problems.append(f"FINK_KAFKA_CLUSTER_ID={cluster_id!r} is not 16 bytes in url-safe base64 (22 chars)")
        listeners: dict[str, str] = {}
        for item in get("FINK_KAFKA_LISTENERS", DEFAULT_LISTENERS).split(","):
            name, sep, address = item.partition("://")
            try:
                parse_address(address)
                listeners[name.strip()] = address.strip()
            except ValueError:
                problems.append(f"FINK_KAFKA_LISTENERS: {item!r} is not NAME://host:port")
        if listeners and sorted(set(listeners) - {kafka.USER_LISTENER}) != sorted(LISTENER_NAMES):
            problems.append(
                f"FINK_KAFKA_LISTENERS must name exactly {', '.join(LISTENER_NAMES)} (and optionally "
                f"{kafka.USER_LISTENER}), not {sorted(listeners)}"
            )
        internal_port = listeners.get("INTERNAL", ":29092").rpartition(":")[2]
        advertised: dict[str, str] = {}
        for var, default in (
            ("FINK_KAFKA_ADVERTISED_INTERNAL", f"{socket.gethostname()}:{internal_port}"),
            ("FINK_KAFKA_ADVERTISED_EXTERNAL", "127.0.0.1:9092"),
            ("FINK_KAFKA_ADVERTISED_USERS", "127.0.0.1:9094"),
        ):
            advertised[var] = get(var, default)
            try:
                parse_address(advertised[var])
            except ValueError as exc:
                problems.append(f"{var}: {exc}")
        if problems:
            raise ServiceError("invalid Kafka settings:\n" + "\n".join(f"  - {p}" for p in problems))
        return cls(
            node_id=node_id,
            voters=voters,
            cluster_id=cluster_id,
            listeners=listeners,
            advertised_internal=advertised["FINK_KAFKA_ADVERTISED_INTERNAL"],
            advertised_external=advertised["FINK_KAFKA_ADVERTISED_EXTERNAL"],
            replication=replication,
            advertised_users=advertised["FINK_KAFKA_ADVERTISED_USERS"] if kafka.USER_LISTENER in listeners else None,
        )

    def topology(self) -> kafka.Topology:
        return kafka.Topology(
            node_id=self.node_id,
            voters=self.voters,
            listeners=dict(self.listeners),
            advertised={
                "INTERNAL": self.advertised_internal,
                "EXTERNAL": self.advertised_external,
                **({kafka.USER_LISTENER: self.advertised_users} if self.advertised_users else {}),
            },
            inter_broker_listener="INTERNAL",
            replication=self.replication,
        )

    @property
    def probe_address(self) -> tuple[str, int]:
        """The EXTERNAL listener as reached from inside the container."""
        host, port = parse_address(self.listeners["EXTERNAL"])
        return ("127.0.0.1" if host in ("0.0.0.0", "::", "") else host), port


def container_layout(environ: Mapping[str, str] | None = None) -> ContainerLayout:
    env = os.environ if environ is None else environ
    state = env.get("FINK_STATE_DIR") or str(Path(tempfile.gettempdir()) / "fink-services")
    return ContainerLayout(state=Path(state), jars=default_jars_dir(), data=Path(env.get("FINK_DATA_DIR") or "/data"))


def _check_jars(layout: ContainerLayout, group: str) -> None:
    if not any(layout.jar_group(group).glob("*.jar")):
        raise ServiceError(f"no {group} jars in {layout.jar_group(group)} (FINK_JARS_DIR)")


def _container_settings(environ: Mapping[str, str] | None) -> Settings:
    # Inside the container the services talk to each other (and the probes to them) on loopback.
    return dataclasses.replace(Settings.from_env(environ), host="127.0.0.1")


def _run_kafka(fg: Foreground, environ: Mapping[str, str] | None) -> None:
    node = KafkaNode.from_env(environ)
    settings = _container_settings(environ)
    layout = container_layout(environ)
    _check_jars(layout, "kafka")
    java = find_java()
    kafka.write_configs(settings, layout, node.topology(), console_config(kafka.QUIET_LOGGERS))
    note = kafka.format_storage(java, layout, node.cluster_id)
    fg.say(f"kafka: {note or f'storage {layout.kafka_data} already formatted'}")
    fg.start("kafka", kafka.broker_command(java, settings, layout), STOP_GRACE["kafka"], cwd=str(layout.state))


def _hbase_shutdown(java: Java, settings: Settings, layout: ContainerLayout) -> Callable[[], None]:
    """The master's stop action: a clean cluster shutdown (hbase.shutdown_command), bounded in time."""

    def shutdown() -> None:
        try:
            proc = subprocess.run(
                hbase.shutdown_command(java, settings, layout), capture_output=True, text=True, timeout=30
            )
        except subprocess.TimeoutExpired:
            raise ServiceError("the cluster shutdown request got no answer within 30 s") from None
        if proc.returncode != 0:
            raise ServiceError(f"the cluster shutdown request failed: {(proc.stderr or proc.stdout).strip()[-500:]}")

    return shutdown


def _run_hbase(fg: Foreground, environ: Mapping[str, str] | None) -> None:
    env = os.environ if environ is None else environ
    settings = _container_settings(environ)
    layout = container_layout(environ)
    _check_jars(layout, "hbase")
    java = find_java()
    gateway = Path(env.get("FINK_THRIFT_GATEWAY_JAR") or DEFAULT_GATEWAY_JAR)
    hbase.prepare(settings, layout, console=True)
    if not gateway.exists():
        fg.say(f"thrift: no precompiled gateway at {gateway}: compiling it (needs javac)")
        gateway = hbase.build_gateway(java, layout)
    master = hbase.master_command(java, settings, layout)
    fg.start("hbase", master, STOP_GRACE["hbase"], cwd=str(layout.state), stop=_hbase_shutdown(java, settings, layout))
    fg.wait_until(
        lambda: port_open(settings.host, settings.zookeeper_port),
        settings.startup_timeout,
        f"waiting for HBase's ZooKeeper on port {settings.zookeeper_port}",
    )
    bind = env.get("FINK_HBASE_THRIFT_BIND") or "0.0.0.0"
    command = hbase.gateway_command(java, settings, layout, gateway, bind=bind)
    fg.start("thrift", command, STOP_GRACE["thrift"], cwd=str(layout.state))


def run(service: str, environ: Mapping[str, str] | None = None) -> int:
    """Runs `service` in the foreground until a stop signal or until one of its JVMs exits."""
    if service not in CONTAINER_SERVICES:
        raise ServiceError(f"unknown service {service!r}: one of {', '.join(CONTAINER_SERVICES)}")
    fg = Foreground()
    fg.install_signal_handlers()
    try:
        (_run_kafka if service == "kafka" else _run_hbase)(fg, environ)
    except Stopped:
        return fg.shutdown()
    except BaseException:
        fg.stop_all()
        raise
    return fg.supervise()


def probe(service: str, address: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """One real call to the service (Kafka: Metadata; HBase: Thrift getTableNames through the gateway).
    Default address: the container's own listener (Kafka's EXTERNAL; the gateway's port) on loopback.
    Returns what it saw; raises ServiceError when the service does not answer properly."""
    if service == "kafka":
        node = KafkaNode.from_env(environ)
        host, port = parse_address(address) if address else node.probe_address
        return kafka_wire.probe(host, port, node_id=None if address else node.node_id)
    if service == "hbase":
        settings = _container_settings(environ)
        if address:
            host, port = parse_address(address)
            settings = dataclasses.replace(settings, host=host, thrift_port=port)
        try:
            return hbase.probe(settings, timeout=10.0)
        except (OSError, ThriftError) as exc:
            raise ServiceError(f"hbase: thrift {settings.host}:{settings.thrift_port}: {exc}") from None
    raise ServiceError(f"unknown service {service!r}: one of {', '.join(CONTAINER_SERVICES)}")
