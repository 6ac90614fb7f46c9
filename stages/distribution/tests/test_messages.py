"""The fast path (tasks read the science files, filter on pandas, encode with fastavro) against the DataFrame path
(Spark's reader, the filters' pandas UDF, `to_avro`), on real enriched alerts of both surveys and every default
filter: the same message rows, byte for byte (partition key, Avro value, alert id, selecting and failed filters)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from enriched_alerts import science_lake  # noqa: F401  (session fixture)
from lsst_alerts import lsst_science_lake  # noqa: F401  (session fixture)
from pyspark.sql import SparkSession

from fink_common.batchfiles import BatchFile, batch_files, file_column, row_column
from fink_distribution.config import load_config
from fink_distribution.messages import FilePass, message_rows, plan_for, slices
from fink_distribution.registry import AlertFilter
from fink_distribution.transform import encode_messages, flag_alerts
from fink_distribution.wire import wire_schema

Row = tuple[int, bytes, bytes | None, list[str], list[str]]


def _sorted(rows: list[Row]) -> list[Row]:
    return sorted(rows, key=lambda r: (r[0], r[2] or b""))


def _rows_both_ways(
    spark: SparkSession, root: Path, survey: str, extra: list[AlertFilter]
) -> tuple[list[Row], list[Row], int]:
    config = load_config({"FINK_SURVEY": survey, "FINK_DATA_DIR": str(root)})
    filters = [*config.filters, *extra]
    science = spark.read.parquet(str(root / "science"))
    schema = wire_schema(science.schema, survey)
    dataframe = [
        (r.alert_id, bytes(r.partition_key), None if r.value is None else bytes(r.value), list(r.filters), list(r.failed))
        for r in encode_messages(flag_alerts(science, filters), filters, schema, config.survey_plugin).collect()
    ]
    plan = plan_for(science.schema, filters, schema, config.survey_plugin)
    files = batch_files(science.select(plan.alert_id, file_column(), row_column()))
    parts = slices(files, rows=64)  # several slices per file
    assert len(parts) > len(files)
    rdd = spark.sparkContext.parallelize(parts, len(parts)).mapPartitions(message_rows(plan))
    fast = [(alert_id, key, value, selecting, failed) for key, value, alert_id, selecting, failed in rdd.collect()]
    tally = FilePass(spark, parts, plan)
    sent = list(tally())
    assert tally.alerts == len(fast)
    assert sent == [(r[1], r[2], r[3]) for r in fast if r[2] is not None]  # in the slices' order
    return _sorted(fast), _sorted(dataframe), len(sent)


def _broken(roid: pd.Series) -> pd.Series:
    raise ZeroDivisionError("bad filter")


@pytest.mark.parametrize("survey", ["ztf", "lsst"])
def test_fast_path_gives_the_dataframe_path_messages(
    spark: SparkSession,
    science_lake: Path,  # noqa: F811
    lsst_science_lake: Path,  # noqa: F811
    survey: str,
) -> None:
    root = science_lake if survey == "ztf" else lsst_science_lake
    extra = [AlertFilter("broken", ("roid",), _broken)] if survey == "ztf" else []
    fast, dataframe, selected = _rows_both_ways(spark, root, survey, extra)
    assert len(fast) == len(dataframe)
    for row, other in zip(fast, dataframe, strict=True):
        assert row == other, row[0]
    assert selected > 0
    if survey == "ztf":
        assert len(fast) == 300 and all(row[4] == ["broken"] for row in fast)


def test_slices_cover_every_row_once_in_order(science_lake: Path) -> None:  # noqa: F811
    paths = sorted((science_lake / "science").glob("night=*/*.parquet"))
    files = [BatchFile(str(p), p.parent.name.partition("=")[2]) for p in paths]
    expected = [(f.path, r) for f in files for r in range(pq.read_metadata(f.path).num_rows)]
    for rows in (1, 7, 100, 10_000):
        covered = []
        for part in slices(files, rows=rows):
            metadata = pq.read_metadata(part.file.path)
            if part.start is None:
                n = sum(metadata.row_group(g).num_rows for g in part.row_groups)
            else:
                assert len(part.row_groups) == 1 and part.stop is not None
                n = part.stop - part.start
            assert 1 <= n <= rows
            first = sum(metadata.row_group(g).num_rows for g in range(part.row_groups[0])) + (part.start or 0)
            covered.extend((part.file.path, r) for r in range(first, first + n))
        assert covered == expected, rows
