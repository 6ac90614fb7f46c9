"""Fink's definitions (rate family, is_transient, classification) on every real ZTF alert, against plain
per-alert references written here from the published definitions (docs/fink-compat/fink-definitions.md),
and on the hand-worked cases of those notes. The references share no code with the modules.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import expon, exponnorm, norm
from test_science_golden import SETS, is_number, read

from fink_common.taxonomy import EG_HOSTS
from fink_raw2science.science import resolve_modules, run_modules
from fink_raw2science.science.fink_classification import fink_classification
from fink_raw2science.science.lightcurve import input_frame_from_records
from fink_raw2science.science.rates import magnitude_rate
from fink_raw2science.science.transient import FLAGS, INPUTS, is_transient, transient_flags

NAN = math.nan
RATE_DETERMINISTIC = ("jd_first_real_det", "jdstarthist_dt", "delta_time")
STATS = ("mag_rate", "sigma_rate", "lower_rate", "upper_rate")
LAM = 0.4 * math.log(10.0)
Z95 = float(norm.ppf(0.95))


# --------------------------------------------------------------------------- references, one alert at a time


def ref_rate(record: dict[str, Any]) -> dict[str, Any]:
    """Fink's get_last_alert + our closed-form statistics, by a loop over the record."""
    cand = record["candidate"]
    pts = list(record["prv_candidates"] or []) + [cand]
    first = next((p["jd"] for p in pts if is_number(p["magpsf"])), NAN)
    reference = None
    for p in reversed(pts[:-1]):
        if p["fid"] is not None and p["fid"] > 2:
            break
        if p["fid"] == cand["fid"]:
            reference = p
            break
    out: dict[str, Any] = dict.fromkeys(STATS, NAN)
    out["jd_first_real_det"] = first
    out["jdstarthist_dt"] = first - cand["jdstarthist"] if is_number(cand["jdstarthist"]) else NAN
    out["delta_time"] = cand["jd"] - reference["jd"] if reference else NAN
    out["from_upper"] = bool(reference) and not is_number(reference["magpsf"]) and is_number(reference["diffmaglim"])
    if reference is None or not is_number(cand["magpsf"]) or out["delta_time"] == 0:
        return out
    dt = out["delta_time"]  # negative when the history holds a later point (simulated data): still the slope
    if is_number(reference["magpsf"]):
        mean = (cand["magpsf"] - reference["magpsf"]) / dt
        sd = math.sqrt(cand["sigmapsf"] ** 2 + reference["sigmapsf"] ** 2) / abs(dt)
        out.update(mag_rate=mean, sigma_rate=sd, lower_rate=mean - Z95 * sd, upper_rate=mean + Z95 * sd)
    elif out["from_upper"]:
        # rate * dt = offset + e - X = offset - Y, Y = X + e' (e' = -e, the same normal law): scipy's EMG
        offset = cand["magpsf"] - reference["diffmaglim"]
        sigma = cand["sigmapsf"]
        law = exponnorm(1.0 / (sigma * LAM), scale=sigma) if sigma > 0 else expon(scale=1.0 / LAM)
        ends = sorted([(offset - float(law.ppf(0.95))) / dt, (offset - float(law.ppf(0.05))) / dt])
        out.update(
            mag_rate=(offset - 1 / LAM) / dt,
            sigma_rate=math.sqrt(sigma**2 + 1 / LAM**2) / abs(dt),
            lower_rate=ends[0],
            upper_rate=ends[1],
        )
    return out


def t_and(*xs: bool | None) -> bool | None:
    if any(x is False for x in xs):
        return False
    return None if any(x is None for x in xs) else True


def t_or(*xs: bool | None) -> bool | None:
    if any(x is True for x in xs):
        return True
    return None if any(x is None for x in xs) else False


def t_not(x: bool | None) -> bool | None:
    return None if x is None else not x


