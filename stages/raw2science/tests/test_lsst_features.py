"""Unit tests of the LSST flux light-curve features (`lsst_features`), the forced-photometry arrays, and the LSST
anomaly forest (`lsst_anomaly`) on small hand-built batches. Expected values come from the formulas written out
in plain numpy here (not from the `light-curve` package the module uses)."""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fink_raw2science.science.anomaly import load_forest
from fink_raw2science.science.errors import ScienceError
from fink_raw2science.science.lightcurve import forced_field, history_field, records_frame
from fink_raw2science.science.lsst_anomaly import (
    DEFAULT_MODEL,
    FOREST_FEATURES,
    RAW_FIELDS,
    LsstAnomalyScorer,
    forest_inputs,
    load_lsst_forest,
)
from fink_raw2science.science.lsst_features import BANDS, FEATURE_NAMES, FIELDS, MIN_POINTS, flux_features
from fink_raw2science.science.rubin import band_codes

Alert = dict[str, list]


def lc(time: list[float], band: list[str | None], flux: list[float | None], err: list[float | None]) -> Alert:
    return {"time": time, "band": band, "flux": flux, "err": err}


def features(*alerts: Alert | None) -> pd.DataFrame:
    def column(key: str) -> pd.Series:
        dtype = object if key == "band" else float
        return pd.Series([None if a is None else np.array(a[key], dtype=dtype) for a in alerts], dtype=object)

    return flux_features(column("time"), column("band"), column("flux"), column("err"))


def expected_features(t: np.ndarray, f: np.ndarray, e: np.ndarray) -> dict[str, float]:
    """Every feature of one band by its formula, in plain numpy."""
    n = t.size
    w = 1.0 / e**2
    mean, wmean = f.mean(), np.sum(w * f) / np.sum(w)
    std = math.sqrt(np.sum((f - mean) ** 2) / (n - 1))
    chi = (f - wmean) / e
    # weighted least squares f = c + slope * t
    tw = np.sum(w * t) / np.sum(w)
    sxx = np.sum(w * (t - tw) ** 2)
    slope = np.sum(w * (t - tw) * (f - wmean)) / sxx
    c = wmean - slope * tw
    return {
        "n_points": n,
        "amplitude": (f.max() - f.min()) / 2,
        "beyond_1_std": np.mean(np.abs(f - mean) > std),
        "duration": t.max() - t.min(),
        "linear_fit_slope": slope,
        "linear_fit_slope_sigma": math.sqrt(1.0 / sxx),
        "linear_fit_reduced_chi2": np.sum(((f - c - slope * t) / e) ** 2) / (n - 2),
        "mean": mean,
        "reduced_chi2": np.sum(chi**2) / (n - 1),
        "skew": n / ((n - 1) * (n - 2)) * np.sum((f - mean) ** 3) / std**3,
        "standard_deviation": std,
        "stetson_k": np.sum(np.abs(chi)) / math.sqrt(n * np.sum(chi**2)),
        "weighted_mean": wmean,
    }


# --------------------------------------------------------------------------- features


def test_field_layout_is_band_then_feature() -> None:
    assert BANDS == ("u", "g", "r", "i", "z", "y") and len(FEATURE_NAMES) == 13 and MIN_POINTS == 3
    assert FIELDS[: len(FEATURE_NAMES)] == tuple(f"u_{name}" for name in FEATURE_NAMES)
    assert len(FIELDS) == 78 and FIELDS[-1] == "y_weighted_mean" and FEATURE_NAMES[0] == "n_points"


def test_features_of_one_band_by_their_formulas() -> None:
    # g points out of time order, with an r point, a negative flux (kept: it is a flux) and unequal errors
    alert = lc(
        [4.0, 1.0, 2.5, 3.0, 2.0, 6.0],
        ["g", "g", "r", "g", "g", "g"],
        [60.0, 10.0, 999.0, -30.0, 20.0, 45.0],
        [2.0, 1.0, 5.0, 2.0, 1.0, 3.0],
    )
    out = features(alert)
    assert tuple(out.columns) == FIELDS
    expected = expected_features(
        np.array([1.0, 2.0, 3.0, 4.0, 6.0]), np.array([10.0, 20.0, -30.0, 60.0, 45.0]), np.array([1.0, 1.0, 2.0, 2.0, 3.0])
    )
    for name, value in expected.items():
        assert out[f"g_{name}"][0] == pytest.approx(value, rel=1e-9), name
    assert out["g_amplitude"][0] == 45.0 and out["g_mean"][0] == 21.0  # (60 - -30) / 2; 105 / 5
    assert out["r_n_points"][0] == 1 and out.filter(regex="^r_").drop(columns="r_n_points").iloc[0].isna().all()
    for band in ("u", "i", "z", "y"):
        assert out[f"{band}_n_points"][0] == 0 and out.filter(regex=f"^{band}_").drop(columns=f"{band}_n_points").iloc[0].isna().all()


