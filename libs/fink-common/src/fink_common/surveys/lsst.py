"""Rubin/LSST: Confluent-framed schemaless Avro (byte 0x00, a 4-byte big-endian schema id, the record), each
message decoded with the writer schema of its own id; alerts identified by `diaSourceId` and timed by
`diaSource.midpointMjdTai` (MJD, TAI), observed from Cerro Pachon.

Three framings are sniffed per message: Confluent (first byte 0x00), an Avro container file (`Obj\\x01`: what
Fink stores, its writer schema in the header, the version in its `lsst_schema_version` column or namespace),
and bare schemaless Avro of FINK_INPUT_SCHEMA (simulators).

The raw table holds the fields of every production version (9.0, 10.0, 11.0, 11.1; `fink_common.schema`). A
message of another id decodes with its writer schema from the registry or the official package, and lands in
the raw table when every one of its fields has a column there; otherwise it is quarantined, naming the fields
that would be lost (an older or newer schema: upgrade, then replay the quarantine).

Rubin's sentinels are kept as sent (`diaSource.diaObjectId == 0` on a solar-system alert, `ssObjectId == 0` on
a static one), and each raw row gets the clear form beside them: `diaObjectId` and `ssObjectId`, null where
Rubin sent 0 or nothing, plus `schema_id` and `schema_version` of the message itself.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

from fastavro import parse_schema
from pyspark.sql import types as T

from fink_common.alert_packet import (
    official_schema,
    official_versions,
    schema_id_of,
    version_of_id,
    version_of_namespace,
)
from fink_common.avro import CONTAINER_MAGIC, decode_container_record, decode_schemaless_record
from fink_common.errors import DecodeError, SchemaError
from fink_common.night import MJD_UNIX_EPOCH, SITE_LONGITUDES
from fink_common.photometry import AB_ZERO_POINT_NJY, TAI_MINUS_UTC_S, flux_to_mag
from fink_common.schema import conform_record, inline_named_types, parsed_schema, raw_alert_schema
from fink_common.schema_registry import SchemaResolver
from fink_common.surveys.base import AlertDecoder, DecodeSettings, Survey
from fink_common.surveys.ztf import check_position

__all__ = [
    "AB_ZERO_POINT_NJY",
    "BANDS",
    "CONFLUENT_MAGIC",
    "LSST",
    "TAI_MINUS_UTC_S",
    "clear_id",
    "flux_to_mag",
    "frame_confluent",
    "split_confluent",
]

CONFLUENT_MAGIC = 0
#: Rubin's filters, blue to red (`diaSource.band`)
BANDS: tuple[str, ...] = ("u", "g", "r", "i", "z", "y")


def frame_confluent(schema_id: int, body: bytes) -> bytes:
    """The Confluent wire format: 0x00, the schema id (4 bytes, big-endian), the schemaless record."""
    return bytes([CONFLUENT_MAGIC]) + schema_id.to_bytes(4, "big") + body


def split_confluent(data: bytes) -> tuple[int, bytes]:
    """(schema id, record bytes) of a Confluent-framed value; DecodeError when it is not one."""
    if not data or data[0] != CONFLUENT_MAGIC:
        first = f"0x{data[0]:02x}" if data else "nothing"
        raise DecodeError(f"wrong magic byte: {first}, expected 0x00 (Confluent framing)")
    if len(data) < 5:
        raise DecodeError(f"truncated Confluent header: {len(data)} bytes, expected 5 before the record")
    return int.from_bytes(data[1:5], "big"), data[5:]


def clear_id(value: int | None) -> int | None:
    """Rubin's 0 sentinel (no object) as null."""
    return value if value else None


def _official(schema_id: int) -> dict[str, Any] | None:
    try:
        version = version_of_id(schema_id)
    except SchemaError:
        return None
    return official_schema(version) if version in official_versions() else None


def _paths(schema: Any, prefix: str = "") -> set[str]:
    """Dotted paths of every field of an inlined record schema (array items of records included)."""
    out: set[str] = set()
    node = schema
    if isinstance(node, list):
        node = next((b for b in node if b != "null"), None)
    if isinstance(node, dict) and node.get("type") == "array":
        return _paths(node["items"], prefix + "[].")
    if not isinstance(node, dict) or node.get("type") != "record":
        return out
    for field in node["fields"]:
        path = prefix + field["name"]
        out.add(path)
        out |= _paths(field["type"], path + ".")
    return out


@cache
def _raw_paths() -> frozenset[str]:
    return frozenset(_paths(inline_named_types(raw_alert_schema("lsst"))))


