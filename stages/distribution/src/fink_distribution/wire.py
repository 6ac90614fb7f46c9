"""The wire format of distributed alerts: an Avro schema derived from the Spark schema, schemaless
Avro values, and the schema published once under its fingerprint.

Derivation (`avro_schema`, the only place that turns a Spark schema into an Avro one):

* the top record is `alert` in namespace `fink.<survey>`; every struct becomes a record named after its
  column, in the namespace of the record holding it (`fink.ztf.alert.candidate`); the record of an
  array's elements is named `<column>_item`, of a map's values `<column>_value`. Names depend only on
  the column paths, so the same Spark schema always gives the same Avro schema and fingerprint;
* every field is the union `["null", T]` with default null, array items and map values as well;
* types: boolean, byte/short/integer -> int, long, float, double, string, binary -> bytes,
  timestamp -> long `timestamp-micros` (UTC), timestamp_ntz -> long `local-timestamp-micros`,
  date -> int `date`, decimal(p, s) -> bytes `decimal`, array, map with string keys, struct -> record.

`WireSchema` carries the schema, its compact JSON text (what is published, and what Spark's `to_avro`
encodes with in `transform.encode_messages`), its fingerprint (`fink_common.schema.schema_fingerprint`:
CRC-64-AVRO of the parsing canonical form, 16 hex digits) and the fastavro-parsed form (for decoding).
A message's Kafka key is the schema text itself (`WireSchema.key`, Fink's convention: the published
`fink-client` parses the key of every message as the writer schema, so it needs no schema file); it also
carries the fingerprint in its `fink-schema-fingerprint` header (what our own client decodes from); the text is published to
the compacted `fink_schemas` topic (key = fingerprint) and written to `<fingerprint>.avsc`, so a
client decodes any message with `decode_value(value, schema_text)`.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from fastavro import parse_schema, schemaless_reader
from pyspark.sql import types as T

from fink_common.errors import SchemaError
from fink_common.kafka import FINGERPRINT_HEADER
from fink_common.schema import schema_fingerprint

__all__ = [
    "FINGERPRINT_HEADER",
    "WireSchema",
    "avro_schema",
    "decode_value",
    "wire_schema",
    "write_schema_file",
]

_AVRO_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class WireSchema:
    """One Avro schema of outgoing alerts, ready to publish and to encode with."""

    schema: dict[str, Any] = field(compare=False)
    text: str
    fingerprint: str
    parsed: Any = field(compare=False, repr=False)

    @classmethod
    def from_text(cls, text: str) -> WireSchema:
        try:
            schema = json.loads(text)
            parsed = parse_schema(schema)
        except Exception as exc:  # json and fastavro raise several types for bad input
            raise SchemaError(f"not a valid Avro schema: {exc}") from exc
        return cls(schema=schema, text=text, fingerprint=schema_fingerprint(schema), parsed=parsed)

    @property
    def key(self) -> bytes:
        """The Kafka key of every message in this schema: the compact schema JSON, UTF-8."""
        return self.text.encode("utf-8")

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f["name"] for f in self.schema["fields"])


def wire_schema(struct: T.StructType, survey: str) -> WireSchema:
    """The WireSchema of rows of `struct` (see the module docstring for the mapping)."""
    return WireSchema.from_text(json.dumps(avro_schema(struct, survey), separators=(",", ":")))


def avro_schema(struct: T.StructType, survey: str) -> dict[str, Any]:
    """The Avro record schema (a dict) of rows of `struct`."""
    namespace = f"fink.{survey}"
    seen: set[str] = set()
    problems: list[str] = []
    record = _record(struct, "alert", namespace, seen, problems, path="")
    if problems:
        raise SchemaError("cannot derive the Avro schema of the alerts: " + "; ".join(problems))
    record["doc"] = f"A {survey} alert enriched by Fink, as distributed; every field nullable."
    return record


def _record(
    struct: T.StructType, name: str, namespace: str, seen: set[str], problems: list[str], path: str
) -> dict[str, Any]:
    full = f"{namespace}.{name}"
    if full in seen:
        problems.append(f"{path or '<root>'}: record name {full!r} is used twice")
    seen.add(full)
    fields = []
    for item in struct.fields:
        sub = f"{path}.{item.name}" if path else item.name
        if not _AVRO_NAME.match(item.name):
            problems.append(f"{sub}: {item.name!r} is not a valid Avro field name")
            continue
        avro_type = _type(item.dataType, item.name, full, seen, problems, sub)
        fields.append({"name": item.name, "type": ["null", avro_type], "default": None})
    return {"type": "record", "name": name, "namespace": namespace, "fields": fields}


def _type(data_type: T.DataType, name: str, namespace: str, seen: set[str], problems: list[str], path: str) -> Any:
    simple: dict[type, Any] = {
        T.BooleanType: "boolean",
        T.ByteType: "int",
        T.ShortType: "int",
        T.IntegerType: "int",
        T.LongType: "long",
        T.FloatType: "float",
        T.DoubleType: "double",
        T.StringType: "string",
        T.BinaryType: "bytes",
        T.TimestampType: {"type": "long", "logicalType": "timestamp-micros"},
        T.TimestampNTZType: {"type": "long", "logicalType": "local-timestamp-micros"},
        T.DateType: {"type": "int", "logicalType": "date"},
    }
    if type(data_type) in simple:
        return simple[type(data_type)]
    if isinstance(data_type, T.DecimalType):
        return {"type": "bytes", "logicalType": "decimal", "precision": data_type.precision, "scale": data_type.scale}
    if isinstance(data_type, T.StructType):
        return _record(data_type, name, namespace, seen, problems, path)
    if isinstance(data_type, T.ArrayType):
        items = _type(data_type.elementType, f"{name}_item", namespace, seen, problems, f"{path}[]")
        return {"type": "array", "items": ["null", items]}
    if isinstance(data_type, T.MapType):
        if not isinstance(data_type.keyType, T.StringType):
            problems.append(f"{path}: map keys must be strings for Avro, not {data_type.keyType.simpleString()}")
            return "null"
        values = _type(data_type.valueType, f"{name}_value", namespace, seen, problems, f"{path}{{}}")
        return {"type": "map", "values": ["null", values]}
    problems.append(f"{path}: Spark type {data_type.simpleString()} has no Avro mapping")
    return "null"


def decode_value(value: bytes, schema: WireSchema | str) -> dict[str, Any]:
    """What a client does: decode one message value with the published schema (text or WireSchema)."""
    wire = WireSchema.from_text(schema) if isinstance(schema, str) else schema
    record = schemaless_reader(BytesIO(value), wire.parsed, None)
    if not isinstance(record, dict):
        raise SchemaError(f"the schema {wire.fingerprint} does not describe a record")
    return record


def write_schema_file(folder: Path, schema: WireSchema) -> Path:
    """Write `<fingerprint>.avsc` (the published text) atomically; leave it when already identical."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{schema.fingerprint}.avsc"
    if target.is_file() and target.read_text(encoding="utf-8") == schema.text:
        return target
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".avsc", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(schema.text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