def test_points_that_do_not_count_and_repeated_times() -> None:
    alert = lc(
        [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 2.0, float("nan")],
        ["i", "i", "i", "i", "i", None, "x", "i", "i"],
        [5.0, 7.0, None, 9.0, 11.0, 50.0, 50.0, 8.0, 3.0],  # null flux; t=2 twice: the later entry (8) counts
        [1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0],  # a zero error does not count
    )
    out = features(alert)
    assert out["i_n_points"][0] == 3  # t = 1, 2 (flux 8), 5
    assert out["i_mean"][0] == pytest.approx((5.0 + 8.0 + 11.0) / 3)
    assert out["i_duration"][0] == 4.0


def test_too_few_points_empty_and_null_arrays() -> None:
    two = lc([1.0, 2.0], ["z", "z"], [1.0, 2.0], [0.1, 0.1])
    empty = lc([], [], [], [])
    out = features(two, empty, None)
    assert out["z_n_points"].tolist() == [2, 0, 0]
    assert out.drop(columns=[f"{b}_n_points" for b in BANDS]).isna().all().all()
    assert (out[[f"{b}_n_points" for b in BANDS]].sum(axis=1) == [2, 0, 0]).all()


def test_a_constant_light_curve_has_nan_shape_but_finite_level() -> None:
    out = features(lc([1.0, 2.0, 3.0, 4.0], ["y"] * 4, [7.0] * 4, [1.0] * 4))
    assert out["y_mean"][0] == 7.0 and out["y_standard_deviation"][0] == 0.0 and out["y_reduced_chi2"][0] == 0.0
    assert math.isnan(out["y_skew"][0])  # 0 / 0: undefined, not a failure


def test_mismatched_lengths_raise() -> None:
    bad = {"time": [1.0, 2.0], "band": ["g"], "flux": [1.0, 2.0], "err": [1.0, 1.0]}
    with pytest.raises(ValueError, match="different lengths"):
        features(bad)


def test_band_codes() -> None:
    cband = pd.Series([np.array(["u", "y", None, "g"], dtype=object), None, np.array(["Y", "r"], dtype=object)])
    assert band_codes(cband, np.array([4, 0, 2])).tolist() == [0, 5, -1, 1, -1, 2]


# --------------------------------------------------------------------------- forced-photometry arrays


def test_forced_and_history_names() -> None:
    assert forced_field("forced_psfFlux") == "psfFlux" and forced_field("cpsfFlux") is None
    assert forced_field("forced_") is None and forced_field("forced_a.b") is None
    assert history_field("forced_psfFlux") is None


def test_records_frame_builds_history_forced_and_struct_columns() -> None:
    records = [
        {
            "prvDiaSources": [{"psfFlux": 1.0}, {"psfFlux": 2.0}],
            "diaSource": {"psfFlux": 3.0, "band": "g"},
            "prvDiaForcedSources": [{"psfFlux": 4.0, "band": "r"}],
            "ssSource": None,
        },
        {"prvDiaSources": None, "diaSource": {"psfFlux": 5.0, "band": "i"}, "prvDiaForcedSources": None, "ssSource": {"ssObjectId": 7}},
    ]
    frame = records_frame(
        records,
        ["cpsfFlux", "forced_psfFlux", "forced_band", "ssSource.ssObjectId", "diaSource.band"],
        history="prvDiaSources",
        current="diaSource",
        forced="prvDiaForcedSources",
    )
    assert [list(v) for v in frame["cpsfFlux"]] == [[1.0, 2.0, 3.0], [5.0]]
    assert [list(v) for v in frame["forced_psfFlux"]] == [[4.0], []]
    assert list(frame["forced_band"][0]) == ["r"]
    assert frame["ssSource.ssObjectId"].isna().tolist() == [True, False] and frame["diaSource.band"].tolist() == ["g", "i"]
    with pytest.raises(ScienceError, match="no forced-photometry section"):
        records_frame(records, ["forced_psfFlux"], history="prvDiaSources", current="diaSource")


# --------------------------------------------------------------------------- anomaly


def raw_fields(**values: float) -> dict[str, np.ndarray]:
    base = dict.fromkeys(RAW_FIELDS, np.nan)
    base.update(values)
    return {k: np.array([v], dtype=np.float64) for k, v in base.items()}


