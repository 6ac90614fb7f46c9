"""The registry (built-ins, entry points, plan checks) and the pure driver's failure isolation."""

from __future__ import annotations

import math
import sys
import types
from pathlib import Path

import fastavro
import numpy as np
import pandas as pd
import pytest

from fink_common.datasets import sample_files
from fink_common.errors import FinkError
from fink_raw2science.science import (
    BUILTINS,
    DEFAULT_MODULES,
    OutputField,
    ScienceError,
    ScienceModule,
    check_plan,
    nested_outputs,
    resolve_modules,
    run_modules,
)
from fink_raw2science.science.lightcurve import input_frame_from_records


def raw_paths(modules: list[ScienceModule]) -> list[str]:
    return sorted({p for m in modules for p in m.inputs if p.startswith(("c", "candidate."))})


@pytest.fixture(scope="module")
def real_frame() -> pd.DataFrame:
    records = []
    for path in sample_files("ztf_4.02"):
        with path.open("rb") as fh:
            records.extend(fastavro.reader(fh))
    return input_frame_from_records(records, raw_paths(resolve_modules()))


def exploding(*_: pd.Series) -> pd.Series:
    raise RuntimeError("boom")


def broken_module(name: str = "broken") -> ScienceModule:
    return ScienceModule(
        name=name,
        inputs=("cmagpsf",),
        fields=(OutputField("broken_score", "double", -99.0), OutputField("broken_label", "string", "Fail")),
        function=exploding,
        version="0.0.1",
    )


# --------------------------------------------------------------------------- registry


def test_builtins_declare_their_contract() -> None:
    modules = {m.name: m for m in resolve_modules()}
    assert list(modules) == list(DEFAULT_MODULES) == list(BUILTINS)
    assert modules["nalerthist"].ddl == "int" and modules["nalerthist"].failed_value == -1
    assert modules["roid"].ddl == "int" and modules["roid"].failed_value == -1
    assert modules["mag_rate"].columns == (
        "jd_first_real_det", "jdstarthist_dt", "mag_rate", "sigma_rate", "lower_rate", "upper_rate", "delta_time",
        "from_upper",
    )  # fmt: skip
    assert modules["mag_rate"].ddl.endswith(",delta_time:double,from_upper:boolean>")
    assert modules["transient_flags"].columns == ("transient_flags",)
    assert modules["is_transient"].failed_value is None
    assert modules["lc_features_g"].columns == ("lc_features_g",)
    assert modules["lc_features_r"].ddl.startswith("struct<n_points:double,amplitude:double,")
    assert math.isnan(modules["anomaly"].failed_value)
    assert modules["anomaly"].version.startswith("1.0.0+model.")
    failed_xmatch = modules["xmatch"].failed_value
    assert failed_xmatch["xmatch_name"] == failed_xmatch["xmatch_type"] == "Fail"
    assert math.isnan(failed_xmatch["xmatch_sep_arcsec"])
    assert modules["mag_rate"].failed_value["from_upper"] is None
    assert modules["classification"].failed_value == modules["broker_classification"].failed_value == "Fail"
    check_plan(list(modules.values()), raw_paths(list(modules.values())))  # the default order is valid


def test_options_reach_the_factories(tmp_path: Path) -> None:
    catalog = tmp_path / "one.parquet"
    pd.DataFrame({"ra": [10.0], "dec": [20.0], "name": ["only"], "type": ["Star"]}).to_parquet(catalog)
    [xmatch, classification] = resolve_modules(
        ["xmatch", "broker_classification"],
        {"xmatch": {"catalog": str(catalog), "radius_arcsec": 3.0}, "broker_classification": {"anomaly_threshold": -0.1}},
    )
    out = xmatch.compute(pd.Series([10.0, 10.0]), pd.Series([20.0 + 2.5 / 3600, 20.0 + 3.5 / 3600]))
    assert out["xmatch_name"].tolist() == ["only", "Unknown"]
    assert classification.function.anomaly_threshold == -0.1


