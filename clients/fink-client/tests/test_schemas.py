"""The schema registry: an unseen fingerprint re-reads the schema source once; undecodable values are refused."""

from __future__ import annotations

import json
from io import BytesIO

import pytest
from alert_samples import ALERT_SCHEMA, alert, published
from fastavro import schemaless_writer

from fink_client.errors import UnknownSchemaError
from fink_client.schemas import FINGERPRINT_HEADER, SchemaRegistry, decode_value
from fink_common.errors import DecodeError

FP1, FP2 = "00000000000000a1", "00000000000000b2"


class FakeSource:
    """A schema topic in memory: `publish` adds a schema; `read` returns what was published since the last read."""

    name = "fink_schemas"

    def __init__(self) -> None:
        self.published: dict[str, str] = {}
        self.seen = 0
        self.reads = 0

    def publish(self, fingerprint: str, text: str) -> None:
        self.published[fingerprint] = text

    def read(self) -> dict[str, str]:
        self.reads += 1
        items = list(self.published.items())
        new, self.seen = dict(items[self.seen :]), len(items)
        return new


def _encode(record: dict, schema: dict = ALERT_SCHEMA) -> bytes:
    out = BytesIO()
    schemaless_writer(out, published(schema).parsed, record)
    return out.getvalue()


def _headers(fingerprint: str) -> list[tuple[str, bytes]]:
    return [(FINGERPRINT_HEADER, fingerprint.encode())]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_known_fingerprint_decodes_without_reading_again() -> None:
    source = FakeSource()
    source.publish(FP1, json.dumps(ALERT_SCHEMA))
    registry = SchemaRegistry(source)
    assert source.reads == 1 and registry.fingerprints == (FP1,)
    fingerprint, record = registry.decode(_encode(alert(7)), _headers(FP1))
    assert fingerprint == FP1 and record == alert(7)
    assert source.reads == 1


def test_unseen_fingerprint_rereads_the_schema_topic_then_decodes() -> None:
    source = FakeSource()
    source.publish(FP1, json.dumps(ALERT_SCHEMA))
    registry = SchemaRegistry(source)
    evolved = {**ALERT_SCHEMA, "fields": [*ALERT_SCHEMA["fields"], {"name": "extra", "type": ["null", "int"],
                                                                      "default": None}]}  # fmt: skip
    source.publish(FP2, json.dumps(evolved))  # published after the registry read the topic
    value = _encode({**alert(8), "extra": 5}, evolved)
    fingerprint, record = registry.decode(value, _headers(FP2))
    assert (fingerprint, record["extra"], record["candid"]) == (FP2, 5, 8)
    assert source.reads == 2 and set(registry.fingerprints) == {FP1, FP2}


def test_a_fingerprint_never_published_fails_clearly_and_is_not_reread_at_every_message() -> None:
    source, clock = FakeSource(), Clock()
    source.publish(FP1, json.dumps(ALERT_SCHEMA))
    registry = SchemaRegistry(source, retry_s=5.0, clock=clock)
    value = _encode(alert(9))
    with pytest.raises(UnknownSchemaError) as exc:
        registry.decode(value, _headers(FP2))
    assert exc.value.fingerprint == FP2
    assert exc.value.reason == f"schema {FP2} is not published on 'fink_schemas' (re-read to its end)"
    assert source.reads == 2
    for _ in range(10):
        with pytest.raises(UnknownSchemaError):
            registry.decode(value, _headers(FP2))
    assert source.reads == 2  # within retry_s: not re-read
    clock.now = 6.0
    source.publish(FP2, json.dumps(ALERT_SCHEMA))
    assert registry.decode(value, _headers(FP2))[1] == alert(9)
    assert source.reads == 3


def test_bad_headers_values_and_schemas_are_refused_with_a_reason() -> None:
    source = FakeSource()
    source.publish(FP1, json.dumps(ALERT_SCHEMA))
    source.publish(FP2, '{"type": "record", "name": "x", "fields": [{"name": "a", "type": "nope"}]}')
    registry = SchemaRegistry(source)
    good = _encode(alert(1))
    cases = [
        (good, [], "no fink-schema-fingerprint header"),
        (good, [(FINGERPRINT_HEADER, b"XYZ")], "is not 16 lowercase hex digits"),
        (None, _headers(FP1), "no value"),
        (good[:-5], _headers(FP1), "not an Avro value of schema"),
        (good + b"\x00\x00", _headers(FP1), "reads"),
        (good, _headers(FP2), "not a valid Avro schema"),
    ]
    for value, headers, needle in cases:
        with pytest.raises(DecodeError) as exc:
            registry.decode(value, headers)
        assert needle in exc.value.reason, (needle, exc.value.reason)


def test_decode_value_needs_every_byte() -> None:
    schema = published()
    assert decode_value(_encode(alert(3)), schema) == alert(3)
    with pytest.raises(DecodeError, match="wrong schema"):
        decode_value(_encode(alert(3)) + b"\x02", schema)
