"""Fink's own published filters (fink-filters 7.45 from PyPI, unchanged) loaded through the Fink plug-in
contract select exactly the alerts our built-in re-implementations select, on every real enriched alert,
in the Arrow path and in the Spark stage."""

from __future__ import annotations

from pathlib import Path

import fink_filters.ztf.livestream  # noqa: F401  (the published package: a test dependency, found by this import)
import fink_utils.xmatch.simbad  # noqa: F401  (fast_riser_candidates imports it)
import pytest
from enriched_alerts import read_science, science_lake  # noqa: F401  (session fixture)
from pyspark.sql import SparkSession

from fink_distribution.fink_plugins import FinkStyleFilter, bind_schema
from fink_distribution.registry import FilterError, evaluate_filters, input_frame, required_columns, resolve_filters
from fink_distribution.transform import FLAGS_COLUMN, flag_alerts

#: Fink's livestream filters that import with pandas+pyspark+pyarrow+fink_utils and that we serve.
PUBLISHED = ("blazar", "fast_riser_candidates", "first_pass_candidates", "simbad_grav_candidates",
             "sso_fink_candidates", "sso_ztf_candidates", "vra", "yso_candidates")  # fmt: skip


def specs() -> list[str]:
    """Fink's package layout (`filter_<name>`), renamed `published_<name>` beside our built-in `<name>`."""
    return [f"fink:fink_filters.ztf.livestream.filter_{n}=published_{n}" for n in PUBLISHED]


def test_the_published_filters_load_with_finks_parameter_names() -> None:
    loaded = {f.name: f for f in resolve_filters(extra=specs()) if isinstance(f, FinkStyleFilter)}
    assert sorted(loaded) == sorted(f"published_{n}" for n in PUBLISHED)
    riser = loaded["published_fast_riser_candidates"]
    assert riser.inputs == ("cdsxmatch", "roid", "drb", "jd", "jdstarthist", "cjdc", "cmagpsfc", "cfidc")
    [direct] = [f for f in resolve_filters(extra=["fink:fink_filters.ztf.livestream.filter_vra.filter.vra=v"]) if f.name == "v"]
    assert direct.inputs == ("magpsf", "drb", "cdsxmatch", "roid")


def test_a_published_filter_needing_scores_we_lack_reports_each(science_lake: Path) -> None:  # noqa: F811
    filters = resolve_filters(["published_sn"], extra=["fink:fink_filters.ztf.livestream.filter_sn_candidates=published_sn"])
    with pytest.raises(FilterError) as caught:
        bind_schema(filters, read_science(science_lake).schema)
    assert len(caught.value.problems) == 2
    assert "'snn_snia_vs_nonia'" in str(caught.value) and "'snn_sn_vs_all'" in str(caught.value)


def test_published_filters_equal_our_builtins_in_the_arrow_path(science_lake: Path) -> None:  # noqa: F811
    table = read_science(science_lake)
    filters = bind_schema(resolve_filters([*PUBLISHED, *(f"published_{n}" for n in PUBLISHED)], extra=specs()), table.schema)
    assert "prv_candidates.jd" in required_columns(filters) and "candidate.jd" in required_columns(filters)
    flags = evaluate_filters(input_frame(table, required_columns(filters)), filters)
    assert len(flags) == 300
    for name in PUBLISHED:
        assert flags[f"published_{name}"].tolist() == flags[name].tolist(), name
    assert flags["sso_ztf_candidates"].sum() > 0 and flags["vra"].sum() > 0


def test_published_filters_equal_our_builtins_in_the_spark_stage(
    spark: SparkSession,
    science_lake: Path,  # noqa: F811
) -> None:
    filters = resolve_filters([*PUBLISHED, *(f"published_{n}" for n in PUBLISHED)], extra=specs())
    df = spark.read.parquet(str(science_lake / "science"))
    rows = flag_alerts(df, filters).select(FLAGS_COLUMN).collect()
    assert len(rows) == 300
    for name in PUBLISHED:
        ours = [r[FLAGS_COLUMN][name] for r in rows]
        assert [r[FLAGS_COLUMN][f"published_{name}"] for r in rows] == ours, name
        assert None not in ours, name
