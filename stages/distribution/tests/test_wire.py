"""The Avro schema derived from a Spark schema: nullable unions, stable record names, type mapping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyspark.sql import types as T

from fink_common.errors import SchemaError
from fink_common.schema import schema_fingerprint
from fink_distribution.wire import WireSchema, avro_schema, wire_schema, write_schema_file

STRUCT = T.StructType(
    [
        T.StructField("objectId", T.StringType(), False),
        T.StructField("candid", T.LongType(), True),
        T.StructField(
            "candidate",
            T.StructType(
                [
                    T.StructField("jd", T.DoubleType(), False),
                    T.StructField("fid", T.IntegerType(), True),
                    T.StructField("magpsf", T.FloatType(), True),
                ]
            ),
            True,
        ),
        T.StructField(
            "prv_candidates",
            T.ArrayType(T.StructType([T.StructField("jd", T.DoubleType(), True)]), True),
            True,
        ),
        T.StructField("cutout", T.StructType([T.StructField("stampData", T.BinaryType(), True)]), True),
        T.StructField("tags", T.MapType(T.StringType(), T.ShortType(), True), True),
        T.StructField("from_upper", T.BooleanType(), True),
        T.StructField("science_timestamp", T.TimestampType(), True),
        T.StructField("night", T.StringType(), True),
    ]
)


def test_every_field_is_a_nullable_union_with_default_null() -> None:
    schema = avro_schema(STRUCT, "ztf")
    assert (schema["type"], schema["name"], schema["namespace"]) == ("record", "alert", "fink.ztf")
    assert [f["name"] for f in schema["fields"]] == STRUCT.fieldNames()
    by_name = {f["name"]: f for f in schema["fields"]}
    for field in schema["fields"]:
        assert field["type"][0] == "null" and field["default"] is None, field["name"]
    assert by_name["objectId"]["type"] == ["null", "string"]  # even a non-nullable Spark field
    assert by_name["candid"]["type"] == ["null", "long"]
    candidate = by_name["candidate"]["type"][1]
    assert (candidate["name"], candidate["namespace"]) == ("candidate", "fink.ztf.alert")
    assert [f["type"] for f in candidate["fields"]] == [["null", "double"], ["null", "int"], ["null", "float"]]
    items = by_name["prv_candidates"]["type"][1]["items"]
    assert items[0] == "null" and items[1]["name"] == "prv_candidates_item"
    assert by_name["cutout"]["type"][1]["fields"][0]["type"] == ["null", "bytes"]
    assert by_name["tags"]["type"][1] == {"type": "map", "values": ["null", "int"]}
    assert by_name["science_timestamp"]["type"][1] == {"type": "long", "logicalType": "timestamp-micros"}


def test_names_and_fingerprint_are_stable() -> None:
    first, second = wire_schema(STRUCT, "ztf"), wire_schema(STRUCT, "ztf")
    assert first.text == second.text and first.fingerprint == second.fingerprint
    assert first.fingerprint == schema_fingerprint(json.loads(first.text))
    assert len(first.fingerprint) == 16 and int(first.fingerprint, 16) >= 0
    assert WireSchema.from_text(first.text) == first
    renamed = T.StructType([*STRUCT.fields[:-1], T.StructField("night2", T.StringType(), True)])
    assert wire_schema(renamed, "ztf").fingerprint != first.fingerprint


def test_unmappable_columns_are_all_reported() -> None:
    bad = T.StructType(
        [
            T.StructField("bad name", T.StringType()),
            T.StructField("m", T.MapType(T.IntegerType(), T.StringType())),
            T.StructField("t", T.CalendarIntervalType()),
        ]
    )
    with pytest.raises(SchemaError) as caught:
        avro_schema(bad, "ztf")
    message = str(caught.value)
    assert "'bad name'" in message and "map keys" in message and "interval" in message


def test_schema_file_is_written_once_under_its_fingerprint(tmp_path: Path) -> None:
    schema = wire_schema(STRUCT, "ztf")
    path = write_schema_file(tmp_path / "schemas", schema)
    assert path == tmp_path / "schemas" / f"{schema.fingerprint}.avsc"
    stamp = path.stat().st_mtime_ns
    assert write_schema_file(tmp_path / "schemas", schema) == path
    assert path.stat().st_mtime_ns == stamp  # identical content: left alone
    assert WireSchema.from_text(path.read_text()) == schema
    assert [p.name for p in (tmp_path / "schemas").iterdir()] == [path.name]  # no temporary file left
