"""Unit tests of the light-curve features and of the anomaly forest (export, packaged model, scorer)."""

from __future__ import annotations

import json
from importlib import resources

import light_curve as lc
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import IsolationForest

from fink_raw2science.science.anomaly import (
    NO_FEATURES_SCORE,
    AnomalyScorer,
    Forest,
    export_forest,
    load_forest,
)
from fink_raw2science.science.errors import ScienceError
from fink_raw2science.science.features import FEATURE_NAMES, MIN_POINTS, features_g, features_r

NAN = float("nan")


def arrays(*rows: list[float | None] | None) -> pd.Series:
    return pd.Series([None if r is None else np.array(r, dtype=object).astype(float) for r in rows], dtype=object)


def features(fn, *alerts: dict[str, list[float | None]] | None) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    names = ("cjd", "cfid", "cmagpsf", "csigmapsf")
    return fn(*(arrays(*[None if a is None else a[n] for a in alerts]) for n in names))


def lc_of(jd: list[float], fid: list[int], mag: list[float | None], sig: list[float | None]) -> dict:
    return {"cjd": jd, "cfid": fid, "cmagpsf": mag, "csigmapsf": sig}


# --------------------------------------------------------------------------- features


def test_features_match_the_light_curve_library_on_the_band_points() -> None:
    # r points (fid 2) interleaved with g points and one r upper limit; given out of time order.
    jd = [5.0, 1.0, 3.0, 2.0, 4.0, 6.0, 7.0]
    fid = [2, 2, 1, 2, 2, 1, 2]
    mag = [18.4, 18.0, 17.0, 18.3, None, 17.2, 18.9]
    sig = [0.05, 0.04, 0.03, 0.06, None, 0.03, 0.08]
    out = features(features_r, lc_of(jd, fid, mag, sig))
    assert tuple(out.columns) == FEATURE_NAMES and len(FEATURE_NAMES) == 13
    t = np.array([1.0, 2.0, 5.0, 7.0])
    m = np.array([18.0, 18.3, 18.4, 18.9])
    s = np.array([0.04, 0.06, 0.05, 0.08])
    expected = {
        "amplitude": lc.Amplitude()(t, m, s)[0],
        "skew": lc.Skew()(t, m, s)[0],
        "stetson_k": lc.StetsonK()(t, m, s)[0],
        "linear_fit_slope": lc.LinearFit()(t, m, s)[0],
        "reduced_chi2": lc.ReducedChi2()(t, m, s)[0],
        "duration": 6.0,
        "mean": m.mean(),
        "standard_deviation": m.std(ddof=1),
    }
    assert out["n_points"][0] == 4
    for name, value in expected.items():
        assert out[name][0] == pytest.approx(value, rel=1e-9), name


def test_features_nan_with_too_few_points_and_bands_kept_apart() -> None:
    two_r = lc_of([1.0, 2.0, 3.0, 4.0], [2, 2, 1, 1], [18.0, 18.1, 17.0, 17.1], [0.1, 0.1, 0.1, 0.1])
    g_ok = lc_of([1.0, 2.0, 3.0, 4.0], [1, 1, 1, 2], [17.0, 17.3, 17.1, 18.0], [0.1, 0.1, 0.1, 0.1])
    r = features(features_r, two_r, None, g_ok)
    g = features(features_g, two_r, None, g_ok)
    assert r["n_points"].tolist() == [2, 0, 1]
    assert g["n_points"].tolist() == [2, 0, 3]
    assert r.drop(columns="n_points").isna().all().all()  # nobody has MIN_POINTS r points
    assert g.drop(columns="n_points").iloc[:2].isna().all().all()
    assert g.drop(columns="n_points").iloc[2].notna().all()
    assert g["amplitude"][2] == pytest.approx(0.15)
    assert MIN_POINTS == 3


