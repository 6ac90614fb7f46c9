"""Filters written for Fink's contract (fink-filters), loaded unchanged as this broker's filters.

Fink's contract: a filter is a pandas function (often wrapped by pyspark's `pandas_udf`, whose `.func` is
the plain function) returning one boolean per alert; its *parameter names* name the columns it reads.
fink-broker resolves each name against the alert's flattened column names (every top-level column and,
recursively, every struct field as a dotted path, not descending into arrays): the paths that end with the
name; if exactly one, that one; else those whose last component is the name; if exactly one, that one;
else the one at the root, if exactly one; otherwise the filter cannot run. Fink also gives its filters
the history-plus-current arrays `c<field>c` (e.g. `cjdc`, `cmagpsfc`): here a parameter `c<field>c`
reads `prv_candidates.<field>` and `candidate.<field>` and passes their concatenation, per alert.

Configuration (`FINK_EXTRA_FILTERS`, comma-separated):

* `fink:<module>.<function>`, e.g. `fink:fink_filters.ztf.livestream.filter_blazar.filter.blazar`;
* `fink:<package>.filter_<name>`, Fink's layout (the function `<name>` of the package's `filter` module), e.g.
  `fink:fink_filters.ztf.livestream.filter_blazar`;
* either followed by `=<name>` to choose the filter's (and topic's) name; by default it is the function's
  name, as in Fink (`fink_<name>_ztf` with the default prefix).

The names are resolved when the stage sees the science table (`bind`: the Spark schema in the stage,
`bind_schema` for an Arrow schema, e.g. the science parquet's), and every parameter it cannot resolve is
reported at once. A parameter `c<field>c` reads the two paths `prv_candidates.<field>` and
`candidate.<field>` (so the audit reads them as any other input) and the filter receives, per alert,
the history values followed by the current one (an int64 array for integers, float64 with NaN for
other numbers and nulls, else an object array), a Series of arrays as Fink's.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.sql import types as T

from fink_common.plugins import fink_path, import_attribute
from fink_distribution.registry import AlertFilter, FilterError

__all__ = [
    "PREFIX", "FinkStyleFilter", "bind", "bind_schema", "fink_filter", "flat_paths", "parameter_names",
    "resolve_parameter",
]  # fmt: skip

PREFIX = "fink:"
_SPEC = re.compile(r"^(?P<path>[A-Za-z_]\w*(\.[A-Za-z_]\w*)+)(=(?P<name>[a-z][a-z0-9_]*))?$")
_C_ARRAY = re.compile(r"^c(?P<field>\w+)c$")
HISTORY, CURRENT = "prv_candidates", "candidate"


def parameter_names(function: Any) -> tuple[str, ...]:
    """The positional parameter names of a plain function or of a pandas_udf's wrapped `.func`."""
    target = getattr(function, "func", function)
    code = getattr(target, "__code__", None)
    if code is None:
        raise FilterError(f"{function!r} is not a Python function (no __code__)")
    return tuple(code.co_varnames[: code.co_argcount])


def resolve_parameter(name: str, flat: Sequence[str]) -> str:
    """Fink's rule (`fink_common.plugins.fink_path`): the one flattened path `name` selects; FilterError otherwise."""
    path, candidates = fink_path(name, flat)
    if path is None:
        raise FilterError(f"parameter {name!r} names no single column (candidates: {', '.join(candidates) or 'none'})")
    return path


@dataclass(frozen=True)
class FinkStyleFilter(AlertFilter):
    """A Fink-contract filter before its parameters are resolved (`inputs` holds the parameter names)."""

    spec: str = ""

    def bind(self, flat: Sequence[str], available: Iterable[str]) -> AlertFilter:
        """The runnable filter for a table with these flattened paths (and these readable paths)."""
        have = set(available)
        inputs: list[str] = []
        slices: list[slice] = []
        problems: list[str] = []
        for parameter in self.inputs:
            match = _C_ARRAY.match(parameter)
            field = match.group("field") if match else ""
            pair = (f"{HISTORY}.{field}", f"{CURRENT}.{field}")
            if match and all(p in have for p in pair):
                slices.append(slice(len(inputs), len(inputs) + 2))
                inputs.extend(pair)
                continue
            try:
                path = resolve_parameter(parameter, flat)
            except FilterError as exc:
                problems.extend(f"{self.spec}: {p}" for p in exc.problems)
                continue
            slices.append(slice(len(inputs), len(inputs) + 1))
            inputs.append(path)
        if problems:
            raise FilterError(problems, what=f"filter {self.name!r}")
        function = getattr(self.function, "func", self.function)

        def run(*columns: pd.Series) -> Any:
            args = [columns[s][0] if s.stop - s.start == 1 else _concat(*columns[s]) for s in slices]
            return function(*args)

        return AlertFilter(self.name, tuple(inputs), run, description=self.description)


