"""Fink-style `classification`: one label per alert from the other modules' outputs, first rule wins.

Rules, highest priority first, and why they come in this order:

1. `roid == 3` -> "Solar System MPC". ZTF itself associated the alert with a known minor body: the
   most certain statement we can make, and a moving object must not inherit the type of whatever
   static source it happens to pass near.
2. `roid == 2` -> "Solar System candidate". Same reason, a little less certain.
3. the cross-match found a catalog source -> its catalog `type`. A known, catalogued source explains
   the alert better than any rule on a few points. Types starting with "Galaxy" do not count (a
   transient sits *in* a galaxy; the host says nothing of the alert; Fink does the same), nor do
   "Unknown" and "Fail".
4. no star underneath, and `mag_rate <= FAST_RATE` (brightening by at least 0.3 mag/day, from a
   detection or an upper limit) with `-mag_rate > RATE_SIGNIFICANCE * sigma_rate` -> "Fast transient
   candidate". A supernova rises by < 0.15 mag/day; this catches kilonovae, afterglows and flares, the
   most time-critical alerts, so it is checked before the broader rule 5.
5. no star underneath, `2 <= nalerthist <= EARLY_MAX_POINTS`, and brightening significantly
   (`mag_rate < 0` and `-mag_rate > RATE_SIGNIFICANCE * sigma_rate`) -> "Early transient candidate":
   a young light curve on the rise, which is when follow-up is worth most.
6. `anomaly_score < threshold` (the model's flag, see `anomaly`) -> "Anomaly candidate". Last of the
   positive rules because the forest says "unusual" but not "what": every more specific label wins.
7. otherwise "Unknown".

"Star underneath" (veto of rules 4-5): the closest PS1 source is star-like (`sgscore1 >= 0.76`, the
`roid` threshold) and within `STAR_MAX_DIST_ARCSEC` (`0 <= distpsnr1 < 1.5`): the alert is then a
variable star or a stellar flare, not a new transient. The significance cut matters because rates
over intra-night baselines (~1 h) turn photometric noise into several mag/day.

An input holding its module's failed value simply fails its condition (roid -1, NaN rate, NaN score,
"Fail" type), so a failed module never produces a label by itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fink_raw2science.science.asteroids import SGSCORE_STAR

__all__ = [
    "ANOMALY",
    "EARLY",
    "EARLY_MAX_POINTS",
    "FAST",
    "FAST_RATE",
    "NOT_A_TYPE",
    "SSO_CANDIDATE",
    "SSO_MPC",
    "UNKNOWN",
    "RATE_SIGNIFICANCE",
    "STAR_MAX_DIST_ARCSEC",
    "Classifier",
]

SSO_MPC = "Solar System MPC"
SSO_CANDIDATE = "Solar System candidate"
FAST = "Fast transient candidate"
EARLY = "Early transient candidate"
ANOMALY = "Anomaly candidate"
UNKNOWN = "Unknown"
#: Cross-match types that are not a classification.
NOT_A_TYPE: frozenset[str] = frozenset({"", "Unknown", "Fail", "nan", "None"})
#: mag/day at or below which an alert is a fast riser (negative = brightening).
FAST_RATE = -0.3
#: At most this many valid magnitudes for an "early" light curve.
EARLY_MAX_POINTS = 5
#: A rate counts when it exceeds this many times its error.
RATE_SIGNIFICANCE = 3.0
#: A star-like PS1 source closer than this (arcsec) is the alert's counterpart.
STAR_MAX_DIST_ARCSEC = 1.5


def _numbers(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


class Classifier:
    """The module function: `(roid, xmatch_type, mag_rate, sigma_rate, nalerthist, anomaly_score, sgscore1,
    distpsnr1) -> label` (the last two from `candidate`)."""

    def __init__(self, anomaly_threshold: float) -> None:
        self.anomaly_threshold = float(anomaly_threshold)

    def __call__(
        self,
        roid: pd.Series,
        xmatch_type: pd.Series,
        mag_rate: pd.Series,
        sigma_rate: pd.Series,
        nalerthist: pd.Series,
        anomaly_score: pd.Series,
        sgscore1: pd.Series,
        distpsnr1: pd.Series,
    ) -> pd.Series:
        flag = _numbers(roid)
        rate = _numbers(mag_rate)
        sigma = _numbers(sigma_rate)
        points = _numbers(nalerthist)
        score = _numbers(anomaly_score)
        sg = _numbers(sgscore1)
        ps1 = _numbers(distpsnr1)
        types = xmatch_type.astype(object).where(xmatch_type.notna(), "").astype(str).to_numpy(dtype=object)
        catalogued = np.array([t not in NOT_A_TYPE and not t.startswith(("Galaxy", "Fail")) for t in types], dtype=bool)
        with np.errstate(invalid="ignore"):
            star = (sg >= SGSCORE_STAR) & (ps1 >= 0) & (ps1 < STAR_MAX_DIST_ARCSEC)
            rising = ~star & (rate < 0) & (-rate > RATE_SIGNIFICANCE * np.nan_to_num(sigma, nan=np.inf))
            rules: list[tuple[np.ndarray, np.ndarray | str]] = [
                (flag == 3, SSO_MPC),
                (flag == 2, SSO_CANDIDATE),
                (catalogued, types),
                (rising & (rate <= FAST_RATE), FAST),
                (rising & (points >= 2) & (points <= EARLY_MAX_POINTS), EARLY),
                (score < self.anomaly_threshold, ANOMALY),
            ]
        label = np.full(flag.size, UNKNOWN, dtype=object)
        decided = np.zeros(flag.size, dtype=bool)
        for condition, value in rules:
            take = condition & ~decided
            label[take] = value[take] if isinstance(value, np.ndarray) else value
            decided |= take
        return pd.Series(label, dtype=object)
