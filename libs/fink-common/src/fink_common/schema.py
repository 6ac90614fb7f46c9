"""Alert schemas: load them by name, fingerprint them, derive the Spark schema, build the raw table.

The ZTF schemas live as data files in `fink_common/schemas/<name>.avsc`; Rubin's come from Rubin's own
package (`fink_common.alert_packet`). This module is the only place that reads them by name and the only
place that turns an Avro schema into a Spark `StructType`.

Fingerprint choice: `schema_fingerprint` is the CRC-64-AVRO (Rabin) fingerprint of the schema's
Avro Parsing Canonical Form, as 16 lowercase hex digits. It is the fingerprint the Avro spec defines
for single-object encoding, so a consumer can compute it with any Avro library. Docs, defaults and
custom attributes (like ZTF's "version") are not part of the canonical form, so they do not change it;
field order, names, types and union branch order do.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import fastavro
from fastavro.schema import fingerprint as _avro_fingerprint
from fastavro.schema import to_parsing_canonical_form
from pyspark.sql import types as T

from fink_common.alert_packet import official_schema
from fink_common.errors import SchemaError

__all__ = [
    "SCHEMA_NAMES",
    "RAW_SOURCES",
    "load_avro_schema",
    "parsed_schema",
    "schema_fingerprint",
    "spark_schema",
    "raw_alert_schema",
    "conform_record",
    "inline_named_types",
]

#: ZTF's schemas, `<name>.avsc` under `fink_common/schemas/`.
_PACKAGED: tuple[str, ...] = ("ztf_3.3", "ztf_4.02")
#: Rubin's production schemas, read from the official `lsst-alert-packet` package (ids 900, 1000, 1100, 1101).
_RUBIN: tuple[str, ...] = ("lsst_9.0", "lsst_10.0", "lsst_11.0", "lsst_11.1")
#: Every schema known by name.
SCHEMA_NAMES: tuple[str, ...] = _PACKAGED + _RUBIN

#: Survey -> the schema versions whose alerts land in that survey's raw table (oldest first).
RAW_SOURCES: dict[str, tuple[str, ...]] = {
    "ztf": ("ztf_3.3", "ztf_4.02"),
    "lsst": _RUBIN,
}

_PRIMITIVES: dict[str, T.DataType] = {
    "null": T.NullType(),
    "boolean": T.BooleanType(),
    "int": T.IntegerType(),
    "long": T.LongType(),
    "float": T.FloatType(),
    "double": T.DoubleType(),
    "bytes": T.BinaryType(),
    "string": T.StringType(),
}


@cache
def _schema_text(name: str) -> str:
    if name not in SCHEMA_NAMES:
        raise SchemaError(f"unknown schema {name!r}; known schemas: {', '.join(SCHEMA_NAMES)}")
    if name in _RUBIN:
        return json.dumps(official_schema(name.removeprefix("lsst_")))
    try:
        return (resources.files("fink_common") / "schemas" / f"{name}.avsc").read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemaError(f"schema file {name}.avsc cannot be read: {exc}") from exc


def load_avro_schema(name: str) -> dict[str, Any]:
    """The raw JSON dict of a packaged schema (a fresh copy: callers may modify it)."""
    try:
        return json.loads(_schema_text(name))
    except json.JSONDecodeError as exc:
        raise SchemaError(f"schema file {name}.avsc is not valid JSON: {exc}") from exc


@cache
def parsed_schema(name: str) -> dict[str, Any]:
    """The fastavro-parsed form of a packaged schema, parsed once per process. Do not modify it."""
    return _parse(load_avro_schema(name), name)


def _parse(schema: Any, label: str) -> Any:
    try:
        return fastavro.parse_schema(schema)
    except Exception as exc:  # fastavro raises several types for a bad schema
        raise SchemaError(f"schema {label} is not a valid Avro schema: {exc}") from exc


def schema_fingerprint(schema: str | Mapping[str, Any]) -> str:
    """CRC-64-AVRO fingerprint (16 hex digits) of a schema name or schema dict's canonical form."""
    if isinstance(schema, str):
        return _named_fingerprint(schema)
    return _avro_fingerprint(to_parsing_canonical_form(_parse(dict(schema), "given")), "CRC-64-AVRO")


