"""What a filter is, the built-in filters by name, extra ones from `package.module:object`, and the
pure evaluation of all of them over one pandas batch.

A filter (`AlertFilter`) is a name (it becomes the topic `<prefix><name>_<survey>`), the input columns
it reads and a function of those columns (pandas Series, positionally, in `inputs` order) returning one
boolean per alert. Input paths are top-level columns of the science table (`roid`, `xmatch_type`) or
one field of a struct column (`candidate.drb`), exactly as `pyspark.sql.functions.col` reads them.

`evaluate_filters(frame, filters)` runs every filter on one frame whose columns are those paths and
returns one column of flags per filter: True/False, or None for every alert of the batch when the
filter raised on it (the failure is isolated: the other filters still run, the caller counts and logs
it). `input_frame(table, paths)` builds such a frame from an Arrow table (the science parquet), so the
masks can be computed outside Spark with exactly the same code.

An extra filter is named by an entry point string `package.module:object` where the object is an
`AlertFilter`, a sequence of them, or a callable without arguments returning either.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from fink_common.arrays import field_of
from fink_common.errors import FinkError
from fink_common.plugins import load_entry_point as _load
from fink_distribution import filters as rules
from fink_distribution import fink_livestream as fink
from fink_distribution import lsst_filters as lsst_rules

__all__ = [
    "BUILTINS",
    "BUILTINS_BY_SURVEY",
    "DEFAULT_FILTERS",
    "LSST_BUILTINS",
    "AlertFilter",
    "FilterError",
    "FilterFunction",
    "check_columns",
    "evaluate_filters",
    "input_frame",
    "load_entry_point",
    "load_extra_filters",
    "required_columns",
    "resolve_filters",
]

FilterFunction = Callable[..., Any]
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
_log = logging.getLogger(__name__)


class FilterError(FinkError):
    """Filters cannot be resolved or fed. Carries every problem found, not just the first."""

    def __init__(self, problems: list[str] | str, *, what: str = "filters") -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{what}: {len(self.problems)} problem(s):\n{lines}")


@dataclass(frozen=True)
class AlertFilter:
    """A named filter: input column paths -> function -> one boolean per alert."""

    name: str
    inputs: tuple[str, ...]
    function: FilterFunction
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        problems = []
        if not _NAME.match(self.name):
            problems.append(f"name {self.name!r} is not lowercase letters, digits and '_' (it becomes a topic name)")
        if not self.inputs or not all(isinstance(p, str) and p for p in self.inputs):
            problems.append(f"inputs {self.inputs!r} must be a non-empty tuple of column paths")
        if not callable(self.function):
            problems.append(f"function {self.function!r} is not callable")
        if problems:
            raise FilterError(problems, what=f"filter {self.name!r}")

    def mask(self, *columns: pd.Series) -> np.ndarray:
        """Run the function on its input Series: a bool array of the batch's length (nulls read as False)."""
        n = len(columns[0]) if columns else 0
        result = self.function(*(c.reset_index(drop=True) for c in columns))
        values = pd.Series(np.asarray(result, dtype=object) if not isinstance(result, pd.Series) else result)
        if len(values) != n:
            raise ValueError(f"filter {self.name!r} returned {len(values)} flags for {n} alerts")
        return values.where(values.notna(), False).astype(bool).to_numpy()


def _builtin(name: str, inputs: tuple[str, ...], function: FilterFunction) -> AlertFilter:
    doc = (function.__doc__ or "").strip().splitlines()
    return AlertFilter(name, inputs, function, description=doc[0] if doc else "")


_STAR = ("candidate.sgscore1", "candidate.distpsnr1")

def _table(*filters: AlertFilter) -> dict[str, AlertFilter]:
    return {f.name: f for f in filters}


