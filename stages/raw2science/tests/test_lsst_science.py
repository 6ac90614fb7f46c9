"""The LSST light-curve features, anomaly score and classification on real Rubin alerts (schemas 11.0 and 9.0) and
300 datasim alerts, decoded as stream2raw decodes them and enriched by Spark as raw2science does.

Checks: the column types; the Spark values equal the pure driver's on the same decoded records (so the
`forced_*` arrays reach the modules intact); the point counts and a few features against plain Python on the
decoded alerts; the features of every band with forced photometry are finite; every solar-system alert is
"Solar System MPC"; the anomaly score is null exactly when no light curve has features; each label's rule holds.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from lake_fixture import lsst_raw_frame
from pyspark.sql import SparkSession
from pyspark.sql import types as T

from fink_common.datasets import sample_files
from fink_common.surveys import DecodeSettings, get_survey
from fink_datasim.generate import generate
from fink_raw2science.science import resolve_modules, run_modules
from fink_raw2science.science.lightcurve import records_frame
from fink_raw2science.science.lsst_anomaly import load_lsst_forest
from fink_raw2science.science.lsst_classification import EARLY_MAX_DAYS, LABELS
from fink_raw2science.science.lsst_features import BANDS, FIELDS, MIN_POINTS
from fink_raw2science.surveys import survey_science
from fink_raw2science.transform import enrich, passing

GENERATED = 300
STRUCTS = ("lc_features_dia", "lc_features_forced")
KEPT = ("diaSourceId", "is_sso", "xmatch_type", "mag_rate", "rate_significance", "firstDiaSourceMjdTaiFink",
        "anomaly_score", "classification", *STRUCTS)  # fmt: skip


@pytest.fixture(scope="module")
def values(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    real = [p.read_bytes() for name in ("lsst_wire_11.0", "lsst_wire_9.0") for p in sample_files(name)]
    out = tmp_path_factory.mktemp("lsst_generated")
    generate(out, n=GENERATED, seed=23, survey="lsst", visit_size=100, workers=1, overwrite=True)
    return real + [p.read_bytes() for p in sorted(out.glob("*.confluent.avro"))]


@pytest.fixture(scope="module")
def alerts(values: list[bytes]) -> dict[int, dict[str, Any]]:
    decode = get_survey("lsst").decoder(DecodeSettings(survey="lsst", schema_name="lsst_11.0"))
    return {row["diaSourceId"]: row for row in map(decode, values)}


@pytest.fixture(scope="module")
def science(spark: SparkSession, values: list[bytes]) -> tuple[T.StructType, dict[int, dict[str, Any]]]:
    lsst = survey_science("lsst")
    raw = lsst.flag(lsst_raw_frame(spark, values), "none")
    # no `forced=`: the forced section is the one paired with prvDiaSources (what the distribution fixture relies on)
    df = enrich(passing(raw), resolve_modules(survey="lsst"), version="test", sections=(lsst.history, lsst.current))
    df = df.select(*KEPT, "diaSource.midpointMjdTai")
    return df.schema, {r["diaSourceId"]: r.asDict(recursive=True) for r in df.collect()}


@pytest.fixture(scope="module")
def pure(alerts: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    modules = resolve_modules(survey="lsst")
    outputs = {c for m in modules for c in (*m.columns, *m.frame_columns)}
    paths = sorted({p for m in modules for p in m.inputs} - outputs)
    lsst = survey_science("lsst")
    frame = records_frame(alerts.values(), paths, history=lsst.history, current=lsst.current, forced=lsst.forced)
    out, failures = run_modules(frame, modules)
    assert failures == []
    return {ident: row for ident, row in zip(alerts, out.to_dict("records"), strict=True)}


def points(alert: dict[str, Any], kind: str, band: str) -> dict[float, float]:
    """time -> flux of one band's usable points, by a plain loop (a repeated time: the later entry)."""
    if kind == "dia":
        entries = [*(alert["prvDiaSources"] or []), alert["diaSource"]]
    else:
        entries = alert["prvDiaForcedSources"] or []
    kept: dict[float, float] = {}
    for p in entries:
        t, f, e = p["midpointMjdTai"], p["psfFlux"], p["psfFluxErr"]
        if p["band"] == band and None not in (t, f, e) and all(map(math.isfinite, (t, f, e))) and e > 0:
            kept[t] = f
    return kept