@cache
def _named_fingerprint(name: str) -> str:
    return _avro_fingerprint(to_parsing_canonical_form(parsed_schema(name)), "CRC-64-AVRO")


# --------------------------------------------------------------------------- Avro -> Spark


def spark_schema(avro_schema: Mapping[str, Any]) -> T.StructType:
    """The Spark StructType of an Avro record schema.

    Mapping: record -> StructType, array -> ArrayType, map -> MapType(string, ...), union with null ->
    the other branch marked nullable, enum -> string, fixed/bytes -> binary, int -> integer,
    long -> long, float -> float, double -> double, boolean -> boolean, string -> string;
    logical types date -> DateType, timestamp-millis/micros -> TimestampType, decimal -> DecimalType.
    Unions of two or more non-null types are refused (no sensible column type).
    """
    if not isinstance(avro_schema, Mapping) or avro_schema.get("type") != "record":
        raise SchemaError("spark_schema needs an Avro record schema (a dict with type 'record')")
    names: dict[str, Mapping[str, Any]] = {}
    data_type, _ = _to_spark(avro_schema, "", names, path="")
    assert isinstance(data_type, T.StructType)
    return data_type


def _full_name(schema: Mapping[str, Any], namespace: str) -> str:
    name = str(schema["name"])
    if "." in name:
        return name
    space = schema.get("namespace", namespace)
    return f"{space}.{name}" if space else name


def _to_spark(schema: Any, namespace: str, names: dict[str, Mapping[str, Any]], path: str) -> tuple[T.DataType, bool]:
    """(Spark type, nullable) of one Avro type; `names` collects named types as they are defined."""
    if isinstance(schema, list):
        branches = [b for b in schema if b != "null"]
        nullable = len(branches) < len(schema)
        if len(branches) != 1:
            if not branches:
                return T.NullType(), True
            raise SchemaError(f"{path or '<root>'}: union {schema!r} has several non-null branches")
        data_type, inner_nullable = _to_spark(branches[0], namespace, names, path)
        return data_type, nullable or inner_nullable
    if isinstance(schema, str):
        if schema in _PRIMITIVES:
            return _PRIMITIVES[schema], schema == "null"
        ref = schema if "." in schema or not namespace else f"{namespace}.{schema}"
        target = names.get(ref) or names.get(schema)
        if target is None:
            raise SchemaError(f"{path or '<root>'}: unknown named type {schema!r}")
        return _to_spark(target, namespace, names, path)
    if not isinstance(schema, Mapping):
        raise SchemaError(f"{path or '<root>'}: unexpected schema node {schema!r}")
    kind = schema.get("type")
    logical = schema.get("logicalType")
    if logical == "date" and kind == "int":
        return T.DateType(), False
    if logical in ("timestamp-millis", "timestamp-micros") and kind == "long":
        return T.TimestampType(), False
    if logical == "decimal" and kind in ("bytes", "fixed"):
        return T.DecimalType(int(schema["precision"]), int(schema.get("scale", 0))), False
    if kind == "record":
        full = _full_name(schema, namespace)
        names[full] = schema
        inner_ns = full.rpartition(".")[0]
        fields = []
        for field in schema["fields"]:
            sub = f"{path}.{field['name']}" if path else str(field["name"])
            data_type, nullable = _to_spark(field["type"], inner_ns, names, sub)
            fields.append(T.StructField(str(field["name"]), data_type, nullable))
        return T.StructType(fields), False
    if kind in ("enum", "fixed"):
        names[_full_name(schema, namespace)] = schema
        return (T.StringType() if kind == "enum" else T.BinaryType()), False
    if kind == "array":
        element, contains_null = _to_spark(schema["items"], namespace, names, f"{path}[]")
        return T.ArrayType(element, contains_null), False
    if kind == "map":
        value, value_null = _to_spark(schema["values"], namespace, names, f"{path}{{}}")
        return T.MapType(T.StringType(), value, value_null), False
    if isinstance(kind, (str, list, dict)):
        return _to_spark(kind, namespace, names, path)
    raise SchemaError(f"{path or '<root>'}: unsupported Avro type {kind!r}")


