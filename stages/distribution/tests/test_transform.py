"""Filter flags and message encoding on real enriched alerts (the 300 ZTF 4.02 sample through raw2science)."""

from __future__ import annotations

import math
from io import BytesIO
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from enriched_alerts import read_science, science_lake  # noqa: F401  (session fixture)
from fastavro import schemaless_writer
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fink_common.surveys import get_survey
from fink_distribution.registry import (
    BUILTINS,
    AlertFilter,
    FilterError,
    evaluate_filters,
    input_frame,
    required_columns,
)
from fink_distribution.transform import FLAGS_COLUMN, encode_messages, flag_alerts
from fink_distribution.wire import decode_value, wire_schema

FILTERS = list(BUILTINS.values())
ZTF = get_survey("ztf")


def same(a: Any, b: Any) -> bool:
    """Deep equality where NaN equals NaN."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


@pytest.fixture(scope="module")
def science(spark: SparkSession, science_lake: Path) -> DataFrame:  # noqa: F811
    return spark.read.parquet(str(science_lake / "science"))


@pytest.fixture(scope="module")
def table(science_lake: Path) -> pa.Table:  # noqa: F811
    return read_science(science_lake)


def test_spark_flags_equal_the_pure_masks(science: DataFrame, table: pa.Table) -> None:
    rows = flag_alerts(science, FILTERS).select("kafka_offset", FLAGS_COLUMN).collect()
    spark_flags = {r.kafka_offset: r[FLAGS_COLUMN].asDict() for r in rows}
    pure = evaluate_filters(input_frame(table, required_columns(FILTERS)), FILTERS)
    offsets = table.column("kafka_offset").to_pylist()
    assert len(spark_flags) == len(offsets) == 300
    for i, offset in enumerate(offsets):
        assert spark_flags[offset] == {name: bool(pure.at[i, name]) for name in pure.columns}, offset
    counts = pure.sum().to_dict()
    assert sum(1 for n in counts.values() if n > 0) >= 3, counts  # the bar on the real sample
    assert counts["sso_candidates"] > 0 and counts["catalog_matches"] > 0 and counts["fast_risers"] > 0


def test_a_missing_filter_input_is_refused(science: DataFrame) -> None:
    with pytest.raises(FilterError, match="needs \\['nalerthist'\\]"):
        flag_alerts(science.drop("nalerthist"), [BUILTINS["new_transients"]])


def test_round_trip_with_the_published_schema_only(science: DataFrame, table: pa.Table) -> None:
    """A few real enriched alerts: Spark's to_avro bytes decode (schema text only) to the parquet values,
    and equal fastavro's encoding of those values with the same schema."""
    schema = wire_schema(science.schema, "ztf")
    everything = AlertFilter("everything", ("candid",), lambda candid: candid.notna())
    sample = science.where(F.col("kafka_offset") % 25 == 0)  # 12 alerts of all kinds
    messages = encode_messages(flag_alerts(sample, [everything]), [everything], schema, ZTF).collect()
    assert len(messages) == 12
    expected = {r["kafka_offset"]: r for r in table.to_pylist()}
    for message in messages:
        record = decode_value(bytes(message.value), schema.text)
        original = expected[record["kafka_offset"]]
        assert same(record, original), record["kafka_offset"]
        assert bytes(message.partition_key) == original["objectId"].encode() and message.alert_id == original["candid"]
        assert message.filters == ["everything"] and message.failed == []
        assert record["cutoutDifference"]["stampData"][:2] == b"\x1f\x8b"  # gzipped FITS, unchanged
        written = BytesIO()
        schemaless_writer(written, schema.parsed, original)
        assert written.getvalue() == bytes(message.value)


def test_unselected_alerts_carry_no_value_and_failures_are_named(science: DataFrame, table: pa.Table) -> None:
    def broken(roid: pd.Series) -> pd.Series:
        raise ZeroDivisionError("bad filter")

    filters = [BUILTINS["sso_candidates"], AlertFilter("broken", ("roid",), broken)]
    schema = wire_schema(science.schema, "ztf")
    rows = encode_messages(flag_alerts(science, filters), filters, schema, ZTF).collect()
    assert len(rows) == 300
    for row in rows:
        assert row.failed == ["broken"]
        assert (row.value is not None) == (row.filters == ["sso_candidates"])
    sso = sum(roid in (2, 3) for roid in table.column("roid").to_pylist())
    assert sso > 0 and sum(r.value is not None for r in rows) == sso
