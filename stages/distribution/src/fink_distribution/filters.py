"""The built-in alert filters: plain functions over pandas columns that return one boolean per alert.

Each filter reads the columns named in its registry entry (`registry.BUILTINS`), positionally, in that
order, and returns a boolean mask. A null input fails every condition it takes part in (numpy NaN
semantics), so an alert whose science module failed (null rate, null score, "Fail" type) is never
selected because of that failure.

The rules, one topic each (`fink_<name>_ztf`):

| filter | selects an alert when |
|---|---|
| `sso_candidates` | `roid` is 2 (Fink Solar System candidate) or 3 (ZTF/MPC association) |
| `new_transients` | a young (`nalerthist <= 3`), real (`drb >= 0.5`), positive-subtraction alert, `roid == 0`, no star underneath |
| `fast_risers` | brightening by at least 0.3 mag/day (`mag_rate <= -0.3`) at >= 3 sigma, positive subtraction, `roid == 0` |
| `anomalies` | `anomaly_score < -0.5834` (the shipped forest's flag; 0.0 means "no features" and never passes) |
| `catalog_matches` | `xmatch_type` names a catalog type (not null, "", "Unknown", "Fail...") |
| `extragalactic_transients` | matched to a catalog galaxy (`xmatch_type` starts with "Galaxy"), real, positive subtraction, `roid == 0`, no star underneath |

Shared definitions:

* positive subtraction: `candidate.isdiffpos` is "t" or "1" (the source got brighter than the template);
* real: the deep real/bogus score `candidate.drb >= DRB_MIN` (0.5);
* star underneath: the closest PS1 source is star-like (`sgscore1 >= 0.76`) and within 1.5 arcsec
  (`0 <= distpsnr1 < 1.5`). These are the thresholds raw2science's `classification` uses for its veto;
* significance: `-mag_rate > RATE_SIGNIFICANCE * sigma_rate` (3 sigma), because rates over intra-night
  baselines (~1 h) turn photometric noise into several mag/day.

Why `roid == 0` in the transient filters: an alert flagged 1 (first detection), 2 or 3 may be a moving
object, and a moving object's "rate" compares two different sources.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "ANOMALY_MAX_SCORE",
    "DRB_MIN",
    "FAST_RATE",
    "NEW_MAX_POINTS",
    "NOT_A_TYPE",
    "RATE_SIGNIFICANCE",
    "SGSCORE_STAR",
    "STAR_MAX_DIST_ARCSEC",
    "anomalies",
    "catalog_matches",
    "extragalactic_transients",
    "fast_risers",
    "new_transients",
    "numbers",
    "positive_subtraction",
    "sso_candidates",
    "star_underneath",
]

#: PS1 star/galaxy score at or above which the closest PS1 source is a star.
SGSCORE_STAR = 0.76
#: A star-like PS1 source closer than this (arcsec) is the alert's counterpart.
STAR_MAX_DIST_ARCSEC = 1.5
#: Minimum deep real/bogus score of a "real" alert.
DRB_MIN = 0.5
#: At most this many valid magnitudes (history + current) for a "new" transient.
NEW_MAX_POINTS = 3
#: mag/day at or below which an alert is a fast riser (negative = brightening).
FAST_RATE = -0.3
#: A rate counts when it exceeds this many times its error.
RATE_SIGNIFICANCE = 3.0
#: `anomaly_score` below this is anomalous: the `threshold` of raw2science's packaged isolation forest
#: (model 1.0.0, its 2 % most anomalous training light curves). Real scores lie in (-1, 0).
ANOMALY_MAX_SCORE = -0.5834
#: Cross-match types that are not a classification.
NOT_A_TYPE: frozenset[str] = frozenset({"", "Unknown", "Fail", "nan", "None", "null"})


def numbers(series: pd.Series) -> np.ndarray:
    """The values as float64, NaN for nulls and non-numbers (a null fails every comparison)."""
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _strings(series: pd.Series) -> np.ndarray:
    return series.astype(object).where(series.notna(), "").astype(str).to_numpy(dtype=object)


def positive_subtraction(isdiffpos: pd.Series) -> np.ndarray:
    """True where the difference image is positive ("t" or "1")."""
    return np.isin(_strings(isdiffpos), ["t", "1"])


def star_underneath(sgscore1: pd.Series, distpsnr1: pd.Series) -> np.ndarray:
    """True where a star-like PS1 source lies within STAR_MAX_DIST_ARCSEC of the alert."""
    sg, dist = numbers(sgscore1), numbers(distpsnr1)
    with np.errstate(invalid="ignore"):
        return (sg >= SGSCORE_STAR) & (dist >= 0) & (dist < STAR_MAX_DIST_ARCSEC)


def _real(drb: pd.Series) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return numbers(drb) >= DRB_MIN


def _static(roid: pd.Series) -> np.ndarray:
    return numbers(roid) == 0


def sso_candidates(roid: pd.Series) -> np.ndarray:
    """Solar System objects: `roid` 2 (Fink candidate) or 3 (associated by ZTF with a known object)."""
    return np.isin(numbers(roid), [2.0, 3.0])


def new_transients(
    nalerthist: pd.Series,
    roid: pd.Series,
    isdiffpos: pd.Series,
    drb: pd.Series,
    sgscore1: pd.Series,
    distpsnr1: pd.Series,
) -> np.ndarray:
    """Young light curves: at most NEW_MAX_POINTS detections, real, positive, static, no star underneath."""
    points = numbers(nalerthist)
    with np.errstate(invalid="ignore"):
        young = (points >= 1) & (points <= NEW_MAX_POINTS)
    return (
        young
        & _static(roid)
        & positive_subtraction(isdiffpos)
        & _real(drb)
        & ~star_underneath(sgscore1, distpsnr1)
    )


def fast_risers(mag_rate: pd.Series, sigma_rate: pd.Series, isdiffpos: pd.Series, roid: pd.Series) -> np.ndarray:
    """Brightening at least as fast as FAST_RATE, significant at RATE_SIGNIFICANCE sigma, positive, static."""
    rate, sigma = numbers(mag_rate), numbers(sigma_rate)
    with np.errstate(invalid="ignore"):
        rising = (rate <= FAST_RATE) & (-rate > RATE_SIGNIFICANCE * sigma)
    return rising & positive_subtraction(isdiffpos) & _static(roid)


def anomalies(anomaly_score: pd.Series) -> np.ndarray:
    """Anomaly-score below ANOMALY_MAX_SCORE (0.0, the "no features" score, never passes)."""
    score = numbers(anomaly_score)
    with np.errstate(invalid="ignore"):
        return (score < ANOMALY_MAX_SCORE) & (score < 0)


def catalog_matches(xmatch_type: pd.Series) -> np.ndarray:
    """Alerts whose cross-match found a catalog source with a type."""
    types = _strings(xmatch_type)
    return np.fromiter((t not in NOT_A_TYPE and not t.startswith("Fail") for t in types), dtype=bool, count=len(types))


def extragalactic_transients(
    xmatch_type: pd.Series,
    isdiffpos: pd.Series,
    roid: pd.Series,
    drb: pd.Series,
    sgscore1: pd.Series,
    distpsnr1: pd.Series,
) -> np.ndarray:
    """Real, positive, static alerts on a catalogued galaxy with no star underneath (host transients)."""
    types = _strings(xmatch_type)
    galaxy = np.fromiter((t.startswith("Galaxy") for t in types), dtype=bool, count=len(types))
    return (
        galaxy
        & positive_subtraction(isdiffpos)
        & _static(roid)
        & _real(drb)
        & ~star_underneath(sgscore1, distpsnr1)
    )
