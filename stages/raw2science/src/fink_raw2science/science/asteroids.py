"""`roid`: the Solar-System-object flag of an alert, with Fink's rules in Fink's order.

Values: 3 = associated by ZTF with a known (MPC) object; 2 = Fink candidate (new point-like source,
at most two detections close in time, no star underneath); 1 = first detection; 0 = none of these.

The flag starts at 0 and each step below, applied in this order to the whole batch, overwrites the
earlier ones where its condition holds (so the last matching step wins):

1. `ndethist == 1` -> 1
2. `sgscore1 < 0.76` and `ndethist <= 2` -> 2
3. `0 < distpsnr1 < 5` (arcsec: a PS1 source underneath) -> 0
4. `nalerthist == 2` and the last two `cjd` values (upper limits included) more than 30 minutes apart -> 0
5. `ndethist == 2` and `nalerthist == 1` -> 0
6. `0 <= ssdistnr < 5` and `abs(distpsnr1) - ssdistnr > 0` and `ndethist <= 5` and `nalerthist <= 5` -> 3

`nalerthist` is recomputed here from `cmagpsf` (valid magnitudes in history + current), so the flag
does not depend on another module having run. A null input compares as false in every condition
(numpy NaN semantics), which is Fink's behaviour on NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fink_raw2science.science.lightcurve import Ragged

__all__ = [
    "MPC_MAX_DIST_ARCSEC",
    "PS1_MAX_DIST_ARCSEC",
    "ROID_FAILED",
    "SGSCORE_STAR",
    "TRACKLET_MAX_MINUTES",
    "roid",
]

#: Below this PS1 star/galaxy score the closest PS1 source is not a star (step 2).
SGSCORE_STAR = 0.76
#: A PS1 source closer than this is underneath the alert (step 3).
PS1_MAX_DIST_ARCSEC = 5.0
#: Two detections further apart than this are not one asteroid passage (step 4).
TRACKLET_MAX_MINUTES = 30.0
#: ZTF's distance to the nearest known Solar System object must be below this (step 6).
MPC_MAX_DIST_ARCSEC = 5.0
#: Value of `roid` for a whole batch on which the function raised (never produced by the rules).
ROID_FAILED = -1


def _numbers(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def roid(
    cjd: pd.Series,
    cmagpsf: pd.Series,
    ndethist: pd.Series,
    sgscore1: pd.Series,
    ssdistnr: pd.Series,
    distpsnr1: pd.Series,
) -> pd.Series:
    """The `roid` flag (int32, values 0..3) per alert; see the module docstring for the rules."""
    jd = Ragged.from_series(cjd)
    mags = Ragged.from_series(cmagpsf)
    jd.same_shape(mags)
    nalert = mags.count(np.isfinite(mags.values))
    ndet = _numbers(ndethist)
    sg = _numbers(sgscore1)
    ssd = _numbers(ssdistnr)
    ps1 = _numbers(distpsnr1)
    last_gap_minutes = (jd.last(1) - jd.last(2)) * 24.0 * 60.0

    with np.errstate(invalid="ignore"):
        flag = np.zeros(jd.n, dtype=np.int32)
        flag[ndet == 1] = 1
        flag[(sg < SGSCORE_STAR) & (ndet <= 2)] = 2
        flag[(ps1 > 0) & (ps1 < PS1_MAX_DIST_ARCSEC)] = 0
        flag[(nalert == 2) & (last_gap_minutes > TRACKLET_MAX_MINUTES)] = 0
        flag[(ndet == 2) & (nalert == 1)] = 0
        known = (ssd >= 0) & (ssd < MPC_MAX_DIST_ARCSEC) & (np.abs(ps1) - ssd > 0)
        flag[known & (ndet <= 5) & (nalert <= 5)] = 3
    return pd.Series(flag, dtype="int32")
