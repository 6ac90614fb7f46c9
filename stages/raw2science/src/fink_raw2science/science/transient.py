"""Fink's `is_transient` for ZTF and its seven sub-flags (fink-science `transient_features`, after Perley
et al. 2020 and Fremling et al. 2020; combined in fink-broker).

Fink computes these as Spark SQL expressions, so SQL's three-valued logic applies: a comparison with a
null field is null, `x AND null` is null unless x is false, `x OR null` is null unless x is true. The
same holds here (pandas nullable booleans follow the same Kleene logic), and a null flag is stored as null.

Shared values (ZTF fields of `candidate`): `age = jd - jdstarthist`; `distnr` and `distpsnr1..3` below
0 read as 99 (null stays null); `ps1mag` = the first of srmag1, simag1, sgmag1 strictly inside (0, 30),
else 99; `ps1maxmag` = the least of srmag1, simag1, sgmag1, szmag1, each one not above 0 (or null) read as
99; `peakmag` = the least of magpsf and the history's magnitudes in the current band (nulls skipped);
`prevpasscount` = the history's points with `0.75 < jd - jd_prev < 30`, isdiffpos '1'/'t'/'true' and
`0 < magpsf < 19.8`.

| flag | true when |
|---|---|
| faint | `magpsf >= 19.8`, or a history point within 0.75 d has `magpsf >= 19` while the *current* isdiffpos is positive (Fink's expression reads the current alert's isdiffpos there) |
| positivesubtraction | isdiffpos is '1', 't' or 'true' |
| real | none of: rb <= 0.2; rb < 0.35 with a bright Gaia (neargaia < 1, maggaia < 17) or PS1 star (distpsnr1 < 1, sgscore1 > 0.49, srmag1 or simag1 < 17 or szmag1 < 16.5) counterpart; rb < 0.45 with the same at 1.5"/15.5 (szmag1 15); drb < 0.8; for sources older than 90 d, drb < 0.9 near a bright PS1 source (distpsnr1 < 3 and ps1mag < 16, or < 1.1 and < 18) or drb < 0.95 (< 1.5 and < 15.5, or < 0.8 and < 17.5) |
| pointunderneath | sgscore1 > 0.76 and distpsnr1 < 2.5, or sgscore1 > 0.2, distpsnr1 < 1, with srmag1 - szmag1 > 3 or srmag1 - simag1 > 3 (both magnitudes positive) |
| brightstar | a Gaia star brighter than 12 within 20", or a PS1 star (sgscore > 0.9) brighter than 14 in r (any of the three nearest) or i within 20", or in z within 10" |
| variablesource | a long-lived (age > 90 d, > 30 detections, enough earlier positive detections) source on a bright reference, or near a Gaia source (several cases), or a PS1 star (sgscore1 > 0.25, within 3", ps1maxmag < 16; or sgscore1 exactly 0.5, within 0.5", < 17), or a reference brighter than the alert by 1 mag within 0.5" now fading, or more than 200 detections |
| stationary | a history detection (magpsf < 99, positive isdiffpos) more than 0.02 d away; false, never null, otherwise |

`is_transient` = not faint, positivesubtraction, real, not pointunderneath, not brightstar, not
variablesource, stationary, and `roid == 0`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from fink_raw2science.science.lightcurve import Ragged

__all__ = ["CANDIDATE_FIELDS", "FLAGS", "HISTORY_INPUTS", "INPUTS", "is_transient", "transient_flags"]

#: The seven sub-flags, in Fink's order.
FLAGS: tuple[str, ...] = (
    "faint", "positivesubtraction", "real", "pointunderneath", "brightstar", "variablesource", "stationary",
)  # fmt: skip
CANDIDATE_FIELDS: tuple[str, ...] = (
    "magpsf", "jd", "jdstarthist", "fid", "rb", "drb", "isdiffpos", "ndethist", "magnr", "distnr",
    "sgscore1", "sgscore2", "sgscore3", "distpsnr1", "distpsnr2", "distpsnr3", "srmag1", "srmag2", "srmag3",
    "sgmag1", "simag1", "szmag1", "neargaia", "maggaia", "neargaiabright", "maggaiabright",
)  # fmt: skip
HISTORY_INPUTS: tuple[str, ...] = ("cjd", "cfid", "cmagpsf", "cisdiffpos")
INPUTS: tuple[str, ...] = (*HISTORY_INPUTS, *(f"candidate.{name}" for name in CANDIDATE_FIELDS))
_POSITIVE = frozenset({"1", "t", "true"})


def _nullable(series: pd.Series | np.ndarray) -> pd.Series:
    return pd.to_numeric(pd.Series(series).reset_index(drop=True), errors="coerce").astype("Float64")


def _replace_negative(x: pd.Series) -> pd.Series:
    return x.mask((x < 0).fillna(False), 99.0)


def _positive(values: Sequence[object]) -> np.ndarray:
    return np.array(
        [v is not None and not (isinstance(v, float) and np.isnan(v)) and str(v) in _POSITIVE for v in values], dtype=bool
    )


def _flat_strings(series: pd.Series) -> list[object]:
    out: list[object] = []
    for item in series.array:
        if hasattr(item, "__len__") and not isinstance(item, str):
            out.extend(item)
    return out


def _per_alert_any(mask: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(rows[mask], minlength=n) > 0


def transient_flags(*columns: pd.Series) -> pd.DataFrame:
    """The seven sub-flags per alert (True/False/None), from the columns of `INPUTS` in that order."""
    named = dict(zip(INPUTS, columns, strict=True))
    c = {name: _nullable(named[f"candidate.{name}"]) for name in CANDIDATE_FIELDS if name != "isdiffpos"}
    jd_h, fid_h, mag_h = (Ragged.from_series(named[k]) for k in ("cjd", "cfid", "cmagpsf"))
    jd_h.same_shape(fid_h, mag_h)
    n, rows = jd_h.n, jd_h.rows
    prior = ~jd_h.is_last
    prv_positive = _positive(_flat_strings(named["cisdiffpos"]))
    if prv_positive.size != jd_h.values.size:
        raise ValueError("cisdiffpos and cjd have different lengths")
    now_positive = _positive(list(named["candidate.isdiffpos"].array))
    if now_positive.size != n:
        raise ValueError("candidate.isdiffpos and cjd have different lengths")

    m_now, t_now = c["magpsf"], c["jd"]
    age = t_now - c["jdstarthist"]
    distnr = _replace_negative(c["distnr"])
    dps = [_replace_negative(c[f"distpsnr{i}"]) for i in (1, 2, 3)]
    sr1, si1, sg1, sz1 = c["srmag1"], c["simag1"], c["sgmag1"], c["szmag1"]
    ps1mag = np.full(n, 99.0)
    chosen = np.zeros(n, dtype=bool)
    for mag in (sr1, si1, sg1):
        inside = ((mag > 0) & (mag < 30)).fillna(False).to_numpy(dtype=bool) & ~chosen
        ps1mag[inside] = mag.to_numpy(dtype=np.float64, na_value=np.nan)[inside]
        chosen |= inside
    ps1maxmag = np.min(
        [np.where((m > 0).fillna(False).to_numpy(dtype=bool), m.to_numpy(dtype=np.float64, na_value=99.0), 99.0)
         for m in (sr1, si1, sg1, sz1)], axis=0,
    )  # fmt: skip

    t_rows = t_now.to_numpy(dtype=np.float64, na_value=np.nan)[rows]
    f_rows = c["fid"].to_numpy(dtype=np.float64, na_value=np.nan)[rows]
    m_rows = m_now.to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        ago = t_rows - jd_h.values
        passes = prior & (ago < 30) & (ago > 0.75) & prv_positive & (mag_h.values > 0) & (mag_h.values < 19.8)
        prevpasscount = pd.Series(np.bincount(rows[passes], minlength=n), dtype="Float64")
        same_band = prior & (fid_h.values == f_rows) & np.isfinite(mag_h.values)
        band_min = np.full(n, np.inf)
        np.minimum.at(band_min, rows[same_band], mag_h.values[same_band])
        peak = np.fmin(m_rows, np.where(np.isinf(band_min), np.nan, band_min))
        recent_faint = prior & (np.abs(ago) < 0.75) & now_positive[rows] & (mag_h.values >= 19)
        stationary_hit = prior & (np.abs(ago) > 0.02) & (mag_h.values < 99) & prv_positive
    peakmag = _nullable(peak)

    faint = (m_now >= 19.8) | pd.Series(_per_alert_any(recent_faint, rows, n), dtype="boolean")
    positive = pd.Series(now_positive, dtype="boolean")
    rb, drb, sg1 = c["rb"], c["drb"], c["sgscore1"]
    neargaia, maggaia = c["neargaia"], c["maggaia"]
    gaia_abs, maggaia_abs = neargaia.abs(), maggaia.abs()
    sr_abs, si_abs, sz_abs = sr1.abs(), si1.abs(), sz1.abs()
    old = age > 90
    bogus = (
        (rb <= 0.2)
        | ((rb < 0.35) & (gaia_abs < 1) & (maggaia_abs < 17))
        | ((rb < 0.35) & (dps[0] < 1) & (sg1 > 0.49) & ((sr_abs < 17) | (si_abs < 17) | (sz_abs < 16.5)))
        | ((rb < 0.45) & (gaia_abs < 1.5) & (maggaia_abs < 15.5))
        | ((rb < 0.45) & (dps[0] < 1.5) & (sg1 > 0.49) & ((sr_abs < 15.5) | (si_abs < 15.5) | (sz_abs < 15)))
        | (drb < 0.8)
        | ((drb < 0.9) & (dps[0] < 3) & (ps1mag < 16) & old)
        | ((drb < 0.9) & (dps[0] < 1.1) & (ps1mag < 18) & old)
        | ((drb < 0.95) & (dps[0] < 1.5) & (ps1mag < 15.5) & old)
        | ((drb < 0.95) & (dps[0] < 0.8) & (ps1mag < 17.5) & old)
    )
    real = ~bogus
    under = (
        ((sg1 > 0.76) & (dps[0] < 2.5))
        | ((sg1 > 0.2) & (dps[0] < 1) & (sr1 > 0) & (sz1 > 0) & ((sr1 - sz1) > 3))
        | ((sg1 > 0.2) & (dps[0] < 1) & (sr1 > 0) & (si1 > 0) & ((sr1 - si1) > 3))
    )
    bright = (c["neargaiabright"].abs() < 20) & (c["maggaiabright"].abs() < 12)
    for i, dist in enumerate(dps, start=1):
        bright = bright | ((dist < 20) & (c[f"srmag{i}"].abs() < 14) & (c[f"sgscore{i}"] > 0.9))
    bright = bright | ((dps[0] < 20) & (si_abs < 14) & (sg1 > 0.9)) | ((dps[0] < 10) & (sz_abs < 14) & (sg1 > 0.9))
    age_f = age.to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        # CASE WHEN: a null age falls through to the ELSE, 3
        thr = pd.Series(np.where(age_f > 360, 1.0, np.where(age_f > 90, 2.0, 3.0)), dtype="Float64")
    magnr = c["magnr"]
    variable = (
        (
            old & (c["ndethist"] > 30) & (prevpasscount >= thr) & (magnr > 0)
            & ~((m_now <= peakmag) & (m_now < 18.5))
            & (((distnr < 0.4) & (magnr < 19.5)) | ((distnr < 0.8) & (magnr < 17.5)) | ((distnr < 1.2) & (magnr < 15.5)))
        )
        | (
            (maggaia > 0) & (neargaia > 0)
            & (
                ((neargaia < 0.35) & (maggaia < 17) & (age > 30))
                | ((neargaia < 0.35) & (maggaia < 19) & (age > 300) & (m_now > 18.5))
                | ((neargaia < 0.2) & (maggaia < 18) & old)
            )
        )
        | ((sg1 > 0.25) & (dps[0] < 3) & old & (ps1maxmag < 16))
        | ((sg1 == 0.5) & (dps[0] < 0.5) & old & (ps1maxmag < 17))
        | ((magnr > 0) & (magnr < m_now - 1) & old & (distnr < 0.5) & (m_now > peakmag))
        | (c["ndethist"] > 200)
    )  # fmt: skip
    stationary = pd.Series(_per_alert_any(stationary_hit, rows, n), dtype="boolean")
    flags = dict(zip(FLAGS, (faint, positive, real, under, bright, variable, stationary), strict=True))
    return pd.DataFrame({k: _objects(v) for k, v in flags.items()})


def _objects(flag: pd.Series) -> pd.Series:
    """A nullable boolean as object True/False/None (the pure frame's boolean form)."""
    values = pd.Series(flag, dtype="boolean").reset_index(drop=True)
    return pd.Series([None if v is pd.NA else bool(v) for v in values], dtype=object)


def is_transient(
    faint: pd.Series,
    positivesubtraction: pd.Series,
    real: pd.Series,
    pointunderneath: pd.Series,
    brightstar: pd.Series,
    variablesource: pd.Series,
    stationary: pd.Series,
    roid: pd.Series,
) -> pd.Series:
    """Fink's AND of the sub-flags and `roid == 0`, with SQL null logic (True/False/None per alert)."""

    def b(x: pd.Series) -> pd.Series:
        return pd.Series(x.reset_index(drop=True).astype(object).where(x.notna().to_numpy(), None), dtype="boolean")

    roid_ok = _nullable(roid.reset_index(drop=True)) == 0
    result = (
        ~b(faint) & b(positivesubtraction) & b(real) & ~b(pointunderneath) & ~b(brightstar) & ~b(variablesource)
        & b(stationary) & roid_ok
    )  # fmt: skip
    return _objects(result)
