"""Read back what the broker delivered: every message of a Kafka topic (read_committed), HBase rows."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from fink_archive.tables import SCHEMA_ROW_PREFIX
from fink_common.hbase import HBaseClient
from fink_common.kafka import make_consumer

__all__ = ["Message", "input_message_count", "read_topic", "scan_cells", "scan_keys"]


@dataclass(frozen=True)
class Message:
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]
    append_ms: int  # the broker-side timestamp of the record


def _assign_all(consumer: Consumer, topic: str, timeout_s: float) -> int:
    meta = consumer.list_topics(topic, timeout=timeout_s)
    if topic not in meta.topics or meta.topics[topic].error is not None:
        return 0
    parts = [TopicPartition(topic, p, OFFSET_BEGINNING) for p in meta.topics[topic].partitions]
    consumer.assign(parts)
    return len(parts)


def read_topic(bootstrap: str, topic: str, *, timeout_s: float = 30.0) -> Iterator[Message]:
    """Every committed message of `topic`, from the beginning to the end of each partition."""
    consumer = make_consumer(
        bootstrap, f"fink-report-{uuid.uuid4().hex[:10]}", {"enable.partition.eof": True, "isolation.level": "read_committed"}
    )
    try:
        remaining = _assign_all(consumer, topic, timeout_s)
        idle = 0
        while remaining > 0:
            msg = consumer.poll(1.0)
            if msg is None:
                idle += 1
                if idle > timeout_s:
                    raise TimeoutError(f"reading {topic}: no end of partition after {timeout_s:.0f} s")
                continue
            idle = 0
            error = msg.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    remaining -= 1
                    continue
                raise RuntimeError(f"reading {topic}: {error}")
            raw = msg.headers() or []
            pairs = raw.items() if isinstance(raw, dict) else raw
            headers = {k: v if isinstance(v, bytes) else (v or "").encode() for k, v in pairs}
            yield Message(msg.key(), msg.value(), headers, msg.timestamp()[1])
    finally:
        consumer.close()


def input_message_count(bootstrap: str, topics: list[str]) -> int:
    """Messages held by the input topics (offsets between low and high watermark, all partitions)."""
    consumer = make_consumer(bootstrap, f"fink-report-{uuid.uuid4().hex[:10]}")
    total = 0
    try:
        for topic in topics:
            meta = consumer.list_topics(topic, timeout=10)
            if topic not in meta.topics:
                continue
            for pid in meta.topics[topic].partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, pid), timeout=10)
                total += high - low
    finally:
        consumer.close()
    return total


def scan_cells(
    client: HBaseClient, table: str, columns: list[bytes], *, keep: Callable[[bytes], bool] = lambda k: True
) -> list[tuple[bytes, dict[bytes, tuple[bytes, int]]]]:
    """All rows of `table` with the given cells, each as (value, cell timestamp in ms)."""
    out: list[tuple[bytes, dict[bytes, Any]]] = []
    with client.connection() as conn:
        for key, cells in conn.table(table).scan(columns=columns, include_timestamp=True, batch_size=1000):
            if keep(key):
                out.append((key, dict(cells)))
    return out


def scan_keys(client: HBaseClient, table: str) -> set[bytes]:
    """Every rowkey of `table` but its schema rows (a key-only scan: no cell value crosses Thrift)."""
    with client.connection() as conn:
        scanner = conn.table(table).scan(filter=b"KeyOnlyFilter()", batch_size=5000)
        return {key for key, _ in scanner if not key.startswith(SCHEMA_ROW_PREFIX.encode())}
