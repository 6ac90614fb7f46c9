"""Fink-style `classification` of Rubin/LSST alerts: one label per alert from the other modules' outputs,
first rule wins. The labels are the ZTF classifier's (`classification`), so that one query finds a class in
both surveys.

Rules, highest priority first:

1. `is_sso` -> "Solar System MPC": Rubin associated the source with a known solar-system object (the alert
   carries an `ssSource`, from the MPC orbits). The most certain statement we can make, and a moving object
   must not inherit the type of a static source it passes near.
2. the cross-match found a catalog source -> its catalog `type` (as for ZTF: types starting with "Galaxy" do
   not count, a transient sits *in* a galaxy; nor do "Unknown" and "Fail").
3. static (`is_sso` is False) and brightening by at least 0.3 mag/day (`mag_rate <= FAST_RATE`) at
   `rate_significance >= RATE_SIGNIFICANCE` (3 sigma) -> "Fast transient candidate" (kilonovae,
   afterglows, flares: a supernova rises by < 0.15 mag/day). The same cut as the LSST `fast_risers` filter.
4. static, brightening at >= 3 sigma (`mag_rate < 0`), and first detected at most `EARLY_MAX_DAYS` (20)
   days before the alert (`diaSource.midpointMjdTai - firstDiaSourceMjdTaiFink`) -> "Early transient
   candidate": a young light curve on the rise (a type Ia supernova rises for about 18 days), which is
   when follow-up is worth most. Without a trained classifier we do not claim a type (Fink's "Early SN Ia
   candidate" comes from a model).
5. `anomaly_score < threshold` (the LSST forest's flag, see `lsst_anomaly`) -> "Anomaly candidate": the
   forest says "unusual" but not "what", so every more specific label wins.
6. otherwise "Unknown".

Rates are those of `flux_rate` (AB mag/day against the latest earlier same-band detection). An input holding
its module's failed value fails its condition (null `is_sso` is neither solar-system nor static, NaN rate or
score, "Fail" type), so a failed module never produces a label by itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fink_raw2science.science.classification import (
    ANOMALY,
    EARLY,
    FAST,
    FAST_RATE,
    NOT_A_TYPE,
    RATE_SIGNIFICANCE,
    SSO_MPC,
    UNKNOWN,
)

__all__ = ["EARLY_MAX_DAYS", "INPUTS", "LABELS", "LsstClassifier"]

#: At most this many days since the first detection for an "early" light curve.
EARLY_MAX_DAYS = 20.0
#: Module inputs, in the order `LsstClassifier` takes them.
INPUTS: tuple[str, ...] = (
    "is_sso",
    "xmatch_type",
    "mag_rate",
    "rate_significance",
    "firstDiaSourceMjdTaiFink",
    "diaSource.midpointMjdTai",
    "anomaly_score",
)
#: Every label but the catalog types.
LABELS: tuple[str, ...] = (SSO_MPC, FAST, EARLY, ANOMALY, UNKNOWN)


def _numbers(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _flag(series: pd.Series, value: bool) -> np.ndarray:
    """True where the boolean (or null) series holds `value`; null matches neither."""
    flags = pd.array(series.astype(object).where(series.notna(), None), dtype="boolean")
    return (flags == value).fillna(False).to_numpy(dtype=bool)


class LsstClassifier:
    """The module function: `(is_sso, xmatch_type, mag_rate, rate_significance, firstDiaSourceMjdTaiFink,
    diaSource.midpointMjdTai, anomaly_score) -> label`."""

    def __init__(self, anomaly_threshold: float) -> None:
        self.anomaly_threshold = float(anomaly_threshold)

    def __call__(
        self,
        is_sso: pd.Series,
        xmatch_type: pd.Series,
        mag_rate: pd.Series,
        rate_significance: pd.Series,
        first_detection: pd.Series,
        midpoint: pd.Series,
        anomaly_score: pd.Series,
    ) -> pd.Series:
        sso, static = _flag(is_sso, True), _flag(is_sso, False)
        rate = _numbers(mag_rate)
        significance = _numbers(rate_significance)
        age = _numbers(midpoint) - _numbers(first_detection)
        score = _numbers(anomaly_score)
        types = xmatch_type.astype(object).where(xmatch_type.notna(), "").astype(str).to_numpy(dtype=object)
        catalogued = np.array([t not in NOT_A_TYPE and not t.startswith(("Galaxy", "Fail")) for t in types], dtype=bool)
        with np.errstate(invalid="ignore"):
            rising = static & (rate < 0) & (significance >= RATE_SIGNIFICANCE)
            rules: list[tuple[np.ndarray, np.ndarray | str]] = [
                (sso, SSO_MPC),
                (catalogued, types),
                (rising & (rate <= FAST_RATE), FAST),
                (rising & (age >= 0) & (age <= EARLY_MAX_DAYS), EARLY),
                (score < self.anomaly_threshold, ANOMALY),
            ]
        label = np.full(len(types), UNKNOWN, dtype=object)
        decided = np.zeros(len(types), dtype=bool)
        for condition, value in rules:
            take = condition & ~decided
            label[take] = value[take] if isinstance(value, np.ndarray) else value
            decided |= take
        return pd.Series(label, dtype=object)
