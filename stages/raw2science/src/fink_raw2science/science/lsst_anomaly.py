"""Anomaly score of Rubin/LSST alerts: an isolation forest over the flux light-curve features, as for ZTF.

The same machinery as `anomaly` (a scikit-learn `IsolationForest` exported tree by tree to JSON, scored with
numpy; `scripts/train_lsst_anomaly.py` trains it deterministically and checks the export reproduces
scikit-learn), on the LSST features (`lsst_features`). Score convention: scikit-learn's `score_samples`, in
(-1, 0), LOWER = MORE ANOMALOUS.

Flux features are in nJy, so a forest on them would mostly rank sources by brightness. The forest therefore
sees only scale-free shapes of one band's light curve, computed here from the struct fields:

| forest input | from the band's fields |
|---|---|
| beyond_1_std | beyond_1_std |
| skew | skew |
| stetson_k | stetson_k |
| lg_reduced_chi2 | log10(reduced_chi2), clipped below at 1e-3 (variability) |
| lg_linear_fit_reduced_chi2 | log10(linear_fit_reduced_chi2), clipped below at 1e-3 (what a trend leaves) |
| slope_significance | asinh(linear_fit_slope / linear_fit_slope_sigma) |
| amplitude_to_std | amplitude / standard_deviation |
| mean_to_std | asinh(weighted_mean / standard_deviation) |

An input that is undefined (NaN, or a zero denominator) takes the training median. The forest is band- and
source-agnostic (trained on the u..y light curves of both the detections and the forced photometry, pooled);
an alert's `anomaly_score` is the lowest score over its light curves (band x kind of photometry) that have
features (`n_points >= MIN_POINTS`), and NaN when none has. The model's `threshold` is the
`contamination` quantile of those alert-level scores on the training alerts (not of single light curves, so
that an alert with twelve light curves is not flagged twelve times as often); `lsst_classification` uses it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from fink_raw2science.science.anomaly import Forest, load_forest
from fink_raw2science.science.errors import ScienceError
from fink_raw2science.science.lsst_features import BANDS, MIN_POINTS, STRUCTS, field_name

__all__ = [
    "DEFAULT_MODEL",
    "FOREST_FEATURES",
    "RAW_FIELDS",
    "LsstAnomalyScorer",
    "forest_inputs",
    "light_curve_rows",
    "load_lsst_forest",
]

#: Packaged model, relative to the `fink_raw2science.science` package.
DEFAULT_MODEL = "data/lsst_anomaly_forest.json"
FOREST_FEATURES: tuple[str, ...] = (
    "beyond_1_std",
    "skew",
    "stetson_k",
    "lg_reduced_chi2",
    "lg_linear_fit_reduced_chi2",
    "slope_significance",
    "amplitude_to_std",
    "mean_to_std",
)
#: The per-band struct fields the forest inputs are computed from (`n_points` first).
RAW_FIELDS: tuple[str, ...] = (
    "n_points",
    "amplitude",
    "beyond_1_std",
    "linear_fit_reduced_chi2",
    "linear_fit_slope",
    "linear_fit_slope_sigma",
    "reduced_chi2",
    "skew",
    "standard_deviation",
    "stetson_k",
    "weighted_mean",
)
_CHI2_FLOOR = 1e-3


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den, np.nan)


def forest_inputs(fields: Mapping[str, np.ndarray]) -> np.ndarray:
    """(n, len(FOREST_FEATURES)) forest inputs of n light curves, from their `RAW_FIELDS` arrays; NaN where
    undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        columns = [
            fields["beyond_1_std"],
            fields["skew"],
            fields["stetson_k"],
            np.log10(np.maximum(fields["reduced_chi2"], _CHI2_FLOOR)),
            np.log10(np.maximum(fields["linear_fit_reduced_chi2"], _CHI2_FLOOR)),
            np.arcsinh(_ratio(fields["linear_fit_slope"], fields["linear_fit_slope_sigma"])),
            _ratio(fields["amplitude"], fields["standard_deviation"]),
            np.arcsinh(_ratio(fields["weighted_mean"], fields["standard_deviation"])),
        ]
    x = np.column_stack([np.asarray(c, dtype=np.float64) for c in columns])
    x[~np.isfinite(x)] = np.nan
    return x


def light_curve_rows(features: pd.DataFrame) -> np.ndarray:
    """Forest inputs of every band light curve with features in a `flux_features` frame, bands stacked."""
    blocks = []
    for band in BANDS:
        fields = {name: features[field_name(band, name)].to_numpy(dtype=np.float64) for name in RAW_FIELDS}
        has = fields["n_points"] >= MIN_POINTS
        blocks.append(forest_inputs(fields)[has])
    return np.vstack(blocks)


def load_lsst_forest(path: str | None = None) -> Forest:
    """The LSST forest at `path`, or the packaged one; refuses a model trained on other inputs."""
    forest = load_forest(path, DEFAULT_MODEL)
    if forest.features != FOREST_FEATURES:
        where = path or DEFAULT_MODEL
        raise ScienceError(f"{where}: the LSST anomaly model needs features {list(FOREST_FEATURES)}, not {list(forest.features)}")
    return forest


def _numbers(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


class LsstAnomalyScorer:
    """The module function: `(*feature struct fields, as in inputs) -> anomaly_score` (NaN: no features)."""

    def __init__(self, forest: Forest) -> None:
        if forest.features != FOREST_FEATURES:
            raise ScienceError(f"LSST anomaly model features {list(forest.features)} != {list(FOREST_FEATURES)}")
        self.forest = forest
        self.inputs: tuple[str, ...] = tuple(
            f"{struct}.{field_name(band, name)}" for struct in STRUCTS.values() for band in BANDS for name in RAW_FIELDS
        )

    def __call__(self, *columns: pd.Series) -> pd.Series:
        if len(columns) != len(self.inputs):
            raise ValueError(f"LSST anomaly scorer takes {len(self.inputs)} columns, got {len(columns)}")
        n = len(columns[0]) if columns else 0
        width = len(RAW_FIELDS)
        rows, inputs = [], []
        for start in range(0, len(columns), width):
            fields = {name: _numbers(c) for name, c in zip(RAW_FIELDS, columns[start : start + width], strict=True)}
            has = np.flatnonzero(fields["n_points"] >= MIN_POINTS)
            rows.append(has)
            inputs.append(forest_inputs({name: values[has] for name, values in fields.items()}))
        best = np.full(n, np.inf)
        at = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        if at.size:  # every light curve of the batch in one walk of the forest, then the lowest per alert
            np.minimum.at(best, at, self.forest.score(np.vstack(inputs)))
        best[~np.isfinite(best)] = np.nan
        return pd.Series(best, dtype=np.float64)
