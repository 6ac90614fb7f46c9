"""The archive's fast path (Arrow rows, `fink_archive.rows`) against its DataFrame steps (`transform.archive_cells`):
the same tables, rowkeys and cell bytes, on the real ZTF 4.02 alerts and on the real and datasim Rubin ones; and
the cell text of awkward values against Spark's own."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from archive_env import ztf_science_lake
from lsst_alerts import lsst_science_lake  # noqa: F401  (session fixture)
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from fink_archive.plans import keyed_schema
from fink_archive.rows import keyed_frame, table_plans, table_rows
from fink_archive.tables import ArchiveTables
from fink_archive.text import cell_bytes, java_double, java_float, json_text
from fink_archive.transform import archive_cells, with_keys
from fink_archive.writer import file_batches, latest_columns, plan_for
from fink_common.batchfiles import BatchFile
from fink_common.config import HBaseConfig
from fink_common.errors import SchemaError

Rows = dict[tuple[str, str], list[dict[bytes, bytes]]]
VERSION = "9.9.9"


def _dataframe_rows(spark: SparkSession, lake: Path, tables: ArchiveTables) -> Rows:
    out: Rows = defaultdict(list)
    science = spark.read.parquet(str(lake / "science"))
    for row in archive_cells(with_keys(science, VERSION, tables.layout), tables).collect():
        out[(row["table"], row["rowkey"])].append({k.encode(): bytes(v) for k, v in row["cells"].items()})
    return out


def _arrow_rows(spark: SparkSession, lake: Path, tables: ArchiveTables) -> Rows:
    plans = table_plans(keyed_schema(spark.read.parquet(str(lake / "science")).schema), tables)
    out: Rows = defaultdict(list)
    for path in sorted((lake / "science").rglob("*.parquet")):
        for batch in file_batches(BatchFile(str(path), path.parent.name.partition("=")[2])):
            frame, _ = keyed_frame(batch, tables.layout, VERSION)
            for table, rows in table_rows(frame, tables.layout, plans):
                for key, cells in rows:
                    out[(table, key.decode())].append(cells)
    return out


def _assert_same(expected: Rows, got: Rows) -> None:
    assert sorted(got) == sorted(expected)
    for key, rows in expected.items():
        assert sorted(got[key], key=repr) == sorted(rows, key=repr), key


def test_ztf_rows_are_those_of_the_dataframe_steps(spark: SparkSession, tmp_path: Path) -> None:
    lake = ztf_science_lake(spark, tmp_path / "lake", 2)
    tables = ArchiveTables("ztf")
    expected = _dataframe_rows(spark, lake, tables)
    assert {t for t, _ in expected} == set(tables.families()) - {tables.statistics}  # every table has rows
    _assert_same(expected, _arrow_rows(spark, lake, tables))


def test_lsst_rows_are_those_of_the_dataframe_steps(spark: SparkSession, lsst_science_lake: Path) -> None:  # noqa: F811
    tables = ArchiveTables("lsst")
    expected = _dataframe_rows(spark, lsst_science_lake, tables)
    assert {t for t, _ in expected} == set(tables.families()) - {tables.statistics}
    _assert_same(expected, _arrow_rows(spark, lsst_science_lake, tables))


def test_the_latest_pass_reads_only_what_it_needs(spark: SparkSession, lsst_science_lake: Path) -> None:  # noqa: F811
    schema = spark.read.parquet(str(lsst_science_lake / "science")).schema
    plan = plan_for(schema, ArchiveTables("lsst"), VERSION, HBaseConfig(host="unused", port=1, table_prefix=""))
    assert latest_columns(plan) == ["diaObject", "diaObjectId", "diaSource", "diaSourceId", "ssObjectId"]


def test_a_lake_without_a_key_column_is_refused_with_its_name() -> None:
    schema = T.StructType([T.StructField("objectId", T.StringType()), T.StructField("candid", T.LongType())])
    with pytest.raises(SchemaError, match=r"candidate\.jd, night"):
        plan_for(schema, ArchiveTables("ztf"), VERSION, HBaseConfig(host="unused", port=1, table_prefix=""))


AWKWARD = [
    0.0, -0.0, 1.0, 100.0, 0.1, 18.123, 1e-3, 9.99e-4, 1.2e-4, 1e-5, 9999999.0, 1e7, 12345678.9, 1e16, 1.5e20,
    -2.5e-7, 2460236.1042900463, 5e-324, 1.7976931348623157e308, 2**53 + 0.0, math.nan, math.inf, -math.inf,
]  # fmt: skip


def _spark_text(spark: SparkSession, values: list[float], kind: str) -> list[str]:
    frame = spark.createDataFrame([(v,) for v in values], f"v {kind}")
    return [r[0] for r in frame.select(F.col("v").cast("string")).collect()]


def _same_or_shorter(ours: list[str], spark: list[str], width: type) -> None:
    """Ours is Spark's text, or (JDK 17's Double/Float.toString, JDK-4511638) a shorter one of the same value."""
    for mine, theirs in zip(ours, spark, strict=True):
        if mine != theirs:
            assert width(float(mine)) == width(float(theirs)) and len(mine) < len(theirs), (mine, theirs)


def test_doubles_and_floats_are_written_as_spark_writes_them(spark: SparkSession) -> None:
    ours, theirs = [java_double(v) for v in AWKWARD], _spark_text(spark, AWKWARD, "double")
    _same_or_shorter(ours, theirs, float)
    assert sum(a == b for a, b in zip(ours, theirs, strict=True)) == len(AWKWARD)  # no double of these differs
    floats = [float(pa.scalar(v, pa.float32()).as_py()) for v in AWKWARD if abs(v) < 3e38 and v != 5e-324]
    ours, theirs = [java_float(v) for v in floats], _spark_text(spark, floats, "float")
    _same_or_shorter(ours, theirs, np.float32)
    differ = {(a, b) for a, b in zip(ours, theirs, strict=True) if a != b}
    assert differ == {("9.007199E15", "9.0071993E15"), ("1.0E16", "1.00000003E16")}


def test_nested_values_are_written_as_to_json_writes_them(spark: SparkSession) -> None:
    kind = T.StructType(
        [
            T.StructField("d", T.DoubleType()),
            T.StructField("f", T.FloatType()),
            T.StructField("s", T.StringType()),
            T.StructField("a", T.ArrayType(T.LongType())),
            T.StructField("b", T.BooleanType()),
            T.StructField("m", T.MapType(T.StringType(), T.DoubleType())),
        ]
    )
    values = [
        {"d": 1e20, "f": 18.123, "s": 'quote " slash \\ tab \t é', "a": [1, None, 2**62], "b": True, "m": {"x": math.nan}},
        {"d": None, "f": math.inf, "s": None, "a": None, "b": None, "m": None},
    ]
    frame = spark.createDataFrame([(v,) for v in values], T.StructType([T.StructField("v", kind)]))
    spark_json = [r[0] for r in frame.select(F.to_json("v", {"ignoreNullFields": "false"})).collect()]
    # Spark's rows hold the float as float32: compare with what a float32 column gives us
    arrow = pa.array(values, pa.struct([("d", pa.float64()), ("f", pa.float32()), ("s", pa.string()),
                                        ("a", pa.list_(pa.int64())), ("b", pa.bool_()),
                                        ("m", pa.map_(pa.string(), pa.float64()))]))  # fmt: skip
    assert [json_text(v, kind) for v in arrow.to_pylist()] == spark_json
    assert cell_bytes(arrow, kind) == [t.encode() for t in spark_json]


@pytest.mark.parametrize("kind, arrow_type", [(T.LongType(), pa.int64()), (T.IntegerType(), pa.int32())])
def test_integers_and_nulls(kind: T.DataType, arrow_type: pa.DataType) -> None:
    assert cell_bytes(pa.array([1, None, -(2**31)], arrow_type), kind) == [b"1", None, str(-(2**31)).encode()]
