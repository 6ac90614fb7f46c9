"""The fast path (tasks read, cut, run the modules and write with pyarrow) against the DataFrame path (Spark's
reader, quality expressions, pandas UDFs and writer), on the real alerts of both surveys: the same columns,
types and values, row for row; and its history arrays and quality reasons on hand-made rows."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from lake_fixture import lsst_raw_frame, raw_frame
from pyspark.sql import DataFrame, SparkSession

from fink_common.datasets import sample_files
from fink_common.lake import write_batch
from fink_raw2science.flags import lsst_flags, ztf_flags
from fink_raw2science.frames import history_array
from fink_raw2science.science import resolve_modules
from fink_raw2science.surveys import survey_science
from fink_raw2science.transform import enrich, passing, rejected
from fink_raw2science.writer import REJECTED, SCIENCE, plan_for, process_batch

_UNSTAMPED = {"science_timestamp"}  # the processing time differs between the two runs, by design


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):  # Spark's INT96 files read back naive (UTC)
        return a.replace(tzinfo=a.tzinfo or dt.UTC) == b.replace(tzinfo=b.tzinfo or dt.UTC)
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _rows(table: pa.Table, key: str) -> dict[Any, dict[str, Any]]:
    return {row[key]: row for row in table.drop_columns([c for c in _UNSTAMPED if c in table.column_names]).to_pylist()}


def _both_paths(spark: SparkSession, raw: DataFrame, survey: str, cut: str, tmp_path: Path) -> tuple[dict, dict, Any]:
    """(fast, dataframe) -> {dataset: rows by alert id}, for the same raw rows (one raw lake)."""
    science = survey_science(survey)
    modules = resolve_modules(survey=survey)
    write_batch(raw, tmp_path / "raw", 0)
    raw_files = sorted((tmp_path / "raw").glob("night=*/*.parquet"))
    lake_raw = spark.read.parquet(str(tmp_path / "raw"))
    plan = plan_for(spark, lake_raw.schema, survey=survey, quality_cut=cut, modules=modules, version="t")

    flagged = science.flag(lake_raw, cut)
    sections = (science.history, science.current)
    frames = {
        SCIENCE: enrich(passing(flagged), modules, version="t", sections=sections, forced=science.forced),
        REJECTED: rejected(flagged, version="t"),
    }
    dataframe = {}
    for name, df in frames.items():
        if not write_batch(df, tmp_path / name, 0):
            dataframe[name] = {}
            continue
        written = pq.read_table(tmp_path / name, coerce_int96_timestamp_unit="us").drop_columns(["night"])
        assert written.column_names == plan.schemas[name].names
        dataframe[name] = _rows(written, plan.key)

    outputs = [process_batch(pq.read_table(f, coerce_int96_timestamp_unit="us"), plan) for f in raw_files]
    good, bad = (pa.concat_tables(tables) for tables in zip(*outputs, strict=True))
    fast = {SCIENCE: _rows(good, plan.key), REJECTED: _rows(bad, plan.key)}
    for name, table in ((SCIENCE, good), (REJECTED, bad)):
        assert table.schema == plan.schemas[name]
    return fast, dataframe, plan


def _assert_same(fast: dict, dataframe: dict) -> None:
    for name in (SCIENCE, REJECTED):
        assert fast[name].keys() == dataframe[name].keys(), name
        for key, row in fast[name].items():
            other = dataframe[name][key]
            assert row.keys() == other.keys()
            different = [c for c in row if not _same(row[c], other[c])]
            assert not different, (name, key, {c: (row[c], other[c]) for c in different[:5]})


def test_ztf_fast_path_gives_the_dataframe_path_rows(spark: SparkSession, tmp_path: Path) -> None:
    files = sample_files("ztf_4.02")[:120] + sample_files("ztf_3.3")
    raw = raw_frame(spark, files)
    fast, dataframe, plan = _both_paths(spark, raw, "ztf", "fink", tmp_path)
    _assert_same(fast, dataframe)
    # every 4.02 alert passes, 9 of the 50 3.3 ones (the golden counts of test_transform); rows here are by candid
    assert len(fast[REJECTED]) == 41
    assert len(fast[SCIENCE]) == raw.select("candid").distinct().count() - 41
    assert {"mag_rate", "classification", "roid", "is_transient", "anomaly_score"} <= set(plan.schemas[SCIENCE].names)


@pytest.mark.parametrize("cut", ["none", "good_quality"])
def test_lsst_fast_path_gives_the_dataframe_path_rows(spark: SparkSession, tmp_path: Path, cut: str) -> None:
    values = [p.read_bytes() for name in ("lsst_wire_11.0", "lsst_wire_9.0") for p in sample_files(name)]
    fast, dataframe, _ = _both_paths(spark, lsst_raw_frame(spark, values), "lsst", cut, tmp_path)
    _assert_same(fast, dataframe)
    total = len(fast[SCIENCE]) + len(fast[REJECTED])
    assert total == len(values)
    assert (len(fast[REJECTED]) == 0) == (cut == "none")
    assert all(r["cut_reason"].startswith("not good quality: ") for r in fast[REJECTED].values())


def test_history_array_puts_the_current_value_last() -> None:
    point = pa.struct([("jd", pa.float64()), ("magpsf", pa.float32())])
    table = pa.table(
        {
            "prv_candidates": pa.array(
                [[{"jd": 1.0, "magpsf": 18.5}, {"jd": 2.0, "magpsf": None}], None, []], pa.list_(point)
            ),
            "candidate": pa.array(
                [{"jd": 3.0, "magpsf": 18.0}, {"jd": 4.0, "magpsf": 17.0}, {"jd": 5.0, "magpsf": None}], point
            ),
        }
    )
    assert history_array(table, "jd", ("prv_candidates", "candidate")).to_pylist() == [[1.0, 2.0, 3.0], [4.0], [5.0]]
    mags = history_array(table, "magpsf", ("prv_candidates", "candidate"))
    assert mags.type == pa.list_(pa.float32())
    assert mags.to_pylist() == [[18.5, None, 18.0], [17.0], [None]]


def test_ztf_reasons_name_every_failed_cut() -> None:
    cand = pa.struct([("nbad", pa.int32()), ("rb", pa.float32()), ("fid", pa.int32())])
    rows = [
        {"nbad": 2, "rb": 0.3, "fid": 3},
        {"nbad": None, "rb": 0.9, "fid": 1},
        {"nbad": 0, "rb": 0.5555, "fid": 2},
        {"nbad": 0, "rb": float("nan"), "fid": 1},
        {"nbad": 0, "rb": 0.55, "fid": 1},
    ]
    reasons = ztf_flags(pa.table({"candidate": pa.array(rows, cand)}))["cut_reason"].to_pylist()
    assert reasons == [
        "nbad=2 != 0; rb=0.3 < 0.55; fid=3 (i band or unknown)",
        "nbad=null != 0",
        None,
        "rb=NaN < 0.55",
        None,
    ]


def test_lsst_flags_without_a_cut_keep_every_alert() -> None:
    from fink_raw2science.quality import LSST_FLAGS

    fields = [(name, pa.bool_()) for name in LSST_FLAGS] + [("psfFlux", pa.float32()), ("psfFluxErr", pa.float32())]
    clean = {name: False for name in LSST_FLAGS}
    rows = [
        {**clean, "psfFlux": 700.0, "psfFluxErr": 100.0},  # S/N 7
        {**clean, "psfFlux": 500.0, "psfFluxErr": 100.0},  # S/N 5
        {**clean, "isDipole": None, "psfFlux": -1.0, "psfFluxErr": 0.0},
    ]
    table = pa.table({"diaSource": pa.array(rows, pa.struct(fields))})
    out = lsst_flags(table, "none")
    assert out["good_quality"].to_pylist() == [True, False, False]
    assert out["quality_issues"].to_pylist() == [None, "S/N < 6", "isDipole; psfFlux < 0 or null; S/N < 6"]
    assert out["cut_reason"].to_pylist() == [None, None, None]
    assert lsst_flags(table, "good_quality")["cut_reason"].to_pylist() == [
        None,
        "not good quality: S/N < 6",
        "not good quality: isDipole; psfFlux < 0 or null; S/N < 6",
    ]
