"""The compiled encoder is a drop-in for fastavro: same bytes for numbers, real alerts, nulls and arrays."""

from __future__ import annotations

import io
from typing import Any

import fastavro
import pytest

from fink_common.avro import decode_alert
from fink_common.datasets import sample_files
from fink_common.schema import load_avro_schema, parsed_schema
from fink_datasim.encoder import RecordEncoder, varint


def _fastavro(schema: Any, value: Any) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), value)
    return out.getvalue()


EDGES = [0, 1, -1, 63, -64, 64, -65, 4095, 4096, 2**31 - 1, -(2**31), 2**62, 2**63 - 1, -(2**63)]


@pytest.mark.parametrize("value", EDGES)
def test_varint_matches_avro_long(value: int) -> None:
    assert varint(value) == _fastavro("long", value)
    assert varint(value) == varint(value)  # memoised value is the same


def test_real_alerts_encode_like_fastavro() -> None:
    encoder = RecordEncoder(load_avro_schema("ztf_4.02"))
    parsed = parsed_schema("ztf_4.02")
    for path in sample_files("ztf_4.02")[:40]:
        record = decode_alert(path.read_bytes(), "ztf_4.02")
        out = io.BytesIO()
        fastavro.schemaless_writer(out, parsed, record)
        assert encoder.encode(record) == out.getvalue(), path.name


def test_nulls_arrays_and_preencoded_items() -> None:
    item = {"type": "record", "name": "point", "fields": [{"name": "x", "type": ["null", "double"]}]}
    schema = {
        "type": "record",
        "name": "thing",
        "namespace": "test",
        "fields": [
            {"name": "a", "type": "int"},
            {"name": "b", "type": ["string", "null"]},
            {"name": "c", "type": ["null", {"type": "array", "items": item}]},
            {"name": "d", "type": {"type": "array", "items": "test.point"}},
            {"name": "e", "type": ["null", "float"]},
            {"name": "f", "type": "boolean"},
        ],
    }
    encoder = RecordEncoder(schema)
    records: list[dict[str, Any]] = [
        {"a": 5, "b": None, "c": None, "d": [], "e": None, "f": True},
        {"a": -7, "b": "héllo", "c": [{"x": 1.5}, {"x": None}], "d": [{"x": 2.0}], "e": 0.25, "f": False},
    ]
    for record in records:
        assert encoder.encode(record) == _fastavro(schema, record)
    point = encoder.for_record("test.point")
    with_bytes = dict(records[1], c=[point({"x": 1.5}), {"x": None}])  # items may come pre-encoded
    assert encoder.encode(with_bytes) == _fastavro(schema, records[1])
