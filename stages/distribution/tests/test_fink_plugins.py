"""Filters written for Fink's contract (a pandas function, wrapped by pyspark's pandas_udf as fink-filters
does, whose parameter names name its columns) run unchanged: in the Arrow path and in the Spark stage."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from enriched_alerts import science_lake  # noqa: F401  (session fixture)
from pyspark.sql import SparkSession
from pyspark.sql.functions import pandas_udf
from pyspark.sql.types import BooleanType

from fink_distribution.fink_plugins import FinkStyleFilter, bind, flat_paths, resolve_parameter
from fink_distribution.registry import FilterError, resolve_filters
from fink_distribution.transform import FLAGS_COLUMN, column_paths, flag_alerts

FLAT = ["objectId", "candid", "candidate", "candidate.ra", "candidate.jd", "candidate.jdstarthist", "roid",
        "cutoutScience", "cutoutScience.stampData", "xmatch_sep_arcsec", "lc_features_g", "lc_features_g.mean"]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("ra", "candidate.ra"),  # ends with: one
        ("roid", "roid"),
        ("jd", "candidate.jd"),  # candidate.jd and candidate.jdstarthist? only one *ends* with jd
        ("cutoutScience", "cutoutScience"),  # the root struct, not its field
        ("stampData", "cutoutScience.stampData"),
    ],
)
def test_finks_name_resolution(name: str, path: str) -> None:
    assert resolve_parameter(name, FLAT) == path


def test_an_ambiguous_or_unknown_name_is_an_error() -> None:
    with pytest.raises(FilterError, match="names no single column"):
        resolve_parameter("mean", [*FLAT, "lc_features_r", "lc_features_r.mean"])
    with pytest.raises(FilterError, match="candidates: none"):
        resolve_parameter("mulens", FLAT)


@pandas_udf(BooleanType())  # type: ignore[call-overload]
def bright_riser(magpsf: pd.Series, roid: pd.Series, cmagpsfc: pd.Series, cdsxmatch: pd.Series) -> pd.Series:
    """Brighter than 18.5, not a known asteroid, brighter now than at every earlier detection."""
    earlier = cmagpsfc.apply(lambda mags: all(m > mags[-1] for m in mags[:-1] if m == m) and len(mags) > 1)
    return (magpsf < 18.5) & (roid != 3) & earlier & cdsxmatch.notna()


def needs_what_we_lack(mulens: pd.Series, snn_sn_vs_all: pd.Series) -> pd.Series:
    return mulens > 0


@pytest.fixture
def plugin() -> Iterator[str]:
    name = "fink_style_test_filters"
    module = types.ModuleType(name)
    module.bright_riser = bright_riser  # type: ignore[attr-defined]
    module.needs_what_we_lack = needs_what_we_lack  # type: ignore[attr-defined]
    sys.modules[name] = module
    yield name
    del sys.modules[name]


def test_a_fink_style_filter_loads_by_name(plugin: str) -> None:
    [item] = [f for f in resolve_filters(extra=[f"fink:{plugin}.bright_riser"]) if f.name == "bright_riser"]
    assert isinstance(item, FinkStyleFilter) and item.inputs == ("magpsf", "roid", "cmagpsfc", "cdsxmatch")
    assert item.description.startswith("Brighter than 18.5")
    [renamed] = resolve_filters(["my_riser"], extra=[f"fink:{plugin}.bright_riser=my_riser"])
    assert renamed.name == "my_riser"


def test_bad_specs_and_unresolvable_parameters_are_all_reported(plugin: str) -> None:
    with pytest.raises(FilterError) as caught:
        resolve_filters(extra=["fink:no_such_package.f", f"fink:{plugin}.missing", "fink:not a path"])
    assert len(caught.value.problems) == 3
    [item] = [f for f in resolve_filters(extra=[f"fink:{plugin}.needs_what_we_lack"]) if f.name == "needs_what_we_lack"]
    with pytest.raises(FilterError) as caught:
        bind([item], FLAT, FLAT)
    assert len(caught.value.problems) == 2 and "'mulens'" in str(caught.value) and "'snn_sn_vs_all'" in str(caught.value)


def test_a_fink_style_filter_runs_in_the_spark_stage_on_real_alerts(
    plugin: str,
    spark: SparkSession,
    science_lake: Path,  # noqa: F811
) -> None:
    filters = resolve_filters(["bright_riser", "sso_ztf_candidates"], extra=[f"fink:{plugin}.bright_riser"])
    df = spark.read.parquet(str(science_lake / "science"))
    assert "candidate.magpsf" in flat_paths(df.schema) and "prv_candidates.magpsf" in column_paths(df.schema)
    rows = flag_alerts(df, filters).select("candid", "candidate", "prv_candidates", "roid", FLAGS_COLUMN).collect()
    assert len(rows) == 300
    chosen = 0
    for row in rows:
        c = row.candidate
        mags = [p.magpsf for p in row.prv_candidates or [] if p.magpsf is not None]
        want = c.magpsf < 18.5 and row.roid != 3 and len(row.prv_candidates or []) >= 1 and all(m > c.magpsf for m in mags)
        assert row[FLAGS_COLUMN].bright_riser is want, row.candid
        assert row[FLAGS_COLUMN].sso_ztf_candidates is (row.roid == 3)
        chosen += want
    assert 0 < chosen < 300