class _Decoder:
    """The per-process decoder: writer schemas by id (parsed once), the fields each would lose in the raw table."""

    def __init__(self, settings: DecodeSettings) -> None:
        self.settings = settings
        self.resolver = SchemaResolver(settings.registry, _official, label="Rubin schema")
        self.writers: dict[int, tuple[Any, str, str]] = {}  # id -> (parsed schema, label, version)
        self.schemaless_id = schema_id_of(settings.schema_name.removeprefix("lsst_"))

    def writer(self, schema_id: int) -> tuple[Any, str, str]:
        found = self.writers.get(schema_id)
        if found is None:
            schema = self.resolver.schema(schema_id)
            # the version is the writer schema's own (namespace lsst.vMAJOR_MINOR): a registry other than
            # Rubin's may number its schemas differently; Rubin's id says the same (MAJOR*100 + MINOR)
            version = version_of_namespace(str(schema.get("namespace", ""))) or version_of_id(schema_id)
            label = f"Rubin schema {version} (id {schema_id})"
            lost = sorted(_paths(inline_named_types(schema)) - _raw_paths())
            if lost:
                shown = ", ".join(lost[:8]) + (f" and {len(lost) - 8} more" if len(lost) > 8 else "")
                raise DecodeError(f"{label} has fields the LSST raw table lacks ({shown}): upgrade, then replay")
            try:
                found = (parse_schema(schema), label, version)
            except Exception as exc:
                raise DecodeError(f"{label} from {self.resolver.sources.get(schema_id)} is not usable: {exc}") from None
            self.writers[schema_id] = found
        return found

    def __call__(self, value: bytes | None) -> dict[str, Any]:
        if not value:
            raise DecodeError(f"empty message ({'no value' if value is None else '0 bytes'})")
        data = value if isinstance(value, bytes) else bytes(value)
        schema_id: int | None
        version: str | None
        if data[0] == CONFLUENT_MAGIC:
            schema_id, body = split_confluent(data)
            writer, label, version = self.writer(schema_id)
            record = decode_schemaless_record(body, writer, label)
        elif data[:4] == CONTAINER_MAGIC:
            record, writer_json = decode_container_record(data)
            version = version_of_namespace(record.get("lsst_schema_version")) or version_of_namespace(
                str(writer_json.get("namespace", ""))
            )
            schema_id = schema_id_of(version) if version else None
        else:
            schema_id, version = self.schemaless_id, self.settings.schema_name.removeprefix("lsst_")
            try:
                record = decode_schemaless_record(data, parsed_schema(self.settings.schema_name), self.settings.schema_name)
            except DecodeError as exc:
                raise DecodeError(
                    f"wrong magic byte 0x{data[0]:02x}: not Confluent-framed (0x00), not an Avro container "
                    f"(Obj\\x01), and not a schemaless {self.settings.schema_name} record ({exc.reason})"
                ) from None
        LSST.check_record(record)
        row = conform_record(record, "lsst")
        source = record.get("diaSource") or {}
        row["diaObjectId"] = clear_id(source.get("diaObjectId"))
        row["ssObjectId"] = clear_id(source.get("ssObjectId"))
        row["schema_id"] = schema_id
        row["schema_version"] = version
        return row


class LSST(Survey):
    name = "lsst"
    site_name = "Cerro Pachon (Vera C. Rubin Observatory)"
    site_longitude_deg = SITE_LONGITUDES["lsst"]
    default_schema = "lsst_11.0"
    alert_id_field = "diaSourceId"
    object_id_fields = ("diaObjectId", "ssObjectId")
    ra_field = "diaSource.ra"
    dec_field = "diaSource.dec"
    time_field = "diaSource.midpointMjdTai"
    time_scale = 86400.0
    time_offset = -MJD_UNIX_EPOCH * 86400.0 - TAI_MINUS_UTC_S
    raw_extra_fields = (
        T.StructField("diaObjectId", T.LongType(), True),
        T.StructField("ssObjectId", T.LongType(), True),
        T.StructField("schema_id", T.IntegerType(), True),
        T.StructField("schema_version", T.StringType(), True),
    )

    def decoder(self, settings: DecodeSettings) -> AlertDecoder:
        return _Decoder(settings)

    def check(self, record: dict[str, Any]) -> None:
        self.check_record(record)

    @staticmethod
    def check_record(record: dict[str, Any]) -> None:
        if record.get("diaSourceId") is None:
            raise DecodeError("diaSourceId is null")
        source = record.get("diaSource")
        if not source:
            raise DecodeError("diaSource is null")
        mjd = source.get("midpointMjdTai")
        if mjd is None or not math.isfinite(mjd) or mjd < 40_000.0:
            raise DecodeError(f"diaSource.midpointMjdTai is not a valid MJD: {mjd!r}")
        check_position(source, "diaSource")
