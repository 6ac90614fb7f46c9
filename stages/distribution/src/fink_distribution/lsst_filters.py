"""The built-in Rubin/LSST alert filters, modelled on Fink's Rubin livestream set where their inputs exist here.

Same contract as the ZTF filters (`fink_distribution.filters`): plain functions over pandas columns, read
positionally in the order of their registry entry (`registry.LSST_BUILTINS`), returning one boolean per
alert; a null input fails every condition it takes part in. One topic each, `fink_<name>_lsst`.

| filter | selects an alert when | Fink's counterpart |
|---|---|---|
| `uniform_sample` | `diaSourceId % 113 == 0` (about 0.9 % of all alerts, solar-system ones included, the same alerts on every run) | `uniform_sample`, same rule |
| `solar_system` | `is_sso`: Rubin associated the source with a known solar-system object (the alert has an `ssSource`) | the `b_is_solar_system` block |
| `first_detections` | `is_first`: the first detection of a static object (`diaObject.nDiaSources == 1`) | the `b_is_new` block |
| `fast_risers` | static, brightening by at least 0.3 mag/day (`mag_rate <= -0.3`) at >= 3 sigma (`rate_significance`) | `fast_transient_gvom` (-0.3 mag/day), here with a deterministic rate |
| `fast_faders` | static, fading by at least 0.5 mag/day in u or g, 0.2 mag/day in r, i, z or y, at >= 3 sigma | the fading cut of `extragalactic_new_candidate` |
| `long_trails` | good quality, `diaSource.trailLength > 2` arcsec, 18 < AB magnitude of `psfFlux` < 21 | `faint_trails` without its elongation measured on the cutout |
| `bright_new_candidates` | good quality, static, first detected less than 5 days before (`firstDiaSourceMjdTaiFink`), brighter than AB 20 | the age and magnitude cuts of `extragalactic_lt20mag_candidate`/`_new_candidate`, without the catalog blocks |

Definitions:

* static: `is_sso` is False (the alert has no `ssSource`): a solar-system object's "rate" compares two
  different places on the sky;
* good quality: raw2science's `good_quality` (Fink's `b_good_quality`: no pixel, centroid, shape or flux flag,
  `psfFlux >= 0` and S/N >= 6);
* AB magnitude: `-2.5 log10(psfFlux / nJy) + 31.4` (`fink_common.surveys.lsst.flux_to_mag`), undefined for a
  flux that is not positive (no such alert passes a magnitude cut).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fink_common.surveys.lsst import BANDS, flux_to_mag
from fink_distribution.filters import numbers

__all__ = [
    "BRIGHT_MAG",
    "FADE_RATE_BLUE",
    "FADE_RATE_RED",
    "FAST_RATE",
    "NEW_MAX_AGE_DAYS",
    "RATE_SIGNIFICANCE",
    "TRAIL_MAG_RANGE",
    "TRAIL_MIN_ARCSEC",
    "UNIFORM_MODULUS",
    "bright_new_candidates",
    "fast_faders",
    "fast_risers",
    "first_detections",
    "long_trails",
    "solar_system",
    "uniform_sample",
]

#: `diaSourceId % UNIFORM_MODULUS == 0` is the uniform sample (Fink's rule).
UNIFORM_MODULUS = 113
#: mag/day at or below which an alert rises fast (negative = brightening).
FAST_RATE = -0.3
#: mag/day at or above which an alert fades fast, in u and g, and in r, i, z and y.
FADE_RATE_BLUE = 0.5
FADE_RATE_RED = 0.2
#: A rate counts when `rate_significance` (|rate| / error) reaches this.
RATE_SIGNIFICANCE = 3.0
#: A trail longer than this (arcsec, `diaSource.trailLength`) with a magnitude in TRAIL_MAG_RANGE.
TRAIL_MIN_ARCSEC = 2.0
TRAIL_MAG_RANGE = (18.0, 21.0)
#: A new candidate was first detected less than this many days before, and is brighter than BRIGHT_MAG.
NEW_MAX_AGE_DAYS = 5.0
BRIGHT_MAG = 20.0
_BLUE = ("u", "g")


def _true(series: pd.Series) -> np.ndarray:
    """True where the value is True (null and False are not)."""
    return series.astype("boolean").eq(True).fillna(False).to_numpy(dtype=bool)


def _false(series: pd.Series) -> np.ndarray:
    """True where the value is False (null, "not known", is not)."""
    return series.astype("boolean").eq(False).fillna(False).to_numpy(dtype=bool)


def _mag(psf_flux: pd.Series) -> np.ndarray:
    return flux_to_mag(numbers(psf_flux))[0]


def uniform_sample(dia_source_id: pd.Series) -> np.ndarray:
    """About 1 % of all alerts, chosen by id (`diaSourceId % 113 == 0`), solar-system ones included."""
    ids = pd.array(dia_source_id, dtype="Int64")  # exact int64: never through float
    return (ids % UNIFORM_MODULUS == 0).fillna(False).to_numpy(dtype=bool)


def solar_system(is_sso: pd.Series) -> np.ndarray:
    """Sources Rubin associated with a known solar-system object (the alert has an ssSource)."""
    return _true(is_sso)


def first_detections(is_first: pd.Series) -> np.ndarray:
    """The first detection of a static object (diaObject.nDiaSources == 1)."""
    return _true(is_first)


def _significant(rate_significance: pd.Series) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return numbers(rate_significance) >= RATE_SIGNIFICANCE


def fast_risers(mag_rate: pd.Series, rate_significance: pd.Series, is_sso: pd.Series) -> np.ndarray:
    """Static sources brightening by at least 0.3 mag/day at 3 sigma or more."""
    with np.errstate(invalid="ignore"):
        rising = numbers(mag_rate) <= FAST_RATE
    return rising & _significant(rate_significance) & _false(is_sso)


def fast_faders(mag_rate: pd.Series, rate_significance: pd.Series, band: pd.Series, is_sso: pd.Series) -> np.ndarray:
    """Static sources fading by at least 0.5 mag/day (u, g) or 0.2 mag/day (r, i, z, y) at 3 sigma or more."""
    bands = band.astype(object).where(band.notna(), "").to_numpy(dtype=object)
    threshold = np.where(np.isin(bands, _BLUE), FADE_RATE_BLUE, FADE_RATE_RED)
    known = np.isin(bands, BANDS)
    with np.errstate(invalid="ignore"):
        fading = numbers(mag_rate) >= threshold
    return fading & known & _significant(rate_significance) & _false(is_sso)


def long_trails(trail_length: pd.Series, psf_flux: pd.Series, good_quality: pd.Series) -> np.ndarray:
    """Good-quality sources trailed over more than 2 arcsec, between AB 18 and 21."""
    mag = _mag(psf_flux)
    low, high = TRAIL_MAG_RANGE
    with np.errstate(invalid="ignore"):
        return (numbers(trail_length) > TRAIL_MIN_ARCSEC) & (mag > low) & (mag < high) & _true(good_quality)


def bright_new_candidates(
    midpoint_mjd: pd.Series, first_mjd: pd.Series, psf_flux: pd.Series, good_quality: pd.Series, is_sso: pd.Series
) -> np.ndarray:
    """Good-quality static sources first detected less than 5 days before, brighter than AB 20."""
    age = numbers(midpoint_mjd) - numbers(first_mjd)
    with np.errstate(invalid="ignore"):
        young = (age >= 0) & (age < NEW_MAX_AGE_DAYS)
        bright = _mag(psf_flux) < BRIGHT_MAG
    return young & bright & _true(good_quality) & _false(is_sso)
