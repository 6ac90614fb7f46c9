"""The bytes of archive cells written from Arrow columns, in the text Spark writes (see `fink_archive.tables`).

The archive's tasks build cells in Python from the science parquet (`fink_archive.rows`), so this module writes
each value as Spark's `cast("string")`, `date_format` and `to_json` do: integers in decimal; a double or a float
as Java prints it (`Double.toString` / `Float.toString`: the shortest digits that read back to the same value,
plain from 1e-3 to 1e7, else `1.2345E7`; `NaN`, `Infinity`); booleans `true`/`false`; timestamps
`yyyy-MM-ddTHH:mm:ss.ffffffZ` (UTC); structs, arrays and maps as JSON with nulls kept and a non-finite float
quoted. `cells.decode_cells` reads these back to the same values as Spark's own text.

The types are the plans' Spark types (`pyspark.sql.types`), which the schema rows record.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
from pyspark.sql import types as T

__all__ = ["cell_bytes", "java_double", "java_float", "json_text"]

_SPECIAL = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}
_MIN_SUBNORMAL = 5e-324
_INTEGRAL = (T.ByteType, T.ShortType, T.IntegerType, T.LongType)


def _java_style(text: str) -> str:
    """A Python/numpy shortest float text (`12345678.9`, `1e-05`, `nan`) in Java's form (`1.23456789E7`, `1.0E-5`)."""
    if text in _SPECIAL:
        return _SPECIAL[text]
    sign = "-" if text.startswith("-") else ""
    body = text.lstrip("-")
    mantissa, _, exponent = body.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    if not digits:
        return f"{sign}0.0"
    leading = len(whole + fraction) - len(digits)
    point = len(whole) + int(exponent or 0) - leading  # value = 0.<digits> * 10**point
    digits = digits.rstrip("0")
    scientific = point - 1
    if -3 <= scientific < 7:
        if point <= 0:
            return f"{sign}0.{'0' * -point}{digits}"
        head, tail = digits[:point].ljust(point, "0"), digits[point:]
        return f"{sign}{head}.{tail or '0'}"
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{scientific}"


def java_double(value: float) -> str:
    """`Double.toString`: 18.123, 100.0, 1.0E20, 1.0E-4, NaN, -Infinity.

    Java prints the smallest subnormal as 4.9E-324 (two digits where one reads back). The JDK 17 that Spark runs on
    also prints a few other values with more digits than needed (JDK-4511638, fixed in 19); this writes the
    shortest ones, which read back to the same double."""
    if 1e-3 <= abs(value) < 1e7:  # Python's repr is already Java's text here
        return repr(value)
    if abs(value) == _MIN_SUBNORMAL:
        return "-4.9E-324" if value < 0 else "4.9E-324"
    return _java_style(repr(value))


def java_float(value: float) -> str:
    """`Float.toString` of a float32 value (given as the Python float it widens to): 18.123, not 18.12299919."""
    return _java_style(str(np.float32(value)))


def _iso(value: datetime) -> str:
    moment = value.astimezone(UTC) if value.tzinfo else value
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def _json_float(value: float, text: Callable[[float], str]) -> str:
    return text(value) if math.isfinite(value) else f'"{text(value)}"'


def json_text(value: Any, dtype: T.DataType) -> str:
    """`to_json` of one value of `dtype` (`ignoreNullFields` false: a null field is written as null)."""
    if value is None:
        return "null"
    if isinstance(dtype, T.StructType):
        inner = ",".join(f"{json.dumps(f.name)}:{json_text(value.get(f.name), f.dataType)}" for f in dtype.fields)
        return "{" + inner + "}"
    if isinstance(dtype, T.ArrayType):
        return "[" + ",".join(json_text(v, dtype.elementType) for v in value) + "]"
    if isinstance(dtype, T.MapType):
        pairs = value.items() if isinstance(value, dict) else value
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{json_text(v, dtype.valueType)}" for k, v in pairs) + "}"
    if isinstance(dtype, T.DoubleType):
        return _json_float(value, java_double)
    if isinstance(dtype, T.FloatType):
        return _json_float(value, java_float)
    if isinstance(dtype, T.BooleanType):
        return "true" if value else "false"
    if isinstance(dtype, T.StringType):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(dtype, T.BinaryType):
        return json.dumps(base64.b64encode(value).decode())
    if isinstance(dtype, T.TimestampType):
        return json.dumps(value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z")
    return str(value)


def _scalar(dtype: T.DataType) -> Callable[[Any], bytes]:
    if isinstance(dtype, T.BinaryType):
        return bytes
    if isinstance(dtype, T.StringType):
        return lambda v: v.encode()
    if isinstance(dtype, _INTEGRAL):
        return lambda v: str(v).encode()
    if isinstance(dtype, T.DoubleType):
        return lambda v: java_double(v).encode()
    if isinstance(dtype, T.FloatType):
        return lambda v: java_float(v).encode()
    if isinstance(dtype, T.BooleanType):
        return lambda v: b"true" if v else b"false"
    if isinstance(dtype, T.TimestampType):
        return lambda v: _iso(v).encode()
    if isinstance(dtype, T.StructType | T.ArrayType | T.MapType):
        return lambda v: json_text(v, dtype).encode()
    return lambda v: str(v).encode()


def cell_bytes(column: pa.Array | pa.ChunkedArray, dtype: T.DataType) -> list[bytes | None]:
    """The cell of each value of an Arrow column of Spark type `dtype` (None for a null: no cell)."""
    if isinstance(dtype, T.BinaryType):
        return column.to_pylist()  # type: ignore[no-any-return]
    if isinstance(dtype, T.StringType):
        return [None if v is None else v.encode() for v in column.to_pylist()]
    if isinstance(dtype, _INTEGRAL) and pa.types.is_integer(column.type):
        text = column.cast(pa.string()).to_pylist()
        return [None if v is None else v.encode() for v in text]
    write = _scalar(dtype)
    return [None if v is None else write(v) for v in column.to_pylist()]
