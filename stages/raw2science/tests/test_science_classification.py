"""Unit tests of the classification rules and their order."""

from __future__ import annotations

import math

import pandas as pd

from fink_raw2science.science.classification import (
    ANOMALY,
    EARLY,
    FAST,
    SSO_CANDIDATE,
    SSO_MPC,
    UNKNOWN,
    Classifier,
)

NAN = math.nan
THRESHOLD = -0.6
# A quiet alert: no SSO flag, no catalog match, no significant rate, a normal score, no star underneath.
QUIET = {
    "roid": 0,
    "xmatch_type": "Unknown",
    "mag_rate": 0.01,
    "sigma_rate": 0.05,
    "nalerthist": 10,
    "anomaly_score": -0.4,
    "sgscore1": 0.1,
    "distpsnr1": 10.0,
}


def classify(*rows: dict[str, object]) -> list[str]:
    frame = pd.DataFrame([{**QUIET, **row} for row in rows])
    return Classifier(THRESHOLD)(*(frame[c] for c in QUIET)).tolist()


def test_each_rule_alone() -> None:
    assert classify(
        {},
        {"roid": 3},
        {"roid": 2},
        {"roid": 1},  # first detection is not a class
        {"xmatch_type": "RRLyr"},
        {"mag_rate": -0.5, "sigma_rate": 0.1},
        {"mag_rate": -0.1, "sigma_rate": 0.02, "nalerthist": 3},
        {"anomaly_score": -0.7},
    ) == [UNKNOWN, SSO_MPC, SSO_CANDIDATE, UNKNOWN, "RRLyr", FAST, EARLY, ANOMALY]


def test_rule_order_first_match_wins() -> None:
    everything = {"xmatch_type": "QSO", "mag_rate": -1.0, "sigma_rate": 0.1, "nalerthist": 3, "anomaly_score": -0.9}
    assert classify(
        {**everything, "roid": 3},
        {**everything, "roid": 2},
        everything,  # catalog beats the transient and anomaly rules
        {**everything, "xmatch_type": "Unknown"},  # fast beats early and anomaly
        {**everything, "xmatch_type": "Unknown", "mag_rate": -0.2, "sigma_rate": 0.05},  # early beats anomaly
    ) == [SSO_MPC, SSO_CANDIDATE, "QSO", FAST, EARLY]


def test_galaxy_and_failed_matches_do_not_classify() -> None:
    assert classify(
        {"xmatch_type": "Galaxy"},
        {"xmatch_type": "GalaxyCluster", "mag_rate": -0.5, "sigma_rate": 0.1},
        {"xmatch_type": "Fail"},
        {"xmatch_type": None},
    ) == [UNKNOWN, FAST, UNKNOWN, UNKNOWN]


def test_transient_rules_need_significance_youth_and_no_star_underneath() -> None:
    assert classify(
        {"mag_rate": -0.5, "sigma_rate": 0.2},  # 2.5 sigma: not significant
        {"mag_rate": -0.5, "sigma_rate": 0.1, "sgscore1": 0.9, "distpsnr1": 0.5},  # a star underneath
        {"mag_rate": -0.5, "sigma_rate": 0.1, "sgscore1": 0.9, "distpsnr1": 3.0},  # the star is 3" away
        {"mag_rate": -0.1, "sigma_rate": 0.02, "nalerthist": 6},  # too many points to be early
        {"mag_rate": -0.1, "sigma_rate": 0.02, "nalerthist": 1},  # a single point is not a light curve
        {"mag_rate": -0.5, "sigma_rate": NAN},  # unknown error: not significant
    ) == [UNKNOWN, UNKNOWN, FAST, UNKNOWN, UNKNOWN, UNKNOWN]


def test_failed_inputs_never_produce_a_label() -> None:
    failed = {
        "roid": -1,
        "xmatch_type": "Fail",
        "mag_rate": NAN,
        "sigma_rate": NAN,
        "nalerthist": -1,
        "anomaly_score": NAN,
        "sgscore1": NAN,
        "distpsnr1": NAN,
    }
    assert classify(failed) == [UNKNOWN]
