"""The LSST classification rules (`lsst_classification`), one hand-built alert per rule and per veto."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from fink_raw2science.science import resolve_modules
from fink_raw2science.science.lsst_anomaly import load_lsst_forest
from fink_raw2science.science.lsst_classification import EARLY_MAX_DAYS, INPUTS, LsstClassifier

NAN = math.nan
THRESHOLD = -0.6
#: (is_sso, xmatch_type, mag_rate, rate_significance, first detection, midpoint, anomaly_score) -> label
CASES: list[tuple[tuple, str]] = [
    ((True, "RRLyr", -1.0, 10.0, 60000.0, 60001.0, -0.9), "Solar System MPC"),  # SSO beats everything
    ((False, "RRLyr", -1.0, 10.0, 60000.0, 60001.0, -0.9), "RRLyr"),  # then the catalog type
    ((False, "Galaxy", -1.0, 10.0, 60000.0, 60001.0, -0.5), "Fast transient candidate"),  # a host is no type
    ((False, "Unknown", -0.3, 3.0, 60000.0, 60100.0, -0.5), "Fast transient candidate"),  # both cuts inclusive
    ((False, "Unknown", -0.3, 2.99, 60000.0, 60010.0, -0.5), "Unknown"),  # not significant: neither fast nor early
    ((None, "Unknown", -1.0, 10.0, 60000.0, 60001.0, -0.5), "Unknown"),  # unknown is_sso: not static
    ((False, "Unknown", -0.1, 4.0, 60000.0, 60000.0 + EARLY_MAX_DAYS, -0.5), "Early transient candidate"),
    ((False, "Unknown", -0.1, 4.0, 60000.0, 60020.5, -0.5), "Unknown"),  # too old to be early
    ((False, "Unknown", 0.1, 4.0, 60000.0, 60002.0, -0.5), "Unknown"),  # fading
    ((False, "Unknown", -0.1, 4.0, 60000.0, 60002.0, -0.7), "Early transient candidate"),  # early beats anomaly
    ((False, "Unknown", NAN, NAN, 60000.0, 60000.0, -0.61), "Anomaly candidate"),
    ((True, "Unknown", NAN, NAN, NAN, 60000.0, NAN), "Solar System MPC"),
    ((False, "Fail", NAN, NAN, 60000.0, 60000.0, NAN), "Unknown"),  # failed modules give no label
    ((False, None, NAN, NAN, NAN, NAN, -0.6), "Unknown"),  # at the threshold: not below it
]


def classify(rows: list[tuple], threshold: float = THRESHOLD) -> list[str]:
    columns = [pd.Series(list(values), dtype=object if i < 2 else float) for i, values in enumerate(zip(*rows, strict=True))]
    return LsstClassifier(threshold)(*columns).tolist()


def test_each_rule_in_priority_order() -> None:
    assert classify([case for case, _ in CASES]) == [label for _, label in CASES]


def test_boolean_is_sso_as_spark_sends_it() -> None:
    # without nulls, Arrow gives a numpy bool column
    columns = [pd.Series([True, False]), pd.Series(["Unknown", "Unknown"]), pd.Series([-1.0, -1.0]),
               pd.Series([5.0, 5.0]), pd.Series([1.0, 1.0]), pd.Series([2.0, 2.0]), pd.Series([NAN, NAN])]  # fmt: skip
    assert LsstClassifier(THRESHOLD)(*columns).tolist() == ["Solar System MPC", "Fast transient candidate"]


def test_registry_module_uses_the_lsst_model_threshold() -> None:
    module = resolve_modules(["classification"], survey="lsst")[0]
    assert module.inputs == INPUTS and module.surveys == ("lsst",)
    assert module.function.anomaly_threshold == pytest.approx(load_lsst_forest().threshold)
    chosen = resolve_modules(["classification"], {"classification": {"anomaly_threshold": -0.7}}, survey="lsst")[0]
    assert chosen.function.anomaly_threshold == -0.7