# --------------------------------------------------------------------------- unified raw table


def raw_alert_schema(survey: str = "ztf") -> dict[str, Any]:
    """Avro schema of the survey's raw table: every field of every version in RAW_SOURCES, all nullable.

    Field order follows the newest version; fields only found in older versions come after.
    Named types are inlined once (a record used twice keeps its name and is referenced by it).
    """
    return copy.deepcopy(_raw_schema(survey))


@cache
def _raw_schema(survey: str) -> dict[str, Any]:
    if survey not in RAW_SOURCES:
        raise SchemaError(f"unknown survey {survey!r}; known: {', '.join(RAW_SOURCES)}")
    versions = RAW_SOURCES[survey]
    merged: dict[str, Any] | None = None
    for name in reversed(versions):  # newest first, so its order wins
        expanded = inline_named_types(load_avro_schema(name))
        merged = expanded if merged is None else _merge_records(merged, expanded, name)
    assert merged is not None
    merged["name"] = "alert"
    merged["namespace"] = f"fink.raw.{survey}"
    merged["doc"] = f"Raw {survey} alerts of schema versions {', '.join(versions)}; every field nullable."
    for key in ("version", "aliases"):
        merged.pop(key, None)
    _nullable(merged)  # the record itself stays a record; its fields become optional
    return _name_once(merged, "fink.raw." + survey, set())