def cmp(a: Any, op: str, b: Any) -> bool | None:
    if not is_number(a) or not is_number(b):
        return None
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b}[op]


def ref_flags(record: dict[str, Any], roid: int) -> tuple[dict[str, bool | None], bool | None]:
    """The seven sub-flags and is_transient, by SQL-null logic on plain values (fink-science transient_features)."""
    c = record["candidate"]
    prv = list(record["prv_candidates"] or [])
    pos = {"1", "t", "true"}

    def g(name: str) -> Any:
        return c.get(name)

    def sent(v: Any) -> Any:
        return 99.0 if is_number(v) and v < 0 else v

    def ab(v: Any) -> Any:
        return abs(v) if is_number(v) else None

    m, t = g("magpsf"), g("jd")
    age = t - g("jdstarthist") if is_number(t) and is_number(g("jdstarthist")) else None
    d1, d2, d3, dnr = sent(g("distpsnr1")), sent(g("distpsnr2")), sent(g("distpsnr3")), sent(g("distnr"))
    ps1mag = next((v for v in (g("srmag1"), g("simag1"), g("sgmag1")) if is_number(v) and 0 < v < 30), 99.0)
    ps1maxmag = min(v if is_number(v) and v > 0 else 99.0 for v in (g("srmag1"), g("simag1"), g("sgmag1"), g("szmag1")))
    prevpass = sum(
        1 for p in prv
        if is_number(p["jd"]) and 0.75 < t - p["jd"] < 30 and str(p["isdiffpos"]) in pos
        and is_number(p["magpsf"]) and 0 < p["magpsf"] < 19.8
    )  # fmt: skip
    band = [p["magpsf"] for p in prv if p["fid"] == c["fid"] and is_number(p["magpsf"])]
    peak = min([v for v in [m, *band] if is_number(v)], default=None)
    now_pos = str(g("isdiffpos")) in pos
    faint = t_or(
        cmp(m, ">=", 19.8),
        any(abs(t - p["jd"]) < 0.75 and now_pos and is_number(p["magpsf"]) and p["magpsf"] >= 19 for p in prv),
    )
    rb, drb, sg1 = g("rb"), g("drb"), g("sgscore1")
    old = cmp(age, ">", 90)
    bogus = t_or(
        cmp(rb, "<=", 0.2),
        t_and(cmp(rb, "<", 0.35), cmp(ab(g("neargaia")), "<", 1), cmp(ab(g("maggaia")), "<", 17)),
        t_and(cmp(rb, "<", 0.35), cmp(d1, "<", 1), cmp(sg1, ">", 0.49),
              t_or(cmp(ab(g("srmag1")), "<", 17), cmp(ab(g("simag1")), "<", 17), cmp(ab(g("szmag1")), "<", 16.5))),
        t_and(cmp(rb, "<", 0.45), cmp(ab(g("neargaia")), "<", 1.5), cmp(ab(g("maggaia")), "<", 15.5)),
        t_and(cmp(rb, "<", 0.45), cmp(d1, "<", 1.5), cmp(sg1, ">", 0.49),
              t_or(cmp(ab(g("srmag1")), "<", 15.5), cmp(ab(g("simag1")), "<", 15.5), cmp(ab(g("szmag1")), "<", 15))),
        cmp(drb, "<", 0.8),
        t_and(cmp(drb, "<", 0.9), cmp(d1, "<", 3), ps1mag < 16, old),
        t_and(cmp(drb, "<", 0.9), cmp(d1, "<", 1.1), ps1mag < 18, old),
        t_and(cmp(drb, "<", 0.95), cmp(d1, "<", 1.5), ps1mag < 15.5, old),
        t_and(cmp(drb, "<", 0.95), cmp(d1, "<", 0.8), ps1mag < 17.5, old),
    )  # fmt: skip
    sr1, si1, sz1 = g("srmag1"), g("simag1"), g("szmag1")
    diff_z = sr1 - sz1 if is_number(sr1) and is_number(sz1) else None
    diff_i = sr1 - si1 if is_number(sr1) and is_number(si1) else None
    under = t_or(
        t_and(cmp(sg1, ">", 0.76), cmp(d1, "<", 2.5)),
        t_and(cmp(sg1, ">", 0.2), cmp(d1, "<", 1), cmp(sr1, ">", 0), cmp(sz1, ">", 0), cmp(diff_z, ">", 3)),
        t_and(cmp(sg1, ">", 0.2), cmp(d1, "<", 1), cmp(sr1, ">", 0), cmp(si1, ">", 0), cmp(diff_i, ">", 3)),
    )
    bright = t_or(
        t_and(cmp(ab(g("neargaiabright")), "<", 20), cmp(ab(g("maggaiabright")), "<", 12)),
        *(t_and(cmp(d, "<", 20), cmp(ab(g(f"srmag{i}")), "<", 14), cmp(g(f"sgscore{i}"), ">", 0.9))
          for i, d in ((1, d1), (2, d2), (3, d3))),
        t_and(cmp(d1, "<", 20), cmp(ab(si1), "<", 14), cmp(sg1, ">", 0.9)),
        t_and(cmp(d1, "<", 10), cmp(ab(sz1), "<", 14), cmp(sg1, ">", 0.9)),
    )  # fmt: skip
    thr = 1 if is_number(age) and age > 360 else 2 if is_number(age) and age > 90 else 3
    magnr, ng, mg = g("magnr"), g("neargaia"), g("maggaia")
    variable = t_or(
        t_and(old, cmp(g("ndethist"), ">", 30), prevpass >= thr, cmp(magnr, ">", 0),
              t_not(t_and(cmp(m, "<=", peak), cmp(m, "<", 18.5))),
              t_or(t_and(cmp(dnr, "<", 0.4), cmp(magnr, "<", 19.5)), t_and(cmp(dnr, "<", 0.8), cmp(magnr, "<", 17.5)),
                   t_and(cmp(dnr, "<", 1.2), cmp(magnr, "<", 15.5)))),
        t_and(cmp(mg, ">", 0), cmp(ng, ">", 0),
              t_or(t_and(cmp(ng, "<", 0.35), cmp(mg, "<", 17), cmp(age, ">", 30)),
                   t_and(cmp(ng, "<", 0.35), cmp(mg, "<", 19), cmp(age, ">", 300), cmp(m, ">", 18.5)),
                   t_and(cmp(ng, "<", 0.2), cmp(mg, "<", 18), old))),
        t_and(cmp(sg1, ">", 0.25), cmp(d1, "<", 3), old, ps1maxmag < 16),
        t_and(cmp(sg1, "==", 0.5), cmp(d1, "<", 0.5), old, ps1maxmag < 17),
        t_and(cmp(magnr, ">", 0), cmp(magnr, "<", m - 1 if is_number(m) else None), old, cmp(dnr, "<", 0.5),
              cmp(m, ">", peak)),
        cmp(g("ndethist"), ">", 200),
    )  # fmt: skip
    stationary = any(
        abs(t - p["jd"]) > 0.02 and is_number(p["magpsf"]) and p["magpsf"] < 99 and str(p["isdiffpos"]).lower() in pos
        for p in prv
    )
    flags = dict(zip(FLAGS, (faint, now_pos, t_not(bogus), under, bright, variable, stationary), strict=True))
    result = t_and(
        t_not(faint), now_pos, t_not(bogus), t_not(under), t_not(bright), t_not(variable), stationary, roid == 0
    )
    return flags, result




