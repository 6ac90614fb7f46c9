"""Generated alerts look like a ZTF night: populations, light curves with history, ids, cutouts."""

from __future__ import annotations

import gzip
import io
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import fastavro
import numpy as np
from astropy.io import fits

from fink_datasim.generate import GenerateResult, generate
from fink_datasim.plan import Population
from fink_datasim.survey import jd_of_date, night_date

NIGHT_START = jd_of_date(night_date("20231018"))


def _population(alert: dict[str, Any]) -> str:
    """Classify an alert from its fields only, as a science module would see it."""
    c = alert["candidate"]
    if c["ssnamenr"] not in (None, "null") and 0 <= c["ssdistnr"] < 5:
        return "asteroid"
    if c["rb"] < 0.55 or c["nbad"] > 0:
        return "bogus"
    if c["sgscore1"] > 0.9 and c["distpsnr1"] < 1.0:
        return "variable"
    return "transient"


def test_population_fractions_match_the_documented_targets(small_alerts: list[dict[str, Any]]) -> None:
    counts = Counter(_population(a) for a in small_alerts)
    target = Population().as_dict()
    n = len(small_alerts)
    for kind, fraction in target.items():
        assert abs(counts[kind] / n - fraction) < 0.005, (kind, counts)


def test_asteroids_are_single_detections_near_a_known_object(small_alerts: list[dict[str, Any]]) -> None:
    asteroids = [a for a in small_alerts if _population(a) == "asteroid"]
    assert asteroids
    for alert in asteroids:
        c = alert["candidate"]
        assert alert["prv_candidates"] is None and c["ndethist"] == 1 and c["jdstarthist"] == c["jd"]
        assert 0 <= c["ssdistnr"] < 2.5 and abs(c["distpsnr1"]) > c["ssdistnr"]
        assert c["ssmagnr"] > 0 and c["rb"] >= 0.55 and c["nbad"] == 0
    assert len({a["objectId"] for a in asteroids}) == len(asteroids)


def test_bogus_alerts_fail_the_quality_cuts(small_alerts: list[dict[str, Any]]) -> None:
    bogus = [a["candidate"] for a in small_alerts if _population(a) == "bogus"]
    assert any(c["rb"] < 0.55 for c in bogus) and any(c["nbad"] > 0 for c in bogus)
    good = [a["candidate"] for a in small_alerts if _population(a) != "bogus"]
    assert all(c["rb"] >= 0.55 and c["nbad"] == 0 and c["drb"] > 0.5 for c in good)


def test_variable_stars_sit_on_a_star(small_alerts: list[dict[str, Any]]) -> None:
    stars = [a for a in small_alerts if _population(a) == "variable"]
    assert len(stars) > 0.3 * len(small_alerts)
    assert all(a["candidate"]["distnr"] < 1.0 for a in stars)
    assert {a["candidate"]["isdiffpos"] for a in stars} == {"t", "f"}  # brighter and fainter than the template
    assert np.median([a["candidate"]["ndethist"] for a in stars]) > 20  # known for years


def test_history_has_detections_and_upper_limits_in_g_r_and_some_i(small_alerts: list[dict[str, Any]]) -> None:
    history = [p for a in small_alerts for p in a["prv_candidates"] or []]
    uppers = [p for p in history if p["magpsf"] is None]
    detections = [p for p in history if p["magpsf"] is not None]
    assert uppers and detections
    assert all(p["candid"] is None and p["diffmaglim"] > 15 for p in uppers)
    assert all(p["candid"] is not None and p["sigmapsf"] > 0 for p in detections)
    assert 1.0 < len(uppers) / len(detections) < 3.0  # real ZTF: about 2 upper limits per detection
    bands = Counter(p["fid"] for p in history) + Counter(a["candidate"]["fid"] for a in small_alerts)
    assert bands[1] > 0.3 * bands[2] and bands[2] > 0.3 * bands[1] and 0 < bands[3] < 0.1 * bands.total()
    assert 10 <= np.median([len(a["prv_candidates"] or []) for a in small_alerts]) <= 35


def test_magnitudes_errors_and_times_are_plausible(small_alerts: list[dict[str, Any]]) -> None:
    for alert in small_alerts:
        c = alert["candidate"]
        assert 12.0 < c["magpsf"] < c["diffmaglim"] < 22.0
        assert 0.005 < c["sigmapsf"] < 0.5
        assert NIGHT_START + 3 / 24 <= c["jd"] <= NIGHT_START + 12.5 / 24
        for p in alert["prv_candidates"] or []:
            assert c["jd"] - 30.0 <= p["jd"] < c["jd"]
            assert p["magpsf"] is None or 10.0 < p["magpsf"] < p["diffmaglim"]


def test_history_counters_are_consistent(small_alerts: list[dict[str, Any]]) -> None:
    for alert in small_alerts:
        c = alert["candidate"]
        detected = [p["jd"] for p in alert["prv_candidates"] or [] if p["magpsf"] is not None] + [c["jd"]]
        assert c["ndethist"] >= len(detected)
        assert c["jdstarthist"] <= min(detected) + 1e-9
        assert c["ncovhist"] >= c["ndethist"]
        assert c["jdendhist"] == c["jd"]


