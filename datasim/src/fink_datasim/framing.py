"""From a folder of Avro container files to Kafka messages, one alert per message, in either framing.

- `container`: each message is a one-record Avro Object Container File. A file that holds one record is sent
  byte for byte as it is (what ZTF sends); a generated multi-record file is cut into header + one block.
- `schemaless`: each message is the bare record encoded with the ZTF 4.02 schema. For generated files (written
  with that schema, one record per block) it is the block's bytes; other files are decoded and re-encoded.

Rubin's Confluent-framed files (`*.confluent.avro`: byte 0x00, a 4-byte schema id, one schemaless record; what
`generate --survey lsst` writes) are one Kafka message value each: they are sent byte for byte, whatever the
framing asked. Fink's LSST container files go through the container path like ZTF's: a file of several
one-record blocks (`lsst_2026_schema_10.0/part-2-918301.avro`, 7 alerts) is cut into one-record container
messages, without decoding.

The message key is the alert id as ASCII digits (ZTF `candid`, e.g. b"2481454725615015032"; Rubin
`diaSourceId`), or no key at all.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import fastavro
from fastavro.schema import to_parsing_canonical_form

from fink_common.avro import decode_alert, encode_container, encode_schemaless
from fink_common.errors import DataNotFoundError, FinkError
from fink_common.schema import parsed_schema
from fink_datasim.container import Container, count_records, read_container
from fink_datasim.errors import AlertFileError, DatasimError, EmptyFolderError

__all__ = [
    "FRAMINGS",
    "KEYS",
    "SCHEMA_NAME",
    "Message",
    "alert_files",
    "count_alerts",
    "is_confluent",
    "iter_messages",
]

FRAMINGS = ("container", "schemaless")
KEYS = ("candid", "none")
#: The schema schemaless messages are encoded with.
SCHEMA_NAME = "ztf_4.02"

_PRIMITIVE = ("null", "boolean", "int", "long", "float", "double", "bytes", "string")
#: Top-level fields holding the alert id, per survey (ZTF, Rubin).
_ID_FIELDS = ("candid", "diaSourceId")
_CONFLUENT_MAGIC = b"\x00"
_CONFLUENT_HEADER = 5


@dataclass(frozen=True)
class Message:
    key: bytes | None
    value: bytes


def alert_files(folder: str | Path) -> list[Path]:
    """The `.avro` files under `folder` (recursively), sorted by path; clear errors when there are none."""
    path = Path(folder)
    if not path.exists():
        raise DataNotFoundError(f"alert folder {path} does not exist")
    if path.is_file():
        return [path]
    files = sorted(p for p in path.rglob("*.avro") if p.is_file())
    if not files:
        raise EmptyFolderError(f"alert folder {path} holds no .avro file")
    return files


def is_confluent(path: Path) -> bool:
    """True for a Confluent-framed message file (first byte 0x00; an Avro container starts with `Obj`)."""
    with open(path, "rb") as fh:
        return fh.read(1) == _CONFLUENT_MAGIC


def count_alerts(files: list[Path]) -> int:
    """Total records in the files, from the block headers only (a Confluent-framed file is one alert)."""
    try:
        return sum(1 if is_confluent(f) else count_records(f) for f in files)
    except OSError as exc:
        raise AlertFileError(f"cannot read an alert file: {exc.strerror or exc}") from None


@lru_cache(maxsize=16)
def _is_target_schema(schema_text: str) -> bool:
    """True when a writer schema has the same canonical form as the ZTF 4.02 schema."""
    try:
        writer = to_parsing_canonical_form(fastavro.parse_schema(json.loads(schema_text)))
    except Exception:  # an unusable header schema: the decoding path will report it
        return False
    return writer == to_parsing_canonical_form(parsed_schema(SCHEMA_NAME))


def _read_long(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return (value >> 1) ^ -(value & 1), pos


def _skip(kind: str, data: bytes, pos: int) -> int:
    if kind in ("int", "long"):
        return _read_long(data, pos)[1]
    if kind in ("string", "bytes"):
        size, pos = _read_long(data, pos)
        return pos + size
    return pos + {"null": 0, "boolean": 1, "float": 4, "double": 8}[kind]


@lru_cache(maxsize=16)
def _candid_reader(schema_text: str) -> Callable[[bytes], int | None] | None:
    """A reader of the top-level `candid` straight from record bytes, when the fields before it are simple.

    Returns None when the layout needs a full decode (a record or array before `candid`).
    """
    try:
        schema = json.loads(schema_text)
    except ValueError:
        return None
    steps: list[tuple[str, list[str]]] = []  # (field name, union branches or [type])
    for field in schema.get("fields", []) if isinstance(schema, dict) else []:
        kind = field["type"]
        branches = kind if isinstance(kind, list) else [kind]
        branches = [b["type"] if isinstance(b, dict) and b.get("type") in _PRIMITIVE else b for b in branches]
        if not all(isinstance(b, str) and b in _PRIMITIVE for b in branches):
            return None
        steps.append((field["name"], branches))
        if field["name"] in _ID_FIELDS:
            break
    else:
        return None

    def read(data: bytes) -> int | None:
        pos = 0
        for name, branches in steps:
            kind = branches[0]
            if len(branches) > 1:
                index, pos = _read_long(data, pos)
                kind = branches[index]
            if name in _ID_FIELDS:
                return _read_long(data, pos)[0] if kind in ("int", "long") else None
            pos = _skip(kind, data, pos)
        return None

    return read


def _confluent(path: Path, data: bytes, keyed: bool) -> Message:
    """A Confluent-framed file as it is; the key is the record's first field (diaSourceId, a long)."""
    if len(data) <= _CONFLUENT_HEADER:
        raise AlertFileError(f"{path}: truncated Confluent-framed message ({len(data)} bytes)")
    key = None
    if keyed:
        try:
            key = _key_of(_read_long(data, _CONFLUENT_HEADER)[0], True)
        except IndexError:
            raise AlertFileError(f"{path}: truncated Confluent-framed message (no alert id)") from None
    return Message(key, data)


