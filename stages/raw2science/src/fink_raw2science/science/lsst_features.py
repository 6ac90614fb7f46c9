"""Light-curve features of Rubin/LSST alerts, per band, in flux, with the `light-curve` package.

Two struct columns, one per kind of photometry, each holding the same features for every Rubin band
(u g r i z y), its fields named `<band>_<feature>` as Rubin names its per-band `diaObject` fields
(`g_psfFluxMean`):

* `lc_features_dia`: the difference-image *detections*, `psfFlux` / `psfFluxErr` / `midpointMjdTai` / `band`
  of `prvDiaSources` followed by the alert's own `diaSource` (the `c<field>` arrays);
* `lc_features_forced`: the *forced photometry* on the difference images at the object's position,
  `prvDiaForcedSources` (the `forced_<field>` arrays). It measures the flux whether or not anything was
  detected, so it is the unbiased light curve (noise around zero before and after a transient), where the
  detections hold only the points above Rubin's detection threshold. Solar-system alerts carry none.

Fluxes are in nJy and times in days (MJD, TAI), so every flux feature below is in nJy (a slope in nJy/day).
Negative fluxes are kept: a difference flux is negative whenever the source is fainter than in the template,
and flux features are defined on it (the reason Rubin, and Fink for Rubin, work in flux, not magnitudes).

Points of a band: the elements with that `band`, a finite time and flux and a finite, positive error, in
time order; the same time twice in one band (a repeated entry) counts once, the later entry in the array.

| field `<band>_...` | meaning |
|---|---|
| n_points | number of points used (always set, 0 when the band has none) |
| amplitude | half of max - min flux (nJy) |
| beyond_1_std | fraction of points further than one standard deviation from the mean |
| duration | last - first time (days) |
| linear_fit_slope | slope of a 1/sigma^2-weighted straight-line fit of flux against time (nJy/day) |
| linear_fit_slope_sigma | error of that slope (nJy/day) |
| linear_fit_reduced_chi2 | reduced chi-square of that fit |
| mean | mean flux (nJy) |
| reduced_chi2 | reduced chi-square around the weighted mean: about 1 for a constant source, more when it varies |
| skew | sample skewness (bias-corrected) |
| standard_deviation | sample standard deviation (nJy) |
| stetson_k | Stetson K (kurtosis-like, robust to outliers; sqrt(2/pi) = 0.798 for Gaussian noise) |
| weighted_mean | 1/sigma^2-weighted mean flux (nJy) |

Every field but `n_points` is NaN when the band has fewer than `MIN_POINTS` points; a feature undefined on
the points (the skew of a constant flux) is NaN too; an alert whose points the library rejects gets NaN
features rather than failing the batch. Each alert is one call of a multi-band `light_curve.Extractor`
(every band at once) per kind of photometry; everything else is vectorised over the batch.
"""

from __future__ import annotations

import light_curve as lc
import numpy as np
import pandas as pd

from fink_common.surveys.lsst import BANDS
from fink_raw2science.science.lightcurve import Ragged
from fink_raw2science.science.rubin import band_codes

__all__ = [
    "BANDS",
    "DIA_INPUTS",
    "FEATURE_NAMES",
    "FIELDS",
    "FORCED_INPUTS",
    "MIN_POINTS",
    "STRUCTS",
    "field_name",
    "flux_features",
]

#: Fewer points than this in a band: NaN features (n_points still counted).
MIN_POINTS = 3
#: The struct columns: kind of photometry -> column name.
STRUCTS: dict[str, str] = {"dia": "lc_features_dia", "forced": "lc_features_forced"}
#: Module inputs, in the order `flux_features` takes them.
DIA_INPUTS: tuple[str, ...] = ("cmidpointMjdTai", "cband", "cpsfFlux", "cpsfFluxErr")
FORCED_INPUTS: tuple[str, ...] = ("forced_midpointMjdTai", "forced_band", "forced_psfFlux", "forced_psfFluxErr")

_LABELS = np.array(BANDS)


def _extractor() -> lc.Extractor:
    bands = list(BANDS)
    return lc.Extractor(
        lc.Amplitude(bands=bands),
        lc.BeyondNStd(1.0, bands=bands),
        lc.Duration(bands=bands),
        lc.LinearFit(bands=bands),
        lc.Mean(bands=bands),
        lc.ReducedChi2(bands=bands),
        lc.Skew(bands=bands),
        lc.StandardDeviation(bands=bands),
        lc.StetsonK(bands=bands),
        lc.WeightedMean(bands=bands),
    )


