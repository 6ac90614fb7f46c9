"""Magnitude rate of an alert: how fast it brightens or fades, in mag/day, in the band of the alert.

Choice of points (same band): the current candidate (the last element of the `c*` arrays) against
the most recent *earlier* point of the history taken in the *same filter* (`fid`). Comparing across
bands would turn the g-r colour into a fake rate, so the other band is ignored. "Earlier" means at
least `MIN_DT_DAYS` before the current jd (a copy of the current exposure is not a second point).

That previous point is either

* a detection (`magpsf` not null): rate = (mag_now - mag_prev) / dt, and its error is the quadrature
  sum of both `sigmapsf` divided by dt (a missing previous `sigmapsf` counts as 0); or
* an upper limit (`magpsf` null, `diffmaglim` known): rate = (mag_now - diffmaglim_prev) / dt with
  `from_upper = True`. The source was fainter than the limit then, so a negative value is a bound: the
  source brightened *at least* this fast. The error uses only the current `sigmapsf`.

When several earlier points share the latest jd, a detection beats an upper limit, and among equals
the later entry of the history wins. Everything is plain arithmetic: no random draws, so the same
alert always gets the same values (Fink's version draws 10000 samples).

Outputs: `mag_rate` (mag/day, negative = brightening), `sigma_rate` (mag/day), `delta_time` (days
between the two points), `from_upper` (bool). With no usable previous point (fewer than two points in
the band, or a current candidate without magnitude) the three numbers are NaN and `from_upper` is False.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fink_raw2science.science.lightcurve import Ragged

__all__ = ["MIN_DT_DAYS", "RATE_FIELDS", "magnitude_rate"]

#: Two points closer in time than this (about 0.9 s) are the same exposure, not a rate baseline.
MIN_DT_DAYS = 1e-5
RATE_FIELDS: tuple[str, ...] = ("mag_rate", "sigma_rate", "delta_time", "from_upper")


def magnitude_rate(
    cjd: pd.Series,
    cfid: pd.Series,
    cmagpsf: pd.Series,
    csigmapsf: pd.Series,
    cdiffmaglim: pd.Series,
) -> pd.DataFrame:
    """Per alert: `mag_rate`, `sigma_rate`, `delta_time`, `from_upper` (see the module docstring)."""
    jd = Ragged.from_series(cjd)
    fid = Ragged.from_series(cfid)
    mag = Ragged.from_series(cmagpsf)
    sig = Ragged.from_series(csigmapsf)
    lim = Ragged.from_series(cdiffmaglim)
    jd.same_shape(fid, mag, sig, lim)
    n = jd.n

    rows = jd.rows
    jd_now, fid_now, mag_now, sig_now = jd.last(), fid.last(), mag.last(), sig.last()
    is_detection = np.isfinite(mag.values)
    with np.errstate(invalid="ignore"):
        usable = (
            ~jd.is_last
            & (fid.values == fid_now[rows])
            & (jd.values < jd_now[rows] - MIN_DT_DAYS)
            & (is_detection | np.isfinite(lim.values))
        )
    candidates = np.flatnonzero(usable)
    # Sort the usable points by (alert, jd, limit before detection, history order) and keep the last per alert.
    order = np.lexsort((candidates, is_detection[candidates], jd.values[candidates], rows[candidates]))
    ranked = candidates[order]
    cand_rows = rows[ranked]
    keep = np.ones(ranked.size, dtype=bool)
    keep[:-1] = cand_rows[1:] != cand_rows[:-1]
    prev = ranked[keep]
    prev_rows = rows[prev]

    mag_rate = np.full(n, np.nan)
    sigma_rate = np.full(n, np.nan)
    delta_time = np.full(n, np.nan)
    from_upper = np.zeros(n, dtype=bool)

    prev_is_detection = is_detection[prev]
    prev_mag = np.where(prev_is_detection, mag.values[prev], lim.values[prev])
    prev_sig = np.where(prev_is_detection, np.nan_to_num(sig.values[prev], nan=0.0), 0.0)
    dt = jd_now[prev_rows] - jd.values[prev]
    now_ok = np.isfinite(mag_now[prev_rows])
    target = prev_rows[now_ok]

    delta_time[target] = dt[now_ok]
    mag_rate[target] = (mag_now[target] - prev_mag[now_ok]) / dt[now_ok]
    sigma_rate[target] = np.hypot(sig_now[target], prev_sig[now_ok]) / dt[now_ok]
    from_upper[target] = ~prev_is_detection[now_ok]
    return pd.DataFrame(
        {
            "mag_rate": mag_rate,
            "sigma_rate": sigma_rate,
            "delta_time": delta_time,
            "from_upper": from_upper,
        }
    )
