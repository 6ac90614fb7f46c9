"""Train the LSST anomaly isolation forest and export it as plain JSON (`science/data/lsst_anomaly_forest.json`).

    cd /work/main && FINK_DATASIM_DIR=/work/shared/datasim \\
    PYTHONPATH=libs/fink-common/src:stages/raw2science/src:datasim/src \\
    python stages/raw2science/scripts/train_lsst_anomaly.py --version 1.0.0

Training set: the per-band light curves (u..y, `n_points >= MIN_POINTS`) of both the detections
(`lc_features_dia`) and the forced photometry (`lc_features_forced`), pooled, of
  * `--generated N` Rubin alerts from `fink_datasim` (schema 11.0, fixed seed, one night), and
  * every real Rubin alert of the `lsst_wire_11.0` and `lsst_wire_9.0` samples,
decoded as stream2raw decodes them. Forest inputs: `lsst_anomaly.FOREST_FEATURES` (scale-free shapes).
The forest is scikit-learn's `IsolationForest` (fixed `random_state`, `max_features=1.0`), exported with
`anomaly.export_forest`; the script checks that `anomaly.Forest` reproduces `score_samples` before writing.
`threshold` = the `--contamination` quantile of the ALERT-level scores (the lowest over each training alert's
light curves), computed with the exported forest by the module function itself. Same inputs and arguments give
the same file; `training.data_sha256` tells whether a retrain saw the same data.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import IsolationForest

from fink_common.datasets import sample_files
from fink_common.surveys import DecodeSettings, get_survey
from fink_raw2science.science.anomaly import Forest, export_forest
from fink_raw2science.science.lightcurve import records_frame
from fink_raw2science.science.lsst_anomaly import FOREST_FEATURES, LsstAnomalyScorer, light_curve_rows
from fink_raw2science.science.lsst_features import DIA_INPUTS, FORCED_INPUTS, STRUCTS, flux_features

__all__ = ["alert_scores", "decode_all", "feature_frames", "main"]

OUT = Path(__file__).resolve().parents[1] / "src/fink_raw2science/science/data/lsst_anomaly_forest.json"
REAL_SETS = ("lsst_wire_11.0", "lsst_wire_9.0")


def decode_all(values: list[bytes]) -> list[Mapping[str, Any]]:
    decode = get_survey("lsst").decoder(DecodeSettings(survey="lsst", schema_name="lsst_11.0"))
    return [decode(v) for v in values]


def generated_values(n: int, seed: int) -> list[bytes]:
    from fink_datasim.generate import generate

    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), n=n, seed=seed, survey="lsst", workers=1, overwrite=True)
        return [p.read_bytes() for p in sorted(Path(tmp).glob("*.confluent.avro"))]


def feature_frames(records: list[Mapping[str, Any]]) -> dict[str, pd.DataFrame]:
    """kind -> the `flux_features` frame of the records (kind: dia, forced)."""
    frame = records_frame(
        records, (*DIA_INPUTS, *FORCED_INPUTS), history="prvDiaSources", current="diaSource", forced="prvDiaForcedSources"
    )
    return {
        "dia": flux_features(*(frame[c] for c in DIA_INPUTS)),
        "forced": flux_features(*(frame[c] for c in FORCED_INPUTS)),
    }


def alert_scores(scorer: LsstAnomalyScorer, frames: dict[str, pd.DataFrame]) -> np.ndarray:
    """The module's `anomaly_score` of every alert of `frames`."""
    by_struct = {STRUCTS[kind]: frame for kind, frame in frames.items()}
    columns = [by_struct[path.split(".", 1)[0]][path.split(".", 1)[1]] for path in scorer.inputs]
    return scorer(*columns).to_numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--version", default="1.0.0", help="model version written into the artifact")
    parser.add_argument("--generated", type=int, default=4000, help="synthetic Rubin alerts from fink_datasim")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--max-samples", type=int, default=256)
    parser.add_argument("--contamination", type=float, default=0.02)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    real = decode_all([p.read_bytes() for name in REAL_SETS for p in sample_files(name)])
    generated = decode_all(generated_values(args.generated, args.seed))
    frames = {"real": feature_frames(real), "generated": feature_frames(generated)}
    blocks = {src: np.vstack([light_curve_rows(f) for f in frames[src].values()]) for src in frames}
    x = np.vstack([blocks["generated"], blocks["real"]])
    impute = np.nanmedian(x, axis=0)
    x = np.where(np.isnan(x), impute, x).astype(np.float32)
    model = IsolationForest(
        n_estimators=args.trees, max_samples=args.max_samples, max_features=1.0, random_state=args.seed
    ).fit(x)
    scores = model.score_samples(x)
    meta = {
        "version": args.version,
        "training": {
            "survey": "lsst",
            "generated_source": "fink_datasim",
            "generated_alerts": len(generated),
            "real_alerts": len(real),
            "real_sets": list(REAL_SETS),
            "light_curves": {src: int(block.shape[0]) for src, block in blocks.items()},
            "seed": args.seed,
            "data_sha256": hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest(),
            "contamination": args.contamination,
            "threshold_of": "alert-level scores (lowest over the alert's light curves)",
            "sklearn": sklearn.__version__,
            "score": "sklearn score_samples: lower = more anomalous",
        },
    }
    data = export_forest(model, FOREST_FEATURES, impute, 0.0, meta)
    forest = Forest.from_dict(data)
    worst = float(np.max(np.abs(forest.score(x.astype(np.float64)) - scores)))
    if worst > 1e-9:
        raise SystemExit(f"exported forest disagrees with scikit-learn (max |diff| = {worst})")
    scorer = LsstAnomalyScorer(forest)
    alert_level = np.concatenate([alert_scores(scorer, frames[src]) for src in ("generated", "real")])
    threshold = float(np.quantile(alert_level[np.isfinite(alert_level)], args.contamination))
    data["threshold"] = threshold
    args.out.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
    real_scores = alert_scores(scorer, frames["real"])
    print(
        f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB): {x.shape[0]} light curves "
        f"({blocks['generated'].shape[0]} generated, {blocks['real'].shape[0]} real), "
        f"{int(np.isfinite(alert_level).sum())} alerts with a score, threshold {threshold:.4f}, "
        f"{int((real_scores < threshold).sum())} of {len(real)} real alerts flagged, max |diff| vs sklearn {worst:.2e}"
    )


if __name__ == "__main__":
    main()
