"""Fink's ZTF livestream filters, as Fink defines them (fink-filters 7.45, `fink_filters/ztf/livestream`),
served under Fink's topic names `fink_<name>_ztf` beside this broker's own filters.

| filter | selects an alert when |
|---|---|
| `sso_ztf_candidates` | `roid == 3`: associated with a known minor body (MPC, through ZTF's `ssdistnr`) |
| `sso_fink_candidates` | `roid == 2`: a new solar-system candidate |
| `first_pass_candidates` | `roid == 1`: the first time ZTF sees the object, likely not a moving one |
| `fast_riser_candidates` | `cdsxmatch` in Fink's extragalactic-host list, `roid` not 2 or 3, `drb > 0.5`, `jd - jdstarthist <= 60`, and a rise of at least 0.25 mag/day (see `rise_rate`) |
| `vra` | `cdsxmatch == "Unknown"`, `roid != 3`, `magpsf > 19.5`, `drb > 0.5` (the Virtual Research Assistant's input) |
| `unknowns` | Fink's `classification` is "Unknown" |
| `magnetic_cvs` | isdiffpos exactly "t" or "1" and closer than 0.5" to a magnetic cataclysmic variable of Fink's catalog |
| `yso_candidates` | `cdsxmatch` is one of SIMBAD's young-stellar-object candidate types |
| `blazar` | `cdsxmatch` is one of SIMBAD's blazar / BL Lac types |
| `simbad_grav_candidates` | `cdsxmatch` is one of SIMBAD's gravitational (lensing, black hole, GW) types |

Where the inputs differ from Fink's: `cdsxmatch` is the type of this broker's local catalog cross-match
(raw2science's `xmatch`), not of CDS's SIMBAD service, so the catalog filters select what that catalog
types that way; `classification` lacks Fink's machine-learned labels (raw2science's
`fink_classification`).

`magnetic_cvs` selects *every* positive alert closer than 0.5" to a catalog source. Fink's cross-match keeps
only each source's *nearest* alert within one Spark batch, so a second alert of the same star in the same
batch is dropped there and sent when it falls in another batch: Fink's answer depends on how the stream was
cut. Here it depends on the alert alone, as for the rate, so a replay, the audit and the reconciliation see
the same selection as the stream.

Fink's other eleven ZTF livestream filters (of the 21 in fink-filters 7.45) are not served (`NOT_SERVED`):

| filter | why not |
|---|---|
| `early_kn_candidates` | needs the Mangrove galaxy catalog (27.6 MB) and an online SDSS query per alert |
| `early_sn_candidates` | needs Fink's SuperNNova and random-forest SN Ia scores (models not served) |
| `sn_candidates` | needs Fink's SuperNNova scores |
| `kn_candidates` | needs Fink's kilonova random-forest score |
| `microlensing_candidates` | needs Fink's LIA microlensing score (`mulens`) |
| `rate_based_kn_candidates` | needs Fink's SN/KN scores and an online SDSS query per candidate |
| `new_hostless`, `intra_night_hostless`, `inter_night_hostless` | need the ELEPHANT hostless pipeline (its config is missing from the published fink-science) and a Gaia DR3 cross-match |
| `tns_match` | needs the TNS catalog (downloaded from TNS with credentials) |
| `yso_spicy_candidates` | needs the SPICY catalog cross-match (VizieR) and Fink's light-curve fit slope |

Each of them can still be run through the Fink plug-in contract (`fink_plugins`) once its inputs exist.
"""

from __future__ import annotations

import math
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from fink_common.taxonomy import EG_HOSTS
from fink_distribution.filters import numbers

__all__ = [
    "BLAZAR_TYPES",
    "EG_HOSTS",
    "GRAV_TYPES",
    "MCV_CATALOG",
    "MCV_RADIUS_ARCSEC",
    "NOT_SERVED",
    "YSO_TYPES",
    "blazar",
    "fast_riser_candidates",
    "first_pass_candidates",
    "magnetic_cvs",
    "mcv_positions",
    "rise_rate",
    "simbad_grav_candidates",
    "sso_fink_candidates",
    "sso_ztf_candidates",
    "unknowns",
    "vra",
    "yso_candidates",
]

