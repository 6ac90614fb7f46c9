"""raw2science for Rubin/LSST on the real alerts: no hard cut by default, Fink's good-quality flag, the LSST
modules (is_sso, is_first, first detection, flux rate, cross-match, light-curve features, anomaly, classification),
deduplication on diaSourceId, exact ids."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from lake_fixture import lsst_raw_frame
from pyspark.sql import SparkSession

from fink_common.datasets import sample_files
from fink_common.errors import ConfigError
from fink_common.lake import write_batch
from fink_common.surveys import DecodeSettings, get_survey
from fink_raw2science.config import load_config
from fink_raw2science.job import duplicates_dropped, start
from fink_raw2science.quality import LSST_FLAGS
from fink_raw2science.science import ScienceError, resolve_modules
from fink_raw2science.science.rubin import flux_rate, flux_to_mag

DECODE = get_survey("lsst").decoder(DecodeSettings(survey="lsst", schema_name="lsst_11.0"))


def _values() -> list[bytes]:
    # the same 14 real alerts under schemas 10.0 and 11.0 (duplicates by diaSourceId), and the 9.0 one
    names = ("lsst_wire_10.0", "lsst_wire_11.0", "lsst_wire_9.0")
    return [p.read_bytes() for name in names for p in sample_files(name)]


def _distinct_rows() -> dict[int, dict[str, Any]]:
    return {row["diaSourceId"]: row for row in map(DECODE, _values())}


def _good_quality(source: dict[str, Any]) -> bool:
    """Fink's b_good_quality, worked out from the decoded alert in plain Python."""
    flux, err = source["psfFlux"], source["psfFluxErr"]
    if any(source[name] is None or source[name] for name in LSST_FLAGS):
        return False
    return flux is not None and not math.isnan(flux) and flux >= 0 and bool(err) and flux / err >= 6


def _rate(row: dict[str, Any]) -> float:
    """The flux rate of one alert by a plain loop: the latest earlier same-band detection with a positive flux."""
    now = row["diaSource"]
    if not now["psfFlux"] or now["psfFlux"] <= 0:
        return math.nan
    earlier = [
        p for p in row["prvDiaSources"] or []
        if p["band"] == now["band"] and p["psfFlux"] is not None and p["psfFlux"] > 0
        and p["midpointMjdTai"] <= now["midpointMjdTai"] - 1e-5
    ]  # fmt: skip
    if not earlier:
        return math.nan
    prev = max(enumerate(earlier), key=lambda e: (e[1]["midpointMjdTai"], e[0]))[1]
    mag = lambda f: -2.5 * math.log10(f) + 31.4  # noqa: E731
    return (mag(now["psfFlux"]) - mag(prev["psfFlux"])) / (now["midpointMjdTai"] - prev["midpointMjdTai"])


def test_flux_to_mag_and_rate_by_hand() -> None:
    mag, err = flux_to_mag(np.array([3631e9, 1.0, 0.0, -5.0]), np.array([0.0, 0.1, 1.0, 1.0]))
    assert mag[0] == pytest.approx(0.0, abs=1e-3) and mag[1] == pytest.approx(31.4)
    assert np.isnan(mag[2:]).all() and err[1] == pytest.approx(2.5 / math.log(10) * 0.1)
    # g at t=0 (100 nJy), r at t=1, g at t=2 (1000 nJy): the g alert compares with t=0, 2.5 mag brighter in 2 days
    frame = flux_rate(
        pd.Series([np.array([0.0, 1.0, 2.0]), np.array([5.0])]),
        pd.Series([np.array(["g", "r", "g"], dtype=object), np.array(["i"], dtype=object)]),
        pd.Series([np.array([100.0, 50.0, 1000.0]), np.array([10.0])]),
        pd.Series([np.array([10.0, 5.0, 10.0]), np.array([1.0])]),
    )
    assert frame["mag_rate"][0] == pytest.approx(-1.25) and frame["delta_time"][0] == pytest.approx(2.0)
    sigma = math.hypot(2.5 / math.log(10) * 0.1, 2.5 / math.log(10) * 0.01) / 2
    assert frame["sigma_rate"][0] == pytest.approx(sigma)
    assert frame["rate_significance"][0] == pytest.approx(1.25 / sigma)
    assert frame.iloc[1].isna().all()  # a single point: no rate


