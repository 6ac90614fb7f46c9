"""Fink's definitions on the hand-worked cases of docs/fink-compat/fink-definitions.md: reference points,
rates worked out by hand and by a seeded Monte-Carlo of Fink's model, classification, is_transient and its
sub-flags, SQL null logic, the extragalactic host list. The real-alert comparisons are in
test_fink_definitions.py, whose per-alert references (`ref_flags`, `same`) these cases reuse.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from test_fink_definitions import ref_flags, same

from fink_common.taxonomy import EG_HOSTS
from fink_raw2science.science.fink_classification import fink_classification
from fink_raw2science.science.lightcurve import input_frame_from_records
from fink_raw2science.science.rates import magnitude_rate
from fink_raw2science.science.transient import FLAGS, INPUTS, is_transient, transient_flags

NAN = math.nan
STATS = ("mag_rate", "sigma_rate", "lower_rate", "upper_rate")
LAM = 0.4 * math.log(10.0)
Z95 = float(norm.ppf(0.95))


def rates(
    cfid: list[int], cmag: list[float], cjd: list[float], jdstarthist: float = 0.5, sigma: float = 0.1
) -> pd.DataFrame:
    n = len(cfid)
    sig = [sigma] * n
    lim = [20.0] * n
    series = [pd.Series([np.array(v, dtype=float)]) for v in (cjd, cfid, cmag, sig, lim)]
    return magnitude_rate(*series, pd.Series([jdstarthist]))


@pytest.mark.parametrize(
    ("cfid", "cmag", "cjd", "last_jd", "first", "upper"),
    [
        ([1, 2, 1], [18, NAN, 17.5], [1, 2, 3], 1.0, 1.0, False),  # same-band detection
        ([1, 1], [NAN, 17.5], [1, 3], 1.0, 3.0, True),  # same-band upper limit
        ([1, 3, 1], [18, 18, 17.5], [1, 2, 3], NAN, 1.0, False),  # a more recent i-band point blocks
        ([2, 2, 1], [18, NAN, 17.5], [1, 2, 3], NAN, 1.0, False),  # other band only: first det in any band
        ([1], [17.5], [3], NAN, 3.0, False),  # no history
        ([1, 1, 1], [NAN, 18, 17.5], [1, 2, 3], 2.0, 2.0, False),  # the first point is an upper limit
    ],
)
def test_reference_point_cases(
    cfid: list[int], cmag: list[float], cjd: list[float], last_jd: float, first: float, upper: bool
) -> None:
    out = rates(cfid, cmag, cjd)
    assert out["jd_first_real_det"][0] == first and out["jdstarthist_dt"][0] == first - 0.5
    assert same(out["delta_time"][0], cjd[-1] - last_jd)
    assert bool(out["from_upper"][0]) is upper
    assert bool(out["mag_rate"].isna()[0]) is math.isnan(last_jd)


def test_rate_from_a_detection_by_hand() -> None:
    out = rates([1, 2, 1], [18, NAN, 17.5], [1, 2, 3])  # 18.0 +/- 0.1 at jd 1, then 17.5 +/- 0.1 at jd 3
    # (17.5 - 18) / 2; hypot(0.1, 0.1) / 2 = 0.0707107; -/+ 1.6449 of it: -0.366309, -0.133691
    assert out["mag_rate"][0] == pytest.approx(-0.25)  # Fink's Monte-Carlo: -0.229..-0.250 by batch
    assert out["sigma_rate"][0] == pytest.approx(0.0707107, abs=1e-7)
    assert out["lower_rate"][0] == pytest.approx(-0.366309, abs=1e-6)
    assert out["upper_rate"][0] == pytest.approx(-0.133691, abs=1e-6)


def test_rate_from_an_upper_limit_by_hand() -> None:
    # limit 20.0 at jd 1, then 17.5 with no error at jd 3: the rate is (17.5 - 20 - X) / 2, X exponential of
    # rate 0.4 ln 10 = 0.921034: mean 2.5 / ln 10 = 1.085736 = its std; quantiles -ln(1 - q) / 0.921034
    out = rates([1, 1], [NAN, 17.5], [1, 3], sigma=0.0)
    assert out["mag_rate"][0] == pytest.approx((-2.5 - 1.085736) / 2, abs=1e-6)  # -1.792868
    assert out["sigma_rate"][0] == pytest.approx(1.085736 / 2, abs=1e-6)  # 0.542868
    assert out["lower_rate"][0] == pytest.approx((-2.5 - 3.252575) / 2, abs=1e-6)  # X's 95th: 2.995732 / 0.921034
    assert out["upper_rate"][0] == pytest.approx((-2.5 - 0.055691) / 2, abs=1e-6)  # X's 5th: 0.051293 / 0.921034
    assert bool(out["from_upper"][0]) and out["delta_time"][0] == 2.0


def test_rate_from_a_detection_matches_a_seeded_monte_carlo_of_finks_model() -> None:
    out = rates([1, 2, 1], [18, NAN, 17.5], [1, 2, 3])
    rng = np.random.default_rng(2023)
    flux = lambda m: 10 ** (0.4 * (27.5 - m))  # noqa: E731
    now = rng.normal(flux(17.5), 0.1 * flux(17.5) * math.log(10) / 2.5, 400_000)
    before = rng.normal(flux(18.0), 0.1 * flux(18.0) * math.log(10) / 2.5, 400_000)
    sample = -2.5 * np.log10(now / before) / 2.0  # Fink's per-sample rate, without its batch-wide shift
    assert out["mag_rate"][0] == pytest.approx(sample.mean(), abs=0.002)
    assert out["sigma_rate"][0] == pytest.approx(sample.std(), rel=0.03)
    assert out["lower_rate"][0] == pytest.approx(np.percentile(sample, 5), abs=0.005)
    assert out["upper_rate"][0] == pytest.approx(np.percentile(sample, 95), abs=0.005)


def test_rate_from_an_upper_limit_matches_a_seeded_monte_carlo_of_finks_model() -> None:
    out = rates([1, 1], [NAN, 17.5], [1, 3])  # limit 20.0, current 17.5 +/- 0.1, dt 2
    assert out["mag_rate"][0] == pytest.approx((17.5 - 20.0 - 2.5 / math.log(10)) / 2)
    rng = np.random.default_rng(2023)
    flux = lambda m: 10 ** (0.4 * (27.5 - m))  # noqa: E731
    now = rng.normal(flux(17.5), 0.1 * flux(17.5) * math.log(10) / 2.5, 400_000)
    before = rng.uniform(0, flux(20.0), 400_000)
    sample = -2.5 * np.log10(now / before) / 2.0
    assert out["mag_rate"][0] == pytest.approx(sample.mean(), abs=0.01)
    assert out["sigma_rate"][0] == pytest.approx(sample.std(), rel=0.01)
    assert out["lower_rate"][0] == pytest.approx(np.percentile(sample, 5), abs=0.01)
    assert out["upper_rate"][0] == pytest.approx(np.percentile(sample, 95), abs=0.01)


def test_rates_do_not_depend_on_the_batch() -> None:
    alone = rates([1, 2, 1], [18, NAN, 17.5], [1, 2, 3])
    cjd = pd.Series([np.array([1.0, 2, 3]), np.array([1.0, 1.5])])
    cfid = pd.Series([np.array([1.0, 2, 1]), np.array([2.0, 2])])
    cmag = pd.Series([np.array([18, NAN, 17.5]), np.array([21.0, 14.0])])
    sig = pd.Series([np.array([0.1] * 3), np.array([0.5, 0.01])])
    lim = pd.Series([np.array([20.0] * 3), np.array([21.0, 21.0])])
    both = magnitude_rate(cjd, cfid, cmag, sig, lim, pd.Series([0.5, 1.0]))
    pd.testing.assert_frame_equal(both.iloc[[0]].reset_index(drop=True), alone)


BASE = {"cdsxmatch": "Unknown", "roid": 0, "mulens": 0.0, "snn_snia_vs_nonia": 0.0, "snn_sn_vs_all": 0.0,
        "rf_snia_vs_nonia": 0.0, "ndethist": 5, "drb": 0.9, "classtar": 0.9, "jd": 2.0, "jdstarthist": 0.0,
        "rf_kn_vs_nonkn": 0.0, "tracklet": ""}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "label"),
    [
        ({}, "Unknown"),
        ({"mulens": 0.5}, "Microlensing candidate"),
        ({"snn_sn_vs_all": 0.6}, "SN candidate"),
        ({"snn_sn_vs_all": 0.6, "rf_snia_vs_nonia": 0.6}, "Early SN Ia candidate"),
        ({"rf_kn_vs_nonkn": 0.6}, "Kilonova candidate"),
        ({"rf_kn_vs_nonkn": 0.6, "snn_sn_vs_all": 0.6}, "Kilonova candidate"),
        ({"roid": 2}, "Solar System candidate"),
        ({"roid": 3}, "Solar System MPC"),
        ({"tracklet": "TRCK_20200101_000000_00"}, "Tracklet"),
        ({"tracklet": "TRCK_1", "roid": 2}, "Tracklet"),
        ({"mulens": 0.5, "snn_sn_vs_all": 0.6}, "Ambiguous"),
        ({"mulens": 0.5, "roid": 3}, "Ambiguous"),
        ({"cdsxmatch": "RRLyrae", "mulens": 0.5, "snn_sn_vs_all": 0.6}, "RRLyrae"),
        ({"cdsxmatch": "Galaxy", "snn_sn_vs_all": 0.6}, "SN candidate"),
        ({"cdsxmatch": "EmG", "snn_sn_vs_all": 0.6}, "EmG"),
        ({"cdsxmatch": "galaxy"}, "galaxy"),
        ({"cdsxmatch": "SN", "snn_sn_vs_all": 0.6}, "SN"),
        ({"cdsxmatch": "Fail 500", "snn_sn_vs_all": 0.6}, "Unknown"),
        ({"cdsxmatch": "Transient"}, "Unknown"),
        ({"snn_sn_vs_all": 0.6, "ndethist": 1}, "Unknown"),
        ({"snn_sn_vs_all": 0.6, "rf_snia_vs_nonia": 0.6, "ndethist": 1}, "Early SN Ia candidate"),
        ({"snn_sn_vs_all": 0.6, "roid": 3}, "Solar System MPC"),
        ({"snn_sn_vs_all": 0.6, "rf_snia_vs_nonia": 0.6, "roid": 3}, "Solar System MPC"),
        ({"mulens": NAN}, "Unknown"),
        ({"snn_sn_vs_all": 0.6, "jd": 95.0}, "Unknown"),
    ],
)
def test_fink_classification_cases(change: dict[str, Any], label: str) -> None:
    row = {**BASE, **change}
    args = [pd.Series([row[k]]) for k in BASE]
    assert fink_classification(*args).tolist() == [label]


def mini(**change: Any) -> dict[str, Any]:
    cand = {"magpsf": 18.5, "isdiffpos": "t", "rb": 0.9, "drb": 0.99, "distpsnr1": 5.0, "distpsnr2": 5.0,
            "distpsnr3": 5.0, "sgscore1": 0.5, "sgscore2": 0.5, "sgscore3": 0.5, "neargaia": -999.0,
            "maggaia": -999.0, "neargaiabright": -999.0, "maggaiabright": -999.0, "ndethist": 2, "jd": 10.0,
            "jdstarthist": 9.0, "fid": 1, "magnr": -999.0, "distnr": -999.0, "srmag1": 20.0, "srmag2": 20.0,
            "srmag3": 20.0, "sgmag1": 20.0, "simag1": 20.0, "szmag1": 20.0}  # fmt: skip
    prv: list[dict[str, Any]] | None = [{"jd": 9.0, "fid": 1, "magpsf": 18.7, "isdiffpos": "t"}]
    for key, value in change.items():
        if key == "prv":
            prv = value
        else:
            cand[key] = value
    return {"candidate": cand, "prv_candidates": prv}


@pytest.mark.parametrize(
    ("alert", "expected"),
    [
        (mini(), True),
        (mini(prv=None), False),  # not stationary
        (mini(drb=None), None),  # real is null
        (mini(prv=[{"jd": 9.9, "fid": 1, "magpsf": 19.2, "isdiffpos": "t"}]), False),  # faint
        (mini(isdiffpos="f", prv=[{"jd": 9.9, "fid": 1, "magpsf": 19.2, "isdiffpos": "t"}]), False),  # negative
        (mini(prv=[{"jd": 9.0, "fid": 1, "magpsf": 18.7, "isdiffpos": "t"},
                   {"jd": 9.9, "fid": 1, "magpsf": 19.2, "isdiffpos": "f"}]), False),  # faint from the current isdiffpos
        (mini(prv=[{"jd": 9.0, "fid": 1, "magpsf": None, "isdiffpos": "t"}]), False),  # an upper limit only
        (mini(prv=[{"jd": 9.99, "fid": 1, "magpsf": 18.7, "isdiffpos": "t"}]), False),  # within 0.02 d
    ],
)  # fmt: skip
def test_is_transient_mini_cases(alert: dict[str, Any], expected: bool | None) -> None:
    frame = input_frame_from_records([alert], INPUTS)
    flags = transient_flags(*(frame[p] for p in INPUTS))
    got = is_transient(*(flags[name] for name in FLAGS), pd.Series([0]))
    _, want = ref_flags(alert, 0)
    assert want is expected and got[0] is expected


@pytest.mark.parametrize(
    ("alert", "flags"),
    [
        (mini(), {"faint": False, "positivesubtraction": True, "real": True, "stationary": True}),
        (mini(prv=None), {"faint": False, "stationary": False}),
        (mini(drb=None), {"real": None, "pointunderneath": False, "brightstar": False}),
        (mini(prv=[{"jd": 9.9, "fid": 1, "magpsf": 19.2, "isdiffpos": "t"}]), {"faint": True, "stationary": True}),
        (mini(isdiffpos="f", prv=[{"jd": 9.9, "fid": 1, "magpsf": 19.2, "isdiffpos": "t"}]),
         {"faint": False, "positivesubtraction": False}),
        (mini(prv=[{"jd": 9.9, "fid": 1, "magpsf": 19.2, "isdiffpos": "f"}]), {"faint": True, "stationary": False}),
        (mini(prv=[{"jd": 9.0, "fid": 1, "magpsf": None, "isdiffpos": "t"}]), {"faint": False, "stationary": False}),
        (mini(prv=[{"jd": 9.99, "fid": 1, "magpsf": 18.7, "isdiffpos": "t"}]), {"stationary": False}),
        (mini(magpsf=19.8), {"faint": True}),
        (mini(ndethist=201), {"variablesource": True}),
        (mini(sgscore1=0.8, distpsnr1=2.0), {"pointunderneath": True}),
        (mini(sgscore1=0.95, distpsnr1=15.0, srmag1=13.0), {"brightstar": True, "pointunderneath": False}),
        (mini(distpsnr1=-999.0, sgscore1=0.95, srmag1=13.0), {"brightstar": False}),  # -999 reads as 99"
        (mini(rb=0.2), {"real": False}),
    ],
)  # fmt: skip
def test_is_transient_sub_flags_cases(alert: dict[str, Any], flags: dict[str, bool | None]) -> None:
    frame = input_frame_from_records([alert], INPUTS)
    got = transient_flags(*(frame[p] for p in INPUTS))
    want, _ = ref_flags(alert, 0)
    assert {k: got[k][0] for k in flags} == flags and {k: want[k] for k in flags} == flags


def test_sql_null_logic_of_is_transient() -> None:
    t, f, n = True, False, None
    rows = [
        # faint, positive, real, under, bright, variable, stationary, roid -> result
        ((f, t, t, f, f, f, t, 0), t),
        ((f, t, n, f, f, f, t, 0), n),  # a null term, no false one
        ((f, t, n, f, f, f, f, 0), f),  # a false term wins over the null
        ((n, t, t, f, f, f, t, 0), n),  # NOT null is null
        ((t, t, n, f, f, f, t, 0), f),
        ((f, t, t, f, f, f, t, 2), f),
        ((f, t, t, f, f, f, t, None), n),  # a null roid: roid == 0 is null
    ]
    cols = [pd.Series([r[0][k] for r in rows], dtype=object) for k in range(8)]
    assert is_transient(*cols).tolist() == [r[1] for r in rows]


#: fink-definitions.md §3.2, transcribed separately from the module's constant.
EG_34 = (
    "Unknown Candidate_SN* SN Transient Fail SN*_Candidate galaxy Galaxy EmG Seyfert Seyfert_1 Seyfert_2 "
    "BlueCompG StarburstG LSB_G HII_G High_z_G GinPair GinGroup BClG GinCl PartofG Compact_Gr_G IG PairG "
    "GroupG ClG SuperClG Void LINER Possible_ClG Possible_SClG GravLens_Candidate"
).split() + ["Fail 504"]


def test_finks_extragalactic_host_list() -> None:
    assert len(EG_34) == 34 and EG_HOSTS == frozenset(EG_34) and "Fail 500" not in EG_HOSTS

