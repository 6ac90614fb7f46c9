"""raw2science transforms: Fink's quality cuts (golden counts on the real alerts) and their reasons."""

from __future__ import annotations

import io

import fastavro
import pytest
from lake_fixture import raw_frame
from pyspark.sql import SparkSession

from fink_common.datasets import sample_files
from fink_raw2science.science import resolve_modules
from fink_raw2science.transform import enrich, flag_quality, passing, rejected


def _independent_cut(path) -> bool:  # noqa: ANN001
    rec = next(fastavro.reader(io.BytesIO(path.read_bytes())))
    c = rec["candidate"]
    return c["nbad"] == 0 and c["rb"] >= 0.55 and c["fid"] != 3


@pytest.mark.parametrize(("sample", "expected_pass"), [("ztf_3.3", 9), ("ztf_4.02", 300)])
def test_quality_cuts_golden_counts(spark: SparkSession, sample: str, expected_pass: int) -> None:
    files = sample_files(sample)
    flagged = flag_quality(raw_frame(spark, files)).cache()
    good = passing(flagged).select("candid").collect()
    bad = rejected(flagged, version="t").select("candid", "cut_reason", "raw2science_version").collect()
    assert len(good) == expected_pass == sum(_independent_cut(p) for p in files)
    assert len(good) + len(bad) == len(files)  # every alert is kept, on one side or the other
    assert all(r.cut_reason and r.raw2science_version == "t" for r in bad)


def test_cut_reasons_name_every_failed_cut(spark: SparkSession) -> None:
    base = raw_frame(spark, sample_files("ztf_4.02")[:1])
    df = base.selectExpr(
        "candid",
        "named_struct('nbad', 2, 'rb', cast(0.3 as float), 'fid', 3) as candidate",
    ).unionByName(base.selectExpr("candid + 1 as candid", "named_struct('nbad', cast(null as int), 'rb', cast(0.9 as float), 'fid', 1) as candidate"))
    reasons = [r.cut_reason for r in flag_quality(df).orderBy("candid").collect()]
    assert reasons == ["nbad=2 != 0; rb=0.3 < 0.55; fid=3 (i band or unknown)", "nbad=null != 0"]


def test_enrich_adds_science_columns_and_keeps_night_last(spark: SparkSession) -> None:
    raw = raw_frame(spark, sample_files("ztf_4.02")[:20])
    out = enrich(passing(flag_quality(raw)), resolve_modules(), version="1.2.3")
    for column in ("nalerthist", "roid", "mag_rate", "classification", "anomaly_score", "xmatch_type", "science_timestamp"):
        assert column in out.columns
    assert out.columns[-1] == "night"
    rows = out.select("raw2science_version", "nalerthist", "classification").collect()
    assert len(rows) == 20 and {r.raw2science_version for r in rows} == {"1.2.3"}
    assert all(r.nalerthist >= 1 and r.classification for r in rows)
