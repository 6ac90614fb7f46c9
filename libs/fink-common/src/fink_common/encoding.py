"""Avro encoding of alerts: schemaless (what simulators send) and one-record container files (what ZTF sends)."""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Mapping
from functools import cache, lru_cache
from io import BytesIO
from typing import Any

from fastavro import parse_schema, schemaless_writer
from fastavro.validation import validate

from fink_common.errors import SchemaError
from fink_common.schema import load_avro_schema, parsed_schema

__all__ = ["CONTAINER_MAGIC", "HEADER_SCHEMA", "SYNC_SIZE", "encode_schemaless", "encode_container"]

CONTAINER_MAGIC = b"Obj\x01"
SYNC_SIZE = 16

HEADER_SCHEMA = parse_schema(
    {
        "type": "record",
        "name": "org.apache.avro.file.Header",
        "fields": [
            {"name": "magic", "type": {"type": "fixed", "name": "Magic", "size": 4}},
            {"name": "meta", "type": {"type": "map", "values": "bytes"}},
            {"name": "sync", "type": {"type": "fixed", "name": "Sync", "size": SYNC_SIZE}},
        ],
    }
)



def encode_schemaless(record: Mapping[str, Any], schema_name: str) -> bytes:
    """Bare Avro encoding of one record with a packaged schema (no header, no magic)."""
    return _encode(record, parsed_schema(schema_name), schema_name)


def encode_container(record: Mapping[str, Any], schema: str | Mapping[str, Any], *, codec: str = "null") -> bytes:
    """A one-record Avro Object Container File, like a ZTF Kafka message.

    `schema` is a packaged schema name or an Avro schema dict; it is written into the header.
    `codec` is "null" (what ZTF uses) or "deflate".
    """
    if isinstance(schema, str):
        parsed, text, label = parsed_schema(schema), _compact_text(schema), schema
    else:
        text = json.dumps(schema, separators=(",", ":"))
        parsed, label = _parse_given(text), "given schema"
    if codec not in ("null", "deflate"):
        raise SchemaError(f"codec {codec!r} is not supported (null or deflate)")
    body = _encode(record, parsed, label)
    if codec == "deflate":
        packer = zlib.compressobj(wbits=-15)
        body = packer.compress(body) + packer.flush()
    sync = os.urandom(SYNC_SIZE)
    out = BytesIO()
    header = {
        "magic": CONTAINER_MAGIC,
        "meta": {"avro.schema": text.encode(), "avro.codec": codec.encode()},
        "sync": sync,
    }
    schemaless_writer(out, HEADER_SCHEMA, header)
    out.write(_zigzag(1))
    out.write(_zigzag(len(body)))
    out.write(body)
    out.write(sync)
    return out.getvalue()


@cache
def _compact_text(name: str) -> str:
    return json.dumps(load_avro_schema(name), separators=(",", ":"))


@lru_cache(maxsize=32)
def _parse_given(text: str) -> Any:
    try:
        return parse_schema(json.loads(text))
    except Exception as exc:
        raise SchemaError(f"not a valid Avro schema: {exc}") from exc


def _zigzag(value: int) -> bytes:
    n = (value << 1) ^ (value >> 63)
    out = bytearray()
    while n & ~0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _encode(record: Mapping[str, Any], parsed: Any, label: str) -> bytes:
    out = BytesIO()
    try:
        schemaless_writer(out, parsed, record)
    except Exception as exc:
        detail = f"{type(exc).__name__}: {exc}"
        try:
            validate(record, parsed, raise_errors=True)
        except Exception as invalid:  # ValidationError lists every bad field
            detail = " ".join(str(invalid).split())
        raise SchemaError(f"record does not match schema {label}: {detail}") from None
    return out.getvalue()