def test_forest_inputs_by_hand() -> None:
    fields = raw_fields(
        n_points=5, amplitude=30.0, beyond_1_std=0.2, linear_fit_reduced_chi2=10.0, linear_fit_slope=3.0,
        linear_fit_slope_sigma=1.5, reduced_chi2=100.0, skew=-0.5, standard_deviation=20.0, stetson_k=0.7,
        weighted_mean=-40.0,
    )  # fmt: skip
    x = forest_inputs(fields)[0]
    assert dict(zip(FOREST_FEATURES, x, strict=True)) == pytest.approx(
        {
            "beyond_1_std": 0.2, "skew": -0.5, "stetson_k": 0.7, "lg_reduced_chi2": 2.0,
            "lg_linear_fit_reduced_chi2": 1.0, "slope_significance": math.asinh(2.0), "amplitude_to_std": 1.5,
            "mean_to_std": math.asinh(-2.0),
        }  # fmt: skip
    )
    flat = forest_inputs(raw_fields(reduced_chi2=0.0, standard_deviation=0.0, amplitude=0.0, linear_fit_slope_sigma=0.0))[0]
    assert flat[FOREST_FEATURES.index("lg_reduced_chi2")] == -3.0  # clipped at 1e-3
    assert np.isnan(flat[[FOREST_FEATURES.index(n) for n in ("slope_significance", "amplitude_to_std", "mean_to_std")]]).all()


def test_packaged_lsst_model_and_refusal_of_the_ztf_one() -> None:
    forest = load_lsst_forest()
    text = resources.files("fink_raw2science.science").joinpath(DEFAULT_MODEL).read_text(encoding="utf-8")
    data = json.loads(text)
    assert forest.features == FOREST_FEATURES and data["training"]["survey"] == "lsst"
    assert -1.0 < forest.threshold < 0.0 and len(forest.trees) == 100
    ztf = resources.files("fink_raw2science.science").joinpath("data/anomaly_forest.json")
    with pytest.raises(ScienceError, match="needs features"):
        load_lsst_forest(str(Path(str(ztf))))
    assert load_forest().features != FOREST_FEATURES  # the ZTF default is still the ZTF model


def scorer_columns(scorer: LsstAnomalyScorer, blocks: dict[str, list[dict[str, np.ndarray]]], n: int) -> list[pd.Series]:
    """The scorer's input columns: NaN everywhere (n_points 0) but the given (struct.band -> per-alert fields)."""
    columns = []
    for path in scorer.inputs:
        struct, name = path.split(".")
        key, field = f"{struct}.{name[0]}", name[2:]
        values = np.zeros(n) if field == "n_points" else np.full(n, np.nan)
        for row, fields in enumerate(blocks.get(key, [{}] * n)):
            if fields:
                values[row] = fields[field][0]
        columns.append(pd.Series(values))
    return columns


def test_scorer_takes_the_lowest_light_curve_score_and_nan_without_features() -> None:
    forest = load_lsst_forest()
    scorer = LsstAnomalyScorer(forest)
    assert len(scorer.inputs) == 2 * 6 * len(RAW_FIELDS) and scorer.inputs[0] == "lc_features_dia.u_n_points"
    normal = raw_fields(
        n_points=20, amplitude=30.0, beyond_1_std=0.3, linear_fit_reduced_chi2=5.0, linear_fit_slope=0.1,
        linear_fit_slope_sigma=1.0, reduced_chi2=5.0, skew=0.2, standard_deviation=20.0, stetson_k=0.8,
        weighted_mean=10.0,
    )  # fmt: skip
    odd = raw_fields(
        n_points=400, amplitude=5000.0, beyond_1_std=0.01, linear_fit_reduced_chi2=5000.0, linear_fit_slope=80.0,
        linear_fit_slope_sigma=1.0, reduced_chi2=9000.0, skew=-11.0, standard_deviation=500.0, stetson_k=0.2,
        weighted_mean=1500.0,
    )  # fmt: skip
    thin = dict(normal, n_points=np.array([2.0]))  # below MIN_POINTS: ignored
    blocks = {
        "lc_features_dia.g": [normal, normal, thin, {}],
        "lc_features_forced.r": [{}, odd, {}, {}],
    }
    score = scorer(*scorer_columns(scorer, blocks, 4)).to_numpy()
    s_normal, s_odd = forest.score(forest_inputs(normal)), forest.score(forest_inputs(odd))
    assert score[0] == pytest.approx(s_normal[0], rel=1e-12)
    assert score[1] == pytest.approx(min(s_normal[0], s_odd[0]), rel=1e-12) and s_odd[0] < s_normal[0]
    assert np.isnan(score[2:]).all()  # too few points, or nothing at all
    assert -1.0 < s_odd[0] < forest.threshold < s_normal[0] < 0.0  # the odd one is flagged, the usual one not
    with pytest.raises(ValueError, match="takes 132 columns"):
        scorer(pd.Series([1.0]))
