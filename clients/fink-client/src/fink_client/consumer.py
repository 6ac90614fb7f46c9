"""`AlertConsumer`: subscribe to filter topics, decode each message with its published schema, and commit
offsets only when asked to (after the caller saved or printed what it received).

In a notebook:

    config = load_config(["--topic", "fink_sso_candidates_ztf", "--from-beginning", "--max", "100"])
    with AlertConsumer(config) as consumer:
        for topic, alert in consumer:
            ...

(`fink_<filter>_lsst` topics alike: a Rubin alert decodes to its own fields, int64 ids as exact Python ints.)

Iterating commits the offsets of a batch when the next batch is fetched (every alert of it went through the
loop body) and at the end of the iteration: at-least-once. `batches()` gives the batches themselves
(`Received` items, decoded or not) for a caller that commits by itself with `commit(batch)` (the CLI).

The consumer reads with `isolation.level=read_committed` (the stage writes in transactions) and
`enable.auto.commit=false`; a new group starts at the earliest offset with `from_beginning`, else at the end.
It stops after `max_alerts` messages, after `timeout_s` seconds without a message (counted from the start or
the last partition assignment, whichever is later; 0: never), or when `stop()` returns True. A message that
cannot be decoded is not dropped silently: it is a `Received` with `error` set, passed to `on_problem`
(default: a line on stderr with topic, partition, offset and reason) when iterating.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from fink_client.config import ConsumeConfig
from fink_client.errors import ClientError, KafkaAccessError
from fink_client.message import Received
from fink_client.schemas import KafkaSchemaSource, SchemaRegistry, SchemaSource
from fink_client.topics import SCHEMA_SUFFIX, TopicInfo, list_filter_topics, schema_topic_of
from fink_common.errors import DecodeError
from fink_common.kafka import make_consumer

__all__ = ["AlertConsumer", "Received", "report_problem"]

_CONNECT_TIMEOUT_S = 10.0
_ASSIGN_GRACE_S = 30.0  # how long at least to wait for the group to assign partitions before the idle timeout
_POLL_S = 0.5
_FATAL = {
    KafkaError.TOPIC_AUTHORIZATION_FAILED: "not allowed to read the topic (no ACL for this user)",
    KafkaError.GROUP_AUTHORIZATION_FAILED: "not allowed to use this consumer group (a user's groups are <user>-*)",
    KafkaError._AUTHENTICATION: "authentication failed (check the credentials file)",
    KafkaError.SASL_AUTHENTICATION_FAILED: "authentication failed (check the credentials file)",
    KafkaError.UNKNOWN_TOPIC_OR_PART: "the topic does not exist",
}


def report_problem(item: Received) -> None:
    """The default `on_problem`: one line on stderr saying which message was not decoded, and why."""
    print(f"fink-consume: cannot decode {item.topic} partition {item.partition} offset {item.offset}: {item.error}",
          file=sys.stderr, flush=True)  # fmt: skip


class AlertConsumer:
    """A consumer of Fink filter topics (see the module docstring)."""

    def __init__(
        self,
        config: ConsumeConfig,
        *,
        schema_sources: dict[str, SchemaSource] | None = None,
        on_problem: Callable[[Received], None] = report_problem,
    ) -> None:
        self.config = config
        self.on_problem = on_problem
        self.consumed = 0
        self.committed = 0
        self._given_sources = dict(schema_sources or {})
        self._consumer: Consumer | None = None
        self._schema_consumer: Consumer | None = None
        self._registries: dict[str, SchemaRegistry] = {}  # schema topic -> registry
        self._schema_topic: dict[str, str] = {}  # filter topic -> its schema topic
        self._errors: list[KafkaError] = []
        self._assigned_at: float | None = None
        self._started = time.monotonic()

    # ------------------------------------------------------------------ connection

    def _settings(self, group: str) -> dict[str, Any]:
        return {
            "auto.offset.reset": "earliest" if self.config.from_beginning else "latest",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "error_cb": self._errors.append,
            "group.id": group,
        }

    def _client(self, extra: dict[str, Any] | None = None) -> Consumer:
        settings = {**self._settings(self.config.group), **(extra or {})}
        return make_consumer(self.config.bootstrap, self.config.group, settings, credentials=self.config.credentials)

    def _auth_problem(self) -> str | None:
        for error in self._errors:
            if error.code() in _FATAL:
                return f"{_FATAL[error.code()]}: {error.str()}"
        return None

    def _topics(self, client: Consumer) -> set[str]:
        """The topics the broker shows us; KafkaAccessError (clear message) when it does not answer."""
        try:
            meta = client.list_topics(timeout=_CONNECT_TIMEOUT_S)
        except KafkaException as exc:
            why = self._auth_problem() or str(exc.args[0].str() if exc.args else exc)
            raise KafkaAccessError(f"Kafka at {self.config.bootstrap} did not answer: {why}") from None
        return {t for t, info in meta.topics.items() if info.error is None}

    def open(self) -> AlertConsumer:
        """Connect, check the topics and the schema topics, read the schemas and subscribe. Idempotent."""
        if self._consumer is not None:
            return self
        client = self._client()
        try:
            existing = self._topics(client)
            missing = [t for t in self.config.topics if t not in existing]
            if missing:
                raise ClientError(
                    f"no topic {', '.join(map(repr, missing))} at {self.config.bootstrap} (or not allowed to see "
                    "it): `fink-consume --list-topics` shows the topics offered"
                )
            for topic in self.config.topics:
                self._schema_topic[topic] = self.config.schema_topic or schema_topic_of(topic, existing)
            wanted = sorted(set(self._schema_topic.values()) - set(self._given_sources))
            absent = [t for t in wanted if t not in existing]
            if absent:
                raise ClientError(f"no schema topic {', '.join(map(repr, absent))}: name it with --schema-topic")
            if wanted:
                self._schema_consumer = self._client({"enable.partition.eof": True})
            for name in sorted(set(self._schema_topic.values())):
                source = self._given_sources.get(name) or KafkaSchemaSource(self._schema_consumer, name)  # type: ignore[arg-type]
                self._registries[name] = SchemaRegistry(source)
            client.subscribe(list(self.config.topics), on_assign=self._on_assign)
        except BaseException:
            client.close()
            self._close_schema_consumer()
            raise
        self._consumer = client
        self._started = time.monotonic()
        return self

    def _on_assign(self, _consumer: Consumer, _partitions: list[TopicPartition]) -> None:
        self._assigned_at = time.monotonic()

    def list_topics(self) -> list[TopicInfo]:
        """The filter topics the broker offers, with their message counts (see `topics.list_filter_topics`)."""
        client = self._client()
        try:
            self._topics(client)  # a clear error when Kafka does not answer
            return list_filter_topics(client, schema_topic=self.config.schema_topic, timeout_s=_CONNECT_TIMEOUT_S)
        finally:
            client.close()

    def prefix(self, topic: str) -> str | None:
        """The topic prefix of a filter topic (from its schema topic), once open."""
        schema_topic = self._schema_topic.get(topic)
        return schema_topic[: -len(SCHEMA_SUFFIX)] if schema_topic and schema_topic.endswith(SCHEMA_SUFFIX) else None

    def registry(self, topic: str) -> SchemaRegistry:
        return self._registries[self._schema_topic[topic]]

    # ------------------------------------------------------------------ reading

    def decode(self, msg: Message) -> Received:
        """A Received for one Kafka message: the alert and its schema, or the reason it was not decoded."""
        topic, partition, offset = msg.topic() or "", msg.partition() or 0, msg.offset() or 0
        raw = msg.headers() or ()
        headers: tuple[tuple[str, bytes | None], ...] = tuple(
            (str(k), v if isinstance(v, bytes | None) else str(v).encode()) for k, v in (raw.items() if isinstance(raw, dict) else raw)
        )
        base: dict[str, Any] = dict(topic=topic, partition=partition, offset=offset, key=msg.key(), value=msg.value(),
                                    headers=headers)  # fmt: skip
        registry = self.registry(topic)
        try:
            fingerprint, alert = registry.decode(msg.value(), list(headers))
        except DecodeError as exc:
            return Received(**base, error=exc.reason)
        return Received(**base, alert=alert, schema=registry.get(fingerprint), fingerprint=fingerprint)

    def _idle_limit_reached(self, last_message: float) -> bool:
        if self.config.timeout_s <= 0:
            return False
        now = time.monotonic()
        if self._assigned_at is None:
            return now - self._started >= max(self.config.timeout_s, _ASSIGN_GRACE_S)
        return now - max(last_message, self._assigned_at) >= self.config.timeout_s

    def _check(self, msg: Message) -> bool:
        """True for a real message; raises on a fatal error; reports and skips a passing one."""
        error = msg.error()
        if error is None:
            return True
        if error.code() == KafkaError._PARTITION_EOF:
            return False
        if error.code() in _FATAL or error.fatal():
            where = f" ({msg.topic()})" if msg.topic() else ""
            raise KafkaAccessError(f"{_FATAL.get(error.code(), 'Kafka error')}{where}: {error.str()}")
        print(f"fink-consume: Kafka: {error.str()} (retrying)", file=sys.stderr, flush=True)
        return False

    def batches(self, stop: Callable[[], bool] = lambda: False) -> Iterator[list[Received]]:
        """Batches of at most `batch_size` messages (decoded or not), until max_alerts, the idle timeout or
        `stop()`. Nothing is committed here: call `commit(batch)` once the batch is safe."""
        consumer = self.open()._consumer
        assert consumer is not None
        last_message = time.monotonic()
        while not stop():
            want = self.config.batch_size
            if self.config.max_alerts is not None:
                want = min(want, self.config.max_alerts - self.consumed)
                if want <= 0:
                    return
            try:
                messages = consumer.consume(want, timeout=_POLL_S)
            except KafkaException as exc:
                raise KafkaAccessError(f"consuming: {exc}") from exc
            problem = self._auth_problem()
            if problem:
                raise KafkaAccessError(problem)
            batch = [self.decode(m) for m in messages if self._check(m)]
            if batch:
                last_message = time.monotonic()
                self.consumed += len(batch)
                yield batch
            elif self._idle_limit_reached(last_message):
                return

    def commit(self, batch: Sequence[Received]) -> list[TopicPartition]:
        """Commit (synchronously) the offsets after every message of `batch`; returns what was committed."""
        if not batch:
            return []
        assert self._consumer is not None, "commit before open()"
        ends: dict[tuple[str, int], int] = {}
        for item in batch:
            key = (item.topic, item.partition)
            ends[key] = max(ends.get(key, -1), item.offset + 1)
        offsets = [TopicPartition(t, p, o) for (t, p), o in sorted(ends.items())]
        try:
            result = self._consumer.commit(offsets=offsets, asynchronous=False) or []
        except KafkaException as exc:
            raise KafkaAccessError(f"committing the offsets of {len(batch)} alerts: {exc}") from exc
        failed = [tp for tp in result if tp.error is not None]
        if failed:
            raise KafkaAccessError(
                f"committing offsets: {', '.join(f'{t.topic}[{t.partition}]: {t.error}' for t in failed)}"
            )
        self.committed += len(batch)
        return offsets

    def __iter__(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(topic, alert) for every decoded alert; a batch is committed once all of it went through the loop."""
        for batch in self.batches():
            for item in batch:
                if item.ok and item.alert is not None:
                    yield item.topic, item.alert
                else:
                    self.on_problem(item)
            self.commit(batch)

    # ------------------------------------------------------------------ closing

    def _close_schema_consumer(self) -> None:
        if self._schema_consumer is not None:
            self._schema_consumer.close()
            self._schema_consumer = None

    def close(self) -> None:
        """Leave the group and close the clients (a batch not committed is read again next time)."""
        self._close_schema_consumer()
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None

    def __enter__(self) -> AlertConsumer:
        return self.open()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