#: ZTF built-in filter name -> filter (rules and thresholds documented in `fink_distribution.filters`).
BUILTINS: dict[str, AlertFilter] = _table(
    _builtin("sso_candidates", ("roid",), rules.sso_candidates),
    _builtin(
        "new_transients",
        ("nalerthist", "roid", "candidate.isdiffpos", "candidate.drb", *_STAR),
        rules.new_transients,
    ),
    _builtin("fast_risers", ("mag_rate", "sigma_rate", "candidate.isdiffpos", "roid"), rules.fast_risers),
    _builtin("anomalies", ("anomaly_score",), rules.anomalies),
    _builtin("catalog_matches", ("xmatch_type",), rules.catalog_matches),
    _builtin(
        "extragalactic_transients",
        ("xmatch_type", "candidate.isdiffpos", "roid", "candidate.drb", *_STAR),
        rules.extragalactic_transients,
    ),
    # Fink's ZTF livestream filters, Fink's names and definitions (`fink_distribution.fink_livestream`)
    _builtin("sso_ztf_candidates", ("roid",), fink.sso_ztf_candidates),
    _builtin("sso_fink_candidates", ("roid",), fink.sso_fink_candidates),
    _builtin("first_pass_candidates", ("roid",), fink.first_pass_candidates),
    _builtin(
        "fast_riser_candidates",
        ("cdsxmatch", "roid", "candidate.drb", "candidate.jd", "candidate.jdstarthist", "candidate.magpsf",
         "candidate.fid", "prv_candidates.jd", "prv_candidates.magpsf", "prv_candidates.fid"),
        fink.fast_riser_candidates,
    ),  # fmt: skip
    _builtin("vra", ("candidate.magpsf", "candidate.drb", "cdsxmatch", "roid"), fink.vra),
    _builtin("unknowns", ("classification",), fink.unknowns),
    _builtin("magnetic_cvs", ("candidate.isdiffpos", "candidate.ra", "candidate.dec"), fink.magnetic_cvs),
    _builtin("yso_candidates", ("cdsxmatch",), fink.yso_candidates),
    _builtin("blazar", ("cdsxmatch",), fink.blazar),
    _builtin("simbad_grav_candidates", ("cdsxmatch",), fink.simbad_grav_candidates),
)
#: Every ZTF built-in, in registry order.
DEFAULT_FILTERS: tuple[str, ...] = tuple(BUILTINS)

#: Rubin/LSST built-in filters (rules documented in `fink_distribution.lsst_filters`).
LSST_BUILTINS: dict[str, AlertFilter] = _table(
    _builtin("uniform_sample", ("diaSourceId",), lsst_rules.uniform_sample),
    _builtin("solar_system", ("is_sso",), lsst_rules.solar_system),
    _builtin("first_detections", ("is_first",), lsst_rules.first_detections),
    _builtin("fast_risers", ("mag_rate", "rate_significance", "is_sso"), lsst_rules.fast_risers),
    _builtin("fast_faders", ("mag_rate", "rate_significance", "diaSource.band", "is_sso"), lsst_rules.fast_faders),
    _builtin("long_trails", ("diaSource.trailLength", "diaSource.psfFlux", "good_quality"), lsst_rules.long_trails),
    _builtin(
        "bright_new_candidates",
        ("diaSource.midpointMjdTai", "firstDiaSourceMjdTaiFink", "diaSource.psfFlux", "good_quality", "is_sso"),
        lsst_rules.bright_new_candidates,
    ),
)
#: survey -> its built-in filters: every survey has its own set (the topics are `<prefix><name>_<survey>`).
BUILTINS_BY_SURVEY: dict[str, dict[str, AlertFilter]] = {"ztf": BUILTINS, "lsst": LSST_BUILTINS}


def load_entry_point(spec: str) -> Any:
    """The object named by `package.module:object` (the object part may be dotted)."""
    return _load(spec, FilterError, what="a filter entry point")


def _as_filters(spec: str, obj: Any) -> list[AlertFilter]:
    if isinstance(obj, AlertFilter):
        return [obj]
    if isinstance(obj, Sequence) and not isinstance(obj, str) and all(isinstance(f, AlertFilter) for f in obj):
        return list(obj)
    raise FilterError(f"{spec!r} is {type(obj).__name__}, not an AlertFilter, a sequence of them, or a factory")


