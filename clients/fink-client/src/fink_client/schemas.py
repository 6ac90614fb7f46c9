"""The published schemas: fingerprint -> parsed Avro schema, read from the compacted schema topic.

Each alert message carries the fingerprint of its schema in the `fink-schema-fingerprint` header; the
distribution stage publishes the schema text on `<prefix>schemas` (key = fingerprint) in the same Kafka
transaction as the first alerts written with it. `SchemaRegistry` reads that topic to its end (read_committed)
when created; a fingerprint it has not seen makes it read what was committed since, once, before it gives
up with `UnknownSchemaError` (and it does not re-read for the same unknown fingerprint more often than every
`retry_s` seconds, so a stream of bad messages does not hammer the broker).

`decode` turns one message value into a dict with fastavro (schemaless, as the stage writes it) and refuses a
value the schema does not consume exactly (trailing bytes mean the wrong schema).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any, Protocol

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from fastavro import parse_schema, schemaless_reader

from fink_client.errors import KafkaAccessError, UnknownSchemaError
from fink_common.errors import DecodeError, SchemaError
from fink_common.kafka import FINGERPRINT_HEADER

__all__ = [
    "FINGERPRINT_HEADER",
    "KafkaSchemaSource",
    "PublishedSchema",
    "SchemaRegistry",
    "SchemaSource",
    "decode_value",
    "fingerprint_of",
]

_FINGERPRINT = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class PublishedSchema:
    """One published schema: its fingerprint, JSON text, dict form and fastavro-parsed form."""

    fingerprint: str
    text: str
    schema: dict[str, Any] = field(compare=False, repr=False)
    parsed: Any = field(compare=False, repr=False)

    @classmethod
    def from_text(cls, fingerprint: str, text: str) -> PublishedSchema:
        try:
            schema = json.loads(text)
            parsed = parse_schema(schema)
        except Exception as exc:  # json and fastavro raise several types for a bad schema
            raise SchemaError(f"schema {fingerprint} is not a valid Avro schema: {exc}") from exc
        if not isinstance(schema, dict) or schema.get("type") != "record":
            raise SchemaError(f"schema {fingerprint} is not an Avro record")
        return cls(fingerprint, text, schema, parsed)


def decode_value(value: bytes, schema: PublishedSchema) -> dict[str, Any]:
    """One schemaless Avro value -> a dict. DecodeError when the bytes do not fit the schema exactly."""
    buffer = BytesIO(value)
    try:
        record = schemaless_reader(buffer, schema.parsed, None)
    except Exception as exc:  # fastavro raises EOFError, UnicodeDecodeError, IndexError... on bad bytes
        raise DecodeError(f"not an Avro value of schema {schema.fingerprint}: {type(exc).__name__}: {exc}") from exc
    if buffer.tell() != len(value):
        raise DecodeError(
            f"schema {schema.fingerprint} reads {buffer.tell()} of the value's {len(value)} bytes: wrong schema"
        )
    if not isinstance(record, dict):
        raise DecodeError(f"schema {schema.fingerprint} does not describe a record")
    return record


def fingerprint_of(headers: list[tuple[str, bytes | None]] | None) -> str:
    """The schema fingerprint a message's headers name; DecodeError when missing or malformed."""
    values = [v for k, v in (headers or []) if k == FINGERPRINT_HEADER]
    if not values or values[-1] is None:
        raise DecodeError(f"no {FINGERPRINT_HEADER} header")
    try:
        text = values[-1].decode("ascii")
    except UnicodeDecodeError:
        raise DecodeError(f"the {FINGERPRINT_HEADER} header is not ASCII") from None
    if not _FINGERPRINT.match(text):
        raise DecodeError(f"the {FINGERPRINT_HEADER} header {text[:40]!r} is not 16 lowercase hex digits")
    return text


class SchemaSource(Protocol):
    """Where schemas come from: `read()` returns fingerprint -> text of what was published since the last call
    (everything on the first call)."""

    name: str

    def read(self) -> Mapping[str, str]: ...


