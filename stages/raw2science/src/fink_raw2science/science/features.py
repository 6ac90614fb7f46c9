"""Light-curve features per band (g = fid 1, r = fid 2) with the `light-curve` package.

Points of a band: the detections of the `c*` arrays (history + current) with that `fid`, a finite
`magpsf` and a finite, positive `sigmapsf`, in time order. Two detections at the same jd in one band
(a repeated history entry) count once: the later one in the array is kept. Magnitudes are `magpsf` as
sent (difference-image PSF magnitudes); negative subtractions are not treated apart.

Fields of `lc_features_g` / `lc_features_r` (all double), chosen because each is defined and stable
on a few points and cheap to compute:

| field | meaning |
|---|---|
| n_points | number of points used (always set, 0 when the band is empty) |
| amplitude | half of max - min magnitude |
| beyond_1_std | fraction of points further than one standard deviation from the mean |
| duration | last - first jd of the band (days) |
| linear_fit_slope | slope of a sigma-weighted straight-line fit (mag/day) |
| linear_fit_slope_sigma | error of that slope |
| linear_fit_reduced_chi2 | reduced chi-square of that fit |
| mean | mean magnitude |
| median_absolute_deviation | median absolute deviation from the median |
| reduced_chi2 | reduced chi-square around the weighted mean (variability) |
| skew | sample skewness |
| standard_deviation | sample standard deviation |
| stetson_k | Stetson K (kurtosis-like, robust to outliers) |

Every field but `n_points` is NaN when the band has fewer than `MIN_POINTS` points, and a feature
that is undefined on the given points (e.g. skew of a flat light curve) is NaN as well; an alert whose
points the library rejects gets NaN features instead of failing the batch.
"""

from __future__ import annotations

import light_curve as lc
import numpy as np
import pandas as pd

from fink_raw2science.science.lightcurve import Ragged

__all__ = ["BANDS", "FEATURE_NAMES", "MIN_POINTS", "band_features", "features_g", "features_r"]

#: ZTF filter id of each band we describe.
BANDS: dict[str, int] = {"g": 1, "r": 2}
#: Fewer points than this in a band: NaN features (n_points still counted).
MIN_POINTS = 3

_EXTRACTOR = lc.Extractor(
    lc.Amplitude(),
    lc.BeyondNStd(1.0),
    lc.Duration(),
    lc.LinearFit(),
    lc.Mean(),
    lc.MedianAbsoluteDeviation(),
    lc.ReducedChi2(),
    lc.Skew(),
    lc.StandardDeviation(),
    lc.StetsonK(),
)
# light-curve's names -> ours (snake case, explicit).
_RENAMES = {"chi2": "reduced_chi2", "stetson_K": "stetson_k"}
_LC_NAMES: tuple[str, ...] = tuple(_RENAMES.get(name, name) for name in _EXTRACTOR.names)
#: Struct field names, in order.
FEATURE_NAMES: tuple[str, ...] = ("n_points", *sorted(_LC_NAMES))
_COLUMN_OF = [FEATURE_NAMES.index(name) for name in _LC_NAMES]


def band_features(
    cjd: pd.Series, cfid: pd.Series, cmagpsf: pd.Series, csigmapsf: pd.Series, *, fid: int
) -> pd.DataFrame:
    """One row of `FEATURE_NAMES` per alert for the points of filter `fid`."""
    jd = Ragged.from_series(cjd)
    fids = Ragged.from_series(cfid)
    mag = Ragged.from_series(cmagpsf)
    sig = Ragged.from_series(csigmapsf)
    jd.same_shape(fids, mag, sig)
    n = jd.n
    out = np.full((n, len(FEATURE_NAMES)), np.nan)

    with np.errstate(invalid="ignore"):
        usable = (fids.values == fid) & np.isfinite(jd.values) & np.isfinite(mag.values) & np.isfinite(sig.values)
        usable &= sig.values > 0
    index = np.flatnonzero(usable)
    rows = jd.rows[index]
    order = np.lexsort((index, jd.values[index], rows))
    index, rows = index[order], rows[order]
    t = jd.values[index]
    # Same alert and same jd as the next point: drop this one (the later array entry is kept).
    repeated = np.zeros(index.size, dtype=bool)
    repeated[:-1] = (rows[1:] == rows[:-1]) & (t[1:] == t[:-1])
    index, rows, t = index[~repeated], rows[~repeated], t[~repeated]
    m = mag.values[index]
    s = sig.values[index]

    counts = np.bincount(rows, minlength=n)
    out[:, 0] = counts
    bounds = np.concatenate(([0], np.cumsum(counts)))
    for row in np.flatnonzero(counts >= MIN_POINTS):
        lo, hi = bounds[row], bounds[row + 1]
        try:
            values = _EXTRACTOR(t[lo:hi], m[lo:hi], s[lo:hi], sorted=True, fill_value=np.nan)
        except ValueError:
            continue  # the library rejects these points: NaN features for this alert only
        out[row, _COLUMN_OF] = values
    return pd.DataFrame(out, columns=list(FEATURE_NAMES))


def features_g(cjd: pd.Series, cfid: pd.Series, cmagpsf: pd.Series, csigmapsf: pd.Series) -> pd.DataFrame:
    """`band_features` of the g band (fid 1)."""
    return band_features(cjd, cfid, cmagpsf, csigmapsf, fid=BANDS["g"])


def features_r(cjd: pd.Series, cfid: pd.Series, cmagpsf: pd.Series, csigmapsf: pd.Series) -> pd.DataFrame:
    """`band_features` of the r band (fid 2)."""
    return band_features(cjd, cfid, cmagpsf, csigmapsf, fid=BANDS["r"])
