"""Train the anomaly isolation forest and export it as plain JSON (`science/data/anomaly_forest.json`).

    cd /work/main && FINK_DATASIM_DIR=/work/shared/datasim \\
    PYTHONPATH=libs/fink-common/src:stages/raw2science/src:datasim/src \\
    python stages/raw2science/scripts/train_anomaly.py --version 1.0.0

Training set: per-band light curves (g and r pooled, `n_points >= MIN_POINTS`) of
  * synthetic alerts from `fink_datasim` (`--generated N` alerts, fixed seed), and
  * every real alert of the ZTF 3.3 and 4.02 samples (so that real features are in distribution).
If `fink_datasim` cannot be imported, the script falls back to light curves it simulates itself
(constant stars, sinusoidal variables, rising/fading transients; fixed seed) and says so in the
artifact's `training` metadata.

Features: the `lc_features_*` fields except `n_points` and `mean` (cadence and brightness, not shape).
The forest is scikit-learn's `IsolationForest` (fixed `random_state`), fitted on float32 as sklearn does.
The export holds, per tree, split feature/threshold, children, and for each leaf its depth + c(n_leaf);
the script checks that `fink_raw2science.science.anomaly.Forest` reproduces `score_samples` before
writing. `threshold` = the `--contamination` quantile of the training scores (lower = more anomalous).
Same inputs and arguments give the same file; `training.data_sha256` (hash of the float32 training
matrix) tells whether a retrain saw the same data (it changes when fink_datasim's generator changes).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import fastavro
import numpy as np
import sklearn
from sklearn.ensemble import IsolationForest

from fink_common.datasets import sample_files
from fink_raw2science.science.anomaly import Forest, export_forest
from fink_raw2science.science.features import BANDS, FEATURE_NAMES, MIN_POINTS, band_features
from fink_raw2science.science.lightcurve import input_frame_from_records

__all__ = ["FOREST_FEATURES", "main", "training_matrix"]

OUT = Path(__file__).resolve().parents[1] / "src/fink_raw2science/science/data/anomaly_forest.json"
FOREST_FEATURES: tuple[str, ...] = tuple(f for f in FEATURE_NAMES if f not in ("n_points", "mean"))
_HISTORY = ("cjd", "cfid", "cmagpsf", "csigmapsf")


def real_alerts() -> Iterator[Mapping[str, Any]]:
    for name in ("ztf_3.3", "ztf_4.02"):
        for path in sample_files(name):
            with path.open("rb") as fh:
                yield from fastavro.reader(fh)


def generated_alerts(n: int, seed: int) -> list[Mapping[str, Any]] | None:
    """`n` alerts from fink_datasim, or None when the generator is not importable."""
    try:
        from fink_datasim.generate import iter_alerts
        from fink_datasim.plan import build_plan
    except ImportError:
        return None
    return list(iter_alerts(build_plan(n, seed, "20231018")))


def simulated_alerts(n: int, seed: int) -> list[Mapping[str, Any]]:
    """Fallback: minimal alert dicts (candidate + history) with simple light curves in g and r."""
    rng = np.random.default_rng(seed)
    alerts: list[Mapping[str, Any]] = []
    for _ in range(n):
        kind = rng.choice(["constant", "periodic", "rise", "fade"])
        k = int(rng.integers(4, 30))
        jd = np.sort(2460200.0 + rng.uniform(0, 30, k))
        fid = rng.integers(1, 3, k)
        base = rng.uniform(15, 20)
        t = jd - jd[0]
        shape = {
            "constant": np.zeros(k),
            "periodic": rng.uniform(0.1, 1.0) * np.sin(2 * np.pi * t / rng.uniform(0.3, 20)),
            "rise": -rng.uniform(0.02, 0.2) * t,
            "fade": rng.uniform(0.02, 0.1) * t,
        }[kind]
        sigma = np.clip(0.02 * 10 ** (0.2 * (base - 17)), 0.01, 0.3)
        mag = base + shape + rng.normal(0, sigma, k) + (fid == 1) * 0.4
        points = [
            {"jd": float(j), "fid": int(f), "magpsf": float(m), "sigmapsf": float(sigma)}
            for j, f, m in zip(jd, fid, mag, strict=True)
        ]
        alerts.append({"candidate": points[-1], "prv_candidates": points[:-1]})
    return alerts


def training_matrix(alerts: Iterable[Mapping[str, Any]]) -> np.ndarray:
    """Rows of FOREST_FEATURES, one per band light curve with enough points."""
    frame = input_frame_from_records(alerts, _HISTORY)
    blocks = []
    for fid in BANDS.values():
        feats = band_features(*(frame[c] for c in _HISTORY), fid=fid)
        blocks.append(feats.loc[feats["n_points"] >= MIN_POINTS, list(FOREST_FEATURES)].to_numpy(dtype=np.float64))
    return np.vstack(blocks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--version", default="1.0.0", help="model version written into the artifact")
    parser.add_argument("--generated", type=int, default=6000, help="synthetic alerts from fink_datasim")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--max-samples", type=int, default=256)
    parser.add_argument("--contamination", type=float, default=0.02)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    real = list(real_alerts())
    generated = generated_alerts(args.generated, args.seed)
    source = "fink_datasim"
    if generated is None:
        generated, source = simulated_alerts(args.generated, args.seed), "simulated in train_anomaly.py"
    x_real = training_matrix(real)
    x_gen = training_matrix(generated)
    x = np.vstack([x_gen, x_real])
    impute = np.nanmedian(x, axis=0)
    x = np.where(np.isnan(x), impute, x).astype(np.float32)
    model = IsolationForest(
        n_estimators=args.trees, max_samples=args.max_samples, max_features=1.0, random_state=args.seed
    ).fit(x)
    scores = model.score_samples(x)
    threshold = float(np.quantile(scores, args.contamination))
    meta = {
        "version": args.version,
        "training": {
            "generated_source": source,
            "generated_alerts": len(generated),
            "real_alerts": len(real),
            "light_curves": {"generated": int(x_gen.shape[0]), "real": int(x_real.shape[0])},
            "seed": args.seed,
            "data_sha256": hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest(),
            "contamination": args.contamination,
            "sklearn": sklearn.__version__,
            "score": "sklearn score_samples: lower = more anomalous",
        },
    }
    data = export_forest(model, FOREST_FEATURES, impute, threshold, meta)
    ours = Forest.from_dict(data).score(x.astype(np.float64))
    worst = float(np.max(np.abs(ours - scores)))
    if worst > 1e-9:
        raise SystemExit(f"exported forest disagrees with scikit-learn (max |diff| = {worst})")
    args.out.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
    flagged = 0
    if x_real.shape[0]:
        real_scores = model.score_samples(np.where(np.isnan(x_real), impute, x_real).astype(np.float32))
        flagged = int((real_scores < threshold).sum())
    print(
        f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB): {x.shape[0]} light curves "
        f"({x_gen.shape[0]} from {source}, {x_real.shape[0]} real), threshold {threshold:.4f}, "
        f"{flagged} real light curves flagged, max |diff| vs sklearn {worst:.2e}"
    )


if __name__ == "__main__":
    main()
