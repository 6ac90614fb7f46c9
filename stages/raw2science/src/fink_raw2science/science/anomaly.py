"""Anomaly score: an isolation forest over the per-band light-curve features, shipped as plain JSON.

The forest is trained by `stages/raw2science/scripts/train_anomaly.py` with scikit-learn's
`IsolationForest` and exported tree by tree to `data/anomaly_forest.json` (node arrays: split feature,
split threshold, children, and for each leaf its depth plus the expected path length of the samples
left in it). Scoring here walks those trees with numpy, so serving needs neither scikit-learn nor a
pickle; the training script checks that both give the same scores.

Score of one band: scikit-learn's `score_samples` convention, `-2 ** (-mean path length / c(max_samples))`,
a number in (-1, 0): LOWER = MORE ANOMALOUS. The forest is band-agnostic (trained on g and r light
curves pooled); the alert's `anomaly_score` is the lowest (most anomalous) score over its bands that
have features (`n_points >= MIN_POINTS`). NaN features of such a band (e.g. skew of a flat curve) are
replaced by the training medians. An alert with no band having features gets `NO_FEATURES_SCORE` = 0.0,
the upper end of the range, i.e. "not anomalous"; real scores are always strictly negative.

`threshold` in the artifact is the score under which the training set's most anomalous `contamination`
fraction lies; `classification` uses it for its anomaly flag.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fink_raw2science.science.errors import ScienceError
from fink_raw2science.science.features import BANDS, MIN_POINTS

__all__ = [
    "DEFAULT_MODEL",
    "MODEL_FORMAT",
    "NO_FEATURES_SCORE",
    "AnomalyScorer",
    "Forest",
    "average_path_length",
    "export_forest",
    "load_forest",
]

MODEL_FORMAT = "fink-isolation-forest/1"
#: Packaged model, relative to this package.
DEFAULT_MODEL = "data/anomaly_forest.json"
#: Score of an alert without any band with features.
NO_FEATURES_SCORE = 0.0


def average_path_length(n: np.ndarray | float) -> np.ndarray:
    """c(n): average path length of an unsuccessful search in a binary search tree of n points."""
    n = np.asarray(n, dtype=np.float64)
    out = np.zeros_like(n)
    out[n == 2] = 1.0
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + np.euler_gamma) - 2.0 * (n[big] - 1.0) / n[big]
    return out


@dataclass(frozen=True)
class _Tree:
    feature: np.ndarray  # int, -1 on leaves
    threshold: np.ndarray  # float64
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray  # leaf depth + c(samples in leaf); 0 on internal nodes

    def path_lengths(self, x: np.ndarray) -> np.ndarray:
        node = np.zeros(x.shape[0], dtype=np.int64)
        rows = np.arange(x.shape[0])
        active = self.feature[node] >= 0
        while active.any():
            at = node[active]
            go_left = x[rows[active], self.feature[at]] <= self.threshold[at]
            node[active] = np.where(go_left, self.left[at], self.right[at])
            active = self.feature[node] >= 0
        return self.value[node]


@dataclass(frozen=True)
class Forest:
    """An exported isolation forest: trees, feature names, imputation medians, threshold, version."""

    version: str
    features: tuple[str, ...]
    impute: np.ndarray
    max_samples: int
    threshold: float
    trees: tuple[_Tree, ...]
    meta: dict[str, Any]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Forest:
        if data.get("format") != MODEL_FORMAT:
            raise ScienceError(f"anomaly model format {data.get('format')!r}, expected {MODEL_FORMAT!r}")
        trees = tuple(
            _Tree(
                feature=np.asarray(t["feature"], dtype=np.int64),
                threshold=np.asarray(t["threshold"], dtype=np.float64),
                left=np.asarray(t["left"], dtype=np.int64),
                right=np.asarray(t["right"], dtype=np.int64),
                value=np.asarray(t["value"], dtype=np.float64),
            )
            for t in data["trees"]
        )
        return cls(
            version=str(data["version"]),
            features=tuple(data["features"]),
            impute=np.asarray(data["impute"], dtype=np.float64),
            max_samples=int(data["max_samples"]),
            threshold=float(data["threshold"]),
            trees=trees,
            meta={k: v for k, v in data.items() if k not in ("trees",)},
        )

    def score(self, x: np.ndarray) -> np.ndarray:
        """`score_samples` of rows of x (columns in `features` order; NaN replaced by the medians)."""
        x = np.where(np.isnan(x), self.impute, x)
        # scikit-learn compares float32 inputs with float64 thresholds: do the same to get its splits.
        x = x.astype(np.float32).astype(np.float64)
        if x.shape[0] == 0:
            return np.zeros(0)
        depth = np.zeros(x.shape[0])
        for tree in self.trees:
            depth += tree.path_lengths(x)
        mean_depth = depth / len(self.trees)
        return -np.power(2.0, -mean_depth / average_path_length(np.array([self.max_samples]))[0])


@lru_cache(maxsize=8)
def load_forest(path: str | None = None, packaged: str = DEFAULT_MODEL) -> Forest:
    """The forest at `path`, or when None the packaged one `packaged` (relative to this package; cached)."""
    try:
        if path is None:
            text = resources.files("fink_raw2science.science").joinpath(packaged).read_text(encoding="utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        return Forest.from_dict(json.loads(text))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        where = path or f"fink_raw2science.science/{packaged}"
        raise ScienceError(f"cannot load the anomaly model {where}: {type(exc).__name__}: {exc}") from exc


class AnomalyScorer:
    """The module function: `(*band feature columns) -> anomaly_score`, columns as in `inputs`."""

    def __init__(self, forest: Forest) -> None:
        self.forest = forest
        names = ("n_points", *forest.features)
        self.inputs: tuple[str, ...] = tuple(f"lc_features_{band}.{name}" for band in BANDS for name in names)
        self._width = len(names)

    def __call__(self, *columns: pd.Series) -> pd.Series:
        if len(columns) != len(self.inputs):
            raise ValueError(f"anomaly scorer takes {len(self.inputs)} columns, got {len(columns)}")
        n = len(columns[0])
        best = np.full(n, np.inf)
        for b in range(len(BANDS)):
            block = columns[b * self._width : (b + 1) * self._width]
            points = pd.to_numeric(block[0], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            has = points >= MIN_POINTS
            if not has.any():
                continue
            x = np.column_stack(
                [pd.to_numeric(c, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan) for c in block[1:]]
            )
            best[has] = np.minimum(best[has], self.forest.score(x[has]))
        best[~np.isfinite(best)] = NO_FEATURES_SCORE
        return pd.Series(best, dtype=np.float64)


def export_forest(
    model: Any, features: tuple[str, ...], impute: np.ndarray, threshold: float, meta: dict[str, Any]
) -> dict[str, Any]:
    """JSON-ready description of a fitted scikit-learn `IsolationForest` (fitted with `max_features=1.0`).

    Per tree: split feature (-1 on leaves), threshold, children, and on leaves depth + c(n_leaf).
    Takes the model duck-typed, so this module does not import scikit-learn.
    """
    if getattr(model, "max_features", None) != 1.0:
        raise ScienceError("only forests fitted with max_features=1.0 can be exported (trees use every column)")
    trees = []
    for estimator in model.estimators_:
        tree = estimator.tree_
        depth = np.zeros(tree.node_count, dtype=np.int64)
        for node in range(tree.node_count):  # children always come after their parent
            for child in (tree.children_left[node], tree.children_right[node]):
                if child >= 0:
                    depth[child] = depth[node] + 1
        leaf = tree.children_left < 0
        value = np.where(leaf, depth + average_path_length(tree.n_node_samples.astype(np.float64)), 0.0)
        trees.append(
            {
                "feature": np.where(leaf, -1, tree.feature).astype(int).tolist(),
                "threshold": np.where(leaf, 0.0, tree.threshold).tolist(),
                "left": np.where(leaf, -1, tree.children_left).astype(int).tolist(),
                "right": np.where(leaf, -1, tree.children_right).astype(int).tolist(),
                "value": value.tolist(),
            }
        )
    return {
        "format": MODEL_FORMAT,
        **meta,
        "features": list(features),
        "impute": np.asarray(impute, dtype=np.float64).tolist(),
        "max_samples": int(model.max_samples_),
        "threshold": float(threshold),
        "trees": trees,
    }