def test_features_drop_bad_errors_upper_limits_and_repeated_times() -> None:
    alert = lc_of(
        [1.0, 2.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        [1, 1, 1, 1, 1, 1, 1],
        [18.0, 30.0, 18.2, 18.1, 25.0, 26.0, None],
        [0.1, 0.1, 0.1, 0.1, 0.0, NAN, None],
    )
    out = features(features_g, alert)
    # kept: t=1 (18.0), t=2 the later entry (18.2), t=3 (18.1); sigma 0 / NaN and the limit are dropped.
    assert out["n_points"][0] == 3
    assert out["amplitude"][0] == pytest.approx(0.1)
    assert out["duration"][0] == pytest.approx(2.0)


def test_flat_light_curve_gives_nan_for_undefined_features_only() -> None:
    out = features(features_g, lc_of([1.0, 2.0, 3.0], [1, 1, 1], [18.0, 18.0, 18.0], [0.1, 0.1, 0.1]))
    assert np.isnan(out["skew"][0]) and np.isnan(out["stetson_k"][0])
    assert out["amplitude"][0] == 0.0 and out["mean"][0] == 18.0


# --------------------------------------------------------------------------- anomaly forest


def test_exported_forest_reproduces_scikit_learn_scores() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(500, 4)).astype(np.float32)
    model = IsolationForest(n_estimators=25, max_samples=64, max_features=1.0, random_state=1).fit(x)
    data = export_forest(model, ("a", "b", "c", "d"), np.zeros(4), -0.5, {"version": "test"})
    forest = Forest.from_dict(json.loads(json.dumps(data)))
    probe = np.vstack([rng.normal(size=(300, 4)), rng.normal(scale=6.0, size=(50, 4))])
    ours = forest.score(probe)
    theirs = model.score_samples(probe.astype(np.float32))
    assert np.max(np.abs(ours - theirs)) < 1e-12
    assert ours[300:].mean() < ours[:300].mean()  # far-out points are more anomalous (lower)


def test_export_refuses_feature_subsampled_forests() -> None:
    x = np.random.default_rng(0).normal(size=(100, 4)).astype(np.float32)
    model = IsolationForest(n_estimators=5, max_features=0.5, random_state=0).fit(x)
    with pytest.raises(ScienceError):
        export_forest(model, ("a", "b", "c", "d"), np.zeros(4), -0.5, {"version": "x"})


def test_packaged_model_is_small_versioned_and_sane() -> None:
    path = resources.files("fink_raw2science.science").joinpath("data/anomaly_forest.json")
    assert len(path.read_bytes()) < 1_000_000
    forest = load_forest()
    assert forest.version.count(".") == 2
    assert set(forest.features) <= set(FEATURE_NAMES) and "n_points" not in forest.features
    assert -1.0 < forest.threshold < 0.0
    assert len(forest.trees) >= 50
    typical = forest.score(forest.impute[None, :])[0]
    weird = forest.score((forest.impute * 50.0 + 100.0)[None, :])[0]
    assert weird < forest.threshold < typical < 0.0


def scorer_columns(scorer: AnomalyScorer, g: list[list[float]], r: list[list[float]]) -> list[pd.Series]:
    """Columns in the scorer's input order from per-band rows of [n_points, *features]."""
    cols = [pd.Series([row[i] for row in g]) for i in range(len(g[0]))]
    cols += [pd.Series([row[i] for row in r]) for i in range(len(r[0]))]
    assert len(cols) == len(scorer.inputs)
    return cols


def test_anomaly_score_takes_the_most_anomalous_band_and_defaults_without_features() -> None:
    forest = load_forest()
    scorer = AnomalyScorer(forest)
    k = len(forest.features)
    typical = list(forest.impute)
    weird = list(forest.impute * 50.0 + 100.0)
    none = [NAN] * k
    g = [[5, *typical], [2, *typical], [0, *none], [4, *typical], [3, *none]]
    r = [[0, *none], [1, *weird], [0, *none], [6, *weird], [0, *none]]
    out = scorer(*scorer_columns(scorer, g, r))
    s_typical, s_weird = forest.score(np.array([typical, weird]))
    assert out[0] == pytest.approx(s_typical)  # g only
    assert out[1] == NO_FEATURES_SCORE  # n_points below MIN_POINTS in both bands: the default
    assert out[2] == NO_FEATURES_SCORE == 0.0
    assert out[3] == pytest.approx(min(s_typical, s_weird)) == pytest.approx(s_weird)
    assert out[4] == pytest.approx(s_typical)  # all-NaN features of a band with points: imputed medians
    with pytest.raises(ValueError):
        scorer(pd.Series([1.0]))
