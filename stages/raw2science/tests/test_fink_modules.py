"""A science module written in fink-science's pandas style (pandas_udf-wrapped, Series and array-Series in,
one value per alert out) loads by name and runs unchanged, on the real alerts, in the pure path and in Spark."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import SparkSession
from pyspark.sql.functions import pandas_udf
from pyspark.sql.types import IntegerType
from test_science_golden import is_number, read

from fink_raw2science.science import ScienceError, resolve_modules, run_modules
from fink_raw2science.science.adapter import apply_modules
from fink_raw2science.science.lightcurve import input_frame_from_records


@pandas_udf(IntegerType())  # type: ignore[call-overload]
def detections_brighter_than(magpsf: pd.Series, limit: pd.Series) -> pd.Series:
    """How many detections of the light curve are brighter than the alert's own limiting magnitude."""
    return pd.Series([int(np.sum(m < lim)) for m, lim in zip(magpsf, limit, strict=True)], dtype=np.int32)


def plain_ratio(cmagpsf: pd.Series) -> pd.Series:
    return cmagpsf.apply(lambda m: float(np.nanmax(m) - np.nanmin(m)))


@pytest.fixture
def plugin() -> Iterator[str]:
    name = "fink_style_test_science"
    module = types.ModuleType(name)
    module.detections_brighter_than = detections_brighter_than  # type: ignore[attr-defined]
    module.plain_ratio = plain_ratio  # type: ignore[attr-defined]
    sys.modules[name] = module
    yield name
    del sys.modules[name]


def test_a_fink_style_module_loads_by_name(plugin: str) -> None:
    [module] = resolve_modules([f"fink:{plugin}.detections_brighter_than(cmagpsf, candidate.diffmaglim)=n_bright"])
    assert module.name == "n_bright" and module.inputs == ("cmagpsf", "candidate.diffmaglim")
    assert module.ddl == "int" and module.description.startswith("How many detections")
    [plain] = resolve_modules([f"fink:{plugin}.plain_ratio"])
    assert plain.inputs == ("cmagpsf",) and plain.ddl == "double" and plain.columns == ("plain_ratio",)


def test_bad_fink_specs_are_all_reported(plugin: str) -> None:
    with pytest.raises(ScienceError) as caught:
        resolve_modules([
            "fink:no_such_package.f(cmagpsf)",
            f"fink:{plugin}.missing",
            f"fink:{plugin}.detections_brighter_than(cmagpsf)",  # two parameters, one input
            "fink:bad spec(",
        ])  # fmt: skip
    assert len(caught.value.problems) == 4


def expected(records: list[dict]) -> list[int]:
    out = []
    for r in records:
        mags = [p["magpsf"] for p in (r["prv_candidates"] or [])] + [r["candidate"]["magpsf"]]
        out.append(sum(1 for m in mags if is_number(m) and m < r["candidate"]["diffmaglim"]))
    return out


def test_a_fink_style_module_runs_on_the_real_alerts(plugin: str, spark: SparkSession) -> None:
    spec = f"fink:{plugin}.detections_brighter_than(cmagpsf,candidate.diffmaglim)=n_bright"
    modules = resolve_modules(["nalerthist", spec])
    records = read("ztf_4.02")
    out, failures = run_modules(input_frame_from_records(records, ["cmagpsf", "candidate.diffmaglim"]), modules)
    assert failures == [] and out["n_bright"].tolist() == expected(records)
    assert len(set(out["n_bright"])) > 3

    rows = [(r["candid"], r["candidate"], r["prv_candidates"]) for r in records[:40]]
    schema = "candid long, candidate struct<magpsf:float, diffmaglim:float>, prv_candidates array<struct<magpsf:float, diffmaglim:float>>"
    df = spark.createDataFrame(
        [(c, {"magpsf": k["magpsf"], "diffmaglim": k["diffmaglim"]},
          None if p is None else [{"magpsf": x["magpsf"], "diffmaglim": x["diffmaglim"]} for x in p]) for c, k, p in rows],
        schema,
    )  # fmt: skip
    got = {r.candid: r.n_bright for r in apply_modules(df, modules).select("candid", "n_bright").collect()}
    assert [got[r["candid"]] for r in records[:40]] == expected(records[:40])
