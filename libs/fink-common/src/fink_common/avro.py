"""Decoding and encoding of one alert per Kafka message, in either framing.

Two framings reach the broker:

* an Avro Object Container File holding exactly one record, its writer schema in the header
  (what ZTF sends; magic ``Obj\\x01``);
* schemaless Avro, the bare record encoded with a schema both sides know (what simulators send).

`decode_alert` sniffs the magic and returns the record shaped like the named schema: fields the
writer did not have get their default, fields the schema does not know are dropped, and a field the
schema requires must be present and non-null. Anything else raises `DecodeError` with a reason a
person can act on. `decode_alerts` does the same for a batch and never raises: bad messages come
back as `DecodeFailure` entries for the quarantine.

Speed: schemas are parsed once; for containers the writer schema is parsed once per distinct
header, and the reshaping plan (writer -> expected schema) is computed once per pair.
"""

from __future__ import annotations

import copy
import json
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from io import BytesIO
from typing import Any, cast

from fastavro import parse_schema, schemaless_reader

from fink_common.encoding import CONTAINER_MAGIC, HEADER_SCHEMA, SYNC_SIZE, encode_container, encode_schemaless
from fink_common.errors import DecodeError
from fink_common.schema import inline_named_types, load_avro_schema, parsed_schema

__all__ = [
    "CONTAINER_MAGIC",
    "DecodeFailure",
    "decode_alert",
    "decode_alerts",
    "decode_container_record",
    "decode_schemaless_record",
    "encode_schemaless",
    "encode_container",
]


Payload = bytes | bytearray | memoryview


@dataclass(frozen=True, slots=True)
class DecodeFailure:
    """One message of a batch that could not be decoded: where it was, why, and its bytes."""

    index: int
    reason: str
    payload: bytes | None


# --------------------------------------------------------------------------- decoding


def decode_alert(payload: Payload | None, schema_name: str) -> dict[str, Any]:
    """Decode one Kafka message value (container or schemaless) into a record of `schema_name`."""
    if not payload:
        size = "no value" if payload is None else "0 bytes"
        raise DecodeError(f"empty message ({size})")
    data = payload if isinstance(payload, bytes) else bytes(payload)
    if data[:4] == CONTAINER_MAGIC:
        return _decode_container(data, schema_name)
    if data[:3] == b"Obj":
        raise DecodeError(
            f"wrong magic: starts with Obj but the container version byte is {data[3:4]!r}, expected b'\\x01'"
        )
    return _decode_schemaless(data, schema_name)


def decode_alerts(
    payloads: Iterable[Payload | None], schema_name: str
) -> tuple[list[dict[str, Any]], list[DecodeFailure]]:
    """Decode a batch. Returns (records in input order, failures with their input index)."""
    parsed_schema(schema_name)  # an unknown schema name is the caller's bug: raise it, do not quarantine
    records: list[dict[str, Any]] = []
    failures: list[DecodeFailure] = []
    for index, payload in enumerate(payloads):
        try:
            records.append(decode_alert(payload, schema_name))
        except DecodeError as exc:
            raw = None if payload is None else bytes(payload)
            failures.append(DecodeFailure(index, exc.reason, raw))
    return records, failures


def _decode_schemaless(data: bytes, schema_name: str) -> dict[str, Any]:
    schema = parsed_schema(schema_name)
    stream = BytesIO(data)
    try:
        record = schemaless_reader(stream, schema, None)
    except Exception as exc:  # fastavro raises EOFError, ValueError, UnicodeDecodeError, IndexError...
        raise DecodeError(
            f"not Avro: no container magic {CONTAINER_MAGIC!r} and not a schemaless {schema_name} record "
            f"({type(exc).__name__}: {str(exc) or 'data ends early'}){_hint(data)}"
        ) from None
    end = stream.tell()
    if end != len(data):
        raise DecodeError(
            f"{len(data) - end} trailing bytes after a schemaless {schema_name} record of {end} bytes "
            "(wrong schema, or several records in one message)"
        )
    return cast(dict[str, Any], record)


def decode_schemaless_record(data: bytes, writer: Any, label: str) -> dict[str, Any]:
    """One schemaless record written with the parsed schema `writer`, every byte used; DecodeError otherwise."""
    stream = BytesIO(data)
    try:
        record = schemaless_reader(stream, writer, None)
    except Exception as exc:  # fastavro raises EOFError, ValueError, UnicodeDecodeError, IndexError...
        raise DecodeError(
            f"truncated or corrupt {label} record of {len(data)} bytes "
            f"({type(exc).__name__}: {str(exc) or 'data ends early'})"
        ) from None
    if stream.tell() != len(data):
        raise DecodeError(f"{len(data) - stream.tell()} trailing bytes after a {label} record of {stream.tell()} bytes")
    return cast(dict[str, Any], record)