class KafkaSchemaSource:
    """Reads the schema topic (read_committed) from where the previous read stopped to its current end."""

    def __init__(self, consumer: Consumer, topic: str, *, timeout_s: float = 30.0) -> None:
        self.name = topic
        self.timeout_s = timeout_s
        self._consumer = consumer
        self._positions: dict[int, int] = {}

    def read(self) -> dict[str, str]:
        try:
            meta = self._consumer.list_topics(self.name, timeout=self.timeout_s)
        except KafkaException as exc:
            raise KafkaAccessError(f"reading the schema topic {self.name!r}: {exc}") from exc
        info = meta.topics.get(self.name)
        if info is None or info.error is not None:
            why = info.error.str() if info is not None and info.error is not None else "missing"
            raise KafkaAccessError(f"schema topic {self.name!r} is not available: {why}")
        starts = {p: self._positions.get(p, OFFSET_BEGINNING) for p in info.partitions}
        self._consumer.assign([TopicPartition(self.name, p, offset) for p, offset in starts.items()])
        remaining, positions, found = set(starts), dict(starts), {}
        deadline = time.monotonic() + self.timeout_s
        try:
            while remaining:
                msg = self._consumer.poll(0.5)
                if msg is None:
                    if time.monotonic() > deadline:
                        raise KafkaAccessError(f"reading the schema topic {self.name!r} timed out ({self.timeout_s} s)")
                    continue
                error = msg.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        raise KafkaAccessError(f"reading the schema topic {self.name!r}: {error.str()}")
                    remaining.discard(msg.partition())
                    at = msg.offset()
                    if at is not None and at >= 0:
                        positions[msg.partition()] = at
                    continue
                positions[msg.partition()] = (msg.offset() or 0) + 1
                key, value = msg.key(), msg.value()
                if key is not None and value is not None:
                    found[key.decode("ascii", "replace")] = value.decode("utf-8", "replace")
        finally:
            self._consumer.unassign()
        self._positions = {p: o for p, o in positions.items() if o >= 0}
        return found


class SchemaRegistry:
    """fingerprint -> PublishedSchema, filled from a `SchemaSource` and refreshed on an unseen fingerprint."""

    def __init__(
        self, source: SchemaSource, *, retry_s: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.source = source
        self.retry_s = retry_s
        self._clock = clock
        self._schemas: dict[str, PublishedSchema] = {}
        self._invalid: dict[str, str] = {}  # fingerprint -> why its published text is unusable
        self._missed: dict[str, float] = {}  # unknown fingerprint -> when we last re-read for it
        self.refreshes = 0
        self.refresh()

    def refresh(self) -> int:
        """Read what was published since the last read; returns how many schemas were new."""
        new = 0
        for fingerprint, text in self.source.read().items():
            try:
                schema = PublishedSchema.from_text(fingerprint, text)
            except SchemaError as exc:
                self._invalid[fingerprint] = str(exc)
                continue
            new += fingerprint not in self._schemas
            self._schemas[fingerprint] = schema
            self._invalid.pop(fingerprint, None)
        self.refreshes += 1
        return new

    @property
    def fingerprints(self) -> tuple[str, ...]:
        return tuple(self._schemas)

    def get(self, fingerprint: str) -> PublishedSchema:
        """The schema of `fingerprint`; re-reads the source once when unseen; UnknownSchemaError if still not."""
        schema = self._schemas.get(fingerprint)
        if schema is not None:
            return schema
        last = self._missed.get(fingerprint)
        if last is None or self._clock() - last >= self.retry_s:
            self._missed[fingerprint] = self._clock()
            self.refresh()
            schema = self._schemas.get(fingerprint)
            if schema is not None:
                self._missed.pop(fingerprint, None)
                return schema
        if fingerprint in self._invalid:
            raise DecodeError(self._invalid[fingerprint])
        raise UnknownSchemaError(fingerprint, self.source.name)

    def decode(self, value: bytes | None, headers: list[tuple[str, bytes | None]] | None) -> tuple[str, dict[str, Any]]:
        """(fingerprint, alert) of one message; DecodeError (or UnknownSchemaError) saying why not."""
        if value is None:
            raise DecodeError("the message has no value (a tombstone)")
        fingerprint = fingerprint_of(headers)
        return fingerprint, decode_value(value, self.get(fingerprint))