def test_column_types(science: tuple[T.StructType, dict[int, dict[str, Any]]]) -> None:
    schema, rows = science
    for struct in STRUCTS:
        field = schema[struct].dataType
        assert isinstance(field, T.StructType) and tuple(field.fieldNames()) == FIELDS
        assert all(isinstance(f.dataType, T.DoubleType) for f in field.fields)
    assert isinstance(schema["anomaly_score"].dataType, T.DoubleType)
    assert isinstance(schema["classification"].dataType, T.StringType)
    assert len(rows) == GENERATED + 15


def _same(spark_value: Any, pure_value: Any) -> bool:
    if spark_value is None:  # Spark stores NaN as null
        return pure_value is None or (isinstance(pure_value, float) and math.isnan(pure_value))
    return spark_value == pytest.approx(pure_value, rel=1e-12, abs=1e-12)


def test_spark_equals_the_pure_driver(
    science: tuple[T.StructType, dict[int, dict[str, Any]]], pure: dict[int, dict[str, Any]]
) -> None:
    _, rows = science
    assert set(rows) == set(pure)
    for ident, row in rows.items():
        expected = pure[ident]
        for struct in STRUCTS:
            differing = [f for f in FIELDS if not _same(row[struct][f], expected[f"{struct}.{f}"])]
            assert not differing, (ident, struct, differing[:5])
        assert _same(row["anomaly_score"], expected["anomaly_score"]), ident
        assert row["classification"] == expected["classification"], ident


def test_point_counts_and_features_against_the_decoded_alerts(
    science: tuple[T.StructType, dict[int, dict[str, Any]]], alerts: dict[int, dict[str, Any]]
) -> None:
    _, rows = science
    forced_bands = 0
    for ident, row in rows.items():
        alert = alerts[ident]
        for kind, struct in zip(("dia", "forced"), STRUCTS, strict=True):
            for band in BANDS:
                kept = points(alert, kind, band)
                features = {name[2:]: value for name, value in row[struct].items() if name.startswith(f"{band}_")}
                assert features["n_points"] == len(kept), (ident, kind, band)
                if len(kept) < MIN_POINTS:
                    assert all(v is None for k, v in features.items() if k != "n_points")
                    continue
                flux = np.array(list(kept.values()))
                assert features["mean"] == pytest.approx(flux.mean(), rel=1e-9)
                assert features["amplitude"] == pytest.approx((flux.max() - flux.min()) / 2, rel=1e-9)
                assert features["duration"] == pytest.approx(max(kept) - min(kept), abs=1e-9)
                if kind == "forced":  # an object with forced photometry: its features are all finite
                    forced_bands += 1
                    assert all(v is not None and math.isfinite(v) for v in features.values()), (ident, band)
    assert forced_bands >= 200  # the real long histories and most datasim objects


def test_the_real_alert_with_777_forced_points(science: tuple[T.StructType, dict[int, dict[str, Any]]]) -> None:
    _, rows = science
    row = rows[170094456523456557]
    assert sum(row["lc_features_forced"][f"{b}_n_points"] for b in BANDS) > 700
    assert row["anomaly_score"] is not None and -1.0 < row["anomaly_score"] < 0.0


def test_solar_system_anomaly_and_labels(
    science: tuple[T.StructType, dict[int, dict[str, Any]]], alerts: dict[int, dict[str, Any]]
) -> None:
    _, rows = science
    threshold = load_lsst_forest().threshold
    sso = [r for r in rows.values() if r["is_sso"]]
    assert len(sso) >= 9 and all(r["classification"] == "Solar System MPC" for r in sso)
    assert all(r["lc_features_forced"][f"{b}_n_points"] == 0 for r in sso for b in BANDS)
    for ident, row in rows.items():
        has_features = any(row[s][f"{b}_n_points"] >= MIN_POINTS for s in STRUCTS for b in BANDS)
        assert (row["anomaly_score"] is not None) == has_features, ident
        if has_features:
            assert -1.0 < row["anomaly_score"] < 0.0
        label, rate, significance = row["classification"], row["mag_rate"], row["rate_significance"]
        assert label in LABELS or label == row["xmatch_type"], label
        if label in ("Fast transient candidate", "Early transient candidate"):
            assert row["is_sso"] is False and rate < 0 and significance >= 3
        if label == "Fast transient candidate":
            assert rate <= -0.3
        if label == "Early transient candidate":
            assert 0 <= row["midpointMjdTai"] - row["firstDiaSourceMjdTaiFink"] <= EARLY_MAX_DAYS
        if label == "Anomaly candidate":
            assert row["anomaly_score"] < threshold
    labels = {r["classification"] for r in rows.values()}
    assert {"Solar System MPC", "Unknown"} <= labels
    assert sum(r["anomaly_score"] is not None for r in rows.values()) >= 150
