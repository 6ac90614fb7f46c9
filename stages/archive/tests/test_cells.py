"""The cell decoders without Spark: Spark type names parsed, every kind of cell back to its Python value."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

from fink_archive.cells import decode_cells, decode_value, parse_type


def test_parse_type_and_decode_values() -> None:
    text = "struct<a:double,b:array<int>,c:map<string,float>,d:struct<e:string>>"
    assert parse_type(text) == (
        "struct",
        (
            ("a", "double"),
            ("b", ("array", "int")),
            ("c", ("map", "string", "float")),
            ("d", ("struct", (("e", "string"),))),
        ),
    )
    value = decode_value(b'{"a":"NaN","b":[1,null],"c":{"x":"Infinity"},"d":null}', text)
    assert math.isnan(value["a"]) and value["b"] == [1, None] and value["c"] == {"x": math.inf} and value["d"] is None
    assert parse_type("struct<x:decimal(10,2),y:int>") == ("struct", (("x", "decimal(10,2)"), ("y", "int")))
    assert decode_value(b'{"x":1.25,"y":2}', "struct<x:decimal(10,2),y:int>") == {"x": 1.25, "y": 2}
    assert decode_value(b"1.25", "decimal(10,2)") == Decimal("1.25")
    assert decode_value(b"\x1f\x8b\xff", None) == b"\x1f\x8b\xff" and decode_value(b"abc", None) == "abc"
    assert decode_value(b"1.0E20", "double") == 1e20
    assert decode_value(b"42", "bigint") == 42
    assert decode_value(b"false", "boolean") is False
    assert decode_value(b"\x00\x01", "binary") == b"\x00\x01"
    assert decode_value(b"2023-10-19T06:00:00.000000Z", "timestamp") == datetime(2023, 10, 19, 6, tzinfo=UTC)
    cells = {b"i:jd": b"2460236.5", b"class:Mira": b"3", b"d:x": b"text"}
    types = {b"i:jd": "double", b"class:*": "int"}
    assert decode_cells(cells, types) == {"jd": 2460236.5, "Mira": 3, "x": "text"}
    assert decode_cells(cells, types, full_names=True)["class:Mira"] == 3