def _concat(history: pd.Series, current: pd.Series) -> pd.Series:
    out: list[np.ndarray] = []
    for before, now in zip(history.array, current.array, strict=True):
        values = list(before) if hasattr(before, "__len__") and not isinstance(before, str) else []
        values.append(now)
        out.append(np.asarray(values, dtype=_dtype(values)))
    return pd.Series(out, dtype=object)


def _dtype(values: list[Any]) -> type:
    if all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in values):
        return np.int64
    if all(v is None or (isinstance(v, int | float | np.number) and not isinstance(v, bool)) for v in values):
        return np.float64
    return object


def _target(path: str) -> tuple[str, str]:
    """(module, function) of a spec's dotted path: Fink's `<package>.filter_<name>` or `<module>.<function>`."""
    last = path.rpartition(".")[2]
    if last.startswith("filter_") and len(last) > len("filter_"):
        try:
            is_package = importlib.util.find_spec(path) is not None
        except (ImportError, ValueError):  # a parent package is missing: reported by the import below
            is_package = False
        if is_package:
            return f"{path}.filter", last[len("filter_") :]
    module_name, _, attribute = path.rpartition(".")
    return module_name, attribute


def fink_filter(spec: str) -> FinkStyleFilter:
    """The filter named by `fink:<module>.<function>[=<name>]` (FilterError with the reason otherwise)."""
    body = spec[len(PREFIX) :] if spec.startswith(PREFIX) else spec
    match = _SPEC.match(body)
    if not match:
        raise FilterError(f"{spec!r} is not 'fink:<module>.<function>[=<name>]' or 'fink:<package>.filter_<name>[=<name>]'")
    module_name, attribute = _target(match.group("path"))
    function = import_attribute(spec, module_name, attribute, FilterError)
    if not callable(function):
        raise FilterError(f"{spec!r}: {attribute!r} is not callable")
    parameters = parameter_names(function)
    if not parameters:
        raise FilterError(f"{spec!r}: the function takes no column")
    doc = (getattr(function, "func", function).__doc__ or "").strip().splitlines()
    name = match.group("name") or attribute
    return FinkStyleFilter(name, parameters, function, description=doc[0] if doc else f"Fink filter {body}", spec=spec)


def bind(filters: Sequence[AlertFilter], flat: Sequence[str], available: Iterable[str]) -> tuple[AlertFilter, ...]:
    """Every Fink-style filter resolved against the table; all unresolved parameters in one FilterError."""
    have = list(available)
    out: list[AlertFilter] = []
    problems: list[str] = []
    for item in filters:
        if isinstance(item, FinkStyleFilter):
            try:
                out.append(item.bind(flat, have))
            except FilterError as exc:
                problems.extend(exc.problems)
        else:
            out.append(item)
    if problems:
        raise FilterError(problems, what="Fink-style filters")
    return tuple(out)


def bind_schema(filters: Sequence[AlertFilter], schema: pa.Schema) -> tuple[AlertFilter, ...]:
    """`bind` against an Arrow schema (the science parquet's), for the paths outside Spark."""
    flat: list[str] = []
    readable: set[str] = set()
    for item in schema:
        flat.extend(_arrow_flat(item, ""))
        readable.add(item.name)
        data_type = item.type.value_type if pa.types.is_list(item.type) or pa.types.is_large_list(item.type) else item.type
        if pa.types.is_struct(data_type):
            readable.update(f"{item.name}.{data_type.field(i).name}" for i in range(data_type.num_fields))
    return bind(filters, flat, readable)


def _arrow_flat(item: pa.Field, prefix: str) -> list[str]:
    path = f"{prefix}{item.name}"
    if not pa.types.is_struct(item.type):
        return [path]
    return [path, *(p for i in range(item.type.num_fields) for p in _arrow_flat(item.type.field(i), f"{path}."))]


def flat_paths(schema: T.StructType, prefix: str = "") -> list[str]:
    """Fink's flattened names: every column and, recursively, every struct field (not inside arrays)."""
    out: list[str] = []
    for item in schema.fields:
        path = f"{prefix}{item.name}"
        out.append(path)
        if isinstance(item.dataType, T.StructType):
            out.extend(flat_paths(item.dataType, f"{path}."))
    return out