def ref_class(xtype: str, roid: int) -> str:
    """Fink's classification with no ML scores and no tracklet: only SSO flags and the catalog type remain."""
    label = {2: "Solar System candidate", 3: "Solar System MPC"}.get(roid, "Unknown")
    catalogued = xtype not in {"Unknown", "Transient", "Fail", "Fail 504"} and not xtype.startswith(("Fail", "Galaxy"))
    return xtype if catalogued else label


# --------------------------------------------------------------------------- the real alerts


@pytest.fixture(scope="module", params=sorted(SETS))
def science(request: pytest.FixtureRequest) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    records = read(request.param)
    modules = resolve_modules()
    produced = {c for m in modules for c in m.frame_columns}
    paths = sorted({p for m in modules for p in m.inputs if p not in produced})
    out, failures = run_modules(input_frame_from_records(records, paths), modules)
    assert failures == []
    return records, out


def same(a: Any, b: Any, rel: float = 1e-9) -> bool:
    if not is_number(a) or not is_number(b):
        return not is_number(a) and not is_number(b)
    return a == pytest.approx(b, rel=rel, abs=1e-12)


def test_rate_family_equals_the_reference_on_every_alert(science: tuple[list[dict[str, Any]], pd.DataFrame]) -> None:
    records, out = science
    bad = []
    for i, record in enumerate(records):
        want = ref_rate(record)
        for name in (*RATE_DETERMINISTIC, "mag_rate", "sigma_rate"):
            if not same(out[name][i], want[name]):
                bad.append((record["candid"], name, out[name][i], want[name]))
        if bool(out["from_upper"][i]) is not want["from_upper"]:
            bad.append((record["candid"], "from_upper", out["from_upper"][i], want["from_upper"]))
        for name in ("lower_rate", "upper_rate"):  # ours by bisection, the reference by scipy's ppf
            if not same(out[name][i], want[name], rel=1e-7):
                bad.append((record["candid"], name, out[name][i], want[name]))
    assert bad == []
    ok = out["mag_rate"].notna()
    for name in STATS:  # one null pattern for the four
        assert (out[name].notna() == ok).all()
    assert (out["delta_time"].notna() | ~ok).all()
    assert (out["lower_rate"][ok] < out["mag_rate"][ok]).all() and (out["mag_rate"][ok] < out["upper_rate"][ok]).all()