def test_modules_say_which_survey_they_serve() -> None:
    names = [m.name for m in resolve_modules(survey="lsst")]
    assert names == [
        "is_sso", "is_first", "first_detection", "flux_rate", "xmatch",
        "lc_features_dia", "lc_features_forced", "anomaly", "classification",
    ]  # fmt: skip
    assert all(m.surveys == ("lsst",) for m in resolve_modules(survey="lsst"))
    with pytest.raises(ScienceError, match="'roid' is not a built-in"):
        resolve_modules(["roid"], survey="lsst")  # a ZTF built-in is not an LSST one
    with pytest.raises(ScienceError, match="serves ztf, not lsst"):  # a ZTF module loaded as a plug-in
        resolve_modules(["fink_raw2science.science.registry:_roid"], survey="lsst")
    with pytest.raises(ConfigError, match="FINK_QUALITY_CUT"):
        load_config({"FINK_SURVEY": "lsst", "FINK_QUALITY_CUT": "fink"})


def _run(spark: SparkSession, lake: Path, **extra: str) -> tuple[dict[str, int], int]:
    env = {"FINK_SURVEY": "lsst", "FINK_DATA_DIR": str(lake), "FINK_AVAILABLE_NOW": "true", **extra}
    query, sink = start(load_config(env), spark)
    query.awaitTermination(timeout=600)
    assert query.exception() is None
    return sink.totals, duplicates_dropped(query)


def test_real_lsst_alerts_through_raw2science(spark: SparkSession, tmp_path: Path) -> None:
    write_batch(lsst_raw_frame(spark, _values()), tmp_path / "lake" / "raw", 0)
    expected = _distinct_rows()
    totals, dups = _run(spark, tmp_path / "lake")
    assert dups == len(_values()) - len(expected) == 14  # the 10.0 and 11.0 copies of one alert are one alert
    assert totals == {"alerts": 15, "science": 15, "rejected": 0, "module_failures": 0}  # no hard cut

    science = {r["diaSourceId"]: r.asDict(recursive=True) for r in spark.read.parquet(str(tmp_path / "lake" / "science")).collect()}
    assert set(science) == set(expected)  # ids exact (several above 2^53)
    for ident, row in science.items():
        alert = expected[ident]
        assert row["good_quality"] == _good_quality(alert["diaSource"]), ident
        assert (row["quality_issues"] is None) == row["good_quality"]
        assert row["is_sso"] == (alert["ssSource"] is not None)
        assert row["is_first"] == (None if alert["diaObject"] is None else alert["diaObject"]["nDiaSources"] == 1)
        times = [p["midpointMjdTai"] for p in alert["prvDiaSources"] or []] + [alert["diaSource"]["midpointMjdTai"]]
        assert row["firstDiaSourceMjdTaiFink"] == pytest.approx(min(times), abs=1e-9)
        rate = _rate(alert)
        assert (row["mag_rate"] is None) == math.isnan(rate), ident  # NaN is stored as null
        if not math.isnan(rate):
            assert row["mag_rate"] == pytest.approx(rate, rel=1e-9)
        assert row["xmatch_type"] is not None and row["raw2science_version"]
        assert row["diaObjectId"] == alert["diaObjectId"] and row["ssObjectId"] == alert["ssObjectId"]
    assert sum(r["is_sso"] for r in science.values()) == 9
    assert sum(r["mag_rate"] is not None for r in science.values()) >= 3  # the histories with earlier detections


def test_the_good_quality_cut_when_asked(spark: SparkSession, tmp_path: Path) -> None:
    write_batch(lsst_raw_frame(spark, _values()), tmp_path / "lake" / "raw", 0)
    expected = _distinct_rows()
    good = sum(_good_quality(a["diaSource"]) for a in expected.values())
    totals, _ = _run(spark, tmp_path / "lake", FINK_QUALITY_CUT="good_quality")
    assert totals["science"] == good and totals["rejected"] == len(expected) - good
    if totals["rejected"]:
        reasons = [r.cut_reason for r in spark.read.parquet(str(tmp_path / "lake" / "rejected")).collect()]
        assert all(r.startswith("not good quality: ") for r in reasons)