def _hint(data: bytes) -> str:
    head = data[:16]
    if head[:1] in (b"{", b"["):
        return f"; it looks like JSON text: {head!r}"
    if head[:1] == b"\x00" and len(data) > 5:
        return f"; it may carry a Confluent Schema Registry prefix (0x00 + schema id): {head!r}"
    return f"; first bytes: {head!r}"


def _read_long(data: bytes, pos: int) -> tuple[int, int]:
    """Zig-zag varint at `pos` -> (value, next position). IndexError when the data ends."""
    byte = data[pos]
    value = byte & 0x7F
    shift = 7
    while byte & 0x80:
        pos += 1
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        shift += 7
        if shift > 70:
            raise ValueError("varint longer than 10 bytes")
    return (value >> 1) ^ -(value & 1), pos + 1


def decode_container_record(payload: Payload) -> tuple[dict[str, Any], dict[str, Any]]:
    """One-record container -> (the record as its writer wrote it, the writer schema's JSON); DecodeError."""
    data = payload if isinstance(payload, bytes) else bytes(payload)
    if data[:4] != CONTAINER_MAGIC:
        raise DecodeError(f"not an Avro container: the first bytes are {data[:4]!r}, expected {CONTAINER_MAGIC!r}")
    record, schema_bytes = _read_container(data, None)
    return record, json.loads(schema_bytes)


def _decode_container(data: bytes, schema_name: str) -> dict[str, Any]:
    record, _ = _read_container(data, schema_name)
    return record


def _read_container(data: bytes, schema_name: str | None) -> tuple[dict[str, Any], bytes]:
    """(the record, reshaped to `schema_name` unless None; the header's schema bytes)."""
    stream = BytesIO(data)
    try:
        header = schemaless_reader(stream, HEADER_SCHEMA, None)
    except EOFError:
        raise DecodeError(f"truncated container: the header is cut off ({len(data)} bytes in the message)") from None
    except Exception as exc:
        raise DecodeError(f"corrupt container header ({type(exc).__name__}: {exc})") from None
    fields = cast(dict[str, Any], header)
    meta: dict[str, bytes] = fields["meta"]
    sync: bytes = fields["sync"]
    schema_bytes = meta.get("avro.schema")
    if not schema_bytes:
        raise DecodeError("corrupt container: the header has no avro.schema entry")
    codec = meta.get("avro.codec", b"null").decode("ascii", "replace")
    if codec not in ("null", "deflate"):
        raise DecodeError(f"container codec {codec!r} is not supported (null and deflate are)")
    writer, plan = _writer_plan(schema_bytes, schema_name) if schema_name else (_writer(schema_bytes), None)

    pos = stream.tell()
    size = len(data)
    if pos == size:
        raise DecodeError("container holds no record (header only)")
    total = 0
    first: tuple[int, int] | None = None  # (start, end) of the first non-empty block's data
    blocks = 0
    try:
        while pos < size:
            count, pos = _read_long(data, pos)
            length, pos = _read_long(data, pos)
            blocks += 1
            if count < 0 or length < 0:
                raise DecodeError(f"corrupt container: block {blocks} has a negative count or size")
            end = pos + length
            if end + SYNC_SIZE > size:
                raise DecodeError(
                    f"truncated container: block {blocks} announces {length} bytes, only {max(size - pos, 0)} remain"
                )
            if data[end : end + SYNC_SIZE] != sync:
                raise DecodeError(f"corrupt container: sync marker mismatch after block {blocks}")
            if count and first is None:
                first = (pos, end)
            total += count
            pos = end + SYNC_SIZE
    except IndexError:
        raise DecodeError(f"truncated container: block {blocks + 1} header is cut off") from None
    except ValueError as exc:
        raise DecodeError(f"corrupt container: {exc}") from None
    if total != 1 or first is None:
        raise DecodeError(
            "container holds no record" if total == 0 else f"container holds {total} records, exactly one expected"
        )
    start, end = first
    if codec == "deflate":
        try:
            block = zlib.decompress(data[start:end], -15)
        except zlib.error as exc:
            raise DecodeError(f"corrupt container: deflate block does not decompress ({exc})") from None
        stream, start, end = BytesIO(block), 0, len(block)
    else:
        stream.seek(start)
    try:
        record = cast(dict[str, Any], schemaless_reader(stream, writer, None))
    except Exception as exc:
        raise DecodeError(
            f"corrupt container: the record does not decode with the header's schema "
            f"({type(exc).__name__}: {str(exc) or 'data ends early'})"
        ) from None
    if stream.tell() != end:
        raise DecodeError(f"corrupt container: {end - stream.tell()} bytes left in the block after the record")
    if plan is not None and schema_name:
        _apply(record, plan, "", schema_name)
    return record, schema_bytes


# ------------------------------------------------------- writer schema -> expected schema plan


@dataclass(frozen=True, slots=True)
class _Plan:
    required: tuple[str, ...]  # must be non-null (writer allows null, we do not)
    drops: tuple[str, ...]  # writer fields unknown to the expected schema
    fills: tuple[tuple[str, Any], ...]  # expected fields the writer lacks, with their default
    nested: tuple[tuple[str, bool, bool, _Plan], ...]  # (field, is_array, items_required, plan)


