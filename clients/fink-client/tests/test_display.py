"""The one-line summary of an alert, null fields included."""

from __future__ import annotations

import math

from fink_client.display import format_mag, jd_to_iso, summary_fields, summary_line


def test_full_alert_line() -> None:
    alert = {
        "objectId": "ZTF18abktckv",
        "candid": 2467323432615015004,
        "candidate": {"jd": 2460234.8420601, "magpsf": 18.5213, "sigmapsf": 0.0712, "fid": 2},
        "classification": "SN candidate",
    }
    fields = summary_fields(alert, "fink_new_transients_ztf")
    assert fields == (
        "ZTF18abktckv",
        "2467323432615015004",
        "2023-10-17T08:12:34",
        "18.52±0.07 r",
        "SN candidate",
        "new_transients",
    )
    assert summary_line(alert, "fink_new_transients_ztf").split() == [
        "ZTF18abktckv", "2467323432615015004", "2023-10-17T08:12:34", "18.52±0.07", "r", "SN", "candidate",
        "new_transients",
    ]  # fmt: skip


def test_nulls_print_a_dash() -> None:
    assert summary_fields({}, "fink_anomalies_ztf") == ("-", "-", "-", "-", "-", "anomalies")
    alert = {"objectId": None, "candid": None, "candidate": None, "classification": None}
    assert summary_fields(alert, "fink_anomalies_ztf") == ("-", "-", "-", "-", "-", "anomalies")
    partial = {"candidate": {"jd": math.nan, "magpsf": 19.0, "sigmapsf": None, "fid": None}, "classification": ""}
    assert summary_fields(partial, "fink_x_ztf")[2:5] == ("-", "19.00", "-")
    line = summary_line({"objectId": "ZTF1", "candidate": {"jd": None}}, "fink_sso_candidates_ztf")
    assert line.split() == ["ZTF1", "-", "-", "-", "-", "sso_candidates"]


def test_mag_and_band() -> None:
    assert format_mag(18.0, 0.1, 1) == "18.00±0.10 g"
    assert format_mag(18.0, 0.1, 3) == "18.00±0.10 i"
    assert format_mag(18.0, None, 2) == "18.00 r"
    assert format_mag(18.0, 0.1, 9) == "18.00±0.10"  # unknown band left out
    assert format_mag(None, 0.1, 1) == "-"
    assert format_mag(math.inf, 0.1, 1) == "-"


def test_jd_to_iso() -> None:
    assert jd_to_iso(2440587.5) == "1970-01-01T00:00:00"
    assert jd_to_iso(2451545.0) == "2000-01-01T12:00:00"
    assert jd_to_iso(None) == jd_to_iso("2451545") == jd_to_iso(True) == "-"


def test_filter_of_topics_with_longer_prefixes() -> None:
    alert = {"objectId": "ZTF1"}
    assert summary_fields(alert, "fink_it_0a1b_fast_risers_ztf", "fink_it_0a1b_")[-1] == "fast_risers"
    assert summary_fields(alert, "other", None)[-1] == "other"
