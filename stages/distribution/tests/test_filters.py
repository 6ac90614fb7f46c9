"""Each built-in filter on small hand-made frames, the registry (extra filters, every error at once) and
the pure evaluation with failure isolation."""

from __future__ import annotations

import math
import sys
import types
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from fink_distribution import filters as rules
from fink_distribution import fink_livestream
from fink_distribution.registry import (
    BUILTINS,
    DEFAULT_FILTERS,
    AlertFilter,
    FilterError,
    check_columns,
    evaluate_filters,
    required_columns,
    resolve_filters,
)

NAN = math.nan


def run(name: str, **columns: list) -> list[bool]:
    """The named built-in on a frame of the given columns (paths with '.' written as '__')."""
    frame = pd.DataFrame({k.replace("__", "."): v for k, v in columns.items()})
    item = BUILTINS[name]
    return item.mask(*(frame[p] for p in item.inputs)).tolist()


def test_sso_candidates_keeps_roid_2_and_3() -> None:
    assert run("sso_candidates", roid=[0, 1, 2, 3, None, -1]) == [False, False, True, True, False, False]


def test_new_transients() -> None:
    good = {"nalerthist": 2, "roid": 0, "candidate__isdiffpos": "t", "candidate__drb": 0.9,
            "candidate__sgscore1": 0.1, "candidate__distpsnr1": 0.5}  # fmt: skip
    cases = [
        {},  # the reference alert: selected
        {"nalerthist": 3},  # still young
        {"candidate__isdiffpos": "1"},  # "1" is positive too
        {"nalerthist": 4},  # too many points
        {"nalerthist": 0},  # no valid magnitude at all
        {"roid": 2},  # maybe a moving object
        {"candidate__isdiffpos": "f"},  # negative subtraction
        {"candidate__drb": 0.3},  # bogus
        {"candidate__drb": None},  # unknown real/bogus score
        {"candidate__sgscore1": 0.9},  # a star within 0.5"
        {"candidate__sgscore1": 0.9, "candidate__distpsnr1": 3.0},  # the star is 3" away: fine
    ]
    rows = [{**good, **case} for case in cases]
    got = run("new_transients", **{k: [r[k] for r in rows] for k in good})
    assert got == [True, True, True, False, False, False, False, False, False, False, True]


def test_fast_risers() -> None:
    cases = [  # (mag_rate, sigma_rate, isdiffpos, roid) -> selected
        ((-1.0, 0.1, "t", 0), True),  # 1 mag/day at 10 sigma
        ((-0.3, 0.05, "t", 0), True),  # exactly the rate threshold, 6 sigma
        ((-0.2, 0.01, "t", 0), False),  # significant but slower than 0.3 mag/day
        ((-1.0, 0.5, "t", 0), False),  # fast but only 2 sigma
        ((1.0, 0.1, "t", 0), False),  # fading
        ((NAN, 0.1, "t", 0), False),  # no rate
        ((-1.0, NAN, "t", 0), False),  # no error: no significance
        ((-5.0, 0.1, "t", 3), False),  # a known asteroid
        ((-5.0, 0.1, "f", 0), False),  # negative subtraction
    ]
    rate, sigma, diffpos, roid = (list(c) for c in zip(*(inputs for inputs, _ in cases), strict=True))
    got = run("fast_risers", mag_rate=rate, sigma_rate=sigma, candidate__isdiffpos=diffpos, roid=roid)
    assert got == [expected for _, expected in cases]


def test_anomalies_ignore_the_no_feature_score() -> None:
    scores = [-0.7, rules.ANOMALY_MAX_SCORE, -0.4, 0.0, NAN, None]
    assert run("anomalies", anomaly_score=scores) == [True, False, False, False, False, False]


def test_catalog_matches() -> None:
    types_ = ["Mira", "Galaxy", "CV*", "Unknown", "Fail", "Fail 503", "", None, NAN]
    assert run("catalog_matches", xmatch_type=types_) == [True, True, True, False, False, False, False, False, False]


def test_extragalactic_transients() -> None:
    got = run(
        "extragalactic_transients",
        xmatch_type=["Galaxy", "GalaxyCluster", "Mira", "Galaxy", "Galaxy", "Galaxy"],
        candidate__isdiffpos=["t", "1", "t", "f", "t", "t"],
        roid=[0, 0, 0, 0, 3, 0],
        candidate__drb=[0.9, 0.9, 0.9, 0.9, 0.9, 0.9],
        candidate__sgscore1=[0.1, 0.1, 0.1, 0.1, 0.1, 0.99],
        candidate__distpsnr1=[0.4, 0.4, 0.4, 0.4, 0.4, 0.4],
    )
    assert got == [True, True, False, False, False, False]