def _key_of(candid: Any, keyed: bool) -> bytes | None:
    return str(candid).encode("ascii") if keyed and candid is not None else None


@lru_cache(maxsize=16)
def _parsed_writer(schema_text: str) -> Any:
    return fastavro.parse_schema(json.loads(schema_text))


def _sliced(box: Container, framing: str, keyed: bool) -> Iterator[Message]:
    """Messages cut out of a file with one record per block, without decoding."""
    reader = _candid_reader(box.schema_text) if keyed else None
    whole = framing == "container" and box.records == 1  # a one-record file goes out byte for byte
    for block in box.blocks:
        if not block.count:
            continue
        data = box.block_data(block)
        key = None
        if keyed and reader is not None:
            key = _key_of(reader(data), True)
        elif keyed:  # the id is behind nested fields: decode this record
            record = fastavro.schemaless_reader(io.BytesIO(data), _parsed_writer(box.schema_text))
            found = next((record.get(f) for f in _ID_FIELDS if f in record), None) if isinstance(record, dict) else None
            key = _key_of(found, True)
        if whole:
            value = box.data
        else:
            value = box.block_file(block) if framing == "container" else data
        yield Message(key, value)


def _decoded(path: Path, box: Container, framing: str, keyed: bool) -> Iterator[Message]:
    """Messages of a file that cannot be sliced (compressed, multi-record blocks, or another schema)."""
    try:
        if box.records == 1 and box.codec in ("null", "deflate"):
            records: list[dict[str, Any]] = [decode_alert(box.data, SCHEMA_NAME)]
            writer: dict[str, Any] = json.loads(box.schema_text)
            if framing == "container":  # a one-record file goes out as it is
                yield Message(_key_of(records[0].get("candid"), keyed), box.data)
                return
        else:
            reader = fastavro.reader(io.BytesIO(box.data))
            writer = cast(dict[str, Any], reader.writer_schema)
            records = [cast(dict[str, Any], r) for r in reader]
        for record in records:
            key = _key_of(record.get("candid"), keyed)
            if framing == "container":
                yield Message(key, encode_container(record, writer))
            else:
                yield Message(key, encode_schemaless(record, SCHEMA_NAME))
    except FinkError as exc:
        raise AlertFileError(f"{path}: {exc}") from None
    except Exception as exc:  # fastavro raises many types on corrupt or unsupported data
        raise AlertFileError(f"{path}: cannot decode the alerts ({type(exc).__name__}: {exc})") from None


def iter_messages(files: list[Path], framing: str = "container", key: str = "candid") -> Iterator[Message]:
    """Every alert of the files, in file order then record order, as one Kafka message each."""
    if framing not in FRAMINGS:
        raise DatasimError(f"unknown framing {framing!r}; use one of: {', '.join(FRAMINGS)}")
    if key not in KEYS:
        raise DatasimError(f"unknown key mode {key!r}; use one of: {', '.join(KEYS)}")
    keyed = key == "candid"
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise AlertFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
        if data[:1] == _CONFLUENT_MAGIC:
            yield _confluent(path, data, keyed)
            continue
        box = read_container(data, str(path))
        if box.single_record_blocks and (framing == "container" or _is_target_schema(box.schema_text)):
            yield from _sliced(box, framing, keyed)
        else:
            yield from _decoded(path, box, framing, keyed)
