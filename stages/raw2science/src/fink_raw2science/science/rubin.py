"""Science modules for Rubin/LSST alerts: pure, vectorised functions over pandas batches.

History arrays for LSST are `c<field>` = `prvDiaSources.<field>` followed by `diaSource.<field>` (the last
element is the alert's own detection), built by `adapter.history_column` with the survey's sections.

* `is_sso` (Fink's `pred.is_sso`): the alert carries an `ssSource` (Rubin associated it with a known
  solar-system object). Read from `ssSource.ssObjectId`, which is never null in an `ssSource`.
* `is_first` (Fink's `pred.is_first`): `diaObject.nDiaSources == 1`; null when there is no `diaObject`
  (solar-system alerts), where the question has no answer.
* `first_detection` (Fink's `misc.firstDiaSourceMjdTaiFink`): the earliest `midpointMjdTai` of the
  history and the alert, because Rubin does not fill `diaObject.firstDiaSourceMjdTai`.
* `flux_rate`: how fast the source brightens or fades, in AB mag/day, in the alert's band, from the
  difference-image PSF fluxes: the alert against the latest earlier detection in the same band with a
  positive flux. mag = -2.5 log10(flux / nJy) + 31.4; sigma_mag = 2.5 / ln 10 * fluxErr / flux. The rate's
  error is the quadrature sum of both magnitude errors over the time between them, and its significance
  |rate| / error. Deterministic (no random draws). NaN where there is no usable earlier point, or the
  alert's own flux is not positive (no magnitude).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fink_common.surveys.lsst import AB_ZERO_POINT_NJY, BANDS, flux_to_mag
from fink_raw2science.science.lightcurve import Ragged

__all__ = [
    "AB_ZERO_POINT_NJY",
    "FLUX_RATE_FIELDS",
    "MIN_DT_DAYS",
    "band_codes",
    "first_detection",
    "flux_rate",
    "flux_to_mag",
    "is_first",
    "is_sso",
]

#: Two points closer than this (about 0.9 s) are one exposure, not a rate baseline.
MIN_DT_DAYS = 1e-5
FLUX_RATE_FIELDS: tuple[str, ...] = ("mag_rate", "sigma_rate", "rate_significance", "delta_time")


def is_sso(ss_object_id: pd.Series) -> pd.Series:
    return pd.Series(ss_object_id.notna().to_numpy(), dtype=object)


def is_first(n_dia_sources: pd.Series) -> pd.Series:
    values = pd.to_numeric(n_dia_sources, errors="coerce")
    return pd.Series([None if np.isnan(v) else bool(v == 1) for v in values.to_numpy(dtype=np.float64)], dtype=object)


def first_detection(cmidpoint: pd.Series) -> pd.Series:
    times = Ragged.from_series(cmidpoint)
    out = np.full(times.n, np.nan)
    ok = np.isfinite(times.values)
    if ok.any():
        np.fmin.at(out, times.rows[ok], times.values[ok])
    return pd.Series(out, dtype=np.float64)


def band_codes(cband: pd.Series, lengths: np.ndarray) -> np.ndarray:
    """The band letters of every flat element of a batch of band arrays as their index in `BANDS` (u = 0 ...
    y = 5; -1 for a null or unknown label). `lengths`: the per-alert lengths the other arrays have."""
    parts = [np.asarray(item, dtype=object) for item in cband.array if hasattr(item, "__len__") and len(item)]
    flat = np.concatenate(parts) if parts else np.zeros(0, dtype=object)
    if flat.size != int(np.sum(lengths)):
        raise ValueError("band and flux histories of one alert have different lengths")
    return pd.Categorical(flat, categories=BANDS).codes.astype(np.int64)


def flux_rate(cmidpoint: pd.Series, cband: pd.Series, cflux: pd.Series, cflux_err: pd.Series) -> pd.DataFrame:
    """Per alert: mag_rate (mag/day, negative = brightening), sigma_rate, rate_significance, delta_time (days)."""
    times, flux, err = Ragged.from_series(cmidpoint), Ragged.from_series(cflux), Ragged.from_series(cflux_err)
    times.same_shape(flux, err)
    bands = band_codes(cband, times.lengths)
    mag, mag_err = flux_to_mag(flux.values, err.values)
    n = times.n
    out = {name: np.full(n, np.nan) for name in FLUX_RATE_FIELDS}
    has = times.lengths > 0
    last = times.ends - 1
    rows = times.rows
    # the alert's own point, broadcast to every element of its history
    now_t = np.full(n, np.nan)
    now_b = np.full(n, -2, dtype=np.int64)
    now_t[has], now_b[has] = times.values[last[has]], bands[last[has]]
    earlier = (
        ~times.is_last
        & np.isfinite(mag)
        & np.isfinite(times.values)
        & (bands == now_b[rows])
        & (times.values <= now_t[rows] - MIN_DT_DAYS)
    )
    # the latest earlier same-band detection per alert (ties: the later entry of the history)
    best = np.full(n, -1, dtype=np.int64)
    candidates = np.flatnonzero(earlier)
    if candidates.size:
        order = np.lexsort((candidates, times.values[candidates], rows[candidates]))
        ranked = candidates[order]
        last_of_row = np.r_[rows[ranked][1:] != rows[ranked][:-1], True]
        best[rows[ranked[last_of_row]]] = ranked[last_of_row]
    ok = (best >= 0) & has
    ok[ok] = np.isfinite(mag[last[ok]])
    i_now, i_prev = last[ok], best[ok]
    dt = times.values[i_now] - times.values[i_prev]
    rate = (mag[i_now] - mag[i_prev]) / dt
    sigma = np.sqrt(np.nan_to_num(mag_err[i_now]) ** 2 + np.nan_to_num(mag_err[i_prev]) ** 2) / dt
    out["mag_rate"][ok], out["sigma_rate"][ok], out["delta_time"][ok] = rate, sigma, dt
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rate_significance"][ok] = np.where(sigma > 0, np.abs(rate) / sigma, np.nan)
    return pd.DataFrame(out)
