"""Unit tests of the history arrays, nalerthist, roid and the magnitude rate on hand-made batches."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fink_raw2science.science.asteroids import roid
from fink_raw2science.science.errors import ScienceError
from fink_raw2science.science.lightcurve import Ragged, input_frame, input_frame_from_records, nalerthist
from fink_raw2science.science.rates import magnitude_rate

NAN = float("nan")


def arrays(*rows: list[float | None] | None) -> pd.Series:
    """A Series of float arrays like Arrow hands them over (None stays None = null array)."""
    return pd.Series([None if r is None else np.array(r, dtype=object).astype(float) for r in rows], dtype=object)


def scalars(*values: float | None) -> pd.Series:
    return pd.Series([NAN if v is None else v for v in values], dtype=float)


# --------------------------------------------------------------------------- history arrays


def test_ragged_flattens_nulls_and_counts_per_row() -> None:
    flat = Ragged.from_series(arrays([1.0, None, 3.0], None, [], [5.0]))
    assert flat.lengths.tolist() == [3, 0, 0, 1]
    assert np.isnan(flat.values[1]) and flat.values[[0, 2, 3]].tolist() == [1.0, 3.0, 5.0]
    assert flat.rows.tolist() == [0, 0, 0, 3]
    assert flat.is_last.tolist() == [False, False, True, True]
    last = flat.last()
    assert last[0] == 3.0 and math.isnan(last[1]) and math.isnan(last[2]) and last[3] == 5.0
    assert math.isnan(flat.last(2)[0])  # the null element is NaN
    assert math.isnan(flat.last(2)[3])  # too short


def test_input_frame_builds_history_then_current_and_handles_null_history() -> None:
    records = [
        {
            "objectId": "A",
            "candid": 1,
            "candidate": {"jd": 3.0, "magpsf": 18.0, "fid": 1, "isdiffpos": "t"},
            "prv_candidates": [
                {"jd": 1.0, "magpsf": None, "fid": 2, "isdiffpos": None},
                {"jd": 2.0, "magpsf": 18.5, "fid": 1, "isdiffpos": "f"},
            ],
        },
        {
            "objectId": "B",
            "candid": 2,
            "candidate": {"jd": 9.0, "magpsf": 17.0, "fid": 2, "isdiffpos": "t"},
            "prv_candidates": None,
        },
    ]
    frame = input_frame_from_records(records, ["cjd", "cmagpsf", "cisdiffpos", "candidate.fid", "objectId"])
    assert frame["cjd"][0].tolist() == [1.0, 2.0, 3.0]
    assert frame["cmagpsf"][0][0] != frame["cmagpsf"][0][0]  # the upper limit is NaN
    assert frame["cmagpsf"][0][1:].tolist() == [18.5, 18.0]
    assert frame["cjd"][1].tolist() == [9.0]  # null history -> just the current point
    assert frame["cisdiffpos"][0].tolist() == [None, "f", "t"]
    assert frame["candidate.fid"].tolist() == [1.0, 2.0]
    assert frame["objectId"].tolist() == ["A", "B"]


def test_input_frame_rejects_unknown_paths_all_at_once() -> None:
    raw = pd.DataFrame({"candidate": [{"jd": 1.0}], "prv_candidates": [None]})
    with pytest.raises(ScienceError) as info:
        input_frame(raw, ["cutoutScience.stampData", "nosuchcolumn", "cjd"])
    message = str(info.value)
    assert "cutoutScience.stampData" in message and "nosuchcolumn" in message and "2 problem" in message


# --------------------------------------------------------------------------- nalerthist


def test_nalerthist_counts_valid_magnitudes_only() -> None:
    result = nalerthist(arrays([None, 18.0, None, 17.5], [None, None, 19.0], [NAN, 18.0], None, [None, None]))
    assert result.tolist() == [2, 1, 1, 0, 0]
    assert str(result.dtype) == "int32"


# --------------------------------------------------------------------------- roid


def run_roid(rows: list[dict[str, object]]) -> list[int]:
    frame = pd.DataFrame(rows)
    return roid(
        arrays(*frame["cjd"]),
        arrays(*frame["cmagpsf"]),
        scalars(*frame["ndethist"]),
        scalars(*frame["sgscore1"]),
        scalars(*frame["ssdistnr"]),
        scalars(*frame["distpsnr1"]),
    ).tolist()


BASE = {"cjd": [10.0], "cmagpsf": [18.0], "ndethist": 3, "sgscore1": 0.9, "ssdistnr": -999.0, "distpsnr1": 20.0}


def case(**changes: object) -> dict[str, object]:
    return {**BASE, **changes}


def test_roid_each_rule_in_order() -> None:
    rows = [
        case(),  # nothing applies -> 0
        case(ndethist=1),  # step 1 -> 1
        case(ndethist=2, sgscore1=0.5, cjd=[10.0, 10.01], cmagpsf=[18.0, 18.1]),  # step 2 -> 2 (2 points, 14 min)
        case(ndethist=1, sgscore1=0.5, distpsnr1=3.0),  # step 3 undoes steps 1 and 2 -> 0
        case(ndethist=2, sgscore1=0.5, cjd=[10.0, 10.05], cmagpsf=[18.0, 18.1]),  # step 4: 72 min apart -> 0
        case(ndethist=2, sgscore1=0.5, cjd=[10.0, 10.01], cmagpsf=[None, 18.1]),  # step 5: 1 valid point -> 0
        case(ndethist=1, ssdistnr=2.0, distpsnr1=20.0),  # step 6 -> 3
        case(ndethist=1, ssdistnr=2.0, distpsnr1=1.0),  # step 6 needs |distpsnr1| > ssdistnr -> step 3 -> 0
        case(ndethist=6, ssdistnr=2.0),  # step 6 needs ndethist <= 5 -> 0
        case(ndethist=1, ssdistnr=5.0),  # ssdistnr must be < 5 -> step 1 -> 1
        case(ndethist=1, ssdistnr=0.0, distpsnr1=-999.0),  # abs(-999) - 0 > 0 and 0 <= 0 -> 3
        case(ndethist=2, sgscore1=0.5, distpsnr1=0.0, cjd=[10.0, 10.01], cmagpsf=[18.0, 18.1]),  # 0 < d fails -> 2
        case(ndethist=2, sgscore1=0.5, distpsnr1=0.0),  # step 5: ndethist 2 but one valid magnitude -> 0
    ]
    assert run_roid(rows) == [0, 1, 2, 0, 0, 0, 3, 0, 0, 1, 3, 2, 0]


def test_roid_upper_limits_count_in_the_time_gap_but_not_in_nalerthist() -> None:
    # Two detections close in time, but an upper limit 2 h later is the last-but-one cjd entry: gap 2 h -> 0.
    far = case(ndethist=2, sgscore1=0.5, cjd=[10.0, 10.001, 10.09], cmagpsf=[18.0, None, 18.1])
    # Same with the limit before both detections: the last two cjd are 1.4 min apart -> stays 2.
    near = case(ndethist=2, sgscore1=0.5, cjd=[9.9, 10.0, 10.001], cmagpsf=[None, 18.0, 18.1])
    assert run_roid([far, near]) == [0, 2]


def test_roid_nan_and_null_inputs_fail_their_conditions() -> None:
    rows = [
        case(ndethist=None, sgscore1=None, ssdistnr=None, distpsnr1=None),
        case(ndethist=1, sgscore1=NAN, distpsnr1=NAN),  # step 1 only
        case(cjd=None, cmagpsf=None, ndethist=1, ssdistnr=1.0, distpsnr1=NAN),  # NaN distance: not 3
    ]
    assert run_roid(rows) == [0, 1, 1]


# --------------------------------------------------------------------------- magnitude rate (Fink's rate family)

EXP_MEAN = 2.5 / math.log(10.0)  # mean (and sd) of the magnitude below a limit, for a flux uniform under it


def rate_frame(*alerts: dict[str, list[float | None]] | None) -> pd.DataFrame:
    names = ("cjd", "cfid", "cmagpsf", "csigmapsf", "cdiffmaglim")
    columns = {n: arrays(*[None if a is None else a[n] for a in alerts]) for n in names}
    return magnitude_rate(*columns.values(), scalars(*([0.0] * len(alerts))))


def lc(jd: list[float], fid: list[int], mag: list[float | None], sig: list[float | None], lim: list[float]) -> dict:
    return {"cjd": jd, "cfid": fid, "cmagpsf": mag, "csigmapsf": sig, "cdiffmaglim": lim}


def test_rate_against_previous_detection_in_the_same_band() -> None:
    # g at t=0 (18.0), r at t=1 (17.0, skipped: other band), current g at t=2 (17.0): -0.5 mag/day.
    out = rate_frame(lc([0.0, 1.0, 2.0], [1, 2, 1], [18.0, 17.0, 17.0], [0.03, 0.05, 0.04], [20.0, 20.0, 20.0]))
    assert out["mag_rate"][0] == pytest.approx(-0.5)
    assert out["delta_time"][0] == pytest.approx(2.0)
    assert out["sigma_rate"][0] == pytest.approx(0.05 / 2.0)  # hypot(0.03, 0.04) = 0.05
    assert not bool(out["from_upper"][0])
    assert out["jd_first_real_det"][0] == 0.0


def test_rate_from_an_upper_limit_is_flagged_and_uses_the_limit() -> None:
    # detection g at t=0, then a g upper limit at t=1 (limit 20.0), current g at t=1.5 (18.0).
    out = rate_frame(lc([0.0, 1.0, 1.5], [1, 1, 1], [19.0, None, 18.0], [0.1, None, 0.08], [20.5, 20.0, 20.5]))
    assert out["mag_rate"][0] == pytest.approx((18.0 - 20.0 - EXP_MEAN) / 0.5)
    assert out["sigma_rate"][0] == pytest.approx(math.hypot(0.08, EXP_MEAN) / 0.5)
    assert out["lower_rate"][0] < out["mag_rate"][0] < out["upper_rate"][0]
    assert bool(out["from_upper"][0]) is True


def test_rate_nan_without_reference_or_current_magnitude() -> None:
    out = rate_frame(
        lc([5.0], [1], [18.0], [0.1], [20.0]),  # one point
        None,  # no arrays at all
        lc([1.0, 2.0], [2, 1], [18.0, 18.5], [0.1, 0.1], [20.0, 20.0]),  # other band only
        lc([1.0, 2.0], [1, 1], [None, None], [None, None], [20.0, 20.1]),  # all upper limits (current too)
        lc([1.0, 2.0], [1, 1], [18.0, 18.2], [0.1, 0.1], [20.0, 20.0]),  # a valid one, to be sure rows stay aligned
    )
    assert out["mag_rate"].isna().tolist() == [True, True, True, True, False]
    assert out["mag_rate"][4] == pytest.approx(0.2)
    assert out["from_upper"].astype(bool).tolist() == [False, False, False, True, False]  # a limit as reference
    assert out["delta_time"].isna().tolist() == [True, True, True, False, False]


def test_the_reference_is_the_latest_same_band_entry_in_array_order() -> None:
    out = rate_frame(
        # a copy of the current point at the same jd is the reference: delta_time 0, no rate
        lc([1.0, 3.0, 3.0], [2, 2, 2], [18.0, 17.0, 17.2], [0.1, 0.1, 0.1], [20.0, 20.0, 20.0]),
        # the limit comes after the detection in the array: the limit is the reference
        lc([2.0, 2.0, 4.0], [1, 1, 1], [19.0, None, 18.0], [0.1, None, 0.1], [20.0, 19.5, 20.0]),
        # an i-band entry more recent than the g one stops the search
        lc([1.0, 2.0, 4.0], [1, 3, 1], [19.0, 18.0, 18.0], [0.1, 0.1, 0.1], [20.0, 20.0, 20.0]),
    )
    assert out["delta_time"][0] == 0.0 and math.isnan(out["mag_rate"][0])
    assert bool(out["from_upper"][1]) and out["mag_rate"][1] == pytest.approx((18.0 - 19.5 - EXP_MEAN) / 2.0)
    assert math.isnan(out["mag_rate"][2]) and math.isnan(out["delta_time"][2])


def test_rate_is_deterministic() -> None:
    alert = lc([0.0, 0.7, 1.9], [1, 1, 1], [18.3, None, 17.7], [0.05, None, 0.06], [20.0, 19.0, 20.0])
    first, second = rate_frame(alert, alert), rate_frame(alert, alert)
    pd.testing.assert_frame_equal(first, second)
    assert first["mag_rate"][0] == first["mag_rate"][1]
