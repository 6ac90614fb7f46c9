"""Schemas: our .avsc files against the real alerts' writer schemas, Spark derivation, raw table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import fastavro
import pytest
from pyspark.sql import SparkSession
from pyspark.sql import types as T

from fink_common.avro import decode_alert
from fink_common.datasets import DATASIM_ENV, datasim_dir, sample_files
from fink_common.errors import DataNotFoundError, SchemaError
from fink_common.schema import (
    SCHEMA_NAMES,
    conform_record,
    load_avro_schema,
    parsed_schema,
    raw_alert_schema,
    schema_fingerprint,
    spark_schema,
)

#: Known, intended differences between our schema and the sample files' writer schema.
#: ztf_4.02: the real ZTF 4.02 layout has fp_hists; the samples were re-written by a broker that
#: dropped it. lsst_9.0: the samples carry two columns the broker added at ingestion.
#: lsst_10.0: the sample is what Fink stored, Rubin's fields plus Fink's added values.
ONLY_OURS = {"ztf_3.3": set(), "ztf_4.02": {"fp_hists"}, "lsst_9.0": set(), "lsst_10.0": set()}
_FINK_LSST = {"brokerIngestMjd", "lsst_schema_version"}
_FINK_LSST_SCIENCE = {
    "brokerStartProcessTimestamp", "fink_broker_version", "fink_science_version", "publisher", "lc_features", "clf",
    "xm", "pred", "misc", "brokerEndProcessTimestamp", "timestamp", "year", "month", "day", "tns_type_recomputed",
}  # fmt: skip
ONLY_FILES = {"ztf_3.3": set(), "ztf_4.02": set(), "lsst_9.0": _FINK_LSST, "lsst_10.0": _FINK_LSST | _FINK_LSST_SCIENCE}
#: The schemas with real container files to compare against.
WITH_FILES = tuple(ONLY_OURS)


def _writer_schemas(name: str) -> list[dict[str, Any]]:
    out = []
    for path in sample_files(name):
        with path.open("rb") as handle:
            out.append(json.loads(fastavro.reader(handle).metadata["avro.schema"]))
    return out


def _shape(node: Any, names: dict[str, Any], namespace: str = "") -> Any:
    """Structure of an Avro type with nullability and record names removed: what must agree."""
    if isinstance(node, list):
        branches = [b for b in node if b != "null"]
        assert len(branches) == 1, node
        return _shape(branches[0], names, namespace)
    if isinstance(node, str):
        if node in names or f"{namespace}.{node}" in names:
            return _shape(names.get(node) or names[f"{namespace}.{node}"], names, namespace)
        return node
    kind = node["type"]
    if kind == "record":
        full = (
            node["name"]
            if "." in node["name"]
            else ".".join(p for p in (node.get("namespace", namespace), node["name"]) if p)
        )
        names[full] = node
        inner = full.rpartition(".")[0]
        return {f["name"]: _shape(f["type"], names, inner) for f in node["fields"]}
    if kind == "array":
        return [_shape(node["items"], names, namespace)]
    return _shape(kind, names, namespace)


def _walk_fields(shape: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in shape.items():
        yield prefix + key
        if isinstance(value, list):
            value = value[0]
        if isinstance(value, dict):
            yield from _walk_fields(value, f"{prefix}{key}.")


# --------------------------------------------------------------------------- loading


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_schema_loads_and_parses(name: str) -> None:
    schema = load_avro_schema(name)
    assert schema["type"] == "record"
    assert parsed_schema(name) is parsed_schema(name)  # parsed once
    schema["fields"].clear()  # callers get their own copy
    assert load_avro_schema(name)["fields"]


def test_record_names_are_the_survey_ones() -> None:
    ztf4 = load_avro_schema("ztf_4.02")
    names: dict[str, Any] = {}
    _shape(ztf4, names)
    assert {"ztf.alert", "ztf.alert.candidate", "ztf.alert.prv_candidate", "ztf.alert.cutout"} <= set(names)
    assert ztf4["version"] == "4.02"
    lsst = load_avro_schema("lsst_9.0")
    assert (lsst["namespace"], lsst["name"]) == ("lsst.v9_0", "alert")


def test_unknown_schema_name_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match="unknown schema 'ztf_9.9'"):
        load_avro_schema("ztf_9.9")


# ------------------------------------------------------------------ against the real files


@pytest.mark.parametrize("name", WITH_FILES)
def test_our_schema_has_the_writer_schema_fields(name: str) -> None:
    writers = _writer_schemas(name)
    assert len({json.dumps(w, sort_keys=True) for w in writers}) == 1, "one writer schema per folder"
    theirs = _shape(writers[0], {})
    ours = _shape(load_avro_schema(name), {})
    assert set(ours) - set(theirs) == ONLY_OURS[name]
    assert set(theirs) - set(ours) == ONLY_FILES[name]
    for field in set(ours) & set(theirs):
        assert ours[field] == theirs[field], f"{name}: {field} differs in names, nesting or types"


def test_ztf_33_schema_is_exactly_ztfs() -> None:
    # Same canonical form (names, order, types, union order) as the writer schema ZTF used.
    writer = _writer_schemas("ztf_3.3")[0]
    assert schema_fingerprint(writer) == schema_fingerprint("ztf_3.3")


def test_ztf_402_nullability_follows_ztf() -> None:
    schema = load_avro_schema("ztf_4.02")
    top = {f["name"]: f["type"] for f in schema["fields"]}
    assert top["objectId"] == "string" and top["candid"] == "long"
    assert top["prv_candidates"][0] == "null" and top["fp_hists"][0] == "null"
    candidate = {f["name"]: f for f in top["candidate"]["fields"]}
    assert candidate["jd"]["type"] == "double" and candidate["magpsf"]["type"] == "float"
    assert candidate["rb"]["type"] == ["null", "float"] and candidate["rb"]["default"] is None
    assert candidate["tooflag"]["default"] is None  # 3.3 had 0
    prv = {f["name"]: f["type"] for f in top["prv_candidates"][1]["items"]["fields"]}
    assert prv["magpsf"] == ["null", "float"] and prv["jd"] == "double"


# --------------------------------------------------------------------------- fingerprints


def test_fingerprint_is_crc64_of_canonical_form() -> None:
    prints = {name: schema_fingerprint(name) for name in SCHEMA_NAMES}
    assert len(set(prints.values())) == len(SCHEMA_NAMES)
    for value in prints.values():
        assert len(value) == 16 and int(value, 16) >= 0
    undocumented = load_avro_schema("ztf_4.02")
    undocumented["doc"] = "something else"
    assert schema_fingerprint(undocumented) == prints["ztf_4.02"]
    canonical = fastavro.schema.to_parsing_canonical_form(parsed_schema("lsst_9.0"))
    assert fastavro.schema.fingerprint(canonical, "CRC-64-AVRO") == prints["lsst_9.0"]


# --------------------------------------------------------------------------- Spark schema


def test_spark_schema_types_of_ztf_402() -> None:
    struct = spark_schema(load_avro_schema("ztf_4.02"))
    top = {f.name: f for f in struct.fields}
    assert top["candid"].dataType == T.LongType() and not top["candid"].nullable
    assert top["objectId"].dataType == T.StringType() and not top["objectId"].nullable
    candidate = top["candidate"].dataType
    assert isinstance(candidate, T.StructType)
    assert candidate["jd"].dataType == T.DoubleType() and not candidate["jd"].nullable
    assert candidate["fid"].dataType == T.IntegerType()
    assert candidate["rb"].dataType == T.FloatType() and candidate["rb"].nullable
    prv = top["prv_candidates"]
    assert prv.nullable and isinstance(prv.dataType, T.ArrayType)
    assert not prv.dataType.containsNull and isinstance(prv.dataType.elementType, T.StructType)
    for cutout in ("cutoutScience", "cutoutTemplate", "cutoutDifference"):  # named-type reuse
        assert top[cutout].dataType["stampData"].dataType == T.BinaryType()


def _strip_nullability(data_type: T.DataType, plain_times: bool = False) -> T.DataType:
    """The type with every field nullable; with `plain_times`, timestamps as the longs they are encoded as."""
    if isinstance(data_type, T.StructType):
        fields = [T.StructField(f.name, _strip_nullability(f.dataType, plain_times), True) for f in data_type]
        return T.StructType(fields)
    if isinstance(data_type, T.ArrayType):
        return T.ArrayType(_strip_nullability(data_type.elementType, plain_times), True)
    if plain_times and isinstance(data_type, T.TimestampType):
        return T.LongType()
    return data_type


#: Fink stored mpc_orbits' timestamp-micros fields (created_at, ...) as plain longs: same bytes, no logical type.
PLAIN_TIMES = {"lsst_10.0"}


@pytest.mark.parametrize("name", WITH_FILES)
def test_spark_schema_agrees_with_writer_modulo_nullability(name: str) -> None:
    ours = spark_schema(load_avro_schema(name))
    theirs = spark_schema(_writer_schemas(name)[0])
    keep = [f for f in theirs if f.name not in ONLY_FILES[name]]
    mine = {f.name: f for f in ours if f.name not in ONLY_OURS[name]}
    assert len(keep) == len(mine)
    for field in keep:
        plain = name in PLAIN_TIMES
        theirs_type, ours_type = _strip_nullability(field.dataType, plain), _strip_nullability(mine[field.name].dataType, plain)
        assert theirs_type == ours_type, field.name


def test_spark_schema_other_avro_types() -> None:
    schema = {
        "type": "record",
        "name": "r",
        "fields": [
            {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["a", "b"]}},
            {"name": "m", "type": {"type": "map", "values": ["null", "double"]}},
            {"name": "t", "type": {"type": "long", "logicalType": "timestamp-micros"}},
            {"name": "d", "type": {"type": "int", "logicalType": "date"}},
            {"name": "x", "type": {"type": "fixed", "name": "X", "size": 4}},
            {"name": "b", "type": "boolean"},
            {"name": "again", "type": ["null", "E"]},
        ],
    }
    struct = spark_schema(schema)
    assert struct["e"].dataType == T.StringType()
    assert struct["m"].dataType == T.MapType(T.StringType(), T.DoubleType(), True)
    assert struct["t"].dataType == T.TimestampType()
    assert struct["d"].dataType == T.DateType()
    assert struct["x"].dataType == T.BinaryType()
    assert struct["again"].dataType == T.StringType() and struct["again"].nullable
    with pytest.raises(SchemaError, match="several non-null branches"):
        spark_schema({"type": "record", "name": "u", "fields": [{"name": "v", "type": ["int", "string"]}]})
    with pytest.raises(SchemaError, match="record schema"):
        spark_schema({"type": "array", "items": "int"})  # type: ignore[arg-type]


# --------------------------------------------------------------------------- raw table


def _all_nullable(data_type: T.DataType) -> bool:
    if isinstance(data_type, T.StructType):
        return all(f.nullable and _all_nullable(f.dataType) for f in data_type)
    if isinstance(data_type, T.ArrayType):
        return data_type.containsNull and _all_nullable(data_type.elementType)
    return True


def test_raw_schema_is_a_nullable_superset() -> None:
    raw = raw_alert_schema("ztf")
    fastavro.parse_schema(raw)
    raw_fields = set(_walk_fields(_shape(raw, {})))
    for name in ("ztf_3.3", "ztf_4.02"):
        assert set(_walk_fields(_shape(load_avro_schema(name), {}))) <= raw_fields
    assert "fp_hists.forcediffimflux" in raw_fields
    assert _all_nullable(spark_schema(raw))
    assert _all_nullable(spark_schema(raw_alert_schema("lsst")))
    with pytest.raises(SchemaError, match="unknown survey"):
        raw_alert_schema("decam")


def _decoded(name: str, limit: int | None = None) -> list[dict[str, Any]]:
    files = sample_files(name)[:limit]
    return [decode_alert(path.read_bytes(), name) for path in files]


def test_raw_schema_accepts_conformed_33_and_402_records() -> None:
    parsed_raw = fastavro.parse_schema(raw_alert_schema("ztf"))
    old, new = _decoded("ztf_3.3"), _decoded("ztf_4.02")
    for record in old + new:
        conformed = conform_record(record)
        assert list(conformed) == [f["name"] for f in raw_alert_schema("ztf")["fields"]]
        assert fastavro.validation.validate(conformed, parsed_raw, raise_errors=True)
        buffer = BytesIO()
        fastavro.schemaless_writer(buffer, parsed_raw, conformed)
        buffer.seek(0)
        assert fastavro.schemaless_reader(buffer, parsed_raw, None) == conformed
    assert conform_record(old[0])["fp_hists"] is None
    assert conform_record(old[0])["candidate"]["jd"] == old[0]["candidate"]["jd"]


def test_conform_fills_missing_and_drops_unknown_fields() -> None:
    conformed = conform_record({"objectId": "ZTF1", "candidate": {"jd": 1.0}, "junk": 3, "prv_candidates": [None]})
    assert conformed["objectId"] == "ZTF1" and "junk" not in conformed
    assert conformed["candid"] is None and conformed["cutoutScience"] is None
    assert conformed["candidate"]["jd"] == 1.0 and conformed["candidate"]["rb"] is None
    assert conformed["prv_candidates"] == [None]


def test_spark_schema_of_raw_table_builds_a_dataframe(spark: SparkSession) -> None:
    old, new = _decoded("ztf_3.3", 10), _decoded("ztf_4.02", 10)
    rows = [conform_record(r) for r in old + new]
    frame = spark.createDataFrame(rows, schema=spark_schema(raw_alert_schema("ztf")))
    assert frame.count() == 20
    got = frame.select("objectId", "candid", "candidate.jd", "schemavsn").collect()
    assert [(r.objectId, r.candid, r.jd) for r in got] == [
        (r["objectId"], r["candid"], r["candidate"]["jd"]) for r in old + new
    ]
    assert {r.schemavsn for r in got} == {old[0]["schemavsn"], new[0]["schemavsn"]}
    stamp = frame.select("cutoutScience.stampData").first()
    assert stamp is not None and bytes(stamp[0]) == old[0]["cutoutScience"]["stampData"]
    lengths = [None if r[0] in (None, -1) else r[0] for r in frame.selectExpr("size(prv_candidates)").collect()]
    assert lengths == [None if r["prv_candidates"] is None else len(r["prv_candidates"]) for r in old + new]


# --------------------------------------------------------------------------- data location


def test_missing_datasim_dir_fails_with_how_to(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-datasim"
    monkeypatch.setenv(DATASIM_ENV, str(missing))
    with pytest.raises(DataNotFoundError) as info:
        datasim_dir()
    message = str(info.value)
    assert str(missing) in message and DATASIM_ENV in message and "shared/datasim" in message