def test_transients_rise_and_fade(small_alerts: list[dict[str, Any]]) -> None:
    slopes = []
    for alert in small_alerts:
        if _population(alert) != "transient":
            continue
        c = alert["candidate"]
        same_band = [p for p in alert["prv_candidates"] or [] if p["magpsf"] is not None and p["fid"] == c["fid"]]
        if same_band and c["jd"] - same_band[0]["jd"] > 2:
            slopes.append((c["magpsf"] - same_band[0]["magpsf"]) / (c["jd"] - same_band[0]["jd"]))
    assert sum(s < -0.02 for s in slopes) > 5 and sum(s > 0.01 for s in slopes) > 5  # rising and fading


def test_several_alerts_per_object_with_a_growing_history(small_alerts: list[dict[str, Any]]) -> None:
    by_object: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for alert in small_alerts:
        by_object[alert["objectId"]].append(alert)
    repeated = [alerts for alerts in by_object.values() if len(alerts) > 1]
    assert len(repeated) > 0.1 * len(by_object)
    for alerts in repeated:
        alerts.sort(key=lambda a: a["candidate"]["jd"])
        for earlier, later in zip(alerts, alerts[1:], strict=False):
            assert later["candidate"]["jd"] > earlier["candidate"]["jd"]
            seen = {p["candid"] for p in later["prv_candidates"] or []}
            assert earlier["candid"] in seen  # the earlier alert is now a detection in the history
            assert later["candidate"]["ndethist"] > earlier["candidate"]["ndethist"]
            assert later["candidate"]["field"] == earlier["candidate"]["field"]


def test_ids_look_like_ztf(small_alerts: list[dict[str, Any]]) -> None:
    candids = [a["candid"] for a in small_alerts]
    assert len(set(candids)) == len(candids)
    for alert in small_alerts:
        c = alert["candidate"]
        assert re.fullmatch(r"ZTF\d{2}[a-z]{7}", alert["objectId"])
        assert c["candid"] == alert["candid"] and str(alert["candid"]).startswith(str(c["pid"]))
        assert 245 <= c["field"] <= 900 and 0 <= c["rcid"] <= 63
        assert 0 <= c["ra"] < 360 and -31 <= c["dec"] <= 90
        assert alert["cutoutScience"]["fileName"].startswith(f"candid{alert['candid']}_pid{c['pid']}")


def test_cutouts_are_gzipped_63x63_fits_of_real_size(small_alerts: list[dict[str, Any]]) -> None:
    for alert in small_alerts[:60]:
        for name in ("cutoutScience", "cutoutTemplate", "cutoutDifference"):
            data = alert[name]["stampData"]
            assert 10_000 <= len(data) <= 16_000, (name, len(data))
            with fits.open(io.BytesIO(gzip.decompress(data))) as hdus:
                hdus.verify("exception")
                header = hdus[0].header
                assert header["BITPIX"] == -32 and header["NAXIS1"] == 63 and header["NAXIS2"] == 63
                image = hdus[0].data
                assert image.shape == (63, 63) and np.isfinite(image).all()
                if name == "cutoutDifference" and _population(alert) in ("transient", "asteroid"):
                    assert image[28:35, 28:35].max() > 3 * np.std(image[:15, :15])  # a source at the centre


def test_night_option_moves_every_alert_to_that_night(tmp_path: Path) -> None:
    result: GenerateResult = generate(tmp_path, n=200, seed=3, night="20240229", workers=1)
    start = jd_of_date(night_date("20240229"))
    for name in result.files:
        with open(tmp_path / name, "rb") as fh:
            for alert in fastavro.reader(fh):
                assert start + 3 / 24 <= alert["candidate"]["jd"] <= start + 12.5 / 24
                assert alert["candidate"]["nid"] == int(start - 2457754.5)
                assert alert["objectId"].startswith(("ZTF24", "ZTF23", "ZTF22", "ZTF21", "ZTF20", "ZTF19"))
    assert all(name.startswith("ztf_20240229_") for name in result.files)


def _roid(alert: dict[str, Any]) -> int:
    """Fink's solar-system flag, restated from the reference notes (appendix on roid)."""
    c = alert["candidate"]
    history = alert["prv_candidates"] or []
    cjd = [p["jd"] for p in history] + [c["jd"]]
    nalerthist = sum(p["magpsf"] is not None for p in history) + 1
    roid = 0
    if c["ndethist"] == 1:
        roid = 1
    if c["sgscore1"] < 0.76 and c["ndethist"] <= 2:
        roid = 2
    if 0 < c["distpsnr1"] < 5:
        roid = 0
    if nalerthist == 2 and (cjd[-1] - cjd[-2]) * 24 * 60 > 30:
        roid = 0
    if c["ndethist"] == 2 and nalerthist == 1:
        roid = 0
    if 0 <= c["ssdistnr"] < 5 and abs(c["distpsnr1"]) - c["ssdistnr"] > 0 and c["ndethist"] <= 5 and nalerthist <= 5:
        roid = 3
    return roid


def test_fink_flags_the_asteroids_and_only_them_as_known_solar_system_objects(
    small_alerts: list[dict[str, Any]],
) -> None:
    for alert in small_alerts:
        assert (_roid(alert) == 3) == (_population(alert) == "asteroid")
