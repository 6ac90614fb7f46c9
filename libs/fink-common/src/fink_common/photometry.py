"""Fluxes and magnitudes, without Spark (the API and the client use it as well as the stages).

Rubin measures fluxes in nJy; an AB magnitude is -2.5 log10(flux / 3631 Jy), i.e. -2.5 log10(flux / nJy)
+ 31.4. Rubin's times are TAI; UTC = TAI - 37 s since 2017-01-01 (no leap second since).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["AB_ZERO_POINT_NJY", "TAI_MINUS_UTC_S", "flux_to_mag"]

#: TAI - UTC since 2017-01-01 (no leap second since): Rubin's times are TAI
TAI_MINUS_UTC_S = 37.0
#: AB magnitude of a 1 nJy source: -2.5 log10(1e-9 Jy / 3631 Jy); Rubin's fluxes are in nJy
AB_ZERO_POINT_NJY = 31.4
_MAG_PER_FLUX = 2.5 / math.log(10.0)


def flux_to_mag(flux: Any, flux_err: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """AB magnitude and its error from fluxes in nJy (arrays); NaN where the flux is not positive.

    mag = -2.5 log10(flux / nJy) + 31.4; sigma_mag = 2.5 / ln 10 * fluxErr / flux."""
    flux = np.asarray(flux, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        positive = flux > 0
        mag = np.where(positive, -2.5 * np.log10(np.where(positive, flux, 1.0)) + AB_ZERO_POINT_NJY, np.nan)
        err = (
            np.full_like(mag, np.nan)
            if flux_err is None
            else np.where(positive, _MAG_PER_FLUX * np.asarray(flux_err, dtype=np.float64) / flux, np.nan)
        )
    return mag, err
