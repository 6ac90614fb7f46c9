"""The one-line summary of an alert, ZTF and Rubin/LSST, null fields included."""

from __future__ import annotations

import math

from fink_client.display import (
    LSST_VIEW,
    ZTF_VIEW,
    flux_mag,
    format_mag,
    jd_to_iso,
    mjd_tai_to_iso,
    summary_fields,
    summary_line,
    survey_of,
)


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


# ---------------------------------------------------------------- Rubin/LSST (values worked out by hand)

#: AB 20 is 3631 Jy * 10^(-0.4 * 20) = 3631e9 nJy / 10^8 = 36310 nJy
FLUX_20 = 3631e9 / 10 ** (0.4 * 20)
#: 2^53 + 1: a float holds 2^53 (9007199254740992), so a path through float would print the wrong id
ID_53 = 2**53 + 1
ID_62 = 2**62 + 3


def _lsst(**overrides: object) -> dict:
    alert = {
        "diaSourceId": ID_62,
        "diaObjectId": ID_53,
        "ssObjectId": None,
        # MJD 61000 is 2025-11-21 (40587 + 20413 days: 20089 days to 2025-01-01, then 324 more); TAI 00:00:00
        # is UTC 23:59:23 the day before (TAI - UTC = 37 s)
        "diaSource": {"midpointMjdTai": 61000.0, "band": "g", "psfFlux": FLUX_20, "psfFluxErr": FLUX_20 / 10},
        "classification": "SN candidate",
    }
    return {**alert, **overrides}


def test_lsst_static_alert_line() -> None:
    # mag: -2.5 log10(36310) + 31.4 = 20.00; its error 2.5 / ln 10 * fluxErr / flux = 1.0857 * 0.1 = 0.11
    fields = summary_fields(_lsst(), "fink_first_detections_lsst")
    assert fields == (
        "9007199254740993", "4611686018427387907", "2025-11-20T23:59:23", "20.00±0.11 g", "SN candidate",
        "first_detections",
    )  # fmt: skip
    line = summary_line(_lsst(), "fink_first_detections_lsst")
    assert line.split() == [
        "9007199254740993", "4611686018427387907", "2025-11-20T23:59:23", "20.00±0.11", "g", "SN", "candidate",
        "first_detections",
    ]  # fmt: skip
    assert line.startswith("9007199254740993   ")  # an int64 object column (19 wide), then two spaces


def test_lsst_solar_system_alert_is_its_ss_object() -> None:
    alert = _lsst(diaObjectId=None, ssObjectId=21163624394469969)
    assert summary_fields(alert, "fink_solar_system_lsst")[0] == "21163624394469969"
    both_null = _lsst(diaObjectId=None, ssObjectId=None)
    assert summary_fields(both_null, "fink_solar_system_lsst")[0] == "-"


def test_lsst_magnitudes_and_times() -> None:
    # AB 18.5: 3631e9 / 10^7.4 = 144551 nJy; without an error the magnitude alone
    assert flux_mag(3631e9 / 10 ** (0.4 * 18.5), None, "y") == "18.50 y"
    assert flux_mag(FLUX_20, 0.0, "u") == "20.00±0.00 u"
    assert flux_mag(1.0, None, "r") == "31.40 r"  # 1 nJy is the zero point
    assert flux_mag(-150.0, 20.0, "r") == flux_mag(0.0, 1.0, "r") == "-"  # no magnitude for a flux <= 0
    assert flux_mag(None, 1.0, "r") == flux_mag(math.nan, 1.0, "r") == "-"
    assert flux_mag(FLUX_20, FLUX_20 / 10, None) == flux_mag(FLUX_20, FLUX_20 / 10, " ") == "20.00±0.11"
    # MJD 60000 is 2023-02-25; TAI 12:00:37 is UTC 12:00:00
    assert mjd_tai_to_iso(60000.5 + 37 / 86400) == "2023-02-25T12:00:00"
    assert mjd_tai_to_iso(40587.0) == "1969-12-31T23:59:23"
    assert mjd_tai_to_iso(None) == mjd_tai_to_iso(math.inf) == mjd_tai_to_iso("60000") == "-"


def test_lsst_nulls_print_a_dash() -> None:
    alert = {"diaSourceId": None, "diaObjectId": None, "ssObjectId": None, "diaSource": None}
    assert summary_fields(alert, "fink_uniform_sample_lsst") == ("-", "-", "-", "-", "-", "uniform_sample")
    source = {"midpointMjdTai": math.nan, "band": None, "psfFlux": FLUX_20, "psfFluxErr": None}
    assert summary_fields(_lsst(diaSource=source, classification=None), "fink_x_lsst")[2:5] == ("-", "20.00", "-")


def test_the_survey_comes_from_the_alert_else_from_the_topic() -> None:
    assert survey_of(_lsst(), "fink_anything_ztf") is LSST_VIEW  # the alert's own fields win
    assert survey_of({"candid": 1}, "fink_anything_lsst") is ZTF_VIEW
    assert survey_of({}, "fink_solar_system_lsst") is LSST_VIEW
    assert survey_of({}, "fink_sso_candidates_ztf") is ZTF_VIEW
    assert survey_of({}, "other") is ZTF_VIEW
    # an empty LSST message prints dashes in the LSST layout (19-wide object column), not the ZTF one
    dashes = ["-".ljust(19), "-".rjust(19), "-".ljust(19), "-".ljust(14), "-".ljust(20), "solar_system"]
    assert summary_line({}, "fink_solar_system_lsst") == "  ".join(dashes)
    assert summary_line({}, "fink_sso_candidates_ztf").startswith("-".ljust(12) + "  " + "-".rjust(19))