YSO_TYPES: frozenset[str] = frozenset({"Candidate_YSO", "Candidate_TTau*", "YSO_Candidate", "TTau*_Candidate"})
BLAZAR_TYPES: frozenset[str] = frozenset({"Blazar", "Blazar_Candidate", "BLLac", "BLLac_Candidate"})
GRAV_TYPES: frozenset[str] = frozenset(
    {"Gravitation", "LensingEv", "GravLensSystem", "GravLens", "LensedImage", "LensedG", "LensedQ", "BlackHole",
     "GravWaveEvent"}
)  # fmt: skip
#: fast_riser_candidates: at most this old (days since the first detection), at least this rise (mag/day).
MAX_AGE_DAYS = 60.0
MIN_RISE_RATE = 0.25
MIN_DT_DAYS = 0.02
MAX_RISE_RATE = 6.0
#: The magnetic cataclysmic variables of fink-filters (245 rows; see data/README.md), and Fink's radius.
MCV_CATALOG = "data/magnetic_cataclysmic_variables.csv"
MCV_RADIUS_ARCSEC = 0.5

#: Fink's ZTF livestream filters this broker does not serve, and why.
NOT_SERVED: dict[str, str] = {
    "early_kn_candidates": "needs the Mangrove galaxy catalog (27.6 MB) and an online SDSS query per alert",
    "early_sn_candidates": "needs Fink's SuperNNova and random-forest SN Ia scores (models not served)",
    "sn_candidates": "needs Fink's SuperNNova scores",
    "kn_candidates": "needs Fink's kilonova random-forest score",
    "microlensing_candidates": "needs Fink's LIA microlensing score (`mulens`)",
    "rate_based_kn_candidates": "needs Fink's SN/KN scores and an online SDSS query per candidate",
    "new_hostless": "needs the ELEPHANT hostless pipeline (its config is missing from the published fink-science) and a Gaia DR3 cross-match",
    "intra_night_hostless": "as new_hostless",
    "inter_night_hostless": "as new_hostless",
    "tns_match": "needs the TNS catalog (downloaded from TNS with credentials)",
    "yso_spicy_candidates": "needs the SPICY catalog cross-match (VizieR) and Fink's light-curve fit slope",
}


def _types(series: pd.Series) -> np.ndarray:
    return series.astype(object).where(series.notna(), "").astype(str).to_numpy(dtype=object)


def _in(series: pd.Series, allowed: frozenset[str]) -> np.ndarray:
    return np.array([t in allowed for t in _types(series)], dtype=bool)


def sso_ztf_candidates(roid: pd.Series) -> np.ndarray:
    """roid == 3: associated with a known minor body."""
    return numbers(roid) == 3


def sso_fink_candidates(roid: pd.Series) -> np.ndarray:
    """roid == 2: a new solar-system candidate."""
    return numbers(roid) == 2


def first_pass_candidates(roid: pd.Series) -> np.ndarray:
    """roid == 1: first time ZTF sees the object, likely not a moving one."""
    return numbers(roid) == 1


def vra(magpsf: pd.Series, drb: pd.Series, cdsxmatch: pd.Series, roid: pd.Series) -> np.ndarray:
    """Uncatalogued, not an MPC object, fainter than 19.5, real: the VRA's input."""
    with np.errstate(invalid="ignore"):
        return (_types(cdsxmatch) == "Unknown") & (numbers(roid) != 3) & (numbers(magpsf) > 19.5) & (numbers(drb) > 0.5)


def unknowns(classification: pd.Series) -> np.ndarray:
    """Fink's classification is Unknown."""
    return _types(classification) == "Unknown"


def yso_candidates(cdsxmatch: pd.Series) -> np.ndarray:
    """A young-stellar-object candidate type."""
    return _in(cdsxmatch, YSO_TYPES)


def blazar(cdsxmatch: pd.Series) -> np.ndarray:
    """A blazar or BL Lac type."""
    return _in(cdsxmatch, BLAZAR_TYPES)


def simbad_grav_candidates(cdsxmatch: pd.Series) -> np.ndarray:
    """A gravitational-lensing, black-hole or gravitational-wave type."""
    return _in(cdsxmatch, GRAV_TYPES)


