"""The benchmarks' Kafka topics: a pre-filled input topic, topics stamped with the broker's append time,
the distribution's topics (read from its own configuration), reading them back, and deleting them.

Times: a topic created with `message.timestamp.type=LogAppendTime` stamps each record with the broker's
clock when it appends it, whatever the producer says. Input and output topics of a latency run are made so
before the stages start, so their difference is the time the broker (the four stages) added.
"""

from __future__ import annotations

import io
import json
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import fastavro
from confluent_kafka import OFFSET_BEGINNING, TIMESTAMP_LOG_APPEND_TIME, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import ConfigResource

from fink_common.kafka import ensure_topics, make_admin, make_consumer
from fink_datasim.replay import ReplayResult, replay
from fink_distribution.config import load_config as distribution_config
from fink_distribution.job import COMPACTED_TOPIC_CONFIG
from fink_distribution.wire import FINGERPRINT_HEADER, WireSchema

__all__ = [
    "LOG_APPEND_TIME",
    "DistributionTopics",
    "Commit",
    "Record",
    "commit_records",
    "drop_topics",
    "output_records",
    "prepare_distribution_topics",
    "read_records",
    "replayed",
    "timestamp_type",
]

LOG_APPEND_TIME = {"message.timestamp.type": "LogAppendTime"}


@dataclass(frozen=True)
class Record:
    """One message as the benchmarks need it: the alert's candid, where it is, and its append time."""

    candid: int
    partition: int
    offset: int
    append_ms: int
    log_append_time: bool  # append_ms is the broker's clock (the topic has LogAppendTime)


@contextmanager
def replayed(alerts: Path, topic: str, bootstrap: str, *, partitions: int = 1, keep: bool = False) -> Iterator[ReplayResult]:
    """Replay every alert of `alerts` into the new topic `topic` as fast as possible (container framing,
    key = candid), yield the replay result, and delete the topic afterwards unless `keep`."""
    try:
        sent = replay(alerts, topic, rate=0, framing="container", bootstrap=bootstrap, progress=False, partitions=partitions)
        if sent.failed:
            raise SystemExit(f"replay into {topic} failed: {sent.error}")
        yield sent
    finally:
        if not keep:
            drop_topics(bootstrap, [topic])


@dataclass(frozen=True)
class DistributionTopics:
    """The topics the distribution stage writes, for one `FINK_TOPIC_PREFIX` (from its own configuration)."""

    filters: dict[str, str]  # filter name -> topic
    schema_topic: str
    commit_topic: str

    @classmethod
    def of(cls, env: Mapping[str, str]) -> DistributionTopics:
        config = distribution_config(dict(env))
        return cls(dict(config.topics), config.schema_topic, config.commit_topic)

    @property
    def all(self) -> list[str]:
        return [*self.filters.values(), self.schema_topic, self.commit_topic]


def prepare_distribution_topics(bootstrap: str, topics: DistributionTopics) -> None:
    """Create the distribution's topics before it starts, stamped with LogAppendTime (the stage creates only
    the topics that are missing, so it keeps ours); the schema and commit topics stay compacted as it makes them."""
    ensure_topics(bootstrap, topics.filters.values(), config=LOG_APPEND_TIME)
    ensure_topics(bootstrap, [topics.schema_topic, topics.commit_topic], config={**COMPACTED_TOPIC_CONFIG, **LOG_APPEND_TIME})


def timestamp_type(bootstrap: str, topics: Iterable[str], *, timeout_s: float = 30.0) -> dict[str, str]:
    """`message.timestamp.type` of each topic, as the broker reports it (waits for topics just created)."""
    admin = make_admin(bootstrap)
    resources = [ConfigResource(ConfigResource.Type.TOPIC, t) for t in topics]
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            out = {}
            for resource, future in admin.describe_configs(resources).items():
                entry = future.result(timeout=timeout_s).get("message.timestamp.type")
                out[resource.name] = entry.value if entry is not None else "?"
            return out
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)  # a topic just created is not known to every part of the broker yet


def read_records(bootstrap: str, topic: str) -> list[Record]:
    """Every message of a topic whose key is the candid (as `fink-datasim replay` sends them)."""
    return [
        Record(int(m.key or b"-1"), m.partition, m.offset, m.append_ms, m.log_append_time)
        for m in _messages(bootstrap, topic)
    ]


@dataclass(frozen=True)
class Commit:
    """One commit record of the distribution: its append time and the messages its transaction sent per filter."""

    append_ms: int
    sent: dict[str, int]