def test_builtins_are_documented_and_read_known_columns() -> None:
    assert len(DEFAULT_FILTERS) >= 5
    for item in BUILTINS.values():
        assert item.description, item.name
        documented = (rules.__doc__ or "") + (fink_livestream.__doc__ or "")
        assert f"`{item.name}`" in documented, f"{item.name} rule not documented in the filters modules"
    assert required_columns(list(BUILTINS.values()))[0] == "roid"  # union, in first-use order, once each
    assert len(set(required_columns(list(BUILTINS.values())))) == len(required_columns(list(BUILTINS.values())))


# --------------------------------------------------------------------------- registry


@pytest.fixture
def plugin() -> Iterator[str]:
    """An importable plugin module with one filter, a list of two, a factory and a wrong object."""
    name = "fink_distribution_test_plugin"
    module = types.ModuleType(name)
    module.BRIGHT = AlertFilter("bright", ("candidate.magpsf",), lambda mag: mag < 17.0)  # type: ignore[attr-defined]
    module.PAIR = [  # type: ignore[attr-defined]
        AlertFilter("red", ("candidate.fid",), lambda fid: fid == 2),
        AlertFilter("green", ("candidate.fid",), lambda fid: fid == 1),
    ]
    faint = AlertFilter("faint", ("candidate.magpsf",), lambda mag: mag > 20.0)
    module.make = lambda: faint  # type: ignore[attr-defined]
    module.NOT_A_FILTER = 42  # type: ignore[attr-defined]
    sys.modules[name] = module
    yield name
    del sys.modules[name]


def test_default_is_every_builtin() -> None:
    assert [f.name for f in resolve_filters()] == list(DEFAULT_FILTERS)
    assert [f.name for f in resolve_filters(["fast_risers", "sso_candidates"])] == ["fast_risers", "sso_candidates"]


def test_extra_filters_from_entry_points(plugin: str) -> None:
    got = resolve_filters(None, [f"{plugin}:BRIGHT", f"{plugin}:PAIR", f"{plugin}:make"])
    assert [f.name for f in got] == [*DEFAULT_FILTERS, "bright", "red", "green", "faint"]
    picked = resolve_filters(["green", "anomalies"], [f"{plugin}:PAIR"])
    assert [f.name for f in picked] == ["green", "anomalies"]


def test_every_bad_name_is_reported_at_once(plugin: str) -> None:
    with pytest.raises(FilterError) as caught:
        resolve_filters(
            ["sso_candidates", "no_such_filter", "bright", "also_missing", "sso_candidates"],
            [
                f"{plugin}:BRIGHT",
                f"{plugin}:NOT_A_FILTER",
                "nowhere.module:thing",
                "not an entry point",
                f"{plugin}:PAIR.x",
            ],
        )
    problems = caught.value.problems
    text = "\n".join(problems)
    assert "'no_such_filter'" in text and "'also_missing'" in text  # both unknown names, in one message
    assert "NOT_A_FILTER" in text and "int" in text
    assert "cannot import 'nowhere.module'" in text
    assert "'not an entry point'" in text
    assert "listed more than once: sso_candidates" in text
    assert len(problems) == 6, problems


def test_extra_filter_cannot_shadow_a_builtin() -> None:
    name = "fink_distribution_test_shadow"
    module = types.ModuleType(name)
    module.F = AlertFilter("anomalies", ("roid",), lambda roid: roid > 0)  # type: ignore[attr-defined]
    sys.modules[name] = module
    try:
        with pytest.raises(FilterError, match="has the name of another filter"):
            resolve_filters(None, [f"{name}:F"])
    finally:
        del sys.modules[name]


def test_filter_definition_is_checked() -> None:
    with pytest.raises(FilterError) as caught:
        AlertFilter("Bad Name!", (), "not callable")  # type: ignore[arg-type]
    assert len(caught.value.problems) == 3


def test_missing_input_columns_are_listed() -> None:
    with pytest.raises(FilterError) as caught:
        check_columns(list(BUILTINS.values()), ["roid", "candidate.isdiffpos"])
    # only the roid filters (sso_candidates, sso_ztf_candidates, sso_fink_candidates, first_pass_candidates) have it
    assert len(caught.value.problems) == len(BUILTINS) - 4
    assert "'nalerthist'" in str(caught.value)


def test_evaluation_isolates_a_failing_filter() -> None:
    def broken(roid: pd.Series) -> np.ndarray:
        raise RuntimeError("boom")

    frame = pd.DataFrame({"roid": [3, 0, None]})
    flags = evaluate_filters(frame, [BUILTINS["sso_candidates"], AlertFilter("broken", ("roid",), broken)])
    assert flags["sso_candidates"].tolist() == [True, False, False]
    assert flags["broken"].tolist() == [None, None, None]


def test_a_mask_of_the_wrong_length_is_a_failure() -> None:
    short = AlertFilter("short", ("roid",), lambda roid: roid.iloc[:1] > 0)
    flags = evaluate_filters(pd.DataFrame({"roid": [1, 2]}), [short])
    assert flags["short"].tolist() == [None, None]
