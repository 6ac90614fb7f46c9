"""Fink's ZTF `classification`, in Fink's order and with Fink's class names (fink-filters
`extract_fink_classification`), and `cdsxmatch`, Fink's name for the catalog type.

Flags, each from Fink's own filter definitions (EG = `fink_common.taxonomy.EG_HOSTS`, Fink's list of extragalactic
host types):

| flag | condition |
|---|---|
| microlensing | `mulens > 0` |
| SN | (`snn_snia_vs_nonia > 0.5` or `snn_sn_vs_all > 0.5`), type in EG, `jd - jdstarthist <= 90`, `drb > 0.5`, `classtar > 0.4`, `ndethist > 1`, `roid != 3` |
| early SN Ia | (either SNN score > 0.5), type in EG, `drb > 0.5`, `classtar > 0.4`, `ndethist <= 20`, `rf_snia_vs_nonia > 0.5` |
| kilonova | `rf_kn_vs_nonkn > 0.5`, `drb > 0.5`, `classtar > 0.4`, `jd - jdstarthist < 5`, `ndethist < 20`, `roid != 3`, type in EG |
| SSO candidate / MPC | `roid == 2` / `roid == 3` |
| tracklet | `tracklet` starts with "TRCK_" |
| catalog | the type is not "Unknown", "Transient", "Fail", "Fail 504", and starts neither with "Fail" nor "Galaxy" |

Labels are assigned in this order, each overwriting the previous: "Microlensing candidate", "SN
candidate", "Early SN Ia candidate", "Kilonova candidate", "Solar System candidate", "Tracklet", "Solar
System MPC"; then "Ambiguous" where more than one of microlensing, SN, SSO candidate, MPC holds; and last
the catalog type itself wherever the catalog flag holds: a catalogued source wins over everything.
"Unknown" where nothing holds. A null score fails its condition.

Here the catalog type is that of our local cross-match (`xmatch_type`), not SIMBAD's. Fink's
machine-learned scores (SuperNNova, the SN Ia and kilonova random forests, LIA microlensing) are not
served by this broker: the module passes them as null, so the SN, early SN Ia, kilonova, microlensing and
Ambiguous labels cannot occur; tracklets are known only after the night, so in real time (in Fink too)
`tracklet` is empty. `fink_classification` itself takes all thirteen of Fink's arguments, so a deployment
that adds those scores gets Fink's labels for them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fink_common.taxonomy import EG_HOSTS, NOT_A_TYPE_PREFIXES, SIMBAD_NOT_A_TYPE

__all__ = [
    "AMBIGUOUS",
    "EARLY_SN",
    "KILONOVA",
    "MICROLENSING",
    "SN",
    "SSO_CANDIDATE",
    "SSO_MPC",
    "TRACKLET",
    "UNKNOWN",
    "catalog_type",
    "fink_classification",
    "is_catalog_type",
    "ztf_classification",
]

UNKNOWN = "Unknown"
MICROLENSING = "Microlensing candidate"
SN = "SN candidate"
EARLY_SN = "Early SN Ia candidate"
KILONOVA = "Kilonova candidate"
SSO_CANDIDATE = "Solar System candidate"
TRACKLET = "Tracklet"
SSO_MPC = "Solar System MPC"
AMBIGUOUS = "Ambiguous"


def _floats(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _strings(series: pd.Series, missing: str) -> np.ndarray:
    return series.astype(object).where(series.notna(), missing).astype(str).to_numpy(dtype=object)


def is_catalog_type(types: np.ndarray) -> np.ndarray:
    """Fink's `simbad_candidates` flag: a real catalog type (see the module docstring)."""
    return np.array(
        [t not in SIMBAD_NOT_A_TYPE and not t.startswith(NOT_A_TYPE_PREFIXES) for t in types], dtype=bool
    )


def fink_classification(
    cdsxmatch: pd.Series,
    roid: pd.Series,
    mulens: pd.Series,
    snn_snia_vs_nonia: pd.Series,
    snn_sn_vs_all: pd.Series,
    rf_snia_vs_nonia: pd.Series,
    ndethist: pd.Series,
    drb: pd.Series,
    classtar: pd.Series,
    jd: pd.Series,
    jdstarthist: pd.Series,
    rf_kn_vs_nonkn: pd.Series,
    tracklet: pd.Series,
) -> pd.Series:
    """Fink's class per alert, from Fink's thirteen arguments in Fink's order (module docstring)."""
    types = _strings(cdsxmatch, UNKNOWN)  # a null type reads as no match (Fink would raise)
    flag = _floats(roid)
    ml, snn_ia, snn_sn, rf_ia = _floats(mulens), _floats(snn_snia_vs_nonia), _floats(snn_sn_vs_all), _floats(rf_snia_vs_nonia)
    ndet, real, star, kn = _floats(ndethist), _floats(drb), _floats(classtar), _floats(rf_kn_vs_nonkn)
    age = _floats(jd) - _floats(jdstarthist)
    tracks = np.array([t.startswith("TRCK_") for t in _strings(tracklet, "")], dtype=bool)
    in_eg = np.array([t in EG_HOSTS for t in types], dtype=bool)
    with np.errstate(invalid="ignore"):
        snn = (snn_ia > 0.5) | (snn_sn > 0.5)
        clean = (real > 0.5) & (star > 0.4)
        f_mulens = ml > 0.0
        f_sn = snn & in_eg & (age <= 90) & clean & (ndet > 1) & (flag != 3)
        f_early = snn & in_eg & clean & (ndet <= 20) & (rf_ia > 0.5)
        f_kn = (kn > 0.5) & clean & (age < 5) & (ndet < 20) & (flag != 3) & in_eg
        f_sso, f_mpc = flag == 2, flag == 3
    label = np.full(types.size, UNKNOWN, dtype=object)
    for mask, name in (
        (f_mulens, MICROLENSING),
        (f_sn, SN),
        (f_early, EARLY_SN),
        (f_kn, KILONOVA),
        (f_sso, SSO_CANDIDATE),
        (tracks, TRACKLET),
        (f_mpc, SSO_MPC),
    ):
        label[mask] = name
    ambiguity = f_mulens.astype(int) + f_sn.astype(int) + f_sso.astype(int) + f_mpc.astype(int)
    label[ambiguity > 1] = AMBIGUOUS
    catalogued = is_catalog_type(types)
    label[catalogued] = types[catalogued]
    return pd.Series(label, dtype=object)


def ztf_classification(
    xmatch_type: pd.Series,
    roid: pd.Series,
    ndethist: pd.Series,
    drb: pd.Series,
    classtar: pd.Series,
    jd: pd.Series,
    jdstarthist: pd.Series,
) -> pd.Series:
    """Fink's classification on this broker's columns: Fink's ML scores are not served (null), no tracklet."""
    none = pd.Series(np.full(len(roid), np.nan))
    empty = pd.Series([""] * len(roid), dtype=object)
    return fink_classification(
        xmatch_type, roid, none, none, none, none, ndethist, drb, classtar, jd, jdstarthist, none, empty
    )


def catalog_type(xmatch_type: pd.Series) -> pd.Series:
    """`cdsxmatch`: the type of the local cross-match under Fink's column name ("Unknown" when none)."""
    return pd.Series(_strings(xmatch_type, UNKNOWN), dtype=object)
