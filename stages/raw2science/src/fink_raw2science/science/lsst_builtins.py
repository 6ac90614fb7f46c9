"""The Rubin/LSST built-in science modules (see `rubin`, `lsst_features`, `lsst_anomaly`,
`lsst_classification`), in dependency order; `registry` resolves them by name for FINK_SURVEY=lsst."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from fink_raw2science.science.lsst_anomaly import LsstAnomalyScorer, load_lsst_forest
from fink_raw2science.science.lsst_classification import INPUTS as LSST_CLASSIFICATION_INPUTS
from fink_raw2science.science.lsst_classification import LsstClassifier
from fink_raw2science.science.lsst_features import DIA_INPUTS, FIELDS, FORCED_INPUTS, STRUCTS, flux_features
from fink_raw2science.science.module import FAILED_LABEL, OutputField, ScienceModule
from fink_raw2science.science.rubin import FLUX_RATE_FIELDS, first_detection, flux_rate, is_first, is_sso
from fink_raw2science.science.xmatch import xmatch_module

__all__ = ["LSST_BUILTINS"]

NAN = math.nan


def _lsst_module(name: str, inputs: tuple[str, ...], fields: tuple[OutputField, ...], function: Any, about: str) -> ScienceModule:
    return ScienceModule(
        name=name, inputs=inputs, fields=fields, function=function, version="1.0.0", description=about, surveys=("lsst",)
    )


def _lsst_features(kind: str) -> ScienceModule:
    inputs = DIA_INPUTS if kind == "dia" else FORCED_INPUTS
    source = "prvDiaSources + diaSource" if kind == "dia" else "prvDiaForcedSources"
    return ScienceModule(
        name=STRUCTS[kind], inputs=inputs, fields=tuple(OutputField(name, "double", NAN) for name in FIELDS),
        function=flux_features, version="1.0.0", struct=STRUCTS[kind], surveys=("lsst",),
        description=f"per-band flux light-curve features of {source}",
    )  # fmt: skip


def _lsst_anomaly(model: str | None = None) -> ScienceModule:
    scorer = LsstAnomalyScorer(load_lsst_forest(model))
    return ScienceModule(
        name="anomaly", inputs=scorer.inputs, fields=(OutputField("anomaly_score", "double", NAN),), function=scorer,
        version=f"1.0.0+model.{scorer.forest.version}", surveys=("lsst",),
        description="isolation-forest score on the LSST light-curve shapes, lower = more anomalous",
    )  # fmt: skip


def _lsst_classification(anomaly_threshold: float | None = None, model: str | None = None) -> ScienceModule:
    threshold = load_lsst_forest(model).threshold if anomaly_threshold is None else float(anomaly_threshold)
    return ScienceModule(
        name="classification", inputs=LSST_CLASSIFICATION_INPUTS,
        fields=(OutputField("classification", "string", FAILED_LABEL),), function=LsstClassifier(threshold),
        version="1.0.0", surveys=("lsst",), description="first matching rule among SSO, catalog, fast/early, anomaly",
    )  # fmt: skip


#: Rubin/LSST built-ins, in dependency order.
LSST_BUILTINS: dict[str, Callable[..., ScienceModule]] = {
    "is_sso": lambda: _lsst_module(
        "is_sso", ("ssSource.ssObjectId",), (OutputField("is_sso", "boolean", None),), is_sso, "an ssSource is attached"
    ),
    "is_first": lambda: _lsst_module(
        "is_first", ("diaObject.nDiaSources",), (OutputField("is_first", "boolean", None),), is_first,
        "diaObject.nDiaSources == 1 (null without a diaObject)",
    ),
    "first_detection": lambda: _lsst_module(
        "first_detection", ("cmidpointMjdTai",), (OutputField("firstDiaSourceMjdTaiFink", "double", NAN),),
        first_detection, "earliest midpointMjdTai of the history and the alert",
    ),
    "flux_rate": lambda: _lsst_module(
        "flux_rate", ("cmidpointMjdTai", "cband", "cpsfFlux", "cpsfFluxErr"),
        tuple(OutputField(name, "double", NAN) for name in FLUX_RATE_FIELDS), flux_rate,
        "AB mag/day against the latest earlier same-band detection, with its error and significance",
    ),
    "xmatch": lambda **options: xmatch_module(**options, position=("diaSource.ra", "diaSource.dec"), surveys=("lsst",)),
    "lc_features_dia": lambda: _lsst_features("dia"),
    "lc_features_forced": lambda: _lsst_features("forced"),
    "anomaly": _lsst_anomaly,
    "classification": _lsst_classification,
}  # fmt: skip
