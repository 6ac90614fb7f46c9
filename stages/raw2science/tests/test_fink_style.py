"""Science modules in fink-science's style (`fink_style.load_fink_module`): parameter names resolved to input
paths by fink-broker's rule, the output type from the pandas_udf, struct outputs; run on the real alerts in
the pure driver and in Spark, against plain per-alert references written here."""

from __future__ import annotations

import math
import sys
import types
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import SparkSession
from pyspark.sql.functions import pandas_udf
from pyspark.sql.types import DoubleType, IntegerType, StructField, StructType
from test_science_golden import is_number, read

from fink_raw2science.science import ScienceError, run_modules
from fink_raw2science.science.adapter import apply_modules
from fink_raw2science.science.fink_style import flat_names, load_fink_module, resolve_name
from fink_raw2science.science.lightcurve import input_frame_from_records


@pandas_udf(IntegerType())  # type: ignore[call-overload]
def detections(cmagpsf: pd.Series) -> pd.Series:
    """Detections of the light curve (upper limits have no magnitude), as fink-science's nalerthist."""
    return cmagpsf.apply(lambda m: int(np.sum(~np.isnan(m)))).astype(np.int32)


def above_limit(magpsf: pd.Series, diffmaglim: pd.Series, cfidc: pd.Series) -> pd.Series:
    """How far the alert is brighter than its limit, per detection in its band (a plain function)."""
    return (diffmaglim - magpsf) / cfidc.apply(lambda f: max(int(np.sum(f == f[-1])), 1))


@pandas_udf(StructType([StructField("span", DoubleType()), StructField("points", IntegerType())]))  # type: ignore[call-overload]
def span(cjd: pd.Series, cmagpsf: pd.Series) -> pd.DataFrame:
    """Time span and number of the detections."""
    spans, counts = [], []
    for t, m in zip(cjd, cmagpsf, strict=True):
        seen = t[~np.isnan(m)]
        spans.append(float(seen.max() - seen.min()) if seen.size else math.nan)
        counts.append(int(seen.size))
    return pd.DataFrame({"span": spans, "points": np.array(counts, dtype=np.int32)})


def stamps(stampData: pd.Series, fileName: pd.Series) -> pd.Series:  # noqa: N803 (Fink's column names)
    return stampData.isna()


@pytest.fixture
def plugin() -> Iterator[str]:
    name = "fink_style_science_test"
    module = types.ModuleType(name)
    for function in (detections, above_limit, span, stamps):
        setattr(module, getattr(function, "__name__", "span"), function)
    sys.modules[name] = module
    yield name
    del sys.modules[name]


@pytest.mark.parametrize(
    ("name", "path"),
    [("magpsf", "candidate.magpsf"), ("jd", "candidate.jd"), ("cmagpsf", "cmagpsf"), ("cmagpsfc", "cmagpsf"),
     ("ra", "candidate.ra"), ("objectId", "objectId"), ("roid", "roid"), ("isdiffpos", "candidate.isdiffpos")],
)  # fmt: skip
def test_parameter_names_resolve_by_finks_rule(name: str, path: str) -> None:
    assert resolve_name(name, flat_names()) == path


def test_an_ambiguous_name_is_an_error() -> None:
    with pytest.raises(ScienceError, match="names no single column"):
        resolve_name("stampData", flat_names())
    assert resolve_name("anomaly_score", flat_names(("anomaly_score",))) == "anomaly_score"


def test_modules_load_with_their_types(plugin: str) -> None:
    module = load_fink_module(f"fink:{plugin}.detections")
    assert module.name == "detections" and module.inputs == ("cmagpsf",) and module.ddl == "int"
    assert module.fields[0].failed == -1 and module.description.startswith("Detections")
    plain = load_fink_module(f"fink:{plugin}.above_limit", {"type": "float", "column": "margin"})
    assert plain.inputs == ("candidate.magpsf", "candidate.diffmaglim", "cfid") and plain.columns == ("margin",)
    assert plain.ddl == "float"
    assert load_fink_module(f"fink:{plugin}.above_limit").ddl == "double"
    struct = load_fink_module(f"fink:{plugin}.span=lc_span")
    assert struct.struct == "lc_span" and struct.ddl == "struct<span:double,points:int>"
    explicit = load_fink_module(f"fink:{plugin}.detections(csigmapsf)", {})
    assert explicit.inputs == ("csigmapsf",)
    assert load_fink_module(f"fink:{plugin}.detections", {"inputs": ["cdiffmaglim"]}).inputs == ("cdiffmaglim",)


