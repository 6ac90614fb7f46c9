"""Exactly-once delivery of micro-batches to Kafka with one transactional producer.

Each micro-batch is one Kafka transaction holding, atomically:

1. the schema record (`<prefix>schemas`, key = fingerprint, value = schema JSON) when this fingerprint
   is not published yet;
2. the alert messages, one per (alert, selecting filter): key = the writer schema's compact JSON
   (`WireSchema.key`, the same for every message: Fink's convention, what the published `fink-client` decodes
   with), the `fink-schema-fingerprint` header (what our client decodes with), and an explicit partition:
   `partition_for(object id, partitions)`, CRC-32 of the object id modulo the topic's partition count (read
   from the metadata once per topic and cached; read again when a transaction is retried). So every alert of
   one object lands in one partition, in order, although every key is the same (the default partitioner would
   hash that constant key and put a whole topic in one partition). CRC-32 is librdkafka's `consistent_random`
   hash, so an object keeps the partition it had when the key was the object id;
3. the commit record (`<prefix>distribution_commits`, key = the sink id, value = JSON with `batch_id`).

Before a batch the last committed batch id of the sink is read back with `isolation.level=read_committed`;
a batch id at or below it was already delivered (Spark replays the last batch after a crash between our
Kafka commit and its own checkpoint commit) and is skipped. Readers using `read_committed` therefore see
every batch exactly once: an aborted or half-sent transaction is invisible, a committed one is never
sent twice. `init_transactions` (at start) fences an older producer with the same `transactional.id`
and aborts the transaction it left open.

Errors: librdkafka marks each error retriable, abortable (`txn_requires_abort`) or fatal. A retriable
commit is retried as a commit; any other failure aborts the transaction, and a retriable/abortable one
is then retried as a whole transaction (`fink_common.retry.io_retry`, the I/O edge). A fatal error
(e.g. fenced by a newer instance) or a failed abort raises `ServiceError`: the query stops, and a
restart resumes from the checkpoint.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, TopicPartition

from fink_common.errors import ServiceError, ServiceUnavailableError
from fink_common.kafka import make_consumer, make_producer
from fink_common.logging import get_logger
from fink_common.retry import io_retry
from fink_distribution.wire import FINGERPRINT_HEADER, WireSchema

__all__ = ["Outgoing", "TransactionalPublisher", "commit_value", "partition_for"]

#: One encoded alert: (partition key (the object id), value, names of the filters that selected it).
Outgoing = tuple[bytes, bytes, Sequence[str]]

log = get_logger("fink.distribution.publisher")


def commit_value(batch_id: int, **details: Any) -> bytes:
    """The value of a commit record: JSON with `batch_id` first, then any details."""
    return json.dumps({"batch_id": batch_id, **details}, separators=(",", ":")).encode("utf-8")


def partition_for(partition_key: bytes, partitions: int) -> int:
    """The partition of an alert: CRC-32 (IEEE, as zlib and librdkafka's `consistent` partitioner) of its
    object id, modulo the topic's partition count. Stable across processes and restarts."""
    if partitions < 1:
        raise ValueError(f"a topic has at least one partition, not {partitions}")
    return zlib.crc32(partition_key) % partitions


def _kafka_error(exc: BaseException) -> KafkaError | None:
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return exc.args[0]
    return None


class TransactionalPublisher:
    """The stage's transactional producer plus a read_committed reader of its bookkeeping topics."""

    def __init__(
        self,
        bootstrap: str,
        transactional_id: str,
        *,
        commit_topic: str,
        schema_topic: str,
        timeout_s: float = 60.0,
    ) -> None:
        self.commit_topic = commit_topic
        self.schema_topic = schema_topic
        self.timeout_s = timeout_s
        self._producer = make_producer(
            bootstrap,
            {"transactional.id": transactional_id, "transaction.timeout.ms": 300_000, "linger.ms": 50},
        )
        self._reader = make_consumer(
            bootstrap, group=f"{transactional_id}.reader", extra={"enable.partition.eof": True, "fetch.wait.max.ms": 50}
        )
        self._positions: dict[str, dict[int, int]] = {}  # topic -> partition -> next offset to read
        self._latest: dict[str, dict[bytes, bytes]] = {}  # topic -> key -> latest committed value
        self._partitions: dict[str, int] = {}  # filter topic -> partition count (metadata, cached)
        self._init_transactions()

    @io_retry(attempts=6, max_delay_s=120.0)
    def _init_transactions(self) -> None:
        try:
            self._producer.init_transactions(self.timeout_s)
        except KafkaException as exc:
            raise self._classified(exc, "init_transactions") from exc

    # ------------------------------------------------------------------ reading (read_committed)

    @io_retry(attempts=4, max_delay_s=60.0)
    def latest(self, topic: str) -> dict[bytes, bytes]:
        """Key -> latest committed value of a keyed topic (a compacted one: the commits, the schemas).

        The first call reads the topic from the beginning; later calls read only what was committed
        since, so the cost per batch does not grow with the topic (compaction only trims old segments).
        """
        meta = self._reader.list_topics(topic, timeout=self.timeout_s)
        info = meta.topics.get(topic)
        if info is None or info.error is not None:
            raise ServiceError(f"topic {topic!r} is not available: {info.error if info else 'missing'}")
        known = self._positions.get(topic, {})
        starts = {p: known.get(p, OFFSET_BEGINNING) for p in info.partitions}
        self._reader.assign([TopicPartition(topic, p, offset) for p, offset in starts.items()])
        remaining, ends = set(info.partitions), dict(starts)
        values = dict(self._latest.get(topic, {}))
        try:
            while remaining:
                msg = self._reader.poll(self.timeout_s)
                if msg is None:
                    raise ServiceUnavailableError(f"reading {topic!r} timed out after {self.timeout_s} s")
                error = msg.error()
                partition, offset = msg.partition() or 0, msg.offset()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        raise ServiceUnavailableError(f"reading {topic!r}: {error}")
                    remaining.discard(partition)
                    ends[partition] = max(ends[partition], offset if offset is not None else OFFSET_BEGINNING)
                    continue
                ends[partition] = (offset or 0) + 1
                key, value = msg.key(), msg.value()
                if key is not None and value is not None:
                    values[key] = value
        finally:
            self._reader.unassign()
        self._positions[topic], self._latest[topic] = ends, values  # only after a complete read
        return values

    def is_published(self, fingerprint: str) -> bool:
        """Whether the schema topic holds this fingerprint (read again only while it does not)."""
        key = fingerprint.encode("ascii")
        return key in self._latest.get(self.schema_topic, {}) or key in self.latest(self.schema_topic)

    def last_committed(self, sink_id: str) -> int | None:
        """The last batch id committed by `sink_id`, or None when it never committed one."""
        value = self.latest(self.commit_topic).get(sink_id.encode("utf-8"))
        return None if value is None else int(json.loads(value)["batch_id"])

    def partition_count(self, topic: str) -> int:
        """The number of partitions of a topic, from the cluster metadata (cached until `forget_partitions`)."""
        count = self._partitions.get(topic)
        if count is None:
            info = self._reader.list_topics(topic, timeout=self.timeout_s).topics.get(topic)
            if info is None or info.error is not None or not info.partitions:
                raise ServiceUnavailableError(f"no partitions for {topic!r}: {info.error if info else 'missing'}")
            count = self._partitions[topic] = len(info.partitions)
        return count

    def forget_partitions(self) -> None:
        """Read the partition counts again (after a failed transaction: partitions may have been added)."""
        self._partitions.clear()

    # ------------------------------------------------------------------ writing (one transaction)

    def publish(
        self,
        batch_id: int,
        sink_id: str,
        messages: Callable[[], Iterable[Outgoing]],
        *,
        topics: Mapping[str, str],
        schema: WireSchema,
        details: Mapping[str, Any] | None = None,
    ) -> dict[str, int]:
        """Send one batch in one transaction; returns messages sent per filter name.

        `messages` is called once per attempt (a retried transaction re-reads the batch).
        """
        attempt = io_retry(attempts=4, max_delay_s=300.0, on=(ServiceUnavailableError,))(self._transaction)
        return attempt(batch_id, sink_id, messages, topics, schema, dict(details or {}))

    def _transaction(
        self,
        batch_id: int,
        sink_id: str,
        messages: Callable[[], Iterable[Outgoing]],
        topics: Mapping[str, str],
        schema: WireSchema,
        details: dict[str, Any],
    ) -> dict[str, int]:
        counts = dict.fromkeys(topics, 0)
        partitions = {name: self.partition_count(topic) for name, topic in topics.items()}  # before the transaction
        new_schema = not self.is_published(schema.fingerprint)
        try:
            self._producer.begin_transaction()
        except KafkaException as exc:
            raise self._classified(exc, "begin_transaction") from exc
        try:
            if new_schema:
                self._produce(self.schema_topic, schema.text.encode("utf-8"), schema.fingerprint.encode("ascii"))
            headers: list[tuple[str, str | bytes | None]] = [(FINGERPRINT_HEADER, schema.fingerprint.encode("ascii"))]
            key = schema.key
            for partition_key, value, names in messages():
                for name in names:
                    self._produce(topics[name], value, key, headers, partition_for(partition_key, partitions[name]))
                    counts[name] += 1
            value = commit_value(batch_id, sink=sink_id, sent=counts, **details)
            self._produce(self.commit_topic, value, sink_id.encode("utf-8"))
            self._commit()
        except BaseException as exc:
            self.forget_partitions()
            self._abort(batch_id, exc)
            if isinstance(exc, KafkaException):
                raise self._classified(exc, "transaction") from exc
            raise
        return counts

    def _produce(
        self,
        topic: str,
        value: bytes,
        key: bytes | None,
        headers: list[tuple[str, str | bytes | None]] | None = None,
        partition: int | None = None,
    ) -> None:
        where: dict[str, Any] = {} if partition is None else {"partition": partition}
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, headers=headers, **where)
                break
            except BufferError:  # local queue full: let deliveries drain, then try again
                self._producer.poll(0.5)
        self._producer.poll(0)

    @io_retry(attempts=5, max_delay_s=120.0, on=(ServiceUnavailableError,))
    def _commit(self) -> None:
        try:
            self._producer.commit_transaction(self.timeout_s)
        except KafkaException as exc:
            error = _kafka_error(exc)
            if error is not None and error.retriable() and not error.txn_requires_abort() and not error.fatal():
                raise ServiceUnavailableError(f"commit_transaction: {error}") from exc
            raise

    def _abort(self, batch_id: int, cause: BaseException) -> None:
        log.warning("aborting transaction", batch_id=batch_id, error=repr(cause))
        try:
            self._producer.abort_transaction(self.timeout_s)
        except KafkaException as exc:
            raise ServiceError(f"abort_transaction failed after {cause!r}: {exc}; restart the stage") from exc

    @staticmethod
    def _classified(exc: KafkaException, what: str) -> ServiceError:
        """ServiceUnavailableError (worth retrying) or ServiceError (fatal) for a Kafka error."""
        error = _kafka_error(exc)
        if error is not None and not error.fatal() and (error.retriable() or error.txn_requires_abort()):
            return ServiceUnavailableError(f"{what}: {error}")
        return ServiceError(f"{what}: {exc}")

    def close(self) -> None:
        self._producer.flush(self.timeout_s)
        self._reader.close()
