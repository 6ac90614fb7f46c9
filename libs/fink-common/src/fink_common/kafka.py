"""Kafka helpers over confluent-kafka: producer, consumer and admin, with one place for client settings.

Every helper takes optional `credentials` (fink_common.credentials.KafkaCredentials): a user's client on
the SASL/SCRAM listener passes them (`KafkaCredentials.from_file(path)`, or `KafkaConfig.from_env(...)`
with FINK_KAFKA_CREDENTIALS or FINK_KAFKA_USERNAME/PASSWORD); the stages, on the internal PLAINTEXT
listener, pass none. `client_config` returns a `ClientConfig`, a dict whose repr/str mask every secret,
so logging a client's settings never shows a password (`redacted` gives the masked copy).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from fink_common.config import KafkaConfig
from fink_common.credentials import MASK, SENSITIVE_KEYS, KafkaCredentials
from fink_common.errors import ServiceError, ServiceUnavailableError

__all__ = [
    "FINGERPRINT_HEADER",
    "ClientConfig",
    "redacted",
    "client_config",
    "config_client",
    "make_producer",
    "make_consumer",
    "make_admin",
    "ensure_topics",
    "list_topics",
    "delete_topics",
    "topic_message_count",
]

#: Kafka header of every distributed alert message: the schema fingerprint (16 hex digits,
#: `fink_common.schema.schema_fingerprint`) of its value's schema. The distribution stage writes it; clients read it.
FINGERPRINT_HEADER = "fink-schema-fingerprint"


def redacted(conf: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of client settings with every secret (sasl.password, sasl.jaas.config...) masked."""
    return {key: (MASK if key in SENSITIVE_KEYS and value else value) for key, value in conf.items()}


class ClientConfig(dict[str, Any]):
    """librdkafka settings; repr/str mask the secrets, so the config may be logged as it is."""

    def __repr__(self) -> str:
        return f"ClientConfig({redacted(self)!r})"

    __str__ = __repr__


def client_config(
    bootstrap: str, extra: Mapping[str, Any] | None = None, *, credentials: KafkaCredentials | None = None
) -> ClientConfig:
    """Base librdkafka settings shared by every client, plus the SASL settings of `credentials`; `extra` wins."""
    conf = ClientConfig({"bootstrap.servers": bootstrap})
    if credentials is not None:
        conf.update(credentials.client_settings())
    conf.update(extra or {})
    return conf


def config_client(config: KafkaConfig, extra: Mapping[str, Any] | None = None) -> ClientConfig:
    """`client_config` for a KafkaConfig: its bootstrap and its credentials, if any."""
    return client_config(config.bootstrap, extra, credentials=config.credentials)


def make_producer(
    bootstrap: str, extra: Mapping[str, Any] | None = None, *, credentials: KafkaCredentials | None = None
) -> Producer:
    """A producer tuned for alert payloads (~50-70 kB): idempotent, compressed, batched."""
    defaults = {
        "enable.idempotence": True,
        "compression.type": "lz4",
        "linger.ms": 20,
        "batch.size": 1_000_000,
        "message.max.bytes": 20_000_000,
        "queue.buffering.max.kbytes": 512 * 1024,
    }
    defaults.update(extra or {})
    return Producer(client_config(bootstrap, defaults, credentials=credentials))


def make_consumer(
    bootstrap: str, group: str, extra: Mapping[str, Any] | None = None, *, credentials: KafkaCredentials | None = None
) -> Consumer:
    """A consumer that starts from the earliest offset and sees committed transactional data only."""
    defaults = {
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
        "fetch.message.max.bytes": 20_000_000,
    }
    defaults.update(extra or {})
    return Consumer(client_config(bootstrap, defaults, credentials=credentials))


def make_admin(
    bootstrap: str, extra: Mapping[str, Any] | None = None, *, credentials: KafkaCredentials | None = None
) -> AdminClient:
    return AdminClient(client_config(bootstrap, extra, credentials=credentials))


def list_topics(
    bootstrap: str,
    timeout_s: float = 10.0,
    extra: Mapping[str, Any] | None = None,
    *,
    credentials: KafkaCredentials | None = None,
) -> set[str]:
    """Names of the topics the cluster has (that the user may describe); ServiceUnavailableError when it
    does not answer."""
    try:
        meta = make_admin(bootstrap, extra, credentials=credentials).list_topics(timeout=timeout_s)
    except KafkaException as exc:
        raise ServiceUnavailableError(f"Kafka at {bootstrap} did not answer: {exc}") from exc
    return set(meta.topics)


def ensure_topics(
    bootstrap: str,
    topics: Iterable[str],
    *,
    partitions: int = 1,
    replication: int = -1,
    config: Mapping[str, str] | None = None,
    timeout_s: float = 30.0,
    extra: Mapping[str, Any] | None = None,
) -> list[str]:
    """Create the topics that do not exist yet; returns the ones created. Idempotent.
    `replication=-1` takes the broker's default.replication.factor (1 on one broker, 3 in a cluster)."""
    wanted = list(dict.fromkeys(topics))
    existing = list_topics(bootstrap, extra=extra)
    missing = [t for t in wanted if t not in existing]
    if not missing:
        return []
    admin = make_admin(bootstrap, extra)
    new = [NewTopic(t, num_partitions=partitions, replication_factor=replication, config=dict(config or {})) for t in missing]
    futures = admin.create_topics(new, operation_timeout=timeout_s)
    created: list[str] = []
    for topic, fut in futures.items():
        try:
            fut.result(timeout=timeout_s)
            created.append(topic)
        except KafkaException as exc:
            if exc.args and getattr(exc.args[0], "name", lambda: "")() == "TOPIC_ALREADY_EXISTS":
                continue
            raise ServiceError(f"cannot create topic {topic!r}: {exc}") from exc
    _await_metadata(bootstrap, created, timeout_s, extra)
    return created


def _await_metadata(bootstrap: str, topics: list[str], timeout_s: float, extra: Mapping[str, Any] | None) -> None:
    """Wait until the broker's metadata lists every created topic: the controller acknowledges a creation
    before the brokers know the topic, and a describe or produce right after it fails with "unknown topic"."""
    deadline = time.monotonic() + timeout_s
    while topics:
        missing = set(topics) - list_topics(bootstrap, extra=extra)
        if not missing:
            return
        if time.monotonic() > deadline:
            raise ServiceUnavailableError(f"topics created but not in the metadata after {timeout_s} s: {sorted(missing)}")
        time.sleep(0.2)


def delete_topics(bootstrap: str, topics: Iterable[str], timeout_s: float = 30.0) -> None:
    names = list(topics)
    if not names:
        return
    admin = make_admin(bootstrap)  # keep the client alive until its futures resolve
    futures = admin.delete_topics(names, operation_timeout=timeout_s)
    for topic, fut in futures.items():
        try:
            fut.result(timeout=timeout_s)
        except KafkaException as exc:
            raise ServiceError(f"cannot delete topic {topic!r}: {exc}") from exc


def topic_message_count(bootstrap: str, topic: str, timeout_s: float = 10.0) -> int:
    """Sum over partitions of (high watermark - low watermark): the number of offsets held."""
    consumer = make_consumer(bootstrap, group="fink-offset-probe")
    try:
        meta = consumer.list_topics(topic, timeout=timeout_s)
        if topic not in meta.topics or meta.topics[topic].error is not None:
            raise ServiceError(f"topic {topic!r} does not exist")
        from confluent_kafka import TopicPartition

        total = 0
        for pid in meta.topics[topic].partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, pid), timeout=timeout_s)
            total += high - low
        return total
    finally:
        consumer.close()