def test_the_sample_exercises_every_kind_of_reference(science: tuple[list[dict[str, Any]], pd.DataFrame]) -> None:
    records, out = science
    upper = out["from_upper"].astype(bool)
    rated = out["mag_rate"].notna()
    if len(records) == SETS["ztf_4.02"]:  # (no alert here lacks a reference: the hand cases cover that)
        assert upper.sum() > 20 and (~upper & rated).sum() > 20
        assert (out["delta_time"] < 0).sum() > 20  # stored histories of these alerts hold later points
    else:  # the 3.3 histories hold upper limits only: every rate comes from one
        assert rated.sum() > 0 and (upper == rated).all()


def test_is_transient_and_its_flags_equal_the_reference_on_every_alert(
    science: tuple[list[dict[str, Any]], pd.DataFrame],
) -> None:
    records, out = science
    bad = []
    seen: Counter[Any] = Counter()
    for i, record in enumerate(records):
        flags, result = ref_flags(record, int(out["roid"][i]))
        for name, want in flags.items():
            if out[f"transient_flags.{name}"][i] is not want:
                bad.append((record["candid"], name, out[f"transient_flags.{name}"][i], want))
        if out["is_transient"][i] is not result:
            bad.append((record["candid"], "is_transient", out["is_transient"][i], result))
        seen[result] += 1
    assert bad == []
    assert seen[False] > 0


def test_classification_is_finks_on_every_alert(science: tuple[list[dict[str, Any]], pd.DataFrame]) -> None:
    records, out = science
    want = [ref_class(str(x), int(r)) for x, r in zip(out["xmatch_type"], out["roid"], strict=True)]
    assert out["classification"].tolist() == want
    assert out["cdsxmatch"].tolist() == out["xmatch_type"].tolist()
    assert out["broker_classification"].notna().all()


# --------------------------------------------------------------------------- hand cases (fink-definitions.md)


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

