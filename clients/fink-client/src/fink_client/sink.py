"""Saving alerts: Avro container files with the published schema, or parquet; undecodable messages quarantined.

Layout under the output folder:

    <out>/<topic>/p<partition>-<first offset>-<last offset>.avro|parquet   alerts of one batch, one schema
    <out>/quarantine/<topic>-p<partition>-o<offset>.bin                      raw value of a message not decoded
    <out>/quarantine/<topic>-p<partition>-o<offset>.reason.txt               why, and where it came from

Every file is written to a temporary file in its folder and renamed into place, so a reader (or a crash)
never sees half a file. Files are named by offsets: a batch read again after a crash between saving and
committing rewrites the same file rather than adding a copy.

Parquet columns follow the Avro schema (`arrow_type`): records -> structs, arrays -> lists, maps -> maps,
bytes (the cutouts) -> binary, timestamp-micros -> timestamp[us, UTC]; the schema text and fingerprint are
kept in the file's metadata (`fink.schema`, `fink.schema.fingerprint`). `read_alerts` reads either format
back into the dicts that were written.
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, cast

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq

from fink_client.message import Received
from fink_client.schemas import PublishedSchema
from fink_common.errors import SchemaError

__all__ = [
    "QUARANTINE",
    "AlertSink",
    "arrow_schema",
    "arrow_type",
    "atomic_write",
    "read_alerts",
    "write_avro",
    "write_parquet",
]

QUARANTINE = "quarantine"
_PRIMITIVES: dict[str, pa.DataType] = {
    "null": pa.null(),
    "boolean": pa.bool_(),
    "int": pa.int32(),
    "long": pa.int64(),
    "float": pa.float32(),
    "double": pa.float64(),
    "string": pa.string(),
    "bytes": pa.binary(),
}
_LOGICAL: dict[tuple[str, str], pa.DataType] = {
    ("long", "timestamp-micros"): pa.timestamp("us", tz="UTC"),
    ("long", "timestamp-millis"): pa.timestamp("ms", tz="UTC"),
    ("long", "local-timestamp-micros"): pa.timestamp("us"),
    ("long", "local-timestamp-millis"): pa.timestamp("ms"),
    ("int", "date"): pa.date32(),
    ("int", "time-millis"): pa.time32("ms"),
    ("long", "time-micros"): pa.time64("us"),
    ("string", "uuid"): pa.string(),
}


def arrow_type(schema: Any, names: dict[str, pa.DataType] | None = None, namespace: str = "") -> pa.DataType:
    """The Arrow type of an Avro type (`["null", T]` -> T, nullable). SchemaError for a union of several types."""
    names = {} if names is None else names
    if isinstance(schema, str):
        if schema in _PRIMITIVES:
            return _PRIMITIVES[schema]
        full = schema if "." in schema or not namespace else f"{namespace}.{schema}"
        for candidate in (full, schema):
            if candidate in names:
                return names[candidate]
        raise SchemaError(f"unknown Avro type name {schema!r}")
    if isinstance(schema, list):
        branches = [b for b in schema if b != "null"]
        if len(branches) != 1:
            raise SchemaError(f"the union {schema!r} has no parquet column type: save as avro")
        return arrow_type(branches[0], names, namespace)
    kind = schema.get("type")
    logical = schema.get("logicalType")
    if logical == "decimal" and kind in ("bytes", "fixed"):
        result: pa.DataType = pa.decimal128(int(schema["precision"]), int(schema.get("scale", 0)))
    elif isinstance(kind, str) and (kind, logical) in _LOGICAL:
        result = _LOGICAL[(kind, logical)]
    elif kind == "record":
        space = schema.get("namespace", namespace)
        fields = [pa.field(f["name"], arrow_type(f["type"], names, space)) for f in schema["fields"]]
        result = pa.struct(fields)
        name = schema["name"]
        names[name if "." in name or not space else f"{space}.{name}"] = result
    elif kind == "array":
        result = pa.list_(arrow_type(schema["items"], names, namespace))
    elif kind == "map":
        result = pa.map_(pa.string(), arrow_type(schema["values"], names, namespace))
    elif kind == "enum":
        result = pa.string()
    elif kind == "fixed":
        result = pa.binary(int(schema["size"]))
    else:
        result = arrow_type(kind, names, namespace)
    if isinstance(schema, dict) and kind in ("enum", "fixed") and "name" in schema:
        space = schema.get("namespace", namespace)
        names[schema["name"] if not space else f"{space}.{schema['name']}"] = result
    return result


def arrow_schema(schema: PublishedSchema) -> pa.Schema:
    """The Arrow schema of a published (record) schema, with the schema text and fingerprint in its metadata."""
    struct = arrow_type(schema.schema)
    metadata = {b"fink.schema": schema.text.encode("utf-8"), b"fink.schema.fingerprint": schema.fingerprint.encode()}
    return pa.schema(list(struct), metadata=metadata)


def atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Write a file through `write(fh)` into a temporary file beside it, fsync it, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_avro(path: Path, schema: PublishedSchema, alerts: Sequence[Mapping[str, Any]]) -> Path:
    """An Avro container file (deflate) of `alerts` with the published schema."""
    return atomic_write(path, lambda fh: fastavro.writer(fh, schema.parsed, alerts, codec="deflate"))


def write_parquet(path: Path, schema: PublishedSchema, alerts: Sequence[Mapping[str, Any]]) -> Path:
    """A parquet file of `alerts` with columns following the published schema (see `arrow_type`)."""
    table = pa.Table.from_pylist(list(alerts), schema=arrow_schema(schema))
    return atomic_write(path, lambda fh: pq.write_table(table, fh, compression="zstd"))


_WRITERS = {"avro": write_avro, "parquet": write_parquet}


def read_alerts(path: Path | str) -> list[dict[str, Any]]:
    """The alerts of a file that `AlertSink` wrote (`.avro` or `.parquet`), as dicts."""
    path = Path(path)
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist(maps_as_pydicts="strict")
    with path.open("rb") as fh:
        return [dict(cast(dict[str, Any], record)) for record in fastavro.reader(fh)]


def _write(fh: IO[bytes], data: bytes) -> None:
    fh.write(data)


def _safe(topic: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in topic)


class AlertSink:
    """Saves batches of decoded messages under `root` (see the module docstring) and quarantines the others."""

    def __init__(self, root: Path, fmt: str = "avro") -> None:
        if fmt not in _WRITERS:
            raise ValueError(f"format {fmt!r} is not one of {', '.join(_WRITERS)}")
        self.root = Path(root)
        self.format = fmt
        self.files: list[Path] = []
        self.saved = 0
        self.quarantined = 0

    def write(self, batch: Iterable[Received]) -> list[Path]:
        """Save the decoded messages of a batch: one file per (topic, partition, schema). Returns the files."""
        groups: dict[tuple[str, int, str], list[Received]] = defaultdict(list)
        for item in batch:
            if item.ok and item.schema is not None:
                groups[(item.topic, item.partition, item.schema.fingerprint)].append(item)
        written = []
        for (topic, partition, _), items in groups.items():
            items.sort(key=lambda r: r.offset)
            schema = items[0].schema
            assert schema is not None
            name = f"p{partition}-{items[0].offset}-{items[-1].offset}.{self.format}"
            path = _WRITERS[self.format](self.root / _safe(topic) / name, schema, [r.alert or {} for r in items])
            written.append(path)
            self.saved += len(items)
        self.files.extend(written)
        return written

    def quarantine(self, item: Received) -> Path:
        """Write a message's raw value and a reason file to `<root>/quarantine/`; returns the value's path."""
        folder = self.root / QUARANTINE
        stem = f"{_safe(item.topic)}-p{item.partition}-o{item.offset}"
        value = item.value or b""
        path = atomic_write(folder / f"{stem}.bin", lambda fh: _write(fh, value))
        headers = ", ".join(f"{k}={v!r}" for k, v in item.headers) or "none"
        reason = (
            f"reason: {item.error or 'not decoded'}\n"
            f"topic: {item.topic}\npartition: {item.partition}\noffset: {item.offset}\n"
            f"key: {item.key!r}\nheaders: {headers}\nvalue bytes: {len(value)}\n"
        )
        atomic_write(folder / f"{stem}.reason.txt", lambda fh: _write(fh, reason.encode("utf-8")))
        self.quarantined += 1
        return path