def inline_named_types(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a schema where each reference to a named type is replaced by its definition.

    Docs and aliases are dropped; records get explicit `namespace`. Recursive types are refused.
    The result is plain nested dicts, easy to walk without a name table.
    """
    return _expand(schema, "", {})


def _expand(schema: Any, namespace: str, names: dict[str, Any]) -> Any:
    if isinstance(schema, list):
        return [_expand(b, namespace, names) for b in schema]
    if isinstance(schema, str):
        if schema in _PRIMITIVES:
            return schema
        ref = schema if "." in schema or not namespace else f"{namespace}.{schema}"
        found = names.get(ref, names.get(schema))
        if found is None:
            raise SchemaError(f"unknown named type {schema!r}")
        return copy.deepcopy(found)
    out = {k: v for k, v in schema.items() if k not in ("doc", "aliases")}
    kind = out.get("type")
    if kind == "record":
        full = _full_name(out, namespace)
        inner_ns = full.rpartition(".")[0]
        out["name"], out["namespace"] = full.rpartition(".")[2], inner_ns
        out["fields"] = [{"name": f["name"], "type": _expand(f["type"], inner_ns, names)} for f in schema["fields"]]
        names[full] = out
    elif kind in ("enum", "fixed"):
        names[_full_name(out, namespace)] = out
    elif kind == "array":
        out["items"] = _expand(schema["items"], namespace, names)
    elif kind == "map":
        out["values"] = _expand(schema["values"], namespace, names)
    return out


def _strip_null(schema: Any) -> Any:
    if isinstance(schema, list):
        branches = [b for b in schema if b != "null"]
        return branches[0] if len(branches) == 1 else branches
    return schema


def _kind(schema: Any) -> str:
    schema = _strip_null(schema)
    if isinstance(schema, dict):
        return str(schema["type"])
    return str(schema)


def _merge_records(newer: dict[str, Any], older: dict[str, Any], label: str) -> dict[str, Any]:
    by_name = {f["name"]: f for f in newer["fields"]}
    for field in older["fields"]:
        mine = by_name.get(field["name"])
        if mine is None:
            newer["fields"].append(copy.deepcopy(field))
            continue
        a, b = _strip_null(mine["type"]), _strip_null(field["type"])
        if _kind(a) != _kind(b):
            raise SchemaError(f"field {field['name']!r} is {_kind(b)} in {label} but {_kind(a)} in a newer version")
        if _kind(a) == "record":
            _merge_records(a, b, label)
        elif _kind(a) == "array" and _kind(a["items"]) == "record":
            _merge_records(_strip_null(a["items"]), _strip_null(b["items"]), label)
    return newer


def _nullable(schema: Any) -> Any:
    """Every field becomes ["null", T] with default null; array items and nested records too."""
    inner = _strip_null(schema)
    if isinstance(inner, dict):
        if inner["type"] == "record":
            inner["fields"] = [
                {"name": f["name"], "type": _nullable(f["type"]), "default": None} for f in inner["fields"]
            ]
        elif inner["type"] == "array":
            inner["items"] = _nullable(inner["items"])
        elif inner["type"] == "map":
            inner["values"] = _nullable(inner["values"])
    if isinstance(inner, list):
        return ["null", *inner]
    return ["null", inner] if inner != "null" else "null"


def _name_once(schema: Any, namespace: str, seen: set[str]) -> Any:
    """Replace the second and later definitions of a named type by a reference to it."""
    if isinstance(schema, list):
        return [_name_once(b, namespace, seen) for b in schema]
    if not isinstance(schema, dict):
        return schema
    kind = schema["type"]
    if kind in ("record", "enum", "fixed"):
        full = _full_name(schema, namespace)
        if full in seen:
            return full
        seen.add(full)
        if kind == "record":
            inner_ns = full.rpartition(".")[0]
            for field in schema["fields"]:
                field["type"] = _name_once(field["type"], inner_ns, seen)
    elif kind == "array":
        schema["items"] = _name_once(schema["items"], namespace, seen)
    elif kind == "map":
        schema["values"] = _name_once(schema["values"], namespace, seen)
    return schema


def conform_record(record: Mapping[str, Any], survey: str = "ztf") -> dict[str, Any]:
    """A decoded alert of any version of the survey, reshaped to the raw table's fields.

    Missing fields become None; fields unknown to the raw schema are dropped. Nested records
    (and records inside arrays) are conformed the same way. Values are not copied.
    """
    return _conform(record, _record_plan(survey))


_Plan = tuple[tuple[str, Any], ...]  # (field name, sub-plan or None) per field, in raw-table order


@cache
def _record_plan(survey: str) -> _Plan:
    return _plan_of(_raw_schema(survey), {})


def _plan_of(record: Mapping[str, Any], plans: dict[str, _Plan]) -> _Plan:
    plans[str(record["name"])] = ()
    out = []
    for field in record["fields"]:
        inner = _strip_null(field["type"])
        sub: Any = None
        if isinstance(inner, str) and inner.rpartition(".")[2] in plans:
            sub = ("record", plans[inner.rpartition(".")[2]])
        elif isinstance(inner, dict) and inner["type"] == "record":
            sub = ("record", _plan_of(inner, plans))
        elif isinstance(inner, dict) and inner["type"] == "array":
            items = _strip_null(inner["items"])
            if isinstance(items, dict) and items["type"] == "record":
                sub = ("array", _plan_of(items, plans))
            elif isinstance(items, str) and items.rpartition(".")[2] in plans:
                sub = ("array", plans[items.rpartition(".")[2]])
        out.append((str(field["name"]), sub))
    plan = tuple(out)
    plans[str(record["name"])] = plan
    return plan


def _conform(record: Mapping[str, Any], plan: _Plan) -> dict[str, Any]:
    out: dict[str, Any] = {}
    get = record.get
    for name, sub in plan:
        value = get(name)
        if sub is not None and value is not None:
            kind, inner = sub
            if kind == "record":
                value = _conform(value, inner)
            else:
                value = [None if item is None else _conform(item, inner) for item in value]
        out[name] = value
    return out