_EXTRACTOR = _extractor()
# light-curve's names (`<feature>_<band>`) -> ours (snake case, explicit)
_RENAMES = {"chi2": "reduced_chi2", "stetson_K": "stetson_k"}
_LC_NAMES: tuple[tuple[str, str], ...] = tuple(
    (_RENAMES.get(name[:-2], name[:-2]), name[-1]) for name in _EXTRACTOR.names
)
#: Per-band feature names, in field order.
FEATURE_NAMES: tuple[str, ...] = ("n_points", *sorted({name for name, _ in _LC_NAMES}))


def field_name(band: str, feature: str) -> str:
    """The struct field of one band's feature: `g_amplitude`."""
    return f"{band}_{feature}"


#: Struct fields, band by band (u first), each band's features in `FEATURE_NAMES` order.
FIELDS: tuple[str, ...] = tuple(field_name(b, name) for b in BANDS for name in FEATURE_NAMES)
_COLUMN_OF = np.array([FIELDS.index(field_name(band, name)) for name, band in _LC_NAMES])
_N_POINTS_COLUMNS = np.array([FIELDS.index(field_name(b, "n_points")) for b in BANDS])
_BAND_OF_COLUMN = np.repeat(np.arange(len(BANDS)), len(FEATURE_NAMES))


def _time_order(n: int, rows: np.ndarray, times: np.ndarray, bands: np.ndarray) -> np.ndarray:
    """The order of the points (grouped by alert, in array order) by alert, time, band, then array position.

    Rubin sends histories in time order, so only the alerts whose times are not strictly increasing (out of
    order, or a repeated time) are sorted: a full sort of every point would cost more than the features."""
    order = np.arange(rows.size)
    unsorted = (rows[1:] == rows[:-1]) & ~(times[1:] > times[:-1])
    if unsorted.any():
        bad = np.zeros(n, dtype=bool)
        bad[rows[1:][unsorted]] = True
        sel = np.flatnonzero(bad[rows])  # whole alerts: contiguous blocks, which sorting by alert first keeps
        order[sel] = sel[np.lexsort((sel, bands[sel], times[sel], rows[sel]))]
    return order


def flux_features(time: pd.Series, band: pd.Series, flux: pd.Series, flux_err: pd.Series) -> pd.DataFrame:
    """One row of `FIELDS` per alert from its time, band, flux and flux-error arrays (see module docstring)."""
    t, f, e = Ragged.from_series(time), Ragged.from_series(flux), Ragged.from_series(flux_err)
    t.same_shape(f, e)
    codes = band_codes(band, t.lengths)
    n, nb = t.n, len(BANDS)
    out = np.full((n, len(FIELDS)), np.nan)

    with np.errstate(invalid="ignore"):
        usable = (codes >= 0) & np.isfinite(t.values) & np.isfinite(f.values) & np.isfinite(e.values) & (e.values > 0)
    index = np.flatnonzero(usable)
    rows, times, bands = t.rows[index], t.values[index], codes[index]
    order = _time_order(n, rows, times, bands)
    index, rows, times, bands = index[order], rows[order], times[order], bands[order]
    # same alert, time and band as the next point: drop this one (the later array entry is kept)
    repeated = np.zeros(index.size, dtype=bool)
    repeated[:-1] = (rows[1:] == rows[:-1]) & (times[1:] == times[:-1]) & (bands[1:] == bands[:-1])
    keep = ~repeated
    index, rows, times, bands = index[keep], rows[keep], times[keep], bands[keep]
    fluxes, errors, labels = f.values[index], e.values[index], _LABELS[bands]

    counts = np.bincount(rows * nb + bands, minlength=n * nb).reshape(n, nb)
    out[:, _N_POINTS_COLUMNS] = counts
    bounds = np.concatenate(([0], np.cumsum(counts.sum(axis=1))))
    enough = counts >= MIN_POINTS
    for row in np.flatnonzero(enough.any(axis=1)):
        lo, hi = bounds[row], bounds[row + 1]
        try:
            values = _EXTRACTOR(
                times[lo:hi], fluxes[lo:hi], errors[lo:hi], labels[lo:hi], sorted=True, fill_value=np.nan
            )
        except ValueError:
            continue  # the library rejects these points: NaN features for this alert only
        out[row, _COLUMN_OF] = values
    # a band with too few points: NaN features whatever the library returned for it
    thin = ~enough[:, _BAND_OF_COLUMN]
    thin[:, _N_POINTS_COLUMNS] = False
    out[thin] = np.nan
    return pd.DataFrame(out, columns=list(FIELDS))
