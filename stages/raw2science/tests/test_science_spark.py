"""The Spark adapter: pandas UDFs on a local SparkSession give the pure functions' values."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import fastavro
import pandas as pd
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fink_common.avro import decode_alert, encode_schemaless
from fink_common.datasets import sample_files
from fink_common.schema import conform_record, raw_alert_schema, spark_schema
from fink_datasim.generate import iter_alerts
from fink_datasim.plan import build_plan
from fink_raw2science.science import OutputField, ScienceModule, nested_outputs, resolve_modules, run_modules
from fink_raw2science.science.adapter import FailureLog, apply_modules, history_column, spark_udf_for
from fink_raw2science.science.lightcurve import input_frame, input_frame_from_records


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    """20 real alerts (SSO, catalog matches) and 20 generated ones (long light curves, so features exist)."""
    real: list[dict[str, Any]] = []
    for path in sample_files("ztf_4.02")[:20]:
        with path.open("rb") as fh:
            real.extend(fastavro.reader(fh))
    # Through Avro and back, so that float fields hold float32 values as they do in Spark.
    generated = [
        decode_alert(encode_schemaless(a, "ztf_4.02"), "ztf_4.02")
        for a in list(iter_alerts(build_plan(120, 9, "20231018")))[60:80]
    ]
    return real + generated


@pytest.fixture(scope="module")
def alerts(spark: SparkSession, records: list[dict[str, Any]]) -> DataFrame:
    schema = spark_schema(raw_alert_schema("ztf"))
    return spark.createDataFrame([conform_record(r) for r in records], schema=schema).drop(
        "cutoutScience", "cutoutTemplate", "cutoutDifference"
    )


def paths_of(modules: list[ScienceModule]) -> list[str]:
    return sorted({p for m in modules for p in m.inputs if p.startswith(("c", "candidate."))})


def same(a: Any, b: Any) -> bool:
    """Equal values, NaN (pure side) and null (Spark side) being the same thing."""
    a_missing = a is None or (isinstance(a, float) and math.isnan(a))
    b_missing = b is None or (isinstance(b, float) and math.isnan(b))
    if a_missing or b_missing:
        return a_missing and b_missing
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return bool(a == b)


def test_history_column_puts_the_current_point_last(alerts: DataFrame, records: list[dict[str, Any]]) -> None:
    got = alerts.select("candid", history_column("jd").alias("cjd")).collect()
    by_candid = {r["candid"]: r["cjd"] for r in got}
    for record in records:
        expected = [p["jd"] for p in record["prv_candidates"] or []] + [record["candidate"]["jd"]]
        assert by_candid[record["candid"]] == expected


def test_apply_modules_equals_run_modules(alerts: DataFrame, records: list[dict[str, Any]]) -> None:
    modules = resolve_modules()
    pure, failures = run_modules(input_frame_from_records(records, paths_of(modules)), modules)
    assert failures == []
    result = apply_modules(alerts, modules)
    assert not any(c.startswith("c") and c in ("cjd", "cmagpsf") for c in result.columns)  # helpers dropped
    rows = {r["candid"]: r for r in result.collect()}
    assert len(rows) == len({r["candid"] for r in records})
    checked = 0
    for i, record in enumerate(records):
        row = rows[record["candid"]]
        if row["candid"] in {r["candid"] for r in records[:i]}:
            continue  # a duplicated alert: compared once
        for module in modules:
            for field in module.fields:
                if module.struct:
                    spark_value = row[module.struct][field.name]
                    pure_value = pure[f"{module.struct}.{field.name}"].iloc[i]
                else:
                    spark_value, pure_value = row[field.name], pure[field.name].iloc[i]
                assert same(spark_value, pure_value), (record["candid"], module.name, field.name)
                checked += 1
    assert checked > 1000
    values = pd.Series([rows[c]["classification"] for c in rows])
    assert values.str.startswith("Solar System").any() and (values != "Unknown").sum() > 5
    assert sum(rows[c]["lc_features_r"]["n_points"] >= 3 for c in rows) > 5  # features were exercised
    assert sum(rows[c]["anomaly_score"] < 0 for c in rows) > 5


def test_a_failing_udf_yields_failed_values_and_the_query_goes_on(alerts: DataFrame) -> None:
    def explode(mag: pd.Series) -> pd.DataFrame:
        raise ValueError("bad batch")

    broken = ScienceModule(
        name="broken",
        inputs=("candidate.magpsf",),
        fields=(OutputField("b_score", "double", -1.0), OutputField("b_flag", "boolean", None)),
        function=explode,
        version="0.1",
    )
    [nalerthist] = resolve_modules(["nalerthist"])
    failures = FailureLog(alerts.sparkSession.sparkContext)
    out = apply_modules(alerts, [broken, nalerthist], failures)
    rows = out.select("b_score", "b_flag", "nalerthist").collect()
    assert {(r["b_score"], r["b_flag"]) for r in rows} == {(-1.0, None)}
    assert all(r["nalerthist"] >= 1 for r in rows)
    # The failure travels back to the driver: which module, how many alerts, what error.
    reported = failures.take()
    assert list(reported) == ["broken"]
    assert reported["broken"][0] >= len(rows) and reported["broken"][1] == "ValueError: bad batch"
    assert failures.take() == {}


def test_spark_udf_for_a_single_column_module(alerts: DataFrame, records: list[dict[str, Any]]) -> None:
    [roid] = resolve_modules(["roid"])
    frame = alerts.withColumn("cjd", history_column("jd")).withColumn("cmagpsf", history_column("magpsf"))
    got = frame.select("candid", spark_udf_for(roid)(*[F.col(p) for p in roid.inputs]).alias("roid")).collect()
    pure = roid.compute(*(input_frame_from_records(records, roid.inputs)[p] for p in roid.inputs))
    expected = dict(zip([r["candid"] for r in records], pure["roid"], strict=True))
    assert {r["candid"]: r["roid"] for r in got} == expected


def test_map_in_pandas_with_run_modules(alerts: DataFrame, records: list[dict[str, Any]]) -> None:
    modules = resolve_modules()
    paths = paths_of(modules)
    schema = "candid bigint, " + ", ".join(
        f"{m.struct} {m.ddl}" if m.struct else ", ".join(f"{f.name} {f.ddl}" for f in m.fields) for m in modules
    )

    def batches(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for raw in frames:
            out, _ = run_modules(input_frame(raw, paths), modules)
            nested = nested_outputs(out, modules)
            nested.insert(0, "candid", raw["candid"].to_numpy())
            yield nested

    mapped = alerts.select("candid", "candidate", "prv_candidates").mapInPandas(batches, schema)
    got = {r["candid"]: r for r in mapped.collect()}
    direct = {r["candid"]: r for r in apply_modules(alerts, modules).collect()}
    assert got.keys() == direct.keys()
    for candid, row in got.items():
        for name in ("roid", "mag_rate", "from_upper", "anomaly_score", "xmatch_name", "classification"):
            assert same(row[name], direct[candid][name]), (candid, name)
        assert same(row["lc_features_g"]["stetson_k"], direct[candid]["lc_features_g"]["stetson_k"])