def _load_one(spec: str) -> list[AlertFilter]:
    if spec.startswith("fink:"):  # a filter written for Fink's contract (`fink_distribution.fink_plugins`)
        from fink_distribution.fink_plugins import fink_filter

        return [fink_filter(spec)]
    obj = load_entry_point(spec)
    if not isinstance(obj, AlertFilter | Sequence) and callable(obj):
        try:
            obj = obj()
        except FilterError:
            raise
        except Exception as exc:  # a third-party factory can fail with anything
            raise FilterError(f"{spec!r}: the factory failed ({type(exc).__name__}: {exc})") from exc
    return _as_filters(spec, obj)


def load_extra_filters(specs: Iterable[str]) -> tuple[list[AlertFilter], list[str]]:
    """Filters from entry point strings, and the problems met (every spec is tried)."""
    loaded: list[AlertFilter] = []
    problems: list[str] = []
    for spec in specs:
        try:
            loaded.extend(_load_one(spec))
        except FilterError as exc:
            problems.extend(exc.problems)
    return loaded, problems


def resolve_filters(
    names: Sequence[str] | None = None, extra: Sequence[str] = (), *, survey: str = "ztf"
) -> tuple[AlertFilter, ...]:
    """The filters to run: `names` picked among the survey's built-ins and the filters the `extra` entry
    points provide. `names=None` means every built-in of the survey followed by every extra filter.

    Every problem (unknown names, failed entry points, an extra filter shadowing another, a name listed
    twice) is collected and raised at once in one FilterError.
    """
    loaded, problems = load_extra_filters(extra)
    if survey not in BUILTINS_BY_SURVEY:
        raise FilterError(f"no filters for survey {survey!r}; known: {', '.join(BUILTINS_BY_SURVEY)}")
    available: dict[str, AlertFilter] = dict(BUILTINS_BY_SURVEY[survey])
    for item in loaded:
        if item.name in available:
            problems.append(f"extra filter {item.name!r} has the name of another filter")
            continue
        available[item.name] = item
    wanted = list(available) if names is None else list(names)
    unknown = [n for n in wanted if n not in available]
    if unknown:
        problems.append(f"unknown filter(s) {', '.join(map(repr, unknown))}; known: {', '.join(available)}")
    twice = sorted({n for n in wanted if wanted.count(n) > 1})
    if twice:
        problems.append(f"filter(s) listed more than once: {', '.join(twice)}")
    if not wanted:
        problems.append("no filter selected")
    if problems:
        raise FilterError(problems)
    return tuple(available[n] for n in dict.fromkeys(wanted))


def required_columns(filters: Sequence[AlertFilter]) -> tuple[str, ...]:
    """Every input path of the filters, once, in first-use order."""
    return tuple(dict.fromkeys(p for f in filters for p in f.inputs))


def check_columns(filters: Sequence[AlertFilter], available: Iterable[str]) -> None:
    """Raise one FilterError listing every filter input the table does not have."""
    have = set(available)
    problems = [
        f"filter {f.name!r} needs {missing}, which the science table does not have"
        for f in filters
        if (missing := [p for p in f.inputs if p not in have])
    ]
    if problems:
        raise FilterError(problems, what="filter inputs")


def evaluate_filters(frame: pd.DataFrame, filters: Sequence[AlertFilter]) -> pd.DataFrame:
    """One column of flags per filter (True/False, or None for the whole batch when it raised)."""
    n = len(frame)
    out: dict[str, Any] = {}
    for item in filters:
        try:
            out[item.name] = pd.Series(item.mask(*(frame[p] for p in item.inputs)), dtype=object)
        except Exception as exc:  # one broken filter must not stop the other topics, by design
            _log.warning("filter %s failed on %d alerts: %s: %s", item.name, n, type(exc).__name__, exc)
            out[item.name] = pd.Series([None] * n, dtype=object)
    return pd.DataFrame(out, index=pd.RangeIndex(n))


def input_frame(table: pa.Table | pa.RecordBatch, paths: Iterable[str]) -> pd.DataFrame:
    """A pandas frame with one column per path read from an Arrow table: `col`, `struct.field`, or
    `array.field` for a field of an array of structs (one array per alert, as Spark's `col` reads it)."""
    data: dict[str, pd.Series] = {}
    for path in paths:
        head, _, sub = path.partition(".")
        column = table.column(head)
        if sub:
            column = field_of(column, sub)
        data[path] = column.to_pandas()
    return pd.DataFrame(data).reset_index(drop=True)