def commit_records(bootstrap: str, topic: str) -> list[Commit]:
    """The commit records of the distribution's committed transactions, in order (`publisher.commit_value`)."""
    return [Commit(m.append_ms, dict(json.loads(m.value or b"{}").get("sent", {}))) for m in _messages(bootstrap, topic)]


def output_records(bootstrap: str, topics: DistributionTopics) -> dict[str, list[Record]]:
    """Filter name -> the alerts its topic holds (read_committed), the candid decoded from the Avro value
    with the schema its `fink-schema-fingerprint` header names (published on the schema topic)."""
    schemas = {
        (m.key or b"").decode(): WireSchema.from_text((m.value or b"").decode())
        for m in _messages(bootstrap, topics.schema_topic)
        if m.value
    }
    readers: dict[str, _CandidReader] = {}
    out: dict[str, list[Record]] = {}
    for name, topic in topics.filters.items():
        records = out[name] = []
        for m in _messages(bootstrap, topic):
            fingerprint = m.headers.get(FINGERPRINT_HEADER, b"").decode()
            if fingerprint not in schemas:
                print(f"{topic}@{m.offset}: unknown schema {fingerprint!r}; message skipped", file=sys.stderr)
                continue
            if fingerprint not in readers:
                readers[fingerprint] = _CandidReader(schemas[fingerprint])
            candid = readers[fingerprint](m.value or b"")
            records.append(Record(candid, m.partition, m.offset, m.append_ms, m.log_append_time))
    return out


def drop_topics(bootstrap: str, topics: Iterable[str], timeout_s: float = 30.0) -> None:
    """Delete `topics` (never any other); one that does not exist (any more, or yet) is not an error."""
    names = list(dict.fromkeys(topics))
    if not names:
        return
    admin = make_admin(bootstrap, {"log_level": 3})
    for topic, future in admin.delete_topics(names, operation_timeout=timeout_s).items():
        try:
            future.result(timeout=timeout_s)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                print(f"cannot delete topic {topic}: {exc}", file=sys.stderr)


class _CandidReader:
    """Reads only `candid` from a value written with a WireSchema (fastavro skips the other fields)."""

    def __init__(self, writer: WireSchema) -> None:
        self._writer = writer.parsed
        namespace = writer.schema.get("namespace")
        field_type = next(f["type"] for f in writer.schema["fields"] if f["name"] == "candid")
        projection = {"type": "record", "name": writer.schema["name"], "fields": [{"name": "candid", "type": field_type}]}
        if namespace:
            projection["namespace"] = namespace
        self._reader = fastavro.parse_schema(projection)

    def __call__(self, value: bytes) -> int:
        record = fastavro.schemaless_reader(io.BytesIO(value), self._writer, self._reader)
        return int(record["candid"])  # type: ignore[index,call-overload]


@dataclass(frozen=True)
class _Message:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    append_ms: int
    log_append_time: bool  # the timestamp is the broker's (LogAppendTime), not the producer's
    headers: dict[str, bytes] = field(default_factory=dict)


def _messages(bootstrap: str, topic: str, *, idle_timeout_s: float = 60.0) -> Iterator[_Message]:
    """Every committed message of every partition of `topic`, from the beginning to the end."""
    consumer = make_consumer(
        bootstrap, f"fink-bench-{uuid.uuid4().hex[:10]}", {"enable.partition.eof": True, "fetch.wait.max.ms": 100}
    )
    try:
        meta = consumer.list_topics(topic, timeout=30)
        if topic not in meta.topics or meta.topics[topic].error is not None:
            return
        partitions = list(meta.topics[topic].partitions)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        remaining, idle = len(partitions), 0.0
        while remaining > 0:
            batch = consumer.consume(num_messages=500, timeout=1.0)
            idle = idle + 1.0 if not batch else 0.0
            if idle > idle_timeout_s:
                raise TimeoutError(f"reading {topic}: no end of partition after {idle_timeout_s:.0f} s")
            for msg in batch:
                error = msg.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        raise RuntimeError(f"reading {topic}: {error}")
                    remaining -= 1
                    continue
                kind, ms = msg.timestamp()
                yield _Message(
                    msg.partition() or 0,
                    msg.offset() or 0,
                    msg.key(),
                    msg.value(),
                    ms,
                    kind == TIMESTAMP_LOG_APPEND_TIME,
                    {k: v or b"" for k, v in (msg.headers() or [])},
                )
    finally:
        consumer.close()