@pytest.mark.parametrize(
    ("spec", "options", "count"),
    [
        ("fink:no_such_package.f", {}, 1),
        ("fink:{p}.missing", {}, 1),
        ("fink:{p}.stamps", {}, 2),  # both parameter names are ambiguous: both reported
        ("fink:{p}.detections", {"type": "double"}, 1),  # the pandas_udf says int
        ("fink:{p}.detections", {"colour": "red"}, 1),
        ("fink:{p}.detections(cmagpsf,cjd)", {}, 1),  # one parameter, two inputs
        ("fink:{p}.span", {"failed": 0}, 1),
        ("fink:{p}.above_limit", {"type": "array<double>"}, 1),
        ("not a spec(", {}, 1),
    ],
)
def test_every_problem_is_a_science_error(plugin: str, spec: str, options: dict[str, Any], count: int) -> None:
    with pytest.raises(ScienceError) as caught:
        load_fink_module(spec.format(p=plugin), options)
    assert len(caught.value.problems) == count


# --------------------------------------------------------------------------- on the real alerts


def reference(record: dict[str, Any]) -> tuple[int, float, float, int]:
    """detections, above_limit, span.span and span.points of one alert, read plainly from the record."""
    points = [*(record["prv_candidates"] or []), record["candidate"]]
    c = record["candidate"]
    seen = [p for p in points if is_number(p["magpsf"])]
    same_band = sum(1 for p in points if p["fid"] == c["fid"])
    times = [p["jd"] for p in seen]
    return len(seen), (c["diffmaglim"] - c["magpsf"]) / same_band, (max(times) - min(times)) if times else math.nan, len(seen)


def _modules(plugin: str) -> list[Any]:
    return [load_fink_module(f"fink:{plugin}.detections"), load_fink_module(f"fink:{plugin}.above_limit"),
            load_fink_module(f"fink:{plugin}.span")]  # fmt: skip


def test_fink_style_modules_run_on_the_real_alerts(plugin: str) -> None:
    modules = _modules(plugin)
    records = read("ztf_4.02")
    paths = list(dict.fromkeys(p for m in modules for p in m.inputs))
    out, failures = run_modules(input_frame_from_records(records, paths), modules)
    assert failures == []
    want = [reference(r) for r in records]
    assert out["detections"].tolist() == [w[0] for w in want]
    assert np.allclose(out["above_limit"], [w[1] for w in want])
    assert np.allclose(out["span.span"], [w[2] for w in want], equal_nan=True)
    assert out["span.points"].tolist() == [w[3] for w in want]
    assert len(set(out["detections"])) > 3


def test_fink_style_modules_run_in_spark(plugin: str, spark: SparkSession) -> None:
    modules = _modules(plugin)
    records = read("ztf_4.02")[:60]
    fields = ("jd", "fid", "magpsf", "diffmaglim")
    schema = ", ".join(f"{f} {'int' if f == 'fid' else 'double'}" for f in fields)
    rows = [
        (r["candid"], {f: r["candidate"][f] for f in fields},
         None if r["prv_candidates"] is None else [{f: p[f] for f in fields} for p in r["prv_candidates"]])
        for r in records
    ]  # fmt: skip
    df = spark.createDataFrame(rows, f"candid long, candidate struct<{schema}>, prv_candidates array<struct<{schema}>>")
    got = {r.candid: r for r in apply_modules(df, modules).select("candid", "detections", "above_limit", "span").collect()}
    for record in records:
        row, want = got[record["candid"]], reference(record)
        assert (row.detections, row.span.points) == (want[0], want[3])
        assert row.above_limit == pytest.approx(want[1]) and (row.span.span == pytest.approx(want[2]) or want[2] != want[2])
