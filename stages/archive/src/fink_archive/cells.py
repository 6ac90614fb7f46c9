"""Archive cells back to Python values: the Spark type names of a table's schema row, and the decoders.

Every table of the archive holds one schema row whose cells name the Spark type (`simpleString`) of each
column; `decode_cells` turns a row's cells (UTF-8 text, JSON for nested values, raw bytes for binaries;
see `fink_archive.tables` for the encoding) back into Python values with those types. This module does not
import pyspark: the API and the reconciliation read the archive with it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

__all__ = ["TypeTree", "decode_cells", "decode_value", "parse_type", "schema_types"]

#: A parsed Spark type name: "int", ("array", T), ("map", K, V) or ("struct", ((name, T), ...)).
TypeTree = str | tuple[Any, ...]
_INTEGERS = frozenset({"tinyint", "smallint", "int", "bigint"})
_FLOATS = frozenset({"float", "double"})
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def parse_type(text: str) -> TypeTree:
    """Parse a Spark `simpleString` type name (as stored in schema rows), e.g. `struct<a:double,b:array<int>>`."""
    tree, rest = _parse(text.strip())
    if rest:
        raise ValueError(f"unexpected {rest!r} after type in {text!r}")
    return tree


def _parse(text: str) -> tuple[TypeTree, str]:
    for kind in ("struct<", "array<", "map<"):
        if text.startswith(kind):
            return _parse_nested(kind[:-1], text[len(kind) :])
    start = text.find(")") + 1 if text.startswith("decimal(") else 0  # decimal(10,2) holds a comma
    end = min((i for i in (text.find(",", start), text.find(">", start)) if i >= 0), default=len(text))
    return text[:end], text[end:]


def _parse_nested(kind: str, text: str) -> tuple[TypeTree, str]:
    if kind == "array":
        inner, rest = _parse(text)
        return ("array", inner), _expect(rest, ">")
    if kind == "map":
        key, rest = _parse(text)
        value, rest = _parse(_expect(rest, ","))
        return ("map", key, value), _expect(rest, ">")
    fields: list[tuple[str, TypeTree]] = []
    rest = text
    while not rest.startswith(">"):
        name, sep, rest = rest.partition(":")
        if not sep:
            raise ValueError(f"struct field without a type near {text!r}")
        field_type, rest = _parse(rest)
        fields.append((name, field_type))
        if rest.startswith(","):
            rest = rest[1:]
    return ("struct", tuple(fields)), rest[1:]


def _expect(text: str, token: str) -> str:
    if not text.startswith(token):
        raise ValueError(f"expected {token!r} at {text!r}")
    return text[len(token) :]


def _from_json(value: Any, tree: TypeTree) -> Any:
    if value is None:
        return None
    if isinstance(tree, str):
        if tree in _FLOATS and isinstance(value, str):
            return _SPECIAL_FLOATS.get(value, value)
        return value
    if tree[0] == "array":
        return [_from_json(v, tree[1]) for v in value]
    if tree[0] == "map":
        return {k: _from_json(v, tree[2]) for k, v in value.items()}
    return {name: _from_json(value.get(name), sub) for name, sub in tree[1]}


def decode_value(raw: bytes, type_name: str | None) -> Any:
    """One cell back to a Python value; without a type, a cell is `str` if it is UTF-8 text, else `bytes`."""
    if type_name == "binary":
        return raw
    if type_name is None:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw
    text = raw.decode("utf-8")
    if type_name == "string":
        return text
    if type_name in _INTEGERS:
        return int(text)
    if type_name in _FLOATS:
        return float(text)
    if type_name == "boolean":
        return text == "true"
    if type_name == "timestamp":
        return datetime.fromisoformat(text)
    if type_name.startswith("decimal("):
        return Decimal(text)
    if type_name.startswith(("struct<", "array<", "map<")):
        return _from_json(json.loads(text), parse_type(type_name))
    return text


def schema_types(schema_cells: Mapping[bytes, bytes]) -> dict[bytes, str]:
    """The schema row of a table -> {b"family:qualifier": type name}."""
    return {column: kind.decode() for column, kind in schema_cells.items()}


def decode_cells(
    cells: Mapping[bytes, bytes], types: Mapping[bytes, str] | None = None, *, full_names: bool = False
) -> dict[str, Any]:
    """A row's cells -> {qualifier: value} (or {"family:qualifier": value} with full_names).

    Types come from the table's schema row (`schema_types`); a cell of a dynamic column such as
    `class:<label>` of the statistics table takes the type given for `family:*`.
    """
    types = types or {}
    out: dict[str, Any] = {}
    for column, raw in cells.items():
        family, _, qualifier = column.decode().partition(":")
        kind = types.get(column) or types.get(f"{family}:*".encode())
        out[column.decode() if full_names else qualifier] = decode_value(raw, kind)
    return out