def test_entry_points_load_objects_and_factories(monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = types.ModuleType("fink_test_plugin")
    double = ScienceModule(
        name="double_mag",
        inputs=("candidate.magpsf",),
        fields=(OutputField("double_mag", "double", math.nan),),
        function=lambda mag: mag * 2,
        version="1.2.3",
    )
    plugin.DOUBLE = double  # type: ignore[attr-defined]
    plugin.factory = lambda scale=1.0: ScienceModule(  # type: ignore[attr-defined]
        name="scaled",
        inputs=("candidate.magpsf",),
        fields=(OutputField("scaled", "double", math.nan),),
        function=lambda mag: mag * scale,
        version="1.0.0",
    )
    monkeypatch.setitem(sys.modules, "fink_test_plugin", plugin)
    modules = resolve_modules(
        ["fink_test_plugin:DOUBLE", "fink_test_plugin:factory"], {"fink_test_plugin:factory": {"scale": 3.0}}
    )
    assert modules[0] is double
    frame = pd.DataFrame({"candidate.magpsf": [1.0, 2.0]})
    out, failures = run_modules(frame, modules)
    assert failures == []
    assert out["double_mag"].tolist() == [2.0, 4.0] and out["scaled"].tolist() == [3.0, 6.0]


def test_every_bad_name_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = types.ModuleType("fink_test_plugin2")
    plugin.NOT_A_MODULE = 42  # type: ignore[attr-defined]
    plugin.returns_wrong = lambda: "nope"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fink_test_plugin2", plugin)
    names = [
        "roid",
        "no_such_builtin",
        "no_such_package_xyz:thing",
        "fink_test_plugin2:missing",
        "fink_test_plugin2:NOT_A_MODULE",
        "fink_test_plugin2:returns_wrong",
        "bad:syntax:here",
    ]
    with pytest.raises(ScienceError) as info:
        resolve_modules(names, {"roid": {"unexpected": 1}, "ghost": {}})
    error = info.value
    assert isinstance(error, FinkError)
    assert len(error.problems) == 8
    text = str(error)
    for fragment in (
        "'roid': bad options",
        "'no_such_builtin' is not a built-in module",
        "cannot import 'no_such_package_xyz'",
        "has no attribute 'missing'",
        "neither a ScienceModule nor a callable",
        "returned str, not a ScienceModule",
        "'bad:syntax:here'",
        "options given for 'ghost'",
    ):
        assert fragment in text, fragment


def test_two_modules_writing_one_column_and_missing_inputs_are_plan_errors() -> None:
    with pytest.raises(ScienceError, match="written by both"):
        resolve_modules(["roid", "roid"])
    with pytest.raises(ScienceError) as info:
        check_plan(resolve_modules(["classification", "roid"]), ["cjd", "cmagpsf"])
    message = str(info.value)
    assert "'classification' needs" in message and "'xmatch_type'" in message and "'roid'" in message
    assert "module 'roid' needs ['candidate.ndethist'" in message


def test_module_contract_is_validated() -> None:
    with pytest.raises(ScienceError):
        OutputField("x", "decimal(3,1)", 0)
    with pytest.raises(ScienceError) as info:
        ScienceModule(name="m", inputs=(), fields=(), function=exploding, version="1")
    assert "no output field" in str(info.value) and "no input column" in str(info.value)


# --------------------------------------------------------------------------- driver


def test_a_failing_module_gets_its_failed_values_and_the_others_are_intact(real_frame: pd.DataFrame) -> None:
    modules = resolve_modules()
    clean, clean_failures = run_modules(real_frame, modules)
    assert clean_failures == []
    with_broken = [*modules[:3], broken_module(), *modules[3:]]
    out, failures = run_modules(real_frame, with_broken)
    assert len(failures) == 1
    failure = failures[0]
    assert failure.module == "broken" and failure.version == "0.0.1" and failure.alerts == len(real_frame)
    assert failure.error == "RuntimeError: boom"
    assert (out["broken_score"] == -99.0).all() and (out["broken_label"] == "Fail").all()
    pd.testing.assert_frame_equal(out.drop(columns=["broken_score", "broken_label"]), clean)


def test_failed_builtin_feeds_its_failed_values_downstream(real_frame: pd.DataFrame) -> None:
    modules = resolve_modules()
    failing_roid = ScienceModule(
        name="roid",
        inputs=modules[1].inputs,
        fields=modules[1].fields,
        function=exploding,
        version="1.0.0",
    )
    out, failures = run_modules(real_frame, [modules[0], failing_roid, *modules[2:]])
    assert [f.module for f in failures] == ["roid"]
    assert (out["roid"] == -1).all() and str(out["roid"].dtype) == "int32"
    assert not out["classification"].str.startswith("Solar System").any()
    clean, _ = run_modules(real_frame, modules)
    assert clean["classification"].str.startswith("Solar System").sum() > 0
    assert out["nalerthist"].equals(clean["nalerthist"]) and out["anomaly_score"].equals(clean["anomaly_score"])


def test_wrong_length_or_type_of_result_is_a_failure_not_a_crash() -> None:
    short = ScienceModule(
        name="short",
        inputs=("x",),
        fields=(OutputField("short", "int", 0),),
        function=lambda x: pd.Series([1]),
        version="1",
    )
    nulls = ScienceModule(
        name="nulls",
        inputs=("x",),
        fields=(OutputField("nulls", "int", -5),),
        function=lambda x: pd.Series([1.0, None, 3.0]),
        version="1",
    )
    out, failures = run_modules(pd.DataFrame({"x": [1, 2, 3]}), [short, nulls])
    assert [f.module for f in failures] == ["short", "nulls"]
    assert out["short"].tolist() == [0, 0, 0] and out["nulls"].tolist() == [-5, -5, -5]


def test_missing_input_raises_before_running() -> None:
    with pytest.raises(ScienceError, match="needs"):
        run_modules(pd.DataFrame({"y": [1]}), [broken_module()])


def test_nested_outputs_shape_struct_columns_as_dicts(real_frame: pd.DataFrame) -> None:
    modules = resolve_modules()
    out, _ = run_modules(real_frame.iloc[:5], modules)
    nested = nested_outputs(out, modules)
    assert list(nested.columns) == [c for m in modules for c in m.columns]
    first = nested["lc_features_g"].iloc[0]
    features = next(m for m in modules if m.name == "lc_features_g")
    assert isinstance(first, dict) and list(first) == [f.name for f in features.fields]
    assert all(v is None or isinstance(v, float) for v in first.values())


def test_empty_batch() -> None:
    modules = resolve_modules()
    empty = pd.DataFrame({p: pd.Series([], dtype=object) for p in raw_paths(modules)})
    out, failures = run_modules(empty, modules)
    assert failures == [] and len(out) == 0 and "classification" in out.columns
    assert np.dtype(out["roid"].dtype) == np.int32