@lru_cache(maxsize=64)
def _writer_plan(schema_bytes: bytes, schema_name: str) -> tuple[Any, _Plan | None]:
    """Parsed writer schema and the reshaping plan to `schema_name` (None when nothing to do)."""
    try:
        writer_json = json.loads(schema_bytes)
        writer = parse_schema(writer_json)
        flat_writer = inline_named_types(writer_json) if isinstance(writer_json, dict) else None
    except Exception as exc:
        raise DecodeError(f"corrupt container: the header's avro.schema is not a usable schema ({exc})") from None
    if flat_writer is None or flat_writer.get("type") != "record":
        raise DecodeError(f"record does not match schema {schema_name}: the container holds a non-record type")
    return writer, _plan(flat_writer, _flat_expected(schema_name), "", schema_name)


@lru_cache(maxsize=64)
def _writer(schema_bytes: bytes) -> Any:
    try:
        return parse_schema(json.loads(schema_bytes))
    except Exception as exc:
        raise DecodeError(f"corrupt container: the header's avro.schema is not a usable schema ({exc})") from None


@cache
def _flat_expected(schema_name: str) -> dict[str, Any]:
    return inline_named_types(load_avro_schema(schema_name))


#: Avro's allowed (writer, reader) type promotions.
_PROMOTIONS = frozenset(
    tuple(pair.split(">"))
    for pair in "int>long int>float int>double long>float long>double float>double string>bytes bytes>string".split()
)


def _strip(node: Any) -> tuple[Any, bool]:
    """(the type without its null branch, nullable)."""
    if isinstance(node, list):
        branches = [b for b in node if b != "null"]
        return (branches[0] if len(branches) == 1 else branches), len(branches) < len(node)
    return node, False


def _kind(node: Any) -> str:
    if isinstance(node, dict):
        return str(node.get("type"))
    return "union" if isinstance(node, list) else str(node)


def _plan(wrec: Mapping[str, Any], erec: Mapping[str, Any], path: str, name: str) -> _Plan | None:
    """How to turn a record written with `wrec` into one of `erec`; DecodeError if impossible."""
    wfields = {f["name"]: f for f in wrec["fields"]}
    efields = {f["name"] for f in erec["fields"]}
    required: list[str] = []
    fills: list[tuple[str, Any]] = []
    nested: list[tuple[str, bool, bool, _Plan]] = []
    for field in erec["fields"]:
        fname, where = field["name"], f"{path}{field['name']}"
        etype, enull = _strip(field["type"])
        if fname not in wfields:
            if "default" in field or enull:
                fills.append((fname, field.get("default")))
                continue
            raise DecodeError(f"record does not match schema {name}: missing required field {where}")
        wtype, wnull = _strip(wfields[fname]["type"])
        if wnull and not enull:
            required.append(fname)
        wk, ek = _kind(wtype), _kind(etype)
        if wk != ek and (wk, ek) not in _PROMOTIONS:
            raise DecodeError(f"record does not match schema {name}: field {where} is {wk}, expected {ek}")
        if ek == "record":
            sub = _plan(wtype, etype, f"{where}.", name)
            if sub is not None:
                nested.append((fname, False, False, sub))
        elif ek == "array":
            (witems, witems_null), (eitems, eitems_null) = _strip(wtype["items"]), _strip(etype["items"])
            if _kind(witems) != _kind(eitems):
                raise DecodeError(
                    f"record does not match schema {name}: {where} holds {_kind(witems)}, expected {_kind(eitems)}"
                )
            items_required = witems_null and not eitems_null
            sub = _plan(witems, eitems, f"{where}[].", name) if _kind(eitems) == "record" else None
            if sub is not None or items_required:
                nested.append((fname, True, items_required, sub or _Plan((), (), (), ())))
    drops = tuple(f for f in wfields if f not in efields)
    if not (required or drops or fills or nested):
        return None
    return _Plan(tuple(required), drops, tuple(fills), tuple(nested))


def _apply(record: dict[str, Any], plan: _Plan, path: str, name: str) -> None:
    for field in plan.required:
        if record.get(field) is None:
            raise DecodeError(f"record does not match schema {name}: required field {path}{field} is null")
    for field in plan.drops:
        record.pop(field, None)
    for field, default in plan.fills:
        record[field] = copy.deepcopy(default) if isinstance(default, (dict, list)) else default
    for field, is_array, items_required, sub in plan.nested:
        value = record.get(field)
        if value is None:
            continue
        if not is_array:
            _apply(value, sub, f"{path}{field}.", name)
            continue
        for i, item in enumerate(value):
            if item is None:
                if items_required:
                    raise DecodeError(f"record does not match schema {name}: {path}{field}[{i}] is null")
                continue
            _apply(item, sub, f"{path}{field}[{i}].", name)