def rise_rate(jd: np.ndarray, mag: np.ndarray, fid: np.ndarray) -> float:
    """Fink's fastest rise of one light curve (mag/day, positive = brightening; 0.0 when none).

    Points without a magnitude or jd are dropped; in each band, consecutive points (by jd) at least
    `MIN_DT_DAYS` apart give `(mag_i - mag_j) / dt`; the largest positive one, capped at `MAX_RISE_RATE`.
    """
    ok = np.isfinite(jd) & np.isfinite(mag)
    jd, mag, fid = jd[ok], mag[ok], fid[ok]
    if jd.size < 2:
        return 0.0
    order = np.argsort(jd, kind="stable")
    jd, mag, fid = jd[order], mag[order], fid[order]
    best = 0.0
    for band in np.unique(fid):
        sel = fid == band
        t, m = jd[sel], mag[sel]
        dt = np.diff(t)
        keep = dt >= MIN_DT_DAYS
        if keep.any():
            rates = (m[:-1] - m[1:])[keep] / dt[keep]
            positive = rates[rates > 0]
            if positive.size:
                best = max(best, float(positive.max()))
    return min(best, MAX_RISE_RATE)


def _history(prv: object, now: float) -> np.ndarray:
    values = np.asarray(prv, dtype=np.float64) if hasattr(prv, "__len__") else np.zeros(0)
    return np.append(values, now)


def fast_riser_candidates(
    cdsxmatch: pd.Series,
    roid: pd.Series,
    drb: pd.Series,
    jd: pd.Series,
    jdstarthist: pd.Series,
    magpsf: pd.Series,
    fid: pd.Series,
    prv_jd: pd.Series,
    prv_magpsf: pd.Series,
    prv_fid: pd.Series,
) -> np.ndarray:
    """Young, real, extragalactic-host alerts rising by at least 0.25 mag/day."""
    jd_now, mag_now, fid_now = numbers(jd), numbers(magpsf), numbers(fid)
    flag = numbers(roid)
    with np.errstate(invalid="ignore"):
        pre = _in(cdsxmatch, EG_HOSTS) & (flag != 2) & (flag != 3) & (numbers(drb) > 0.5)
        pre &= (jd_now - numbers(jdstarthist)) <= MAX_AGE_DAYS
    out = np.zeros(len(pre), dtype=bool)
    prv = (prv_jd.array, prv_magpsf.array, prv_fid.array)
    for i in np.flatnonzero(pre):
        curve = [_history(column[i], now[i]) for column, now in zip(prv, (jd_now, mag_now, fid_now), strict=True)]
        out[i] = rise_rate(*curve) >= MIN_RISE_RATE
    return out


def _sexagesimal(text: str, hours: bool) -> float:
    parts = text.strip().split()
    sign = -1.0 if parts[0].startswith("-") else 1.0
    d, m, s = (abs(float(parts[0])), float(parts[1]), float(parts[2]) if len(parts) > 2 else 0.0)
    value = sign * (d + m / 60.0 + s / 3600.0)
    return value * 15.0 if hours else value


@lru_cache(maxsize=1)
def mcv_positions() -> tuple[np.ndarray, tuple[str, ...]]:
    """Unit vectors and names of the catalog's sources (parsed once per process)."""
    text = resources.files("fink_distribution").joinpath(MCV_CATALOG).read_text(encoding="utf-8")
    rows = [line.split(",") for line in text.splitlines()[1:] if line.strip()]
    ra = np.array([_sexagesimal(r[1], hours=True) for r in rows])
    dec = np.array([_sexagesimal(r[2], hours=False) for r in rows])
    return _unit_vectors(ra, dec), tuple(r[0].strip() for r in rows)


def _unit_vectors(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    return np.column_stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])


def magnetic_cvs(isdiffpos: pd.Series, ra: pd.Series, dec: pd.Series) -> np.ndarray:
    """A positive subtraction closer than 0.5" to a known magnetic cataclysmic variable (every such alert)."""
    positive = np.array([isinstance(v, str) and v in ("t", "1") for v in isdiffpos.array], dtype=bool)
    ra_deg, dec_deg = numbers(ra), numbers(dec)
    candidates = np.flatnonzero(positive & np.isfinite(ra_deg) & np.isfinite(dec_deg))
    out = np.zeros(len(positive), dtype=bool)
    if candidates.size == 0:
        return out
    chord = 2.0 * math.sin(math.radians(MCV_RADIUS_ARCSEC / 3600.0) / 2.0)
    # each alert's nearest catalog source; kept when strictly closer than the radius
    distance, _ = _catalog_tree().query(_unit_vectors(ra_deg[candidates], dec_deg[candidates]), k=1)
    out[candidates[distance < chord]] = True
    return out


@lru_cache(maxsize=1)
def _catalog_tree() -> cKDTree:
    return cKDTree(mcv_positions()[0])


