"""The built-in science modules by name, and loading of extra ones from `package.module:object` strings.

Built-ins (in `DEFAULT_MODULES` order, which respects their dependencies):

| name | columns (Spark type) | failed value |
|---|---|---|
| nalerthist | nalerthist (int) | -1 |
| roid | roid (int) | -1 |
| mag_rate | Fink's rate family (see `rates`): jd_first_real_det, jdstarthist_dt, mag_rate, sigma_rate, lower_rate, upper_rate, delta_time (double), from_upper (boolean) | NaN..., null |
| transient_flags | transient_flags (struct of 7 booleans: Fink's faint, positivesubtraction, real, pointunderneath, brightstar, variablesource, stationary; see `transient`) | every field null |
| is_transient | is_transient (boolean, null when Fink's SQL gives null) | null |
| lc_features_g | lc_features_g (struct of 13 doubles, see `features`) | every field NaN |
| lc_features_r | lc_features_r (same) | every field NaN |
| anomaly | anomaly_score (double; lower = more anomalous; 0.0 = no features) | NaN |
| xmatch | xmatch_name, xmatch_type (string; "Unknown" = no match), xmatch_sep_arcsec (double) | "Fail", "Fail", NaN |
| cdsxmatch | cdsxmatch (string: Fink's column name for the catalog type, = xmatch_type) | "Fail" |
| classification | classification (string: Fink's classification, see `fink_classification`) | "Fail" |
| broker_classification | broker_classification (string: this broker's own classes, see `classification`) | "Fail" |

Rubin/LSST built-ins (`LSST_BUILTINS`, module `rubin`): is_sso, is_first (boolean, null = unknown),
first_detection (`firstDiaSourceMjdTaiFink`, double), flux_rate (mag_rate, sigma_rate, rate_significance,
delta_time: doubles, NaN = no rate), xmatch on `diaSource.ra/dec`, then (modules `lsst_features`,
`lsst_anomaly`, `lsst_classification`) lc_features_dia and lc_features_forced (structs of 78 doubles: 13
flux features for each band u..y, `<band>_<feature>`, NaN = too few points), anomaly (`anomaly_score`,
double, lower = more anomalous, NaN = no light curve with features) and classification (string). A module
says which surveys it serves (`ScienceModule.surveys`); `resolve_modules(..., survey=...)` refuses one that
does not serve the survey.

Options (keyword arguments of the factories): `anomaly(model=path)`, `xmatch(catalog=path,
radius_arcsec=1.5)`, `broker_classification(anomaly_threshold=None, model=path)` (threshold default: the
model's); for LSST `anomaly(model=path)` and `classification(anomaly_threshold=None, model=path)` take
the LSST model. An extra module is named by an entry point string `package.module:object`; the object is a
`ScienceModule`, or a callable returning one (called with that name's options); or, for a module written in
fink-science's pandas style, `fink:<module>.<function>[(<input>,...)][=<column>]`: its parameter names
choose its inputs by fink-broker's rule unless they are given (see `fink_style`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from fink_common.plugins import load_entry_point as _load
from fink_raw2science.science.anomaly import AnomalyScorer, load_forest
from fink_raw2science.science.asteroids import ROID_FAILED, roid
from fink_raw2science.science.classification import Classifier
from fink_raw2science.science.errors import ScienceError
from fink_raw2science.science.features import FEATURE_NAMES, features_g, features_r
from fink_raw2science.science.fink_classification import catalog_type, ztf_classification
from fink_raw2science.science.fink_style import PREFIX as FINK_PREFIX
from fink_raw2science.science.fink_style import load_fink_module
from fink_raw2science.science.lightcurve import nalerthist
from fink_raw2science.science.lsst_builtins import LSST_BUILTINS
from fink_raw2science.science.module import FAILED_LABEL, OutputField, ScienceModule
from fink_raw2science.science.rates import RATE_FIELDS, magnitude_rate
from fink_raw2science.science.transient import FLAGS as TRANSIENT_FLAGS
from fink_raw2science.science.transient import INPUTS as TRANSIENT_INPUTS
from fink_raw2science.science.transient import is_transient, transient_flags
from fink_raw2science.science.xmatch import xmatch_module

__all__ = [
    "BUILTINS",
    "BUILTINS_BY_SURVEY",
    "DEFAULT_MODULES",
    "DEFAULT_MODULES_BY_SURVEY",
    "LSST_BUILTINS",
    "FAILED_LABEL",
    "check_plan",
    "load_entry_point",
    "resolve_modules",
]

NAN = math.nan
_HISTORY = ("cjd", "cfid", "cmagpsf", "csigmapsf")


def _nalerthist() -> ScienceModule:
    return ScienceModule(
        name="nalerthist",
        inputs=("cmagpsf",),
        fields=(OutputField("nalerthist", "int", -1),),
        function=nalerthist,
        version="1.0.0",
        description="valid magpsf in history + current",
    )


def _roid() -> ScienceModule:
    return ScienceModule(
        name="roid",
        inputs=(
            "cjd",
            "cmagpsf",
            "candidate.ndethist",
            "candidate.sgscore1",
            "candidate.ssdistnr",
            "candidate.distpsnr1",
        ),
        fields=(OutputField("roid", "int", ROID_FAILED),),
        function=roid,
        version="1.0.0",
        description="Solar System object flag (0..3)",
    )


def _mag_rate() -> ScienceModule:
    return ScienceModule(
        name="mag_rate",
        inputs=(*_HISTORY, "cdiffmaglim", "candidate.jdstarthist"),
        fields=(
            *(OutputField(name, "double", NAN) for name in RATE_FIELDS[:-1]),
            OutputField("from_upper", "boolean", None),
        ),
        function=magnitude_rate,
        version="2.1.0",
        description="Fink's fast-transient rate family, deterministic (mag/day against Fink's reference point)",
    )


def _transient_flags() -> ScienceModule:
    return ScienceModule(
        name="transient_flags",
        inputs=TRANSIENT_INPUTS,
        fields=tuple(OutputField(name, "boolean", None) for name in TRANSIENT_FLAGS),
        function=transient_flags,
        version="1.0.0",
        struct="transient_flags",
        description="Fink's seven is_transient sub-flags (null where an input is null, as in Fink's SQL)",
    )


def _is_transient() -> ScienceModule:
    return ScienceModule(
        name="is_transient",
        inputs=(*(f"transient_flags.{name}" for name in TRANSIENT_FLAGS), "roid"),
        fields=(OutputField("is_transient", "boolean", None),),
        function=is_transient,
        version="1.0.0",
        description="Fink's is_transient: the AND of its sub-flags and roid == 0",
    )


def _features(band: str) -> ScienceModule:
    return ScienceModule(
        name=f"lc_features_{band}",
        inputs=_HISTORY,
        fields=tuple(OutputField(name, "double", NAN) for name in FEATURE_NAMES),
        function=features_g if band == "g" else features_r,
        version="1.0.0",
        struct=f"lc_features_{band}",
        description=f"light-curve features of the {band} band",
    )


def _anomaly(model: str | None = None) -> ScienceModule:
    scorer = AnomalyScorer(load_forest(model))
    return ScienceModule(
        name="anomaly",
        inputs=scorer.inputs,
        fields=(OutputField("anomaly_score", "double", NAN),),
        function=scorer,
        version=f"1.0.0+model.{scorer.forest.version}",
        description="isolation-forest score on lc features, lower = more anomalous",
    )


def _cdsxmatch() -> ScienceModule:
    return ScienceModule(
        name="cdsxmatch",
        inputs=("xmatch_type",),
        fields=(OutputField("cdsxmatch", "string", FAILED_LABEL),),
        function=catalog_type,
        version="1.0.0",
        description="Fink's column name for the catalog type: our local cross-match's type, Unknown = none",
    )


def _classification() -> ScienceModule:
    return ScienceModule(
        name="classification",
        inputs=(
            "xmatch_type",
            "roid",
            "candidate.ndethist",
            "candidate.drb",
            "candidate.classtar",
            "candidate.jd",
            "candidate.jdstarthist",
        ),
        fields=(OutputField("classification", "string", FAILED_LABEL),),
        function=ztf_classification,
        version="2.0.0",
        description="Fink's classification, Fink's order and names (the catalog type wins last)",
    )


def _broker_classification(anomaly_threshold: float | None = None, model: str | None = None) -> ScienceModule:
    threshold = load_forest(model).threshold if anomaly_threshold is None else float(anomaly_threshold)
    return ScienceModule(
        name="broker_classification",
        inputs=(
            "roid",
            "xmatch_type",
            "mag_rate",
            "sigma_rate",
            "nalerthist",
            "anomaly_score",
            "candidate.sgscore1",
            "candidate.distpsnr1",
        ),
        fields=(OutputField("broker_classification", "string", FAILED_LABEL),),
        function=Classifier(threshold),
        version="1.1.0",
        description="this broker's own classes: first matching rule among SSO, catalog, fast/early transient, anomaly",
    )


#: Built-in module name -> factory (keyword options -> ScienceModule).
BUILTINS: dict[str, Callable[..., ScienceModule]] = {
    "nalerthist": _nalerthist,
    "roid": _roid,
    "mag_rate": _mag_rate,
    "transient_flags": _transient_flags,
    "is_transient": _is_transient,
    "lc_features_g": lambda: _features("g"),
    "lc_features_r": lambda: _features("r"),
    "anomaly": _anomaly,
    "xmatch": xmatch_module,
    "cdsxmatch": _cdsxmatch,
    "classification": _classification,
    "broker_classification": _broker_classification,
}
#: Every built-in, in an order where each module's inputs exist before it runs.
DEFAULT_MODULES: tuple[str, ...] = tuple(BUILTINS)


#: Survey -> its built-in modules and the default list.
BUILTINS_BY_SURVEY: dict[str, dict[str, Callable[..., ScienceModule]]] = {"ztf": BUILTINS, "lsst": LSST_BUILTINS}
DEFAULT_MODULES_BY_SURVEY: dict[str, tuple[str, ...]] = {s: tuple(b) for s, b in BUILTINS_BY_SURVEY.items()}


def load_entry_point(spec: str) -> Any:
    """The object named by `package.module:object` (the object part may be dotted)."""
    return _load(spec, ScienceError, what="a built-in module nor a module entry point")


def _build(name: str, options: Mapping[str, Any], builtins: Mapping[str, Callable[..., ScienceModule]]) -> ScienceModule:
    if name in builtins:
        factory: Any = builtins[name]
    elif name.startswith(FINK_PREFIX):  # a module in fink-science's pandas style (`fink_style`)
        return load_fink_module(name, options)
    else:
        factory = load_entry_point(name)
        if isinstance(factory, ScienceModule):
            if options:
                raise ScienceError(f"{name!r} is a ScienceModule object and takes no options (got {sorted(options)})")
            return factory
        if not callable(factory):
            raise ScienceError(f"{name!r} is neither a ScienceModule nor a callable returning one")
    try:
        module = factory(**options)
    except ScienceError:
        raise
    except TypeError as exc:
        raise ScienceError(f"{name!r}: bad options {dict(options)!r} ({exc})") from exc
    except Exception as exc:  # a third-party factory can fail with anything
        raise ScienceError(f"{name!r}: building the module failed ({type(exc).__name__}: {exc})") from exc
    if not isinstance(module, ScienceModule):
        raise ScienceError(f"{name!r} returned {type(module).__name__}, not a ScienceModule")
    return module


def resolve_modules(
    names: Sequence[str] | None = None, options: Mapping[str, Mapping[str, Any]] | None = None, *, survey: str = "ztf"
) -> list[ScienceModule]:
    """Build the modules named in `names` (the survey's built-in names or entry points; default: all the
    survey's built-ins), in that order.

    Every problem (unknown name, failed import, bad options, a module that does not serve the survey, two
    modules writing the same column, options for a name that is not listed) is raised at once in one ScienceError.
    """
    if survey not in BUILTINS_BY_SURVEY:
        raise ScienceError(f"unknown survey {survey!r}; known: {', '.join(BUILTINS_BY_SURVEY)}")
    names = DEFAULT_MODULES_BY_SURVEY[survey] if names is None else names
    options = dict(options or {})
    problems: list[str] = []
    modules: list[ScienceModule] = []
    for name in names:
        try:
            module = _build(name, options.get(name, {}), BUILTINS_BY_SURVEY[survey])
        except ScienceError as exc:
            problems.extend(exc.problems)
            continue
        if survey not in module.surveys:
            problems.append(f"module {name!r} serves {', '.join(module.surveys)}, not {survey}")
        modules.append(module)
    for extra in sorted(set(options) - set(names)):
        problems.append(f"options given for {extra!r}, which is not among the modules {list(names)}")
    seen: dict[str, str] = {}
    for module in modules:
        for column in module.columns:
            if column in seen:
                problems.append(f"column {column!r} written by both {seen[column]!r} and {module.name!r}")
            seen[column] = module.name
    if problems:
        raise ScienceError(problems)
    return modules


def check_plan(modules: Sequence[ScienceModule], available: Iterable[str]) -> None:
    """Raise a ScienceError listing every input no earlier module or `available` column provides."""
    have = set(available)
    problems: list[str] = []
    for module in modules:
        missing = [path for path in module.inputs if path not in have]
        if missing:
            problems.append(f"module {module.name!r} needs {missing}, which nothing before it provides")
        have.update(module.frame_columns)
        have.update(module.columns)
    if problems:
        raise ScienceError(problems, what="science module plan")
